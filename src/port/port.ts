/**
 * A byte port to one device: a real serial tty, a pseudo-terminal to the simulator,
 * or an in-memory pair (unit tests only).
 *
 * Contract:
 * - `write` hands the bytes to the OS in one write call (a Modbus request must not be
 *   split, beep-protocol.md 1.4) and rejects with a `PortError` once the port is closed.
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
}

export interface PortInfo {
  path: string;
  serialNumber: string | null;
  vendorId: number | null;
  productId: number | null;
  /** Physical USB location (hub-port path) where the platform reports it. */
  location: string | null;
}
