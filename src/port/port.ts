/**
 * A byte port to one device: a real serial tty, a pseudo-terminal to the simulator,
 * or an in-memory pair (unit tests only).
 *
 * Contract:
 * - `write` hands the bytes to the OS in one write call (a Modbus request must not be
 *   split) and rejects with a `PortError` once the port is closed. It keeps no reference
 *   to `bytes` once it returns (what must wait is copied): callers may reuse the buffer.
 * - Data arrives through the single `onData` listener in arbitrary chunks; the listener
 *   owns each chunk.
 * - `onClose` listeners run exactly once: with `null` after `close()`, or with a
 *   `PortError` (code PORT_DISCONNECTED) when the device vanished (unplug, pty hang-up).
 * - `close` is idempotent.
 */
import type { PortError } from '../errors.js';

export interface Port {
  readonly path: string;
  readonly isOpen: boolean;
  write(bytes: Uint8Array): Promise<void>;
  onData(listener: (chunk: Uint8Array) => void): void;
  onClose(listener: (error: PortError | null) => void): void;
  close(): Promise<void>;
  /**
   * Optional, only on a port owned by one worker thread: writes `bytes`, then blocks the thread
   * reading the reply, handing each chunk to the data listener at once (valid during that call
   * only), until `done()` is true or `timeoutMs` passed. Returns whether `done()` became true;
   * throws a `PortError` when the port is closed or the device vanished. A reply costs one
   * wake-up of the thread in read(2) instead of a turn of its event loop.
   */
  exchange?: (bytes: Uint8Array, timeoutMs: number, done: () => boolean) => boolean;
}

export interface PortInfo {
  path: string;
  serialNumber: string | null;
  vendorId: number | null;
  productId: number | null;
  /** Physical USB location (hub-port path) where the platform reports it. */
  location: string | null;
}
