/**
 * Request/response over a Port: one outstanding request, single-write requests,
 * input flushed before each request, replies matched by address, function and echo,
 * exceptions decoded at once (5-byte frames) instead of waiting out a timeout.
 */
import { DeviceTimeoutError, PortError } from '../errors.js';
import { FrameScanner } from '../protocol/frame-scanner.js';
import { decodeResponse, type ResponseFrame } from '../protocol/frames.js';
import { FunctionCode } from '../protocol/constants.js';
import type { Port } from '../port/port.js';

export interface TransactionStats {
  transactions: number;
  timeouts: number;
  crcErrors: number;
  /** Replies that were valid frames but not the answer to the outstanding request. */
  strayReplies: number;
  exceptions: number;
}

interface Pending {
  address: number;
  fn: number;
  /** For reads: exact data byte count expected; for writes: echoed start/count. */
  expectBytes: number;
  expectStart: number;
  expectCount: number;
  resolve: (frame: ResponseFrame) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export interface ModbusClientOptions {
  timeoutMs?: number;
  /** Quiet time after a timeout so a late reply cannot be taken for the next one. */
  settleAfterTimeoutMs?: number;
}

export class ModbusClient {
  readonly stats: TransactionStats = { transactions: 0, timeouts: 0, crcErrors: 0, strayReplies: 0, exceptions: 0 };
  private readonly scanner = new FrameScanner();
  private pending: Pending | null = null;
  private closedError: PortError | null = null;
  private readonly timeoutMs: number;
  private readonly settleMs: number;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(readonly port: Port, options: ModbusClientOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 500;
    this.settleMs = options.settleAfterTimeoutMs ?? 30;
    port.onData((chunk) => this.onData(chunk));
    port.onClose((err) => {
      this.closedError = err ?? new PortError('PORT_CLOSED', `port ${port.path} closed`);
      const p = this.pending;
      if (p) {
        this.pending = null;
        clearTimeout(p.timer);
        p.reject(this.closedError);
      }
    });
  }

  get closed(): PortError | null {
    return this.closedError;
  }

  /**
   * Sends one request frame and resolves with the matching reply (exception replies
   * resolve too, with `exception` set). Requests are serialised.
   */
  transact(request: Uint8Array, timeoutMs = this.timeoutMs): Promise<ResponseFrame> {
    const run = this.chain.then(() => this.transactNow(request, timeoutMs));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async transactNow(request: Uint8Array, timeoutMs: number): Promise<ResponseFrame> {
    if (this.closedError) throw this.closedError;
    this.scanner.reset();
    const fn = request[1]!;
    const expect = expectedReply(request);
    const reply = new Promise<ResponseFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending?.timer !== timer) return;
        this.pending = null;
        this.stats.timeouts++;
        reject(new DeviceTimeoutError('DEVICE_TIMEOUT', `no reply from ${this.port.path} within ${timeoutMs} ms (function 0x${fn.toString(16)})`));
      }, timeoutMs);
      this.pending = { address: request[0]!, fn, ...expect, resolve, reject, timer };
    });
    this.stats.transactions++;
    try {
      await this.port.write(request);
    } catch (err) {
      const p = this.pending;
      this.pending = null;
      if (p) clearTimeout(p.timer);
      // The port's close may already have rejected the reply; nobody will await it now.
      reply.catch(() => undefined);
      throw err;
    }
    try {
      return await reply;
    } catch (err) {
      if (err instanceof DeviceTimeoutError) await sleep(this.settleMs);
      throw err;
    }
  }

  private onData(chunk: Uint8Array): void {
    const before = this.scanner.stats.crcErrors;
    const frames = this.scanner.push(chunk);
    this.stats.crcErrors += this.scanner.stats.crcErrors - before;
    for (const f of frames) {
      const p = this.pending;
      const frame = decodeResponse(f);
      if (!p || !matches(p, frame)) {
        this.stats.strayReplies++;
        continue;
      }
      this.pending = null;
      clearTimeout(p.timer);
      if (frame.exception !== null) this.stats.exceptions++;
      p.resolve(frame);
    }
  }
}

function expectedReply(request: Uint8Array): { expectBytes: number; expectStart: number; expectCount: number } {
  const start = (request[2]! << 8) | request[3]!;
  const count = (request[4]! << 8) | request[5]!;
  if (request[1] === FunctionCode.WRITE_MULTIPLE) return { expectBytes: -1, expectStart: start, expectCount: count };
  return { expectBytes: (2 * count) & 0xff, expectStart: -1, expectCount: -1 };
}

function matches(p: Pending, frame: ResponseFrame): boolean {
  if (frame.address !== p.address || frame.fn !== p.fn) return false;
  if (frame.exception !== null) return true;
  if (p.expectBytes >= 0) return frame.data.length === p.expectBytes;
  return frame.start === p.expectStart && frame.count === p.expectCount;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

