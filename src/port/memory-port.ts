/** In-process connected port pair for unit tests (never the only test of a path). */
import { PortError } from '../errors.js';
import type { Port } from './port.js';

export interface MemoryPortOptions {
  /** Split every write into chunks of at most this many bytes on delivery. */
  chunkBytes?: number;
}

export class MemoryPort implements Port {
  peer: MemoryPort | null = null;
  private dataListener: ((chunk: Uint8Array) => void) | null = null;
  private closeListeners: Array<(error: PortError | null) => void> = [];
  private open = true;
  /** Every write made through this end, for assertions. */
  readonly written: Uint8Array[] = [];

  constructor(readonly path: string, private readonly options: MemoryPortOptions = {}) {}

  get isOpen(): boolean {
    return this.open;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (!this.open) throw new PortError('PORT_CLOSED', `port ${this.path} is closed`);
    const copy = bytes.slice();
    this.written.push(copy);
    const peer = this.peer;
    const size = this.options.chunkBytes ?? copy.length;
    setImmediate(() => {
      for (let i = 0; i < copy.length; i += size) peer?.deliver(copy.subarray(i, i + size));
    });
  }

  onData(listener: (chunk: Uint8Array) => void): void {
    this.dataListener = listener;
  }

  onClose(listener: (error: PortError | null) => void): void {
    this.closeListeners.push(listener);
  }

  async close(): Promise<void> {
    this.finish(null);
    this.peer?.finish(new PortError('PORT_DISCONNECTED', `port ${this.peer.path} disconnected`));
  }

  /** Simulates the device vanishing: this end sees a disconnect error. */
  disconnect(): void {
    this.finish(new PortError('PORT_DISCONNECTED', `port ${this.path} disconnected`));
    this.peer?.finish(null);
  }

  private deliver(chunk: Uint8Array): void {
    if (this.open) this.dataListener?.(chunk);
  }

  private finish(error: PortError | null): void {
    if (!this.open) return;
    this.open = false;
    for (const l of this.closeListeners) l(error);
    this.closeListeners = [];
  }
}

export function createPortPair(options: MemoryPortOptions = {}): [MemoryPort, MemoryPort] {
  const a = new MemoryPort('memory:a', options);
  const b = new MemoryPort('memory:b', options);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
