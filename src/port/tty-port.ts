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
import { closeSync, constants as fsConstants, openSync, readSync, writeSync } from 'node:fs';
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
type AsyncClose = (fd: number) => Promise<void>;
interface Bindings {
  asyncOpen: AsyncOpen;
  asyncClose: AsyncClose;
}

let bindings: Bindings | null = null;
function loadBindings(): Bindings {
  bindings ??= require('@serialport/bindings-cpp/dist/load-bindings.js') as Bindings;
  return bindings;
}

/** Give up writing after this long without progress (the device stopped reading). */
const WRITE_STALL_MS = 500;
const RESOLVED: Promise<void> = Promise.resolve();

export interface TtyOpenOptions {
  baudRate?: number;
  /** Counts the native open in and out (slot worker threads). */
  gate?: NativeCallGate;
  /**
   * Worker threads that own their port only: offer {@link Port.exchange}, which blocks the
   * thread in read(2) for the reply (VMIN 0 / VTIME 1: the kernel wakes it with the first
   * bytes, or after 100 ms) instead of returning to the event loop per reply. Falls back to
   * the event loop alone when the second, blocking descriptor cannot be opened. The other end
   * must be served by another thread or process (never a simulator on this thread's loop).
   */
  blockingReplies?: boolean;
}

/** read(2) with VTIME 1 returns 0 after 100 ms without input; a 0 well before that is a hang-up. */
const HANG_UP_READ_MS = 50;
/** Largest reply: 3 + 255 + 2 bytes; a little more so trailing garbage is taken in one read. */
const REPLY_BUFFER_BYTES = 512;
const sleepCell = new Int32Array(new SharedArrayBuffer(4));

function closeQuietly(fd: number | null): void {
  if (fd === null) return;
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

/** Blocks this (worker) thread for `ms`; never used on a thread with an event loop to keep turning. */
function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

export class TtyPort implements Port {
  private closeListeners: Array<(error: PortError | null) => void> = [];
  private dataListener: ((chunk: Uint8Array) => void) | null = null;
  private closed = false;
  private closeError: PortError | null = null;
  private closing: Promise<void> | null = null;
  private readonly stream: tty.ReadStream;
  /** The descriptor from the binding when the stream's handle uses another one, until closed. */
  private originalFd: number | null;
  /** Settles once the binding has closed {@link originalFd}. */
  private originalFdClosed: Promise<void> = RESOLVED;
  /** The blocking descriptor of `exchange` (same tty, own file description), or null. */
  private replyFd: number | null;
  private readonly replyBuffer: Uint8Array;
  exchange?: (bytes: Uint8Array, timeoutMs: number, done: () => boolean) => boolean;

  private constructor(readonly path: string, private readonly fd: number, replyFd: number | null, private readonly gate: NativeCallGate | undefined) {
    this.replyFd = replyFd;
    this.replyBuffer = new Uint8Array(replyFd === null ? 0 : REPLY_BUFFER_BYTES);
    if (replyFd !== null) this.exchange = (bytes, timeoutMs, done) => this.exchangeBlocking(bytes, timeoutMs, done);
    this.stream = new tty.ReadStream(fd);
    // libuv re-opens a tty by its name for the stream's handle and leaves the descriptor it was
    // given open: that one (the binding's, holding its lock) is ours to close with the port.
    const handleFd = (this.stream as unknown as { _handle?: { fd?: number } })._handle?.fd;
    this.originalFd = typeof handleFd === 'number' && handleFd >= 0 && handleFd !== fd ? fd : null;
    this.stream.on('error', (err: NodeJS.ErrnoException) => {
      this.finish(this.closing ? null : new PortError('PORT_DISCONNECTED', `port ${path} disconnected: ${err.code ?? err.message}`, { cause: err }));
    });
    this.stream.on('close', () => {
      this.finish(this.closing ? null : new PortError('PORT_DISCONNECTED', `port ${path} disconnected`));
    });
    this.stream.on('data', (chunk: Uint8Array) => this.deliver(chunk));
  }

  private deliver(chunk: Uint8Array): void {
    if (this.closed || !this.dataListener) return;
    try {
      this.dataListener(chunk);
    } catch (err) {
      // A bug in a reply handler must not escape into the stream (and from there into the
      // thread's uncaught-exception path): the port fails with the reason instead.
      this.finish(new PortError('PORT_DISCONNECTED', `port ${this.path}: reply handler failed: ${(err as Error).message}`, { cause: err }));
    }
  }

  static async open(path: string, options: TtyOpenOptions = {}): Promise<TtyPort> {
    const gate = options.gate;
    const blocking = options.blockingReplies === true;
    if (gate && !gate.enter()) throw new PortError('PORT_CLOSED', `cannot open ${path}: the slot is closing`);
    let fd: number;
    try {
      fd = await loadBindings().asyncOpen(path, {
        baudRate: options.baudRate ?? DEFAULT_BAUD_RATE, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false, xon: false, xoff: false, xany: false, hupcl: true, lock: true,
        // Termios belongs to the tty: VTIME bounds the blocking reads of `exchange`; the
        // non-blocking descriptor below returns what is there either way.
        vmin: blocking ? 0 : 1, vtime: blocking ? 1 : 0,
      });
    } catch (err) {
      throw new PortError('PORT_OPEN_FAILED', `cannot open ${path}: ${(err as Error).message}`, { cause: err });
    } finally {
      // Counted out on the next turn of the loop, once the binding's completion callback has
      // fully returned; the fd is owned by a tty handle below before that.
      if (gate) setImmediate(() => gate.leave());
    }
    let replyFd: number | null = null;
    if (blocking) {
      try {
        // A second open of the same tty: its own file description, so blocking (the first one is
        // O_NONBLOCK for the event loop). The binding's lock is an flock, which does not refuse it.
        replyFd = openSync(path, fsConstants.O_RDWR | fsConstants.O_NOCTTY);
      } catch {
        replyFd = null; // the event loop alone, as without the option
      }
    }
    try {
      return new TtyPort(path, fd, replyFd, gate);
    } catch (err) {
      for (const f of replyFd === null ? [fd] : [fd, replyFd]) {
        try {
          closeSync(f);
        } catch {
          // already closed
        }
      }
      throw new PortError('PORT_OPEN_FAILED', `cannot use ${path} as a tty: ${(err as Error).message}`, { cause: err });
    }
  }

  get isOpen(): boolean {
    return !this.closed && !this.closing;
  }

  /**
   * Writes in one `write(2)` when the tty takes it (always, for a request that fits its buffer):
   * then nothing is kept of `bytes` and the returned promise is already settled. Only a full
   * buffer (EAGAIN) makes the write wait, on a copy of what is left, so callers may reuse `bytes`.
   */
  write(bytes: Uint8Array): Promise<void> {
    try {
      const offset = this.writeSome(bytes, 0);
      if (offset === bytes.length) return RESOLVED;
      return this.writeLater(bytes.slice(offset), performance.now());
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /** One non-blocking write(2); returns the new offset (unchanged when the tty is full). Throws once the port is closed or failed. */
  private writeSome(bytes: Uint8Array, offset: number): number {
    // Checked before every write(2): once a close began, the fd may already be someone else's.
    if (this.closed || this.closing) throw new PortError('PORT_CLOSED', `port ${this.path} is closed`);
    try {
      return offset + writeSync(this.fd, bytes, offset, bytes.length - offset);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return offset;
      throw this.writeFailed(err);
    }
  }

  private writeFailed(err: unknown): PortError {
    const code = (err as NodeJS.ErrnoException).code;
    const e = new PortError('PORT_DISCONNECTED', `write to ${this.path} failed: ${code ?? (err as Error).message}`, { cause: err });
    this.finish(e);
    return e;
  }

  private async writeLater(rest: Uint8Array, started: number): Promise<void> {
    let offset = 0;
    while (offset < rest.length) {
      await new Promise((r) => setTimeout(r, 1));
      const before = offset;
      offset = this.writeSome(rest, offset);
      if (offset === before && performance.now() - started > WRITE_STALL_MS) throw this.writeFailed(Object.assign(new Error('EAGAIN'), { code: 'EAGAIN' }));
    }
  }

  /**
   * Writes a request and blocks this thread reading its reply: every chunk read goes to the
   * data listener at once (valid during that call only), until `done()` or `timeoutMs` has
   * passed (up to 100 ms later: VTIME). Returns whether `done()` became true. Bytes that come
   * after (a late reply) are read by the event loop's stream as usual. Throws a PortError when
   * the port is closed or the device vanished (the port then fails as on any hang-up).
   */
  private exchangeBlocking(bytes: Uint8Array, timeoutMs: number, done: () => boolean): boolean {
    const started = performance.now();
    let offset = this.writeSome(bytes, 0);
    while (offset < bytes.length) {
      // The tty's buffer is full (the device stopped reading): wait here, as `write` would.
      if (performance.now() - started > WRITE_STALL_MS) throw this.writeFailed(Object.assign(new Error('EAGAIN'), { code: 'EAGAIN' }));
      sleepSync(1);
      offset = this.writeSome(bytes, offset);
    }
    const deadline = started + timeoutMs;
    while (!done()) {
      if (performance.now() >= deadline) return false;
      if (this.closed || this.closing || this.replyFd === null) throw new PortError('PORT_CLOSED', `port ${this.path} is closed`);
      const before = performance.now();
      let n: number;
      try {
        n = readSync(this.replyFd, this.replyBuffer, 0, this.replyBuffer.length, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EINTR') continue;
        throw this.readFailed(code ?? (err as Error).message, err);
      }
      if (n === 0) {
        if (performance.now() - before < HANG_UP_READ_MS) throw this.readFailed('hang-up');
        continue;
      }
      this.deliver(this.replyBuffer.subarray(0, n));
    }
    return true;
  }

  private readFailed(reason: string, cause?: unknown): PortError {
    const e = new PortError('PORT_DISCONNECTED', `port ${this.path} disconnected: ${reason}`, { cause });
    this.finish(e);
    return e;
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
      this.closeReplyFd();
      if (this.stream.closed) {
        this.finish(null);
        resolve();
        return;
      }
      this.stream.once('close', () => resolve());
      this.stream.destroy();
    }).then(() => this.originalFdClosed);
    return this.closing;
  }

  /** The blocking descriptor goes with the port, before anything else can reuse its number. */
  private closeReplyFd(): void {
    const f = this.replyFd;
    this.replyFd = null;
    closeQuietly(f);
  }

  /**
   * After the stream's own descriptor: the binding's one (writes stop before a close begins).
   * The binding opened it, so the binding closes it: closed by `fs` in a worker thread, Node
   * warns on stderr that it was "closed but not opened in unmanaged mode". Counted through the
   * gate like the open (the thread is never terminated under it); when the gate is sealed (the
   * thread is being torn down) `fs` closes it, warning or not.
   */
  private closeOriginalFd(): void {
    const f = this.originalFd;
    this.originalFd = null;
    if (f === null) return;
    const gate = this.gate;
    if (gate && !gate.enter()) {
      closeQuietly(f);
      return;
    }
    // close() waits for it: the descriptor holds the binding's lock, which a reopen needs.
    this.originalFdClosed = loadBindings()
      .asyncClose(f)
      .catch(() => closeQuietly(f))
      .finally(() => {
        if (gate) setImmediate(() => gate.leave());
      });
  }

  private finish(error: PortError | null): void {
    this.closeReplyFd();
    // Writes use it: from here on they refuse (closed or closing is checked before every write).
    this.closeOriginalFd();
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
