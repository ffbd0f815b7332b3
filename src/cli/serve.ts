/** `beepbox serve`: the HTTP daemon (built by the REST API work). */
import { DaemonError } from '../errors.js';

export async function runServeCommand(_argv: string[]): Promise<number> {
  throw new DaemonError('INTERNAL', 'the HTTP daemon is not built yet');
}
