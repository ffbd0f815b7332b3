/**
 * `run.json` at the top of a run directory: one document per directory, one entry per job whose
 * files live there (the GUI's batches put one job per well in a shared directory). Each job
 * updates only its own entry; entries of jobs this process does not hold (earlier daemons, other
 * batches) are read once from the file and kept as they are.
 *
 * Writes are atomic (temp file + rename) and serialised per directory; updates that arrive while
 * a write is in flight are coalesced into the next one. `flush` resolves when everything handed
 * in before it is on disk, or rejects with the write's error (disk full, read-only file system).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from './atomic-file.js';
import { RUN_METADATA_FILE } from './names.js';

export interface MetadataEntry {
  readonly run_id: string;
  readonly created_at: string;
}

export interface MetadataHeader {
  readonly [key: string]: unknown;
}

interface DirectoryState<E extends MetadataEntry> {
  /** Entries read from the file at first use (jobs this process does not hold). */
  loaded: Promise<Map<string, unknown>>;
  entries: Map<string, E>;
  /** The write chain; each link writes the state as it is when the link starts. */
  tail: Promise<void>;
  dirty: boolean;
}

async function readEntries(path: string): Promise<Map<string, unknown>> {
  try {
    const doc = JSON.parse(await readFile(path, 'utf8')) as { jobs?: unknown };
    const out = new Map<string, unknown>();
    if (Array.isArray(doc.jobs)) {
      for (const job of doc.jobs as unknown[]) {
        const id = (job as { run_id?: unknown } | null)?.run_id;
        if (typeof id === 'string') out.set(id, job);
      }
    }
    return out;
  } catch {
    // Absent or unreadable (a torn file cannot happen: writes are atomic): start afresh.
    return new Map();
  }
}

export class RunMetadataFiles<E extends MetadataEntry> {
  private readonly dirs = new Map<string, DirectoryState<E>>();

  /** `header()` gives the document's fields besides `jobs` (schema, box, software, updated_at). */
  constructor(private readonly header: () => MetadataHeader) {}

  static pathIn(runDir: string): string {
    return join(runDir, RUN_METADATA_FILE);
  }

  /** Sets a job's entry (the object is kept by reference: later mutations are written with the next update). */
  update(runDir: string, entry: E): Promise<void> {
    const state = this.stateOf(runDir);
    state.entries.set(entry.run_id, entry);
    return this.schedule(runDir, state);
  }

  /**
   * Changes a job's entry as it is in memory or in the file (restart recovery marks interrupted
   * jobs failed); nothing is written when the job has no entry. Resolves once written.
   */
  async amend(runDir: string, runId: string, change: (entry: Record<string, unknown>) => void): Promise<void> {
    const state = this.stateOf(runDir);
    const live = state.entries.get(runId);
    const stored = (await state.loaded).get(runId);
    const entry = (live ?? stored) as Record<string, unknown> | undefined;
    if (!entry || typeof entry !== 'object') {
      if (state.entries.size === 0 && !state.dirty) this.dirs.delete(runDir);
      return;
    }
    change(entry);
    await this.schedule(runDir, state);
    if (!live) await this.release(runDir, runId);
  }

  /** Resolves once everything handed in so far is written; rejects with the last write's error. */
  flush(runDir: string): Promise<void> {
    return this.dirs.get(runDir)?.tail ?? Promise.resolve();
  }

  /**
   * A job's entry is final: once written, it is kept only on disk. A directory with no live job
   * left is forgotten (the next job there reads the file again), so memory stays flat over weeks.
   */
  async release(runDir: string, runId: string): Promise<void> {
    const state = this.dirs.get(runDir);
    if (!state) return;
    try {
      await state.tail;
    } finally {
      const entry = state.entries.get(runId);
      if (entry) {
        state.entries.delete(runId);
        (await state.loaded).set(runId, entry);
      }
      if (state.entries.size === 0 && !state.dirty && this.dirs.get(runDir) === state) this.dirs.delete(runDir);
    }
  }

  private stateOf(runDir: string): DirectoryState<E> {
    let state = this.dirs.get(runDir);
    if (!state) {
      state = { loaded: readEntries(RunMetadataFiles.pathIn(runDir)), entries: new Map(), tail: Promise.resolve(), dirty: false };
      this.dirs.set(runDir, state);
    }
    return state;
  }

  private schedule(runDir: string, state: DirectoryState<E>): Promise<void> {
    if (state.dirty) return state.tail;
    state.dirty = true;
    // A failed write does not stop later ones (space may come back); each caller sees its own outcome.
    state.tail = state.tail.catch(() => undefined).then(async () => {
      state.dirty = false;
      const loaded = await state.loaded;
      const jobs: unknown[] = [...loaded.entries()].filter(([id]) => !state.entries.has(id)).map(([, job]) => job);
      jobs.push(...state.entries.values());
      jobs.sort((a, b) => {
        const ka = `${(a as MetadataEntry).created_at ?? ''}\u0000${(a as MetadataEntry).run_id}`;
        const kb = `${(b as MetadataEntry).created_at ?? ''}\u0000${(b as MetadataEntry).run_id}`;
        return ka < kb ? -1 : ka > kb ? 1 : 0;
      });
      await writeJsonAtomic(RunMetadataFiles.pathIn(runDir), { ...this.header(), jobs });
    });
    return state.tail;
  }
}
