/**
 * Append-only file writer for text produced in many small pieces (CSV rows of a running
 * measurement). `append()` is synchronous and never waits: it queues the chunk and a background
 * loop writes the queue in few large `writev` calls on one FileHandle (the syscalls run on the
 * libuv thread pool, not on the event loop).
 *
 * Event-loop cost: a small string is encoded straight into a `coalesceBytes` staging buffer
 * (default 64 KiB; no intermediate string or Buffer, little garbage), a large one in one
 * `Buffer.from`; nothing ever concatenates the queue, so no synchronous step grows with the
 * amount of queued data.
 *
 * Ownership: a Buffer passed to `append` belongs to the writer until it has been written; the
 * caller must not modify it afterwards (small ones are copied, large ones are not).
 *
 * Failure: a write error (disk full, I/O error) or a queue above `maxQueuedBytes` (the disk
 * stalled) puts the writer in a failed state: `onError` is called once, further appends are
 * dropped and counted, and `flush`/`close` reject with the error. Data is never silently lost
 * without `error` being set.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface CsvFileWriterOptions {
  /** Create missing parent directories (default true). */
  mkdirs?: boolean;
  /** `open` flags: default `'wx'` (create; fail if the file exists: measurement data is never overwritten). */
  flags?: string;
  /** File mode of the new file (default 0o644, before umask). */
  mode?: number;
  /** Small chunks are merged until this many bytes before they are queued (default 64 KiB). */
  coalesceBytes?: number;
  /** Upper bound of one `writev` call (default 4 MiB). */
  maxBatchBytes?: number;
  /** `append` returns false above this many queued bytes (advisory, default 8 MiB). */
  highWaterMarkBytes?: number;
  /** Queue size at which the writer fails instead of growing further (default 256 MiB). */
  maxQueuedBytes?: number;
  /** Called once when the writer enters the failed state. */
  onError?: (err: Error) => void;
}

const MAX_IOV = 1024;

export class CsvFileWriter {
  readonly path: string;
  readonly #handle: FileHandle;
  readonly #coalesceBytes: number;
  readonly #maxBatchBytes: number;
  readonly #highWaterMarkBytes: number;
  readonly #maxQueuedBytes: number;
  readonly #onError: ((err: Error) => void) | undefined;

  /** Sealed buffers waiting to be written. */
  #queue: Buffer[] = [];
  #queueHead = 0;
  /** Bytes in `#queue` plus the staging buffer. */
  #queuedBytes = 0;
  /** Staging buffer: small strings are encoded straight into it, small Buffers copied into it. */
  #stage: Buffer | null = null;
  #stageUsed = 0;

  #bytesWritten = 0;
  #bytesAppended = 0;
  #droppedBytes = 0;
  #writes = 0;
  #writing: Promise<void> | null = null;
  #scheduled = false;
  #closed = false;
  #closing: Promise<void> | null = null;
  #error: Error | null = null;
  #drainWaiters: Array<() => void> = [];

  private constructor(path: string, handle: FileHandle, options: CsvFileWriterOptions) {
    this.path = path;
    this.#handle = handle;
    this.#coalesceBytes = options.coalesceBytes ?? 64 * 1024;
    this.#maxBatchBytes = options.maxBatchBytes ?? 4 * 1024 * 1024;
    this.#highWaterMarkBytes = options.highWaterMarkBytes ?? 8 * 1024 * 1024;
    this.#maxQueuedBytes = options.maxQueuedBytes ?? 256 * 1024 * 1024;
    this.#onError = options.onError;
  }

  /** Creates the file now (so it exists, empty, while the run starts) and returns its writer. */
  static async open(path: string, options: CsvFileWriterOptions = {}): Promise<CsvFileWriter> {
    if (options.mkdirs !== false) await mkdir(dirname(path), { recursive: true });
    const handle = await open(path, options.flags ?? 'wx', options.mode ?? 0o644);
    return new CsvFileWriter(path, handle, options);
  }

  /** Bytes that reached the file (completed writes). */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /** Bytes accepted by `append` so far (strings counted as UTF-8). */
  get bytesAppended(): number {
    return this.#bytesAppended;
  }

  /** Bytes waiting to be written. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** Bytes dropped after the writer failed. */
  get droppedBytes(): number {
    return this.#droppedBytes;
  }

  /** Number of `writev` calls so far. */
  get writeCalls(): number {
    return this.#writes;
  }

  /** The error that failed the writer, or null. */
  get error(): Error | null {
    return this.#error;
  }

  /**
   * Queues a chunk. Never blocks and never throws for I/O reasons; returns false when the queue
   * is above the high-water mark (a caller that can wait may `await drained()`). Throws only when
   * called after `close()`.
   */
  append(chunk: string | Uint8Array): boolean {
    if (this.#closed) throw new Error(`CsvFileWriter: append after close (${this.path})`);
    if (this.#error !== null) {
      this.#droppedBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
      return false;
    }
    if (typeof chunk === 'string') {
      if (chunk.length === 0) return this.#queuedBytes < this.#highWaterMarkBytes;
      if (chunk.length >= this.#coalesceBytes) {
        this.#sealStage();
        this.#push(Buffer.from(chunk, 'utf8'));
      } else {
        this.#stageString(chunk);
      }
    } else {
      if (chunk.byteLength === 0) return this.#queuedBytes < this.#highWaterMarkBytes;
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      if (buf.byteLength >= this.#coalesceBytes / 4) {
        this.#sealStage();
        this.#push(buf);
      } else {
        const stage = this.#stageWithRoom(buf.byteLength);
        buf.copy(stage, this.#stageUsed);
        this.#stageUsed += buf.byteLength;
        this.#queuedBytes += buf.byteLength;
        this.#bytesAppended += buf.byteLength;
      }
    }
    if (this.#queuedBytes > this.#maxQueuedBytes) {
      this.#fail(new Error(`CsvFileWriter: more than ${this.#maxQueuedBytes} bytes queued for ${this.path}; the disk is not keeping up`));
      return false;
    }
    this.#schedule();
    return this.#queuedBytes < this.#highWaterMarkBytes;
  }

  /** Resolves when the queue is below the high-water mark (at once if it already is, or on failure). */
  drained(): Promise<void> {
    if (this.#queuedBytes < this.#highWaterMarkBytes || this.#error !== null || this.#closed) return Promise.resolve();
    return new Promise((resolveDrain) => this.#drainWaiters.push(resolveDrain));
  }

  /** Writes everything queued so far (no fsync). Rejects if the writer failed. */
  async flush(): Promise<void> {
    this.#sealStage();
    while (this.#writing !== null || (this.#queueHead < this.#queue.length && this.#error === null)) {
      if (this.#writing === null) this.#startWriting();
      await this.#writing;
    }
    if (this.#error !== null) throw this.#error;
  }

  /** Flushes, fsyncs and closes the file. Idempotent; rejects (after closing) if any write failed. */
  close(): Promise<void> {
    if (this.#closing === null) {
      // From here on `append` throws, so nothing can slip in between the last write and the close.
      this.#closed = true;
      this.#wakeDrainWaiters();
      this.#closing = (async () => {
        let failure: unknown = null;
        try {
          await this.flush();
          await this.#handle.sync();
        } catch (err) {
          failure = err;
        } finally {
          await this.#handle.close().catch((err: unknown) => {
            failure ??= err;
          });
        }
        if (failure !== null) throw failure;
      })();
    }
    return this.#closing;
  }

  #push(buf: Buffer): void {
    this.#queue.push(buf);
    this.#queuedBytes += buf.byteLength;
    this.#bytesAppended += buf.byteLength;
  }

  /** The staging buffer, sealed and replaced first if it has less than `bytes` free. */
  #stageWithRoom(bytes: number): Buffer {
    if (this.#stage === null || this.#stage.byteLength - this.#stageUsed < bytes) {
      this.#sealStage();
      this.#stage = Buffer.allocUnsafe(Math.max(this.#coalesceBytes, bytes));
    }
    return this.#stage;
  }

  /** Encodes a small string straight into the staging buffer (no intermediate string or Buffer). */
  #stageString(text: string): void {
    // 3 bytes per UTF-16 unit is the UTF-8 worst case; count exactly only when that does not fit.
    const free = this.#stage === null ? 0 : this.#stage.byteLength - this.#stageUsed;
    const need = text.length * 3 <= free ? text.length * 3 : Buffer.byteLength(text, 'utf8');
    const stage = this.#stageWithRoom(need);
    const written = stage.write(text, this.#stageUsed, 'utf8');
    this.#stageUsed += written;
    this.#queuedBytes += written;
    this.#bytesAppended += written;
  }

  #sealStage(): void {
    if (this.#stage === null || this.#stageUsed === 0) return;
    this.#queue.push(this.#stage.subarray(0, this.#stageUsed));
    this.#stage = null;
    this.#stageUsed = 0;
  }

  #schedule(): void {
    if (this.#scheduled || this.#writing !== null) return;
    this.#scheduled = true;
    // Let the current macrotask append more before the batch is cut.
    setImmediate(() => {
      this.#scheduled = false;
      if (this.#writing === null && !this.#closed) {
        this.#sealStage();
        this.#startWriting();
      }
    });
  }

  #startWriting(): void {
    if (this.#writing !== null || this.#queueHead >= this.#queue.length || this.#error !== null) return;
    this.#writing = this.#writeLoop().finally(() => {
      this.#writing = null;
    });
  }

  async #writeLoop(): Promise<void> {
    while (this.#error === null) {
      if (this.#queueHead >= this.#queue.length) {
        // Pick up what accumulated in the staging buffer while the last batch was being written.
        this.#sealStage();
        if (this.#queueHead >= this.#queue.length) break;
      }
      const batch: Buffer[] = [];
      let batchBytes = 0;
      while (this.#queueHead < this.#queue.length && batch.length < MAX_IOV && batchBytes < this.#maxBatchBytes) {
        const buf = this.#queue[this.#queueHead] as Buffer;
        this.#queue[this.#queueHead] = undefined as unknown as Buffer;
        this.#queueHead++;
        batch.push(buf);
        batchBytes += buf.byteLength;
      }
      if (this.#queueHead > 4096 && this.#queueHead * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#queueHead);
        this.#queueHead = 0;
      }
      try {
        await this.#writeAll(batch, batchBytes);
      } catch (err) {
        this.#fail(err instanceof Error ? err : new Error(String(err)));
        break;
      }
      this.#queuedBytes -= batchBytes;
      this.#bytesWritten += batchBytes;
      if (this.#queuedBytes < this.#highWaterMarkBytes) this.#wakeDrainWaiters();
    }
  }

  /** `writev` until every byte of the batch is written (regular files rarely write short). */
  async #writeAll(batch: Buffer[], batchBytes: number): Promise<void> {
    let pending = batch;
    let remaining = batchBytes;
    while (remaining > 0) {
      this.#writes++;
      const { bytesWritten } = await this.#handle.writev(pending);
      if (bytesWritten <= 0) throw new Error(`CsvFileWriter: writev wrote nothing to ${this.path}`);
      remaining -= bytesWritten;
      if (remaining === 0) break;
      let skip = bytesWritten;
      const rest: Buffer[] = [];
      for (const buf of pending) {
        if (skip >= buf.byteLength) {
          skip -= buf.byteLength;
          continue;
        }
        rest.push(skip > 0 ? buf.subarray(skip) : buf);
        skip = 0;
      }
      pending = rest;
    }
  }

  #fail(err: Error): void {
    if (this.#error !== null) return;
    this.#error = err;
    // Whatever is still queued is lost; count it and release the memory.
    this.#droppedBytes += this.#queuedBytes;
    this.#queuedBytes = 0;
    this.#queue = [];
    this.#queueHead = 0;
    this.#stage = null;
    this.#stageUsed = 0;
    this.#wakeDrainWaiters();
    this.#onError?.(err);
  }

  #wakeDrainWaiters(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const wake of waiters) wake();
  }
}
