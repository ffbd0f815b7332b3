/** `beepbox serve`: the HTTP daemon until SIGINT/SIGTERM, then a graceful stop. */
import { readConfig } from '../config.js';
import { createLogger, startDaemon } from '../main.js';

export async function runServeCommand(_argv: string[]): Promise<number> {
  const config = readConfig();
  const logger = createLogger(config.logLevel);
  const daemon = await startDaemon(config, logger);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      daemon.close().then(resolve, resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
