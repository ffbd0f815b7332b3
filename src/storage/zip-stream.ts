/**
 * Main-thread side of the streamed run ZIP (rest-api.md 6.7): `openZipStream` starts
 * `zip.task`/`zipRun` on the worker pool and returns a Readable of the archive bytes. The
 * archive is never held in memory: the pool thread posts transferred chunks and waits for
 * acknowledgements (zip-protocol.ts), and this side acknowledges only while its Readable has
 * room, so a slow HTTP client slows file reading down instead of filling memory.
 *
 * Destroying the Readable (client disconnect) sends `abort`: the task stops archiver, closes its
 * file handle and returns. If it has not returned after `abortGraceMs`, the pool's AbortSignal
 * ends the thread.
 */
import { MessageChannel, type MessagePort, type Transferable } from 'node:worker_threads';
import { Readable } from 'node:stream';
import type { ZipMainMessage, ZipTaskPayload, ZipTaskResult, ZipWorkerMessage } from './zip-protocol.js';

/**
 * The part of the worker pool (`src/pool/worker-pool.ts`, `createWorkerPool`) this module uses;
 * any `{ run(taskFile, name, payload, opts) }` with piscina semantics fits.
 */
export interface ZipTaskRunner {
  run<R = unknown>(taskFile: string, name: string, payload: unknown, options?: { signal?: AbortSignal; transferList?: Transferable[] }): Promise<R>;
}

export const ZIP_TASK_FILE = 'zip.task';
export const ZIP_TASK_NAME = 'zipRun';

export interface ZipStreamOptions {
  /** DEFLATE level (default 1: CSV text still shrinks ~3×, at several times the speed of level 6). */
  zlibLevel?: number;
  /** Bytes per transferred chunk (default 256 KiB). */
  chunkBytes?: number;
  /** Unacknowledged chunks allowed (default 4, i.e. 1 MiB in flight). */
  windowChunks?: number;
  /** Readable buffer of this side (default 1 MiB). */
  highWaterMark?: number;
  /** Partial chunk posted after this long without filling (default 10 ms). */
  flushAfterMs?: number;
  /** After an abort, how long the task may take to return before its thread is ended (default 2 s). */
  abortGraceMs?: number;
  /**
   * With `node --expose-gc`, run a minor GC on this thread after every this many archive bytes
   * (default 8 MiB; 0 = never). Each received chunk is a new ArrayBuffer; once the socket has sent
   * it, it is garbage, but V8 collects dead ArrayBuffers only after ~64 MB of them accumulated
   * when little else allocates. The scavenge of a mostly empty young generation is short.
   */
  gcEveryBytes?: number;
}

/** The archive stream; `result` settles when the pool task has returned (statistics for logs and tests). */
export interface ZipStream extends Readable {
  readonly result: Promise<ZipTaskResult>;
}

export class ZipStreamError extends Error {
  readonly code: string | null;
  constructor(message: string, code: string | null) {
    super(message);
    this.name = 'ZipStreamError';
    this.code = code;
  }
}

class ZipReadable extends Readable implements ZipStream {
  readonly result: Promise<ZipTaskResult>;
  readonly #port: MessagePort;
  readonly #controller = new AbortController();
  readonly #abortGraceMs: number;
  readonly #gcEveryBytes: number;
  #bytesSinceGc = 0;
  #pendingAcks = 0;
  #ended = false;
  #taskSettled = false;
  #graceTimer: NodeJS.Timeout | null = null;
  #opened = false;
  readonly #openWaiter: { resolve: () => void; reject: (err: Error) => void };

  constructor(
    pool: ZipTaskRunner,
    payload: Omit<ZipTaskPayload, 'port'>,
    options: { highWaterMark: number; abortGraceMs: number; gcEveryBytes: number },
    openWaiter: { resolve: () => void; reject: (err: Error) => void },
  ) {
    super({ highWaterMark: options.highWaterMark });
    this.#abortGraceMs = options.abortGraceMs;
    this.#gcEveryBytes = options.gcEveryBytes;
    this.#openWaiter = openWaiter;
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    port1.on('message', (msg: ZipWorkerMessage) => this.#onMessage(msg));
    const task = pool.run<ZipTaskResult>(ZIP_TASK_FILE, ZIP_TASK_NAME, { ...payload, port: port2 } satisfies ZipTaskPayload, {
      signal: this.#controller.signal,
      transferList: [port2],
    });
    this.result = task.finally(() => {
      this.#taskSettled = true;
      if (this.#graceTimer !== null) clearTimeout(this.#graceTimer);
      this.#graceTimer = null;
    });
    // Every message the task posted arrives before 'close' (the task closes its end last, and
    // the port also closes when the thread dies), so a close without `end` means no archive.
    port1.on('close', () => {
      if (this.#ended || this.destroyed) return;
      this.result.then(
        () => this.#fail(new ZipStreamError('zip task ended without finishing the archive', null)),
        (err: unknown) => this.#fail(err instanceof Error ? err : new Error(String(err))),
      );
    });
    this.result.catch((err: unknown) => {
      this.#port.close();
      if (!this.#ended && !this.destroyed) this.#fail(err instanceof Error ? err : new Error(String(err)));
    });
  }

  #send(msg: ZipMainMessage): void {
    this.#port.postMessage(msg);
  }

  #onMessage(msg: ZipWorkerMessage): void {
    if (this.destroyed) return;
    switch (msg.type) {
      case 'chunk': {
        if (!this.#opened) {
          this.#opened = true;
          this.#openWaiter.resolve();
        }
        const room = this.push(Buffer.from(msg.data, 0, msg.length));
        if (room) this.#send({ type: 'ack', count: 1 });
        else this.#pendingAcks++;
        this.#collectGarbage(msg.length);
        break;
      }
      case 'end':
        this.#ended = true;
        if (!this.#opened) {
          this.#opened = true;
          this.#openWaiter.resolve();
        }
        this.push(null);
        break;
      case 'error':
        this.#fail(new ZipStreamError(msg.message, msg.code));
        break;
    }
  }

  #fail(err: Error): void {
    if (this.#ended || this.destroyed) return;
    if (!this.#opened) {
      this.#opened = true;
      this.#openWaiter.reject(err);
      this.destroy();
    } else {
      this.destroy(err);
    }
  }

  #collectGarbage(bytes: number): void {
    if (this.#gcEveryBytes <= 0) return;
    this.#bytesSinceGc += bytes;
    if (this.#bytesSinceGc < this.#gcEveryBytes) return;
    this.#bytesSinceGc = 0;
    const gc = globalThis.gc;
    if (typeof gc === 'function') gc({ type: 'minor' });
  }

  override _read(): void {
    if (this.#pendingAcks > 0) {
      this.#send({ type: 'ack', count: this.#pendingAcks });
      this.#pendingAcks = 0;
    }
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.#ended && !this.#taskSettled) {
      this.#send({ type: 'abort' });
      this.#graceTimer = setTimeout(() => this.#controller.abort(), this.#abortGraceMs);
      this.#graceTimer.unref();
    }
    callback(err);
  }
}

/**
 * Streams a ZIP of `files` (run-relative `/` paths, in archive order) below `runDir`. Resolves
 * with the Readable once the first archive bytes exist; a failure before that (thread crash,
 * unreadable file) rejects, so the HTTP layer can still answer with an error envelope. Later
 * failures destroy the stream with the error.
 */
export function openZipStream(pool: ZipTaskRunner, runDir: string, files: readonly string[], options: ZipStreamOptions = {}): Promise<ZipStream> {
  return new Promise<ZipStream>((resolveOpen, rejectOpen) => {
    let stream: ZipReadable | null = null;
    const waiter = {
      resolve: () => resolveOpen(stream as ZipReadable),
      reject: (err: Error) => rejectOpen(err),
    };
    stream = new ZipReadable(
      pool,
      {
        runDir,
        files: [...files],
        zlibLevel: options.zlibLevel ?? 1,
        chunkBytes: options.chunkBytes ?? 256 * 1024,
        windowChunks: options.windowChunks ?? 4,
        flushAfterMs: options.flushAfterMs ?? 10,
      },
      {
        highWaterMark: options.highWaterMark ?? 1024 * 1024,
        abortGraceMs: options.abortGraceMs ?? 2000,
        gcEveryBytes: options.gcEveryBytes ?? 8 * 1024 * 1024,
      },
      waiter,
    );
    // Errors before the first byte travel through the rejection; later ones through 'error'.
    stream.result.catch(() => undefined);
  });
}
