/**
 * Free space of RUNS_ROOT (issue #10): admission refuses a job with 507 `storage.insufficient_space`
 * before anything is created when the file system has less room than a floor, so a run never
 * starts on a disk that fills within minutes.
 */
import { statfs } from 'node:fs/promises';
import { DaemonError } from '../errors.js';

/**
 * Bytes a slot writes per minute at the full rate: ~2 778 CSV rows/s (one per 0.36 ms tick) of
 * ~80 bytes (CV: time, potential, current, cycle, exp, applied potential) ≈ 13 MB/min.
 */
export const CSV_BYTES_PER_SLOT_MINUTE = 2778 * 80 * 60;
/** Minutes of full-rate data on every slot that the default floor keeps free. */
export const DEFAULT_FLOOR_MINUTES = 3;
/** Smallest default floor (also with no device attached). */
export const MIN_DEFAULT_FLOOR_BYTES = 64 * 1024 * 1024;

/** The default floor for a box with `slots` slots: a few minutes of full-rate data on every slot. */
export function defaultMinFreeBytes(slots: number): number {
  return Math.max(MIN_DEFAULT_FLOOR_BYTES, Math.max(0, slots) * DEFAULT_FLOOR_MINUTES * CSV_BYTES_PER_SLOT_MINUTE);
}

export interface FreeSpace {
  /** Bytes an unprivileged writer can still use (statfs bavail × bsize). */
  availableBytes: number;
  totalBytes: number;
}

export async function readFreeSpace(path: string): Promise<FreeSpace> {
  const s = await statfs(path);
  return { availableBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
}

function formatMb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(bytes < 10e6 ? 1 : 0)} MB`;
}

/**
 * Throws 507 `storage.insufficient_space` when the file system of `runsRoot` has less than
 * `minFreeBytes` available, or when its free space cannot be read at all (the storage is gone or
 * failing). `details`: `available_bytes`, `required_bytes`.
 */
export async function assertFreeSpace(runsRoot: string, minFreeBytes: number): Promise<FreeSpace | null> {
  if (minFreeBytes <= 0) return null;
  let free: FreeSpace;
  try {
    free = await readFreeSpace(runsRoot);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new DaemonError('storage.insufficient_space', `Cannot read the free space of the runs folder (${code}); no job can be stored`, {
      details: { available_bytes: null, required_bytes: minFreeBytes },
      cause: err,
    });
  }
  if (free.availableBytes < minFreeBytes) {
    throw new DaemonError(
      'storage.insufficient_space',
      `Not enough free space for run data: ${formatMb(free.availableBytes)} free, at least ${formatMb(minFreeBytes)} required (BOX_MIN_FREE_MB)`,
      { details: { available_bytes: free.availableBytes, required_bytes: minFreeBytes } },
    );
  }
  return free;
}
