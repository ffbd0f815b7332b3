/**
 * Job store `RUNS_ROOT/.jobs/<run_id>.json` (rest-api.md 4.8): one JSON record per job, written
 * atomically (temp file + fsync + rename) on creation and on every state change.
 *
 * Writes are serialised per run_id and coalesce: the record is serialised when `save` is called
 * (later mutation of the object does not matter), a burst of saves writes at most one file at a
 * time, and the last saved state is always the one that ends up on disk. A save or delete
 * resolves once a write carrying that state (or a later one) has completed.
 *
 * The record's shape belongs to the job engine; to this store it is opaque JSON (`T`).
 */
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { ATOMIC_TMP_SUFFIX, formatJson, writeFileAtomic } from './atomic-file.js';
import { isValidRunId } from './run-id.js';

export const JOBS_DIR = '.jobs';

export interface StoredJob<T> {
  runId: string;
  record: T;
}

export interface JobStoreOptions<T> {
  logger?: Pick<Logger, 'warn' | 'debug'>;
  /** Checks a loaded record; records failing it are logged and skipped. Default: any JSON object. */
  isRecord?: (value: unknown) => value is T;
}

type Operation = { kind: 'write'; text: string } | { kind: 'delete' };

interface Lane {
  chain: Promise<void>;
  latest: Operation;
  version: number;
  doneVersion: number;
}

function isJsonObject(value: unknown): boolean {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export class JobStore<T> {
  /** Absolute `RUNS_ROOT/.jobs`. */
  readonly dir: string;
  readonly #logger: JobStoreOptions<T>['logger'];
  readonly #isRecord: (value: unknown) => value is T;
  readonly #lanes = new Map<string, Lane>();

  constructor(runsRoot: string, options: JobStoreOptions<T> = {}) {
    this.dir = join(resolve(runsRoot), JOBS_DIR);
    this.#logger = options.logger;
    this.#isRecord = options.isRecord ?? ((value: unknown): value is T => isJsonObject(value));
  }

  /** Creates `.jobs/` (recursive, no error if present). */
  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  /** Path of a job's record. */
  pathOf(runId: string): string {
    if (!isValidRunId(runId)) throw new TypeError(`invalid run_id ${JSON.stringify(runId)}`);
    return join(this.dir, `${runId}.json`);
  }

  /** Persists `record` as the job's current state (see the class comment for ordering). */
  save(runId: string, record: T): Promise<void> {
    let text: string;
    try {
      this.pathOf(runId);
      text = formatJson(record);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#enqueue(runId, { kind: 'write', text });
  }

  /** Deletes a job's record after any pending write of it (no error if absent). */
  delete(runId: string): Promise<void> {
    try {
      this.pathOf(runId);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#enqueue(runId, { kind: 'delete' });
  }

  /** Resolves when every save and delete issued so far has completed (failures ignored). */
  async flush(): Promise<void> {
    await Promise.all([...this.#lanes.values()].map((lane) => lane.chain.catch(() => undefined)));
  }

  /**
   * Loads every record at start-up, sorted by run_id. Unreadable, unparsable or rejected files are
   * logged and skipped; temp files left by a writer that died mid-write are deleted. Call before
   * the first `save`.
   */
  async loadAll(): Promise<StoredJob<T>[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: StoredJob<T>[] = [];
    for (const name of names.sort()) {
      const path = join(this.dir, name);
      if (name.startsWith('.') && name.endsWith(ATOMIC_TMP_SUFFIX)) {
        await unlink(path).catch(() => undefined);
        this.#logger?.debug({ file: name }, 'removed stale job store temp file');
        continue;
      }
      if (!name.endsWith('.json')) continue;
      const runId = name.slice(0, -'.json'.length);
      if (!isValidRunId(runId)) {
        this.#logger?.warn({ file: name }, 'job store: file name is not a run_id; skipped');
        continue;
      }
      let value: unknown;
      try {
        value = JSON.parse(await readFile(path, 'utf8'));
      } catch (err) {
        this.#logger?.warn({ err, runId }, 'job store: unreadable or corrupt record; skipped');
        continue;
      }
      if (!this.#isRecord(value)) {
        this.#logger?.warn({ runId }, 'job store: record rejected; skipped');
        continue;
      }
      out.push({ runId, record: value });
    }
    return out;
  }

  #enqueue(runId: string, op: Operation): Promise<void> {
    let lane = this.#lanes.get(runId);
    if (lane === undefined) {
      lane = { chain: Promise.resolve(), latest: op, version: 0, doneVersion: 0 };
      this.#lanes.set(runId, lane);
    }
    const current = lane;
    current.latest = op;
    const version = ++current.version;
    const next = current.chain
      .catch(() => undefined)
      .then(async () => {
        if (current.doneVersion >= version) return; // a later state was already written
        const runVersion = current.version;
        await this.#execute(runId, current.latest);
        current.doneVersion = runVersion;
        if (current.doneVersion === current.version && this.#lanes.get(runId) === current) this.#lanes.delete(runId);
      });
    current.chain = next;
    return next;
  }

  async #execute(runId: string, op: Operation): Promise<void> {
    const path = this.pathOf(runId);
    if (op.kind === 'delete') {
      await unlink(path).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      return;
    }
    try {
      await writeFileAtomic(path, op.text);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await mkdir(this.dir, { recursive: true }); // `.jobs` was not created yet (or was removed)
      await writeFileAtomic(path, op.text);
    }
  }
}
