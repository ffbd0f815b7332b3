import { setPriority } from 'node:os';
import { isMainThread, workerData } from 'node:worker_threads';

/** What the pool passes to every thread in `workerData`. */
export interface PoolWorkerData {
  /** Nice value for pool threads (0 = unchanged, 1..19 = lower priority). */
  threadNice: number;
}

/**
 * Lowers the calling thread's CPU priority to the pool's `threadNice`. On Linux nice values
 * belong to threads, not processes, so only this pool thread yields to the supervisor and the
 * slot workers (CSV parsing, zipping); the rest of the daemon keeps its priority. Child
 * processes inherit the value, but Chromium sets its own thread priorities (as root: 0 for most
 * threads, −8 for its compositor/IO threads), so it does not stay lowered.
 * Call once at the top of a task file. Returns the value applied, or null when nothing was
 * changed (main thread, no setting, or the OS refused).
 */
export function applyPoolThreadPriority(data: unknown = workerData): number | null {
  if (isMainThread) return null;
  const nice = (data as Partial<PoolWorkerData> | null | undefined)?.threadNice;
  if (typeof nice !== 'number' || !Number.isInteger(nice) || nice <= 0 || nice > 19) return null;
  return setThreadNice(nice);
}

/**
 * Sets the nice value of the calling worker thread (Linux: per thread). Negative values
 * need privileges; when refused, the thread keeps its priority. Returns the value applied
 * or null.
 */
export function setThreadNice(nice: number): number | null {
  if (isMainThread) return null;
  try {
    setPriority(nice);
    return nice;
  } catch {
    return null;
  }
}
