/**
 * Local retention (7.6): delete run directories whose upload was verified (`UPLOAD_DONE`) at or
 * before now − retention_days. Nothing else is ever deleted.
 */
import { promises as fs, type Dirent } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { MARKER_NAMES, UPLOAD_DONE_MARKER, UPLOAD_FAILED_MARKER } from './local-files.js';

export interface RetentionPassOptions {
  runsRoot: string;
  retentionDays: number;
  /** Current time in ms since the epoch. */
  nowMs: number;
  /** True for a directory that must not be deleted (non-terminal job, upload pending or running). */
  isProtected: (dir: string) => boolean;
  /** Called after a directory was deleted, so the run index and job store can drop it. */
  onDeleted: (dir: string) => void | Promise<void>;
  logger: Logger;
}

export interface RetentionPassResult {
  deleted: string[];
  /** Directories that qualified but were kept (protected, or holding another run). */
  kept: string[];
  failures: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** The job store below RUNS_ROOT (4.8), never walked. */
const JOB_STORE_DIR = '.jobs';
/** A directory holding one of these is a run directory of its own. */
const RUN_DIR_SIGNS = ['Wells', ...MARKER_NAMES];

async function readDirents(dir: string): Promise<Dirent[]> {
  return fs.readdir(dir, { withFileTypes: true });
}

/**
 * Does the tree below `dir` (not `dir` itself) hold another run directory or a protected one?
 * Deleting `dir` would then delete data that this marker does not vouch for.
 */
async function holdsOtherRun(dir: string, isProtected: (d: string) => boolean): Promise<string | null> {
  const stack: string[] = [];
  for (const e of await readDirents(dir)) if (e.isDirectory() && e.name !== 'Wells') stack.push(path.join(dir, e.name));
  while (stack.length > 0) {
    const current = stack.pop() as string;
    if (isProtected(current)) return current;
    const entries = await readDirents(current);
    if (entries.some((e) => RUN_DIR_SIGNS.includes(e.name))) return current;
    for (const e of entries) if (e.isDirectory()) stack.push(path.join(current, e.name));
  }
  return null;
}

/** Modification time of the marker, falling back to the directory's (7.6). */
async function markerTimeMs(dir: string, marker: Dirent): Promise<number> {
  try {
    return (await fs.lstat(path.join(dir, marker.name))).mtimeMs;
  } catch {
    return (await fs.lstat(dir)).mtimeMs;
  }
}

/** One pass over RUNS_ROOT. Failures are logged and the pass continues. */
export async function runRetention(options: RetentionPassOptions): Promise<RetentionPassResult> {
  const { runsRoot, logger } = options;
  const root = path.resolve(runsRoot);
  const cutoffMs = options.nowMs - options.retentionDays * DAY_MS;
  const result: RetentionPassResult = { deleted: [], kept: [], failures: 0 };

  const visit = async (dir: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readDirents(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        result.failures += 1;
        logger.warn({ err, dir }, 'retention: cannot read directory');
      }
      return;
    }
    const marker = dir === root ? undefined : entries.find((e) => e.name === UPLOAD_DONE_MARKER && e.isFile());
    if (marker) {
      try {
        const uploadedMs = await markerTimeMs(dir, marker);
        if (uploadedMs <= cutoffMs) {
          const blocker = options.isProtected(dir) ? dir : await holdsOtherRun(dir, options.isProtected);
          if (blocker !== null) {
            result.kept.push(dir);
            logger.info({ dir, blocker }, 'retention: run directory kept (in use or holds another run)');
            return;
          }
          await fs.rm(dir, { recursive: true, force: false });
          result.deleted.push(dir);
          logger.info({ dir, uploadedAt: new Date(uploadedMs).toISOString() }, 'retention: run directory deleted');
          try {
            await options.onDeleted(dir);
          } catch (err) {
            result.failures += 1;
            logger.warn({ err, dir }, 'retention: onRunDirDeleted failed');
          }
          return;
        }
      } catch (err) {
        result.failures += 1;
        logger.warn({ err, dir }, 'retention: cannot delete run directory');
        return;
      }
    }
    for (const e of entries) {
      // Dirent of readdir never follows symlinks: a symlinked directory is not walked.
      if (!e.isDirectory()) continue;
      if (dir === root && e.name === JOB_STORE_DIR) continue;
      await visit(path.join(dir, e.name));
    }
  };

  await visit(root);
  return result;
}

/**
 * Run directories whose last upload failed (an `upload_failed` marker and no `UPLOAD_DONE`).
 * Used at start-up to resume retries that a restart interrupted.
 */
export async function findFailedUploadDirs(runsRoot: string, logger: Logger): Promise<string[]> {
  const root = path.resolve(runsRoot);
  const found: string[] = [];
  const visit = async (dir: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readDirents(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') logger.warn({ err, dir }, 'cannot read directory');
      return;
    }
    if (dir !== root) {
      const has = (name: string): boolean => entries.some((e) => e.name === name && e.isFile());
      if (has(UPLOAD_FAILED_MARKER) && !has(UPLOAD_DONE_MARKER)) found.push(dir);
    }
    for (const e of entries) {
      if (!e.isDirectory() || (dir === root && e.name === JOB_STORE_DIR)) continue;
      await visit(path.join(dir, e.name));
    }
  };
  await visit(root);
  return found;
}
