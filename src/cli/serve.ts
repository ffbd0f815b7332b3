/** `beepbox serve`: the HTTP daemon until SIGINT/SIGTERM, then a graceful stop. */
import { readConfig } from '../config.js';
import { createLogger, startDaemon } from '../main.js';
import { missingDaemonNodeFlags } from './node-flags.js';
import { parseCommandArgs } from './usage.js';

export async function runServeCommand(argv: string[]): Promise<number> {
  // No options (the environment configures the daemon): anything on the line is a mistake, and
  // refusing it here means a typo never starts a daemon with settings the user did not mean.
  parseCommandArgs('serve', argv, {});
  // readConfig refuses a non-loopback HOST without BOX_API_KEY before anything listens.
  const config = readConfig();
  const logger = createLogger(config.logLevel);
  const missing = missingDaemonNodeFlags();
  // Still correct without them, only costlier: say so once rather than refuse to start.
  if (missing.length) logger.warn({ missing_node_flags: missing }, 'node started without the daemon\'s flags: more CPU per slot and a less bounded ZIP memory; start with npm start or bin/beepbox.js');
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
