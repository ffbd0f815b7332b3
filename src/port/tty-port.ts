/**
 * A real serial tty or a pseudo-terminal.
 *
 * serialport's native binding opens the device (exclusive lock, raw termios, baud rate),
 * but its poller is bound to the main thread's libuv loop and aborts the process when
 * used from a worker thread. So after the open, reads go through Node's own tty handle
 * on the calling thread's loop (binary-safe: termios stays as the binding set it, raw
 * mode is never re-applied by Node) and writes are single non-blocking `write(2)` calls.
 */
import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import tty from 'node:tty';
import { PortError } from '../errors.js';
import { DEFAULT_BAUD_RATE } from '../protocol/constants.js';
import type { Port } from './port.js';

const require = createRequire(import.meta.url);

interface OpenOptions {
  baudRate: number;
  dataBits: 8;
  parity: 'none';
  stopBits: 1;
  rtscts: false;
  xon: false;
  xoff: false;
  xany: false;
  hupcl: boolean;
  lock: boolean;
  vmin: number;
  vtime: number;
}
type AsyncOpen = (path: string, options: OpenOptions) => Promise<number>;

let asyncOpen: AsyncOpen | null = null;
function loadOpen(): AsyncOpen {
  asyncOpen ??= (require('@serialport/bindings-cpp/dist/load-bindings.js') as { asyncOpen: AsyncOpen }).asyncOpen;
  return asyncOpen;
}

/** Give up writing after this long without progress (the device stopped reading). */
const WRITE_STALL_MS = 500;

export class TtyPort implements Port {
  private closeListeners: Array<(error: PortError | null) => void> = [];
  private closed = false;
  private closing = false;
  private readonly stream: tty.ReadStream;

  private constructor(readonly path: string, private readonly fd: number) {
    this.stream = new tty.ReadStream(fd);
    this.stream.on('error', (err: NodeJS.ErrnoException) => {
      this.finish(this.closing ? null : new PortError('PORT_DISCONNECTED', `port ${path} disconnected: ${err.code ?? err.message}`, { cause: err }));
    });
    this.stream.on('close', () => {
      this.finish(this.closing ? null : new PortError('PORT_DISCONNECTED', `port ${path} disconnected`));
    });
  }

  static async open(path: string, baudRate = DEFAULT_BAUD_RATE): Promise<TtyPort> {
    let fd: number;
    try {
      fd = await loadOpen()(path, { baudRate, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false, xon: false, xoff: false, xany: false, hupcl: true, lock: true, vmin: 1, vtime: 0 });
    } catch (err) {
      throw new PortError('PORT_OPEN_FAILED', `cannot open ${path}: ${(err as Error).message}`, { cause: err });
    }
    return new TtyPort(path, fd);
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.closed) throw new PortError('PORT_CLOSED', `port ${this.path} is closed`);
    let offset = 0;
    const started = performance.now();
    while (offset < bytes.length) {
      try {
        offset += writeSync(this.fd, bytes, offset, bytes.length - offset);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EAGAIN' || performance.now() - started > WRITE_STALL_MS) {
          const e = new PortError('PORT_DISCONNECTED', `write to ${this.path} failed: ${code ?? (err as Error).message}`, { cause: err });
          this.finish(e);
          throw e;
        }
        await new Promise((r) => setTimeout(r, 1));
      }
    }
  }

  onData(listener: (chunk: Uint8Array) => void): void {
    this.stream.removeAllListeners('data');
    this.stream.on('data', listener);
  }

  onClose(listener: (error: PortError | null) => void): void {
    this.closeListeners.push(listener);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closing = true;
    return new Promise((resolve) => {
      this.stream.once('close', () => resolve());
      this.stream.destroy();
    });
  }

  private finish(error: PortError | null): void {
    if (this.closed) return;
    this.closed = true;
    if (error) this.stream.destroy();
    for (const l of this.closeListeners) l(error);
    this.closeListeners = [];
  }
}
