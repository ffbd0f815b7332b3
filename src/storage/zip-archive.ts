/**
 * Pool-thread side of the streamed run ZIP (the logic behind `workers/zip.task.ts`): archiver
 * writes a DEFLATE ZIP (ZIP64 when sizes or offsets need it) of the listed files, read one at a
 * time in the given order, and its output goes back to the main thread as transferred chunks
 * under credit-based flow control (see zip-protocol.ts).
 */
import { realpath, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import archiver from 'archiver';
import { openConfinedFile } from './confined-file.js';
import type { ZipMainMessage, ZipTaskPayload, ZipTaskResult, ZipWorkerMessage } from './zip-protocol.js';

class AbortedZip extends Error {
  constructor() {
    super('zip aborted');
    this.name = 'AbortedZip';
  }
}

export async function writeZipToPort(payload: ZipTaskPayload): Promise<ZipTaskResult> {
  const { port, runDir, files, chunkBytes, windowChunks, flushAfterMs } = payload;
  const result: ZipTaskResult = { bytes: 0, entries: 0, skipped: [], chunks: 0, transferredChunks: 0, aborted: false, maxInFlightChunks: 0 };

  let inFlight = 0;
  let aborted = false;
  let wakeCredit: (() => void) | null = null;
  let abortCurrent: (() => void) | null = null;
  const wake = (): void => {
    const w = wakeCredit;
    wakeCredit = null;
    w?.();
  };
  port.on('message', (msg: ZipMainMessage) => {
    if (msg.type === 'ack') {
      inFlight -= msg.count;
      wake();
    } else if (msg.type === 'abort') {
      aborted = true;
      result.aborted = true;
      abortCurrent?.();
      wake();
    }
  });
  const post = (msg: ZipWorkerMessage, transfer: ArrayBuffer[] = []): void => {
    port.postMessage(msg, transfer);
  };

  // Output staging: one chunk-sized buffer that owns its ArrayBuffer, so transferring it never
  // detaches memory shared with anything else (pooled Buffers or zlib output slabs).
  let stage = Buffer.allocUnsafeSlow(chunkBytes);
  let used = 0;
  let postChain: Promise<void> = Promise.resolve();
  let flushTimer: NodeJS.Timeout | null = null;

  const postStage = async (): Promise<void> => {
    while (inFlight >= windowChunks && !aborted) await new Promise<void>((r) => (wakeCredit = r));
    if (aborted) throw new AbortedZip();
    if (used === 0) return;
    const data = stage.buffer as ArrayBuffer;
    const length = used;
    stage = Buffer.allocUnsafeSlow(chunkBytes);
    used = 0;
    inFlight++;
    result.maxInFlightChunks = Math.max(result.maxInFlightChunks, inFlight);
    post({ type: 'chunk', data, length }, [data]);
    result.chunks++;
    result.bytes += length;
    if (data.byteLength === 0) result.transferredChunks++;
  };
  const enqueuePost = (): Promise<void> => {
    if (flushTimer !== null) {
      clearTimeout(flushTimer);
      flushTimer = null;
    }
    postChain = postChain.then(postStage);
    return postChain;
  };

  const sink = new Writable({
    highWaterMark: chunkBytes,
    write(chunk: Buffer, _encoding, callback): void {
      void (async () => {
        let offset = 0;
        while (offset < chunk.byteLength) {
          const n = Math.min(chunk.byteLength - offset, chunkBytes - used);
          chunk.copy(stage, used, offset, offset + n);
          used += n;
          offset += n;
          if (used === chunkBytes) await enqueuePost();
        }
        if (used > 0 && flushTimer === null) {
          flushTimer = setTimeout(() => {
            flushTimer = null;
            enqueuePost().catch(() => undefined);
          }, flushAfterMs);
        }
      })().then(() => callback(), (err: unknown) => callback(err as Error));
    },
    final(callback): void {
      enqueuePost().then(() => callback(), (err: unknown) => callback(err as Error));
    },
  });

  const archive = archiver('zip', { zlib: { level: payload.zlibLevel }, statConcurrency: 1 });
  let failure: Error | null = null;
  const finished = new Promise<void>((resolveFinished, rejectFinished) => {
    sink.on('finish', resolveFinished);
    sink.on('error', rejectFinished);
    archive.on('error', rejectFinished);
    // Warnings are ENOENT-like stat problems of archiver's own file sources; we never use those.
    archive.on('warning', rejectFinished);
  });
  finished.catch(() => undefined);
  archive.pipe(sink);

  const abortPromise = new Promise<never>((_, rejectAbort) => {
    abortCurrent = () => rejectAbort(new AbortedZip());
  });
  abortPromise.catch(() => undefined);

  let current: { handle: FileHandle; stream: NodeJS.ReadableStream & { destroy(): void } } | null = null;
  try {
    // Every entry must be a one-name regular file inside the real run directory at the moment it
    // is opened (confined-file.ts): a symlink or hardlink placed in the run is skipped, never read.
    const realRunDir = await realpath(runDir);
    for (const rel of files) {
      if (aborted) throw new AbortedZip();
      const handle = await openConfinedFile(realRunDir, join(runDir, ...rel.split('/')));
      if (handle === null) {
        result.skipped.push(rel);
        continue;
      }
      const st = await handle.stat();
      if (!st.isFile()) {
        await handle.close();
        result.skipped.push(rel);
        continue;
      }
      const entryDone = new Promise<void>((resolveEntry) => archive.once('entry', () => resolveEntry()));
      const data = { name: rel, date: st.mtime, mode: st.mode & 0o777 };
      if (st.size === 0) {
        await handle.close();
        archive.append(Buffer.alloc(0), data);
      } else {
        // Bounded by the size now: a CSV still being written is archived as it was at this point.
        const stream = handle.createReadStream({ start: 0, end: st.size - 1, highWaterMark: 64 * 1024, autoClose: true });
        current = { handle, stream };
        archive.append(stream, data);
      }
      await Promise.race([entryDone, finished, abortPromise]);
      current = null;
      result.entries++;
    }
    if (aborted) throw new AbortedZip();
    await Promise.race([archive.finalize(), finished, abortPromise]);
    await Promise.race([finished, abortPromise]);
    post({ type: 'end', bytes: result.bytes, entries: result.entries });
  } catch (err) {
    if (!(err instanceof AbortedZip) && !aborted) {
      failure = err instanceof Error ? err : new Error(String(err));
      post({ type: 'error', message: failure.message, code: (failure as NodeJS.ErrnoException).code ?? null });
    }
  } finally {
    if (flushTimer !== null) clearTimeout(flushTimer);
    if (aborted || failure !== null) {
      archive.abort();
      archive.unpipe(sink);
      sink.destroy();
    }
    if (current !== null) {
      const { handle, stream } = current;
      stream.destroy();
      await handle.close().catch(() => undefined);
    }
    port.close();
  }
  return result;
}
