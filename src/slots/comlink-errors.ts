/**
 * comlink's default "throw" handler keeps only message/name/stack; ours keeps the
 * DaemonError code and details so callers can branch on them. Install on both sides.
 */
import { DaemonError, reviveError, type ErrorPayload } from '../errors.js';
import { Comlink } from './comlink.js';

let installed = false;

export function installErrorTransfer(): void {
  if (installed) return;
  installed = true;
  const base = Comlink.transferHandlers.get('throw')!;
  Comlink.transferHandlers.set('throw', {
    canHandle: base.canHandle,
    serialize(thrown: unknown) {
      const value = (thrown as { value: unknown }).value;
      const payload: ErrorPayload =
        value instanceof DaemonError
          ? value.toJSON()
          : { name: 'DaemonError', code: 'INTERNAL', message: value instanceof Error ? value.message : String(value) };
      return [payload, []];
    },
    deserialize(payload: unknown) {
      throw reviveError(payload as ErrorPayload);
    },
  });
}
