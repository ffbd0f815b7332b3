/**
 * Request/response over a Port: one outstanding request, single-write requests,
 * input flushed before each request, replies matched by address, function and echo,
 * exceptions decoded at once (5-byte frames) instead of waiting out a timeout.
 *
 * The host's cost per transaction is mostly overhead around a few µs of work, so the hot
 * path is kept lean: a request with nothing in flight is written at once (no promise chain),
 * replies are matched in the scanner's buffer and resolve the caller directly, and one
 * long-lived {@link DeadlineTimer} watches the timeouts instead of a timer per transaction.
 */
import { DeviceTimeoutError, PortError } from '../errors.js';
import { FrameScanner } from '../protocol/frame-scanner.js';
import { decodeResponse, EXCEPTION_FLAG, type ResponseFrame } from '../protocol/frames.js';
import { FunctionCode } from '../protocol/constants.js';
import type { Port } from '../port/port.js';
import { DeadlineTimer } from './deadline-timer.js';
import { FrameSlab } from './frame-slab.js';

export interface TransactionStats {
  transactions: number;
  timeouts: number;
  crcErrors: number;
  /** Replies that were valid frames but not the answer to the outstanding request. */
  strayReplies: number;
  exceptions: number;
}

/** The request in flight and what its reply must echo. A class: one fixed shape, built without copying properties. */
class Pending {
  readonly address: number;
  readonly fn: number;
  /** For reads: exact data byte count expected; -1 for writes. */
  readonly expectBytes: number;
  /** For writes: echoed start and count; -1 for reads. */
  readonly expectStart: number;
  readonly expectCount: number;

  constructor(
    readonly bytes: Uint8Array,
    readonly timeoutMs: number,
    readonly resolve: (frame: ResponseFrame) => void,
    readonly reject: (err: Error) => void,
  ) {
    const start = (bytes[2]! << 8) | bytes[3]!;
    const count = (bytes[4]! << 8) | bytes[5]!;
    const isWrite = bytes[1] === FunctionCode.WRITE_MULTIPLE;
    this.address = bytes[0]!;
    this.fn = bytes[1]!;
    this.expectBytes = isWrite ? -1 : (2 * count) & 0xff;
    this.expectStart = isWrite ? start : -1;
    this.expectCount = isWrite ? count : -1;
  }
}

export interface ModbusClientOptions {
  timeoutMs?: number;
  /** Quiet time after a timeout so a late reply cannot be taken for the next one. */
  settleAfterTimeoutMs?: number;
}

export class ModbusClient {
  readonly stats: TransactionStats = { transactions: 0, timeouts: 0, crcErrors: 0, strayReplies: 0, exceptions: 0 };
  private readonly scanner = new FrameScanner();
  /** Replies are copied out of the scanner's buffer (callers keep them past the next request). */
  private readonly replies = new FrameSlab();
  private pending: Pending | null = null;
  /** Requests waiting for the one in flight (or for the quiet time after a timeout). Their bytes are copies. */
  private readonly queue: Pending[] = [];
  /** In the quiet time after a timeout: nothing is sent. */
  private settling = false;
  private closedError: PortError | null = null;
  private readonly timeoutMs: number;
  private readonly settleMs: number;
  private readonly deadline = new DeadlineTimer(() => this.onTimeout());
  /** A reply completed the transaction during the current chunk: send the next queued request after it. */
  private completed = false;
  /** Inside a blocking exchange: the next request is sent after it returns, not from within. */
  private exchanging = false;

  constructor(readonly port: Port, options: ModbusClientOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 500;
    this.settleMs = options.settleAfterTimeoutMs ?? 30;
    port.onData((chunk) => this.onData(chunk));
    port.onClose((err) => {
      this.closedError = err ?? new PortError('PORT_CLOSED', `port ${port.path} closed`);
      this.deadline.dispose();
      const p = this.pending;
      this.pending = null;
      p?.reject(this.closedError);
      for (const q of this.queue.splice(0)) q.reject(this.closedError);
    });
  }

  get closed(): PortError | null {
    return this.closedError;
  }

  /** Replies are awaited blocking the thread (the port offers `exchange`): short waits may block it too. */
  get blocking(): boolean {
    return this.port.exchange !== undefined;
  }

  /**
   * Sends one request frame and resolves with the matching reply (exception replies
   * resolve too, with `exception` set). Requests are serialised. The client does not keep
   * `request` after this call returns (a request that must wait is copied), so callers
   * may encode the next request into the same buffer.
   */
  transact(request: Uint8Array, timeoutMs = this.timeoutMs): Promise<ResponseFrame> {
    return new Promise<ResponseFrame>((resolve, reject) => {
      if (this.pending === null && !this.settling && this.queue.length === 0) this.start(new Pending(request, timeoutMs, resolve, reject));
      else this.queue.push(new Pending(request.slice(), timeoutMs, resolve, reject));
    });
  }

  private start(p: Pending): void {
    if (this.closedError) {
      p.reject(this.closedError);
      return;
    }
    this.scanner.reset();
    this.pending = p;
    this.stats.transactions++;
    if (this.port.exchange) {
      this.exchange(this.port.exchange, p);
      return;
    }
    this.deadline.set(performance.now() + p.timeoutMs);
    this.port.write(p.bytes).then(undefined, (err: unknown) => {
      // The port's close may already have rejected the reply (and emptied the queue).
      if (this.pending !== p) return;
      this.pending = null;
      this.deadline.clear();
      p.reject(err as Error);
      this.startNext();
    });
  }

  /**
   * The request and its reply in one blocking call of the port (a worker thread's own tty):
   * the reply still arrives through `onData`, within the call; no timer, no event-loop turn.
   */
  private exchange(exchange: NonNullable<Port['exchange']>, p: Pending): void {
    let answered: boolean;
    this.exchanging = true;
    try {
      answered = exchange(p.bytes, p.timeoutMs, () => this.pending !== p);
    } catch (err) {
      // The port failed (its close listener has rejected `p` already) or refused the write.
      if (this.pending === p) {
        this.pending = null;
        p.reject(err as Error);
      }
      answered = true;
    } finally {
      this.exchanging = false;
    }
    if (!answered && this.pending === p) this.onTimeout();
    else this.startNext();
  }

  private startNext(): void {
    if (this.pending !== null || this.settling || this.exchanging) return;
    const next = this.queue.shift();
    if (next) this.start(next);
  }

  private onTimeout(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    this.stats.timeouts++;
    const err = new DeviceTimeoutError('DEVICE_TIMEOUT', `no reply from ${this.port.path} within ${p.timeoutMs} ms (function 0x${p.fn.toString(16)})`);
    // The caller hears of the timeout after the quiet time, and nothing is sent before its end.
    this.settling = true;
    setTimeout(() => {
      this.settling = false;
      p.reject(err);
      this.startNext();
    }, this.settleMs);
  }

  private onData(chunk: Uint8Array): void {
    const before = this.scanner.stats.crcErrors;
    this.scanner.scan(chunk, this.onFrame);
    this.stats.crcErrors += this.scanner.stats.crcErrors - before;
    // The next request goes out after the whole chunk was scanned: frames after the reply
    // count as stray, as they would have without a queue.
    if (this.completed) {
      this.completed = false;
      this.startNext();
    }
  }

  private readonly onFrame = (bytes: Uint8Array, start: number, end: number): void => {
    const p = this.pending;
    if (!p || !matches(p, bytes, start, end)) {
      this.stats.strayReplies++;
      return;
    }
    this.pending = null;
    this.deadline.clear();
    const frame = decodeResponse(this.replies.copy(bytes, start, end));
    if (frame.exception !== null) this.stats.exceptions++;
    this.completed = true;
    p.resolve(frame);
  };
}

/** Whether the CRC-checked frame bytes[start, end) answers `p`; read in place, nothing decoded. */
function matches(p: Pending, bytes: Uint8Array, start: number, end: number): boolean {
  const fn = bytes[start + 1]!;
  if (bytes[start] !== p.address) return false;
  if (fn & EXCEPTION_FLAG) return ((fn - EXCEPTION_FLAG) & 0xff) === p.fn;
  if (fn !== p.fn) return false;
  if (p.expectBytes >= 0) return end - start - 5 === p.expectBytes && bytes[start + 2] === p.expectBytes;
  return fn === FunctionCode.WRITE_MULTIPLE && ((bytes[start + 2]! << 8) | bytes[start + 3]!) === p.expectStart && ((bytes[start + 4]! << 8) | bytes[start + 5]!) === p.expectCount;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
