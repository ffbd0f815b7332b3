/** `beepbox serve`: the HTTP daemon until SIGINT/SIGTERM, then a graceful stop. */
import { readConfig } from '../config.js';
import { createLogger, startDaemon } from '../main.js';

export async function runServeCommand(_argv: string[]): Promise<number> {
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
