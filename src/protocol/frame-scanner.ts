/**
 * Finds CRC-valid Modbus frames in an arbitrarily chunked byte stream that may contain
 * garbage, truncated frames and corrupted bytes. Never throws on input; always
 * resynchronises by sliding one byte past any candidate that fails.
 */
import { hasValidCrc } from './crc16.js';
import { UNIT_ADDRESS, UNIT_ADDRESS_ALT } from './constants.js';
import { type FrameLength, measureResponse, measureRequest } from './frames.js';

export type FrameMeasure = (bytes: Uint8Array, offset: number, available: number) => FrameLength;

/**
 * Receives one CRC-valid frame as `bytes[start, end)`. The bytes are the scanner's own buffer:
 * valid only during the call (copy what must outlive it).
 */
export type FrameVisitor = (bytes: Uint8Array, start: number, end: number) => void;

export interface FrameScannerOptions {
  /** How to size a frame from its header: responses (host side) or requests (device side). */
  measure?: FrameMeasure;
  /** Addresses a frame may start with. */
  addresses?: readonly number[];
  /** Longest frame accepted; longer candidates are treated as garbage. */
  maxFrameBytes?: number;
}

export interface ScanStats {
  frames: number;
  /** Bytes skipped while resynchronising (garbage, corrupt or truncated frames). */
  skippedBytes: number;
  crcErrors: number;
}

export class FrameScanner {
  private buf = new Uint8Array(1024);
  private head = 0;
  private tail = 0;
  private readonly measure: FrameMeasure;
  private readonly addresses: Uint8Array;
  private readonly maxFrameBytes: number;
  readonly stats: ScanStats = { frames: 0, skippedBytes: 0, crcErrors: 0 };

  constructor(options: FrameScannerOptions = {}) {
    this.measure = options.measure ?? measureResponse;
    this.addresses = new Uint8Array(256);
    for (const a of options.addresses ?? [UNIT_ADDRESS, UNIT_ADDRESS_ALT]) this.addresses[a] = 1;
    this.maxFrameBytes = options.maxFrameBytes ?? 261;
  }

  get bufferedBytes(): number {
    return this.tail - this.head;
  }

  /** Drops everything buffered (e.g. before a new request). */
  reset(): void {
    this.stats.skippedBytes += this.tail - this.head;
    this.head = this.tail = 0;
  }

  /** Appends bytes and returns every complete valid frame now available (copies). */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.scan(chunk, (bytes, start, end) => out.push(bytes.slice(start, end)));
    return out;
  }

  /**
   * Appends bytes and hands every complete valid frame now available to `visit`, in order,
   * without copying (the host's hot path: one reply per request, decoded in place).
   */
  scan(chunk: Uint8Array, visit: FrameVisitor): void {
    this.append(chunk);
    this.drain(false, visit);
  }

  /** End of stream: resolve what is left; incomplete candidates become garbage. */
  end(): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.drain(true, (bytes, start, end) => out.push(bytes.slice(start, end)));
    this.reset();
    return out;
  }

  private append(chunk: Uint8Array): void {
    const used = this.tail - this.head;
    if (this.tail + chunk.length > this.buf.length) {
      if (used + chunk.length <= this.buf.length && this.head > 0) {
        this.buf.copyWithin(0, this.head, this.tail);
      } else {
        const next = new Uint8Array(Math.max(this.buf.length * 2, used + chunk.length));
        next.set(this.buf.subarray(this.head, this.tail));
        this.buf = next;
      }
      this.head = 0;
      this.tail = used;
    }
    this.buf.set(chunk, this.tail);
    this.tail += chunk.length;
  }

  private drain(final: boolean, visit: FrameVisitor): void {
    const buf = this.buf;
    while (this.head < this.tail) {
      if (!this.addresses[buf[this.head]!]) {
        this.head++;
        this.stats.skippedBytes++;
        continue;
      }
      const available = this.tail - this.head;
      const length = this.measure(buf, this.head, available);
      if (length === 'invalid' || (typeof length === 'number' && (length < 4 || length > this.maxFrameBytes))) {
        this.head++;
        this.stats.skippedBytes++;
        continue;
      }
      if (length === 'incomplete' || length > available) {
        if (!final) break;
        this.head++;
        this.stats.skippedBytes++;
        continue;
      }
      if (hasValidCrc(buf, this.head, this.head + length)) {
        const start = this.head;
        // Consumed before the visit: a visitor may reset the scanner (a new request).
        this.head += length;
        this.stats.frames++;
        visit(buf, start, start + length);
      } else {
        this.stats.crcErrors++;
        this.head++;
        this.stats.skippedBytes++;
      }
    }
    if (this.head === this.tail) this.head = this.tail = 0;
  }
}

/** Scanner for the device side (requests from a host). */
export function createRequestScanner(): FrameScanner {
  return new FrameScanner({ measure: measureRequest, maxFrameBytes: 256 });
}
