/**
 * A real serial tty or a pseudo-terminal.
 *
 * serialport's native binding opens the device (exclusive lock, raw termios, baud rate),
 * but its poller is bound to the main thread's libuv loop and aborts the process when
 * used from a worker thread. So after the open, reads go through Node's own tty handle
 * on the calling thread's loop (binary-safe: termios stays as the binding set it, raw
 * mode is never re-applied by Node) and writes are single non-blocking `write(2)` calls.
 *
 * The open is the one native serialport call made here. In a slot worker it is counted
 * through a {@link NativeCallGate} so the supervisor never terminates the thread while the
 * call is in flight (that aborts the process, see native-call-gate.ts). Everything that
 * runs inside a stream callback is caught: nothing thrown here ever unwinds into native code.
 * `close` runs once; writes stop the moment a close begins (the fd number may be reused by
 * the next open as soon as the handle is closed).
 */
import { closeSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import tty from 'node:tty';
import { PortError } from '../errors.js';
import { DEFAULT_BAUD_RATE } from '../protocol/constants.js';
import type { NativeCallGate } from './native-call-gate.js';
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

export interface TtyOpenOptions {
  baudRate?: number;
  /** Counts the native open in and out (slot worker threads). */
  gate?: NativeCallGate;
}

export class TtyPort implements Port {
  private closeListeners: Array<(error: PortError | null) => void> = [];
  private dataListener: ((chunk: Uint8Array) => void) | null = null;
  private closed = false;
  private closeError: PortError | null = null;
  private closing: Promise<void> | null = null;
  private readonly stream: tty.ReadStream;

  private constructor(readonly path: string, private readonly fd: number) {
    this.stream = new tty.ReadStream(fd);
    this.stream.on('error', (err: NodeJS.ErrnoException) => {
      this.finish(this.closing ? null : new PortError('PORT_DISCONNECTED', `port ${path} disconnected: ${err.code ?? err.message}`, { cause: err }));
    });
    this.stream.on('close', () => {
      this.finish(this.closing ? null : new PortError('PORT_DISCONNECTED', `port ${path} disconnected`));
    });
    this.stream.on('data', (chunk: Uint8Array) => {
      if (this.closed || !this.dataListener) return;
      try {
        this.dataListener(chunk);
      } catch (err) {
        // A bug in a reply handler must not escape into the stream (and from there into the
        // thread's uncaught-exception path): the port fails with the reason instead.
        this.finish(new PortError('PORT_DISCONNECTED', `port ${path}: reply handler failed: ${(err as Error).message}`, { cause: err }));
      }
    });
  }

  static async open(path: string, options: TtyOpenOptions = {}): Promise<TtyPort> {
    const gate = options.gate;
    if (gate && !gate.enter()) throw new PortError('PORT_CLOSED', `cannot open ${path}: the slot is closing`);
    let fd: number;
    try {
      fd = await loadOpen()(path, { baudRate: options.baudRate ?? DEFAULT_BAUD_RATE, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false, xon: false, xoff: false, xany: false, hupcl: true, lock: true, vmin: 1, vtime: 0 });
    } catch (err) {
      throw new PortError('PORT_OPEN_FAILED', `cannot open ${path}: ${(err as Error).message}`, { cause: err });
    } finally {
      // Counted out on the next turn of the loop, once the binding's completion callback has
      // fully returned; the fd is owned by a tty handle below before that.
      if (gate) setImmediate(() => gate.leave());
    }
    try {
      return new TtyPort(path, fd);
    } catch (err) {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
      throw new PortError('PORT_OPEN_FAILED', `cannot use ${path} as a tty: ${(err as Error).message}`, { cause: err });
    }
  }

  get isOpen(): boolean {
    return !this.closed && !this.closing;
  }

  async write(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    const started = performance.now();
    while (offset < bytes.length) {
      // Checked before every write(2): once a close began, the fd may already be someone else's.
      if (this.closed || this.closing) throw new PortError('PORT_CLOSED', `port ${this.path} is closed`);
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
    this.dataListener = listener;
  }

  onClose(listener: (error: PortError | null) => void): void {
    if (this.closed) {
      const error = this.closeError;
      queueMicrotask(() => listener(error));
      return;
    }
    this.closeListeners.push(listener);
  }

  /** Closes the tty handle (and with it the fd) exactly once; later calls share the first. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (this.stream.closed) {
        this.finish(null);
        resolve();
        return;
      }
      this.stream.once('close', () => resolve());
      this.stream.destroy();
    });
    return this.closing;
  }

  private finish(error: PortError | null): void {
    if (this.closed) return;
    this.closed = true;
    this.closeError = error;
    if (error && !this.stream.destroyed) this.stream.destroy();
    const listeners = this.closeListeners;
    this.closeListeners = [];
    for (const l of listeners) {
      try {
        l(error);
      } catch {
        // a listener's failure must not stop the others (nor escape into the stream)
      }
    }
  }
}
