/**
 * What crosses the thread boundary for a streamed run ZIP (types only).
 *
 * | direction | channel | content |
 * |---|---|---|
 * | main → pool thread | piscina task payload | {@link ZipTaskPayload}; `port` is transferred |
 * | pool thread → main | `port` | {@link ZipWorkerMessage}: `chunk` (ArrayBuffer transferred, sender's copy detached), then exactly one `end` or `error` |
 * | main → pool thread | `port` | {@link ZipMainMessage}: `ack` returns credits; `abort` stops the task (client gone) |
 * | pool thread → main | piscina task result | {@link ZipTaskResult} (statistics) |
 *
 * Flow control: the thread may have at most `windowChunks` chunks unacknowledged; it waits for
 * an `ack` before posting more, which stops archiver, deflate and file reads (so at most
 * `windowChunks × chunkBytes` bytes are in flight). The main side acknowledges a chunk once its
 * Readable has room for it.
 */
import type { MessagePort } from 'node:worker_threads';

export interface ZipTaskPayload {
  /** Absolute run directory. */
  runDir: string;
  /** Run-relative `/` paths in archive order (already sorted and scoped to the run's slots). */
  files: string[];
  port: MessagePort;
  /** zlib level for DEFLATE (0–9). */
  zlibLevel: number;
  /** Size of one transferred chunk. */
  chunkBytes: number;
  /** Chunks the thread may post before an ack. */
  windowChunks: number;
  /** A partial chunk is posted after this long, so the first bytes are not held back. */
  flushAfterMs: number;
}

export type ZipWorkerMessage =
  | { type: 'chunk'; data: ArrayBuffer; length: number }
  | { type: 'end'; bytes: number; entries: number }
  | { type: 'error'; message: string; code: string | null };

export type ZipMainMessage = { type: 'ack'; count: number } | { type: 'abort' };

export interface ZipTaskResult {
  /** Archive bytes posted. */
  bytes: number;
  /** Entries written. */
  entries: number;
  /** Listed files that had vanished (or stopped being regular files) when their turn came. */
  skipped: string[];
  chunks: number;
  /** Chunks whose ArrayBuffer was detached by the post (i.e. transferred, not copied). */
  transferredChunks: number;
  /** Ended by an `abort` message. */
  aborted: boolean;
  /** Most chunks that were ever unacknowledged at once. */
  maxInFlightChunks: number;
}
