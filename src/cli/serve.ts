/** `beepbox serve`: the HTTP daemon until SIGINT/SIGTERM, then a graceful stop. */
import { readConfig } from '../config.js';
import { createLogger, startDaemon } from '../main.js';
import { parseCommandArgs } from './usage.js';

export async function runServeCommand(argv: string[]): Promise<number> {
  // No options (the environment configures the daemon): anything on the line is a mistake, and
  // refusing it here means a typo never starts a daemon with settings the user did not mean.
  parseCommandArgs('serve', argv, {});
  // readConfig refuses a non-loopback HOST without BOX_API_KEY before anything listens.
  const config = readConfig();
  const logger = createLogger(config.logLevel);
  // Handlers before the start: "beepbox listening" is logged inside startDaemon, and a signal
  // from that moment on must stop gracefully instead of killing the process.
  const signalled = new Promise<string>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const daemon = await startDaemon(config, logger);
  const signal = await signalled;
  logger.info({ signal }, 'shutting down');
  await daemon.close().catch(() => undefined);
  return 0;
}
