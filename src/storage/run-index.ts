/**
 * Run index `RUNS_ROOT/_run_paths.json` (rest-api.md 6.4): run_id → run directory, relative to
 * RUNS_ROOT with `/` separators (absolute when outside it), pretty-printed with sorted keys,
 * written as `_run_paths.tmp` + rename, deleted when empty. Writes are serialised; concurrent
 * changes coalesce into the next write, which always carries the latest in-memory state.
 */
import { lstat, readFile, realpath, stat, unlink } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Logger } from 'pino';
import { DaemonError } from '../errors.js';
import { writeJsonAtomic } from './atomic-file.js';
import { toIndexPath } from './run-layout.js';

export const RUN_INDEX_FILE = '_run_paths.json';
export const RUN_INDEX_TMP_FILE = '_run_paths.tmp';

import { RUN_ID_PATTERN, isValidRunId } from './run-id.js';

export function runNotFound(): DaemonError {
  return new DaemonError('runs.not_found', 'Run not found');
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Whether the absolute path `child` is `parent` or lies below it (lexically). */
export function isPathWithin(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith('../') && !rel.startsWith('..\\') && !isAbsolute(rel));
}

/** A directory that is not a symlink. */
async function isRealDirectory(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Parses index text: a JSON object; non-string values are dropped. Anything else → empty. */
export function parseRunIndex(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return out;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return out;
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof value === 'string' && value !== '') out.set(key, value);
  }
  return out;
}

/** Absolute directory of an index value (relative to RUNS_ROOT with `/`, or absolute). */
export function indexPathToDir(runsRoot: string, stored: string): string {
  return isAbsolute(stored) ? stored : join(resolve(runsRoot), ...stored.split('/'));
}

/**
 * Legacy fallback `RUNS_ROOT/<run_id>` (rest-api 6.4 step 3), or `null` for a run_id that does not
 * match {@link RUN_ID_PATTERN} (`..`, `a/b`, empty, ...), which is never joined onto a path.
 * {@link RunIndex.lookup} uses it only when it is a real directory (not a symlink).
 */
export function legacyRunDir(runsRoot: string, runId: string): string | null {
  return isValidRunId(runId) ? join(resolve(runsRoot), runId) : null;
}

export interface RunIndexOptions {
  logger?: Pick<Logger, 'warn' | 'debug'>;
}

export class RunIndex {
  readonly runsRoot: string;
  readonly indexPath: string;
  readonly tmpPath: string;
  /** Mirror of the file: every string entry, including those whose directory is missing. */
  readonly #entries = new Map<string, string>();
  /** run_id → absolute directory, for entries whose directory existed (at load or when added). */
  readonly #cache = new Map<string, string>();
  readonly #logger: RunIndexOptions['logger'];
  #chain: Promise<void> = Promise.resolve();
  #version = 0;
  #writtenVersion = 0;

  private constructor(runsRoot: string, options: RunIndexOptions) {
    this.runsRoot = resolve(runsRoot);
    this.indexPath = join(this.runsRoot, RUN_INDEX_FILE);
    this.tmpPath = join(this.runsRoot, RUN_INDEX_TMP_FILE);
    this.#logger = options.logger;
  }

  /**
   * Loads the index at start-up. A missing or unparsable file counts as empty; entries whose
   * directory exists are cached. RUNS_ROOT must exist.
   */
  static async load(runsRoot: string, options: RunIndexOptions = {}): Promise<RunIndex> {
    const index = new RunIndex(runsRoot, options);
    const entries = await index.#readFile();
    for (const [runId, stored] of entries) index.#entries.set(runId, stored);
    await Promise.all(
      [...entries].map(async ([runId, stored]) => {
        const dir = index.#toAbsolute(stored);
        if (await isDirectory(dir)) index.#cache.set(runId, dir);
      }),
    );
    index.#logger?.debug({ entries: entries.size, cached: index.#cache.size }, 'run index loaded');
    return index;
  }

  async #readFile(): Promise<Map<string, string>> {
    let text: string;
    try {
      text = await readFile(this.indexPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.#logger?.warn({ err }, 'run index unreadable; treated as empty');
      return new Map();
    }
    const entries = parseRunIndex(text);
    if (entries.size === 0 && text.trim() !== '' && text.trim() !== '{}') this.#logger?.warn('run index unparsable or without valid entries; treated as empty');
    return entries;
  }

  #toAbsolute(stored: string): string {
    return indexPathToDir(this.runsRoot, stored);
  }

  /** True when the run_id is in the index (directory present or not): such an id is taken. */
  has(runId: string): boolean {
    return this.#entries.has(runId);
  }

  /** run_ids whose entry points at `runDir` (absolute), sorted. */
  runIdsForDir(runDir: string): string[] {
    const target = resolve(runDir);
    return [...this.#entries].filter(([, stored]) => this.#toAbsolute(stored) === target).map(([id]) => id).sort();
  }

  /** Snapshot of the entries (run_id → stored path). */
  entries(): Map<string, string> {
    return new Map(this.#entries);
  }

  /** Records run_id → runDir and persists the index. Resolves once the write containing it is on disk. */
  add(runId: string, runDir: string): Promise<void> {
    if (!isValidRunId(runId)) return Promise.reject(new TypeError(`invalid run_id ${JSON.stringify(runId)}`));
    this.#entries.set(runId, toIndexPath(this.runsRoot, runDir));
    this.#cache.set(runId, resolve(runDir));
    return this.#persist();
  }

  /** Removes run_ids (unknown ones are ignored) and persists; deletes the file when it becomes empty. */
  remove(runIds: string | readonly string[]): Promise<void> {
    const ids = typeof runIds === 'string' ? [runIds] : runIds;
    let changed = false;
    for (const id of ids) {
      changed = this.#entries.delete(id) || changed;
      this.#cache.delete(id);
    }
    return changed ? this.#persist() : Promise.resolve();
  }

  /** Removes every entry pointing at `runDir` (retention, rest-api 7.6); returns the removed run_ids. */
  async removeDir(runDir: string): Promise<string[]> {
    const ids = this.runIdsForDir(runDir);
    await this.remove(ids);
    return ids;
  }

  /**
   * Whether a symlink leads `dir` out of RUNS_ROOT: `dir` lies below RUNS_ROOT but, with every
   * symlink resolved, not below the real RUNS_ROOT (or is RUNS_ROOT itself). False for a path that
   * does not exist (nothing to follow) and for a path outside RUNS_ROOT (an absolute index entry,
   * rest-api 6.4, is taken as it is).
   */
  async leadsOutOfRoot(dir: string): Promise<boolean> {
    const abs = resolve(dir);
    if (!isPathWithin(this.runsRoot, abs)) return false;
    let real: string;
    try {
      real = await realpath(abs);
    } catch {
      return false;
    }
    let realRoot: string;
    try {
      realRoot = await realpath(this.runsRoot);
    } catch {
      return true;
    }
    return real === realRoot || !isPathWithin(realRoot, real);
  }

  /** `dir` (as given) if it is a directory that no symlink leads out of RUNS_ROOT ({@link leadsOutOfRoot}), else null. */
  async checkRunDir(dir: string): Promise<string | null> {
    return (await isDirectory(dir)) && !(await this.leadsOutOfRoot(dir)) ? dir : null;
  }

  /**
   * Run directory of a run_id (rest-api 6.4): (1) the memory cache if the directory still exists;
   * (2) the index file; (3) the legacy `RUNS_ROOT/<run_id>` if it is a real directory (a symlink
   * there is never followed). A run_id not matching {@link RUN_ID_PATTERN} is never looked up (so
   * `..` cannot reach RUNS_ROOT's parent), and no directory is returned that a symlink leads out
   * of RUNS_ROOT ({@link checkRunDir}). Throws 404 `runs.not_found`.
   */
  async resolve(runId: string): Promise<string> {
    const dir = await this.lookup(runId);
    if (dir === null) throw runNotFound();
    return dir;
  }

  /** Like {@link resolve}, `null` instead of throwing. */
  async lookup(runId: string): Promise<string | null> {
    if (!isValidRunId(runId)) return null;
    const cached = this.#cache.get(runId);
    if (cached !== undefined) {
      if ((await this.checkRunDir(cached)) !== null) return cached;
      this.#cache.delete(runId);
    }
    const stored = (await this.#readFile()).get(runId);
    if (stored !== undefined) {
      const dir = this.#toAbsolute(stored);
      // A relative value names a folder below RUNS_ROOT: `..` or `.` never reach RUNS_ROOT or its parent.
      const escapes = !isAbsolute(stored) && (dir === this.runsRoot || !isPathWithin(this.runsRoot, dir));
      if (!escapes && (await this.checkRunDir(dir)) !== null) {
        this.#cache.set(runId, dir);
        return dir;
      }
    }
    const legacy = legacyRunDir(this.runsRoot, runId);
    if (legacy === null || !(await isRealDirectory(legacy))) return null;
    return this.checkRunDir(legacy);
  }

  /** Resolves when every change made so far is on disk (rejects if the last write failed). */
  flush(): Promise<void> {
    return this.#chain;
  }

  #persist(): Promise<void> {
    const version = ++this.#version;
    const next = this.#chain
      .catch(() => undefined)
      .then(async () => {
        if (this.#writtenVersion >= version) return; // a later write already carried this change
        const snapshotVersion = this.#version;
        await this.#write();
        this.#writtenVersion = snapshotVersion;
      });
    this.#chain = next;
    return next;
  }

  async #write(): Promise<void> {
    if (this.#entries.size === 0) {
      await unlink(this.indexPath).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      return;
    }
    // No prototype: run_ids such as `__proto__` or `constructor` are keys like any other.
    const sorted = Object.create(null) as Record<string, string>;
    for (const key of [...this.#entries.keys()].sort()) sorted[key] = this.#entries.get(key) as string;
    await writeJsonAtomic(this.indexPath, sorted, { tmpPath: this.tmpPath, sortKeys: true });
  }
}
