/**
 * Piscina task file for run ZIPs. Thread entry only: the logic (archiver, flow control over the
 * transferred MessagePort) lives in `src/storage/zip-archive.ts`; the wire types in
 * `src/storage/zip-protocol.ts`.
 */
import { applyPoolThreadPriority } from '../src/pool/thread-priority.js';
import { writeZipToPort } from '../src/storage/zip-archive.js';
import type { ZipTaskPayload, ZipTaskResult } from '../src/storage/zip-protocol.js';

// Deflate in this thread yields the CPU to the supervisor and the slot workers.
applyPoolThreadPriority();

export function zipRun(payload: ZipTaskPayload): Promise<ZipTaskResult> {
  return writeZipToPort(payload);
}
