/**
 * The jobs the engine knows, in memory that stays bounded over weeks of unattended running.
 *
 * GET /jobs lists every job (those recovered after a restart too) and GET /jobs/{id} answers for
 * any of them until retention deletes the job's run folder. A job's full record (per-mode results
 * with their integrity events, files, parameters) is tens of KB, and the engine's side of a
 * running job more; kept for every job ever run they grew the daemon by ~36 KB per job and made
 * GET /jobs rebuild every job's status. So a job is kept in one of two forms:
 *
 * - **live** from its start until it is terminal and every slot runner has ended: what the engine
 *   needs to run it (plan, record, abort controllers, runners, live progress);
 * - **compact** afterwards: its GET /jobs entry (fixed from then on), run folder, slot names and
 *   group keys, about 1 KB. Its full record stays in memory while it is one of the
 *   `recordsInMemory` jobs that ended last, and beyond that bound for as long as its latest state
 *   is not in its file (a save on its way, a write that failed and is retried). Older records are
 *   read back from their files when a view asks (GET /jobs/{id}, POST /jobs/status, a run's live
 *   stream), into a cache of the last few read.
 *
 * Nothing that walks every job (GET /jobs and its filters, the metrics, retention, the NAS
 * upload's busy check) reads a record: they use the compact fields. The jobs are kept sorted as
 * GET /jobs lists them, so a listing costs one pass.
 */
import type { Logger } from 'pino';
import { DaemonError } from '../errors.js';
import type { JobRecord } from './job-record.js';
import { deriveJobState } from './progress.js';
import { buildJobOverview, jobGroupKeys, type JobView } from './status-views.js';
import type { JobOverview, JobState } from './types.js';

/** Default of BOX_JOBS_IN_MEMORY: full records of ended jobs kept in memory. */
export const DEFAULT_RECORDS_IN_MEMORY = 500;
/** Records read back from their files and kept for the next request (a client polling an old job). */
export const READ_BACK_CACHE_SIZE = 16;

/** Where the records of compact jobs are read back from: the job store. */
export interface RecordFiles {
  /** Whether the job's latest saved state is in its file (else its record must stay in memory). */
  isPersisted(runId: string): boolean;
  /** The job's record read from its file now; throws when it cannot be. */
  loadSync(runId: string): JobRecord;
}

/** What every known job keeps, whatever its form. */
interface JobKeys {
  readonly runId: string;
  /** The job's `created_at` (its `started_at` in the views): with the run_id, the listing order. */
  readonly startedAt: string;
  readonly runDir: string;
  readonly slots: readonly string[];
  /** Group label and storage subfolder, lower-cased (GET /jobs?group_id=). */
  readonly groups: readonly string[];
}

/** A job the engine runs (until it is terminal and its runners have ended). */
export interface LiveJob<L> extends JobKeys {
  readonly live: L;
  readonly overview: null;
}

/** A job that ended: its GET /jobs entry is fixed. */
export interface CompactJob extends JobKeys {
  readonly live: null;
  readonly overview: Readonly<JobOverview>;
}

export type KnownJob<L> = LiveJob<L> | CompactJob;

export interface JobTableOptions {
  /** Full records of compact jobs kept in memory (BOX_JOBS_IN_MEMORY). */
  recordsInMemory: number;
  files: RecordFiles;
  logger: Pick<Logger, 'error'>;
}

/** Figures of what the table holds (GET /metrics, the soak). */
export interface JobTableFigures {
  /** Jobs known (live and compact). */
  jobs: number;
  /** Live jobs. */
  live: number;
  /** Full records in memory: the live jobs', the compact ones kept, and those read back. */
  records: number;
}

/** Listing order, oldest first: started_at, then run_id. */
function compareKeys(a: JobKeys, b: JobKeys): number {
  if (a.startedAt !== b.startedAt) return a.startedAt < b.startedAt ? -1 : 1;
  return a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0;
}

const NO_GROUPS: readonly string[] = Object.freeze([]);

export function jobStateOf(job: KnownJob<JobView>): JobState {
  return job.live === null ? job.overview.status : deriveJobState(job.live.record.slots.map((s) => s.status));
}

export class JobTable<L extends JobView> {
  readonly #options: JobTableOptions;
  readonly #jobs = new Map<string, KnownJob<L>>();
  /** Every job in listing order (oldest first) once `#sorted`; appended out of order it is sorted when next needed. */
  readonly #order: KnownJob<L>[] = [];
  #sorted = true;
  readonly #live = new Map<string, LiveJob<L>>();
  /** One frozen array per distinct slot list (jobs share them: a compact entry stays small). */
  readonly #slotLists = new Map<string, readonly string[]>();
  /** Full records of compact jobs kept in memory, the oldest ended first. */
  readonly #kept = new Map<string, JobRecord>();
  /** Records read back from their files, the least recently used first. */
  readonly #readBack = new Map<string, JobRecord>();

  constructor(options: JobTableOptions) {
    this.#options = { ...options, recordsInMemory: Math.max(0, Math.floor(options.recordsInMemory)) };
  }

  get figures(): JobTableFigures {
    return { jobs: this.#jobs.size, live: this.#live.size, records: this.#live.size + this.#kept.size + this.#readBack.size };
  }

  has(runId: string): boolean {
    return this.#jobs.has(runId);
  }

  get(runId: string): KnownJob<L> | undefined {
    return this.#jobs.get(runId);
  }

  /** The jobs being run. */
  *liveJobs(): Generator<L> {
    for (const job of this.#live.values()) yield job.live;
  }

  /** Every job, newest first (as GET /jobs lists them). */
  *newestFirst(): Generator<KnownJob<L>> {
    this.#sort();
    for (let i = this.#order.length - 1; i >= 0; i--) yield this.#order[i]!;
  }

  /** The jobs whose run folder is `runDir` (a pass over the compact fields; retention's, rare). */
  inRunDir(runDir: string): KnownJob<L>[] {
    return this.#order.filter((job) => job.runDir === runDir);
  }

  /** A job the engine starts running. */
  addLive(live: L): void {
    const job: LiveJob<L> = { ...this.#keysOf(live.record), live, overview: null };
    this.#add(job);
    this.#live.set(job.runId, job);
  }

  /** A terminal job loaded from the store after a restart. */
  addCompact(record: JobRecord): void {
    this.#add(this.#compactOf(record));
    this.#keep(record);
  }

  /**
   * The job is terminal and every slot runner has ended: from now on only its compact form and,
   * within the bound, its record stay. No-op for a job no longer live (forgotten meanwhile).
   */
  compact(runId: string): void {
    const job = this.#live.get(runId);
    if (!job) return;
    const compact = this.#compactOf(job.live.record);
    this.#live.delete(runId);
    this.#jobs.set(runId, compact);
    this.#order[this.#indexOf(job)] = compact;
    this.#keep(job.live.record);
  }

  /** Forgets a job (its start failed, or retention deleted its run folder). */
  delete(runId: string): boolean {
    const job = this.#jobs.get(runId);
    if (!job) return false;
    this.#order.splice(this.#indexOf(job), 1);
    this.#jobs.delete(runId);
    this.#live.delete(runId);
    this.#kept.delete(runId);
    this.#readBack.delete(runId);
    return true;
  }

  /**
   * The job's full record: the live one, one kept in memory, or read back from its file (cached).
   * undefined for an unknown job; a `DaemonError` when the file cannot be read.
   */
  record(runId: string): JobRecord | undefined {
    const job = this.#jobs.get(runId);
    if (!job) return undefined;
    if (job.live !== null) return job.live.record;
    const kept = this.#kept.get(runId);
    if (kept) return kept;
    let record = this.#readBack.get(runId);
    if (record) {
      this.#readBack.delete(runId); // most recently used last
    } else {
      try {
        record = this.#options.files.loadSync(runId);
      } catch (err) {
        this.#options.logger.error({ err, runId }, 'job record could not be read back from its file');
        throw new DaemonError('INTERNAL', `The job record of ${runId} could not be read from the job store: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    }
    this.#readBack.set(runId, record);
    for (const id of this.#readBack.keys()) {
      if (this.#readBack.size <= READ_BACK_CACHE_SIZE) break;
      this.#readBack.delete(id);
    }
    return record;
  }

  /**
   * Drops the kept records beyond the bound, the oldest ended first, each only once its latest
   * state is in its file (the others stay and are tried again at the next call).
   */
  trim(): void {
    let excess = this.#kept.size - this.#options.recordsInMemory;
    if (excess <= 0) return;
    for (const runId of this.#kept.keys()) {
      if (excess <= 0) break;
      if (!this.#options.files.isPersisted(runId)) continue;
      this.#kept.delete(runId);
      excess--;
    }
  }

  #keysOf(record: JobRecord): JobKeys {
    const slots = record.slots.map((s) => s.slot);
    const key = slots.join('\n');
    let shared = this.#slotLists.get(key);
    if (!shared) this.#slotLists.set(key, (shared = Object.freeze(slots)));
    const groups = jobGroupKeys(record);
    return { runId: record.run_id, startedAt: record.created_at, runDir: record.run_dir, slots: shared, groups: groups.length > 0 ? Object.freeze(groups) : NO_GROUPS };
  }

  #compactOf(record: JobRecord): CompactJob {
    const keys = this.#keysOf(record);
    const overview = buildJobOverview({ record, runs: [] });
    // The entry shares the frozen slot list.
    return { ...keys, live: null, overview: Object.freeze({ ...overview, devices: keys.slots as string[] }) };
  }

  #keep(record: JobRecord): void {
    this.#readBack.delete(record.run_id);
    this.#kept.set(record.run_id, record);
    this.trim();
  }

  #add(job: KnownJob<L>): void {
    if (this.#jobs.has(job.runId)) throw new Error(`job table: ${job.runId} is already known`);
    this.#jobs.set(job.runId, job);
    const last = this.#order.at(-1);
    if (last && compareKeys(last, job) > 0) this.#sorted = false;
    this.#order.push(job);
  }

  #sort(): void {
    if (this.#sorted) return;
    this.#order.sort(compareKeys);
    this.#sorted = true;
  }

  /** Position of a known job in `#order` (binary search). */
  #indexOf(job: JobKeys): number {
    this.#sort();
    let lo = 0;
    let hi = this.#order.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const c = compareKeys(this.#order[mid]!, job);
      if (c === 0) return mid;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    throw new Error(`job table: ${job.runId} is not in the listing order`);
  }
}
