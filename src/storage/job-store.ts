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
 *
 * A full disk (issue #10) must not leave a record saying `running` for a job that failed:
 *
 * 1. Reserve: `init()` keeps `.jobs/.reserve` (default 1 MiB of real, incompressible data). A
 *    write that fails with ENOSPC/EDQUOT deletes it to make room and is retried at once. The
 *    reserve is created again once the file system has room (checked after each successful
 *    write and on the retry timer).
 * 2. Retry: a record that still cannot be written (no reserve left, EIO, read-only file system)
 *    is logged with the reason and kept in memory; it is written again every `retryIntervalMs`,
 *    at `flush()` (so at the daemon's shutdown), and whenever a later state of it is saved.
 * 3. Note: it is also written into `.jobs/.unsaved`, a file preallocated by `init()` and
 *    overwritten in place (no new blocks needed on ext4, xfs, tmpfs; not on copy-on-write file
 *    systems), holding the records that did not reach their own files, with the error. After a
 *    restart `loadAll()` takes a noted record over an older file (or a missing one) and writes it
 *    to its file again; so the reason a slot failed survives a restart on a disk that stayed full.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, open, readdir, readFile, stat, statfs, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { ATOMIC_TMP_SUFFIX, formatJson, writeFileAtomic } from './atomic-file.js';
import { isValidRunId } from './run-id.js';

export const JOBS_DIR = '.jobs';
/** Space kept for job records, released on a full disk. */
export const JOB_STORE_RESERVE_FILE = '.reserve';
/** Records that could not be written to their own files (preallocated, overwritten in place). */
export const JOB_STORE_UNSAVED_FILE = '.unsaved';
const UNSAVED_SCHEMA = 'beepbox.unsaved-job-records/1';

export const DEFAULT_RESERVE_BYTES = 1024 * 1024;
export const DEFAULT_UNSAVED_NOTE_BYTES = 256 * 1024;
export const DEFAULT_RETRY_INTERVAL_MS = 5000;

/** Out of space (disk full or quota). */
export function isNoSpaceError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

interface UnsavedEntry {
  /** When the write failed (ISO). */
  at: string;
  error: string;
  /** The record's JSON text. */
  text: string;
}

export interface StoredJob<T> {
  runId: string;
  record: T;
}

export interface JobStoreOptions<T> {
  logger?: Pick<Logger, 'warn' | 'debug' | 'error' | 'info'>;
  /** Checks a loaded record; records failing it are logged and skipped. Default: any JSON object. */
  isRecord?: (value: unknown) => value is T;
  /** Size of `.jobs/.reserve` (default 1 MiB; 0 = no reserve). */
  reserveBytes?: number;
  /** Size of `.jobs/.unsaved` (default 256 KiB; 0 = no note). */
  unsavedNoteBytes?: number;
  /** Period of the retries of records that could not be written (default 5 s). */
  retryIntervalMs?: number;
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
  readonly #reserveBytes: number;
  readonly #noteBytes: number;
  readonly #retryIntervalMs: number;
  /** Operations whose write failed, to be retried (removed once any later operation of the run succeeds). */
  readonly #failed = new Map<string, Operation>();
  /** What `.unsaved` holds (or should hold). */
  readonly #unsaved = new Map<string, UnsavedEntry>();
  #noteChain: Promise<void> = Promise.resolve();
  #reserveChain: Promise<void> | null = null;
  #reservePresent = false;
  #retryTimer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(runsRoot: string, options: JobStoreOptions<T> = {}) {
    this.dir = join(resolve(runsRoot), JOBS_DIR);
    this.#logger = options.logger;
    this.#isRecord = options.isRecord ?? ((value: unknown): value is T => isJsonObject(value));
    this.#reserveBytes = options.reserveBytes ?? DEFAULT_RESERVE_BYTES;
    this.#noteBytes = options.unsavedNoteBytes ?? DEFAULT_UNSAVED_NOTE_BYTES;
    this.#retryIntervalMs = options.retryIntervalMs ?? DEFAULT_RETRY_INTERVAL_MS;
  }

  get reservePath(): string {
    return join(this.dir, JOB_STORE_RESERVE_FILE);
  }

  get unsavedPath(): string {
    return join(this.dir, JOB_STORE_UNSAVED_FILE);
  }

  /** Whether the reserve file is in place (false after it was released on a full disk). */
  get hasReserve(): boolean {
    return this.#reservePresent;
  }

  /** run_ids whose latest state is not in its file yet (a write failed; retried). */
  get unsavedRunIds(): string[] {
    return [...this.#failed.keys()].sort();
  }

  /**
   * Creates `.jobs/` (recursive, no error if present), the reserve and the preallocated note file
   * (each only when missing and when the file system has room; never fails for lack of it).
   */
  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await this.#ensureNoteFile();
    await this.#restoreReserve();
  }

  /** Stops the retry timer (records still unsaved stay unsaved). */
  close(): void {
    this.#closed = true;
    if (this.#retryTimer !== null) clearInterval(this.#retryTimer);
    this.#retryTimer = null;
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

  /**
   * Resolves when every save and delete issued so far has completed (failures ignored), after
   * one more attempt at every record whose write had failed.
   */
  async flush(): Promise<void> {
    await Promise.all([...this.#lanes.values()].map((lane) => lane.chain.catch(() => undefined)));
    if (this.#failed.size > 0) {
      this.#retryFailed();
      await Promise.all([...this.#lanes.values()].map((lane) => lane.chain.catch(() => undefined)));
    }
    await this.#noteChain;
  }

  /**
   * Loads every record at start-up, sorted by run_id. Unreadable, unparsable or rejected files are
   * logged and skipped; temp files left by a writer that died mid-write are deleted. Call before
   * the first `save`.
   */
  async loadAll(): Promise<StoredJob<T>[]> {
    const out: StoredJob<T>[] = [];
    for await (const job of this.loadEach()) out.push(job);
    return out.sort((a, b) => (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0));
  }

  /**
   * `loadAll` one record at a time (files in run_id order, then records noted in `.unsaved` whose
   * file was never created), so that a restart after weeks of jobs never holds every record at
   * once. Iterate to the end: the note is tidied up after the last record.
   */
  async *loadEach(): AsyncGenerator<StoredJob<T>> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const noted = await this.#readNote();
    let noteChanged = false;
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
      const note = noted.get(runId);
      noted.delete(runId);
      if (note !== undefined) {
        const fileTime = (await stat(path).catch(() => null))?.mtimeMs ?? -Infinity;
        const record = this.#parseNoted(runId, note);
        if (record !== null && Date.parse(note.at) >= fileTime) {
          yield { runId, record };
          continue;
        }
        if (record === null) noteChanged = true;
        this.#unsaved.delete(runId); // the file is newer: a later write made it after all
        noteChanged = true;
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
      yield { runId, record: value };
    }
    // Noted records whose file was never created.
    for (const [runId, note] of noted) {
      const record = this.#parseNoted(runId, note);
      if (record !== null) yield { runId, record };
      else noteChanged = true;
    }
    if (noteChanged) void this.#writeNote().catch(() => undefined);
  }

  /**
   * Whether the job's latest saved state is in its file: no write of it queued or running, none
   * failed. Only then may a caller drop the record from memory and read it back with `loadSync`.
   */
  isPersisted(runId: string): boolean {
    return !this.#lanes.has(runId) && !this.#failed.has(runId);
  }

  /**
   * A job's record read from its file now, synchronously (one small file, for a view answering a
   * request). Throws when the file is missing, unreadable, not JSON or rejected by `isRecord`.
   */
  loadSync(runId: string): T {
    const value: unknown = JSON.parse(readFileSync(this.pathOf(runId), 'utf8'));
    if (!this.#isRecord(value)) throw new Error(`job store: the record of ${runId} is rejected`);
    return value;
  }

  /** A record from `.unsaved`, also queued for writing to its own file; null if unusable. */
  #parseNoted(runId: string, note: UnsavedEntry): T | null {
    let value: unknown;
    try {
      value = JSON.parse(note.text);
    } catch {
      value = null;
    }
    if (!this.#isRecord(value)) {
      this.#unsaved.delete(runId);
      this.#logger?.warn({ runId }, 'job store: unusable record in the unsaved-records note; skipped');
      return null;
    }
    this.#logger?.warn({ runId, failedAt: note.at, error: note.error }, 'job store: record restored from the unsaved-records note (its file could not be written before the restart)');
    // Its own file is written now (or retried until it can be).
    this.#enqueue(runId, { kind: 'write', text: note.text }).catch(() => undefined);
    return value;
  }

  /** Reads `.unsaved` into memory; its entries, by run_id. */
  async #readNote(): Promise<Map<string, UnsavedEntry>> {
    const out = new Map<string, UnsavedEntry>();
    let text: string;
    try {
      text = await readFile(this.unsavedPath, 'utf8');
    } catch {
      return out;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text.replace(/[\s\0]+$/, '') || '{}');
    } catch (err) {
      this.#logger?.warn({ err }, 'job store: unsaved-records note unparsable; ignored');
      return out;
    }
    const records = (parsed as { schema?: unknown; records?: unknown } | null)?.records;
    if (records === null || typeof records !== 'object' || Array.isArray(records)) return out;
    for (const [runId, entry] of Object.entries(records as Record<string, unknown>)) {
      const e = entry as Partial<UnsavedEntry> | null;
      if (!isValidRunId(runId) || e === null || typeof e !== 'object' || typeof e.text !== 'string' || typeof e.at !== 'string') continue;
      const value: UnsavedEntry = { at: e.at, error: typeof e.error === 'string' ? e.error : '', text: e.text };
      out.set(runId, value);
      this.#unsaved.set(runId, value);
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
        const op = current.latest;
        try {
          await this.#execute(runId, op);
        } catch (err) {
          this.#onWriteFailed(runId, op, err, current.latest === op);
          throw err;
        } finally {
          // Done with this version either way: a failed one is retried from `#failed`, not from the lane.
          current.doneVersion = runVersion;
          if (current.doneVersion === current.version && this.#lanes.get(runId) === current) this.#lanes.delete(runId);
        }
        this.#onWriteDone(runId);
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
      await this.#writeRecord(path, op.text);
    } catch (err) {
      if (!isNoSpaceError(err)) throw err;
      // Several records may fail at once: each gets one more attempt after the release.
      const released = await this.#releaseReserve();
      if (!released && Date.now() - this.#releasedAtMs > 2000) throw err;
      if (released) this.#logger?.warn({ runId, err: describeError(err) }, 'file system full: released the job store reserve to write a job record');
      await this.#writeRecord(path, op.text);
    }
  }

  async #writeRecord(path: string, text: string): Promise<void> {
    try {
      await writeFileAtomic(path, text);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await mkdir(this.dir, { recursive: true }); // `.jobs` was not created yet (or was removed)
      await writeFileAtomic(path, text);
    }
  }

  // ---- after a write ----------------------------------------------------------------------

  #onWriteDone(runId: string): void {
    this.#failed.delete(runId);
    if (this.#unsaved.delete(runId)) {
      this.#logger?.info({ runId }, 'job record written after an earlier failure');
      void this.#writeNote().catch(() => undefined);
    }
    if (!this.#reservePresent && this.#reserveWanted) void this.#restoreReserve();
    this.#updateTimer();
  }

  #onWriteFailed(runId: string, op: Operation, err: unknown, isLatest: boolean): void {
    if (!isLatest) return; // a later state is queued and will be written (or fail) on its own
    this.#failed.set(runId, op);
    const error = describeError(err);
    this.#logger?.error({ runId, err: error, retryInMs: this.#retryIntervalMs }, 'job record could not be written; kept in memory and retried');
    if (op.kind === 'write') this.#unsaved.set(runId, { at: new Date().toISOString(), error, text: op.text });
    else this.#unsaved.delete(runId);
    void this.#writeNote().catch(() => undefined);
    this.#updateTimer();
  }

  #updateTimer(): void {
    const needed = !this.#closed && (this.#failed.size > 0 || (!this.#reservePresent && this.#reserveBytes > 0 && this.#reserveWanted));
    if (needed && this.#retryTimer === null) {
      this.#retryTimer = setInterval(() => {
        this.#retryFailed();
        if (!this.#reservePresent) void this.#restoreReserve();
      }, this.#retryIntervalMs);
      this.#retryTimer.unref();
    } else if (!needed && this.#retryTimer !== null) {
      clearInterval(this.#retryTimer);
      this.#retryTimer = null;
    }
  }

  /** Writes again every record whose latest write failed and that has nothing newer queued. */
  #retryFailed(): void {
    for (const [runId, op] of this.#failed) {
      if (this.#lanes.has(runId)) continue; // a newer state is on its way
      this.#enqueue(runId, op).catch(() => undefined);
    }
  }

  // ---- the reserve --------------------------------------------------------------------------

  /** Set once the store was initialised: a released reserve is then re-created when there is room. */
  #reserveWanted = false;
  #releasedAtMs = -Infinity;

  /** Deletes the reserve; true if there was one to delete. */
  async #releaseReserve(): Promise<boolean> {
    if (this.#reserveBytes <= 0) return false;
    await this.#reserveChain;
    try {
      await unlink(this.reservePath);
    } catch {
      this.#reservePresent = false;
      return false;
    }
    this.#reservePresent = false;
    this.#releasedAtMs = Date.now();
    this.#updateTimer();
    return true;
  }

  /** (Re)creates the reserve if missing and the file system has room for it several times over. */
  #restoreReserve(): Promise<void> {
    if (this.#reserveBytes <= 0 || this.#closed) return Promise.resolve();
    this.#reserveWanted = true;
    this.#reserveChain ??= (async () => {
      try {
        const existing = await stat(this.reservePath).catch(() => null);
        if (existing !== null && existing.isFile() && existing.size >= this.#reserveBytes) {
          this.#reservePresent = true;
          return;
        }
        const fs = await statfs(this.dir);
        if (fs.bavail * fs.bsize < 4 * this.#reserveBytes) return;
        // Incompressible bytes: zeros could be a sparse or compressed file that reserves nothing.
        await writeFileAtomic(this.reservePath, randomBytes(this.#reserveBytes), { mode: 0o600 });
        this.#reservePresent = true;
        this.#logger?.debug({ bytes: this.#reserveBytes }, 'job store reserve in place');
      } catch (err) {
        this.#logger?.debug({ err: describeError(err) }, 'job store reserve not created (will retry)');
      } finally {
        this.#reserveChain = null;
        this.#updateTimer();
      }
    })();
    return this.#reserveChain;
  }

  // ---- the unsaved-records note -------------------------------------------------------------

  /** Creates `.unsaved` at its full size if missing (blank content). */
  async #ensureNoteFile(): Promise<void> {
    if (this.#noteBytes <= 0) return;
    const st = await stat(this.unsavedPath).catch(() => null);
    if (st !== null && st.isFile() && st.size === this.#noteBytes) return;
    try {
      await writeFileAtomic(this.unsavedPath, Buffer.alloc(this.#noteBytes, 0x20), { mode: 0o600 });
    } catch (err) {
      this.#logger?.warn({ err: describeError(err) }, 'job store: unsaved-records note file not created');
    }
  }

  /**
   * Overwrites `.unsaved` in place with the current entries (newest first, as many as fit),
   * padded to its preallocated size, and fsyncs it. Serialised.
   */
  #writeNote(): Promise<void> {
    if (this.#noteBytes <= 0) return Promise.resolve();
    const next = this.#noteChain.then(async () => {
      const entries = [...this.#unsaved].sort((a, b) => (a[1].at < b[1].at ? 1 : -1));
      let kept = entries.length;
      let body: Buffer;
      for (;;) {
        const records = Object.create(null) as Record<string, UnsavedEntry>;
        for (const [runId, entry] of entries.slice(0, kept)) records[runId] = entry;
        body = Buffer.from(JSON.stringify({ schema: UNSAVED_SCHEMA, records }), 'utf8');
        if (body.length <= this.#noteBytes || kept === 0) break;
        kept--;
      }
      if (kept < entries.length) this.#logger?.error({ dropped: entries.slice(kept).map(([id]) => id) }, 'job store: unsaved-records note full; oldest entries not noted');
      const page = Buffer.alloc(this.#noteBytes, 0x20);
      body.copy(page, 0, 0, Math.min(body.length, this.#noteBytes));
      let handle;
      try {
        handle = await open(this.unsavedPath, 'r+');
        await handle.write(page, 0, page.length, 0);
        await handle.sync();
      } catch (err) {
        this.#logger?.error({ err: describeError(err) }, 'job store: unsaved-records note could not be written');
      } finally {
        await handle?.close().catch(() => undefined);
      }
    });
    this.#noteChain = next.catch(() => undefined);
    return next;
  }
}
