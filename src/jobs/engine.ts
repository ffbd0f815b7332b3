/**
 * The job engine: runs admitted plans. It owns the state machine of each slot
 * (`queued → running → done | failed | cancelled`, terminal states final, the job state derived
 * from its slots), the slot reservations, cancellation and the sequencing of modes. Everything
 * else consumes each slot's event stream (slot-events.ts): the CSV recorder, plots, the job
 * record, progress, and whatever is added later, without touching this file.
 *
 * Cancellation is a state transition that cannot be lost: `cancel` marks every live slot and
 * aborts its signal; each slot's runner is the only writer of its terminal state and observes
 * the signal at every step (acquiring the device, before each mode, during a mode through the
 * worker's abort, while consumers finish), so a cancel ends as `cancelled` whenever it lands.
 */
import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import { DaemonError } from '../errors.js';
import type { SlotWorker } from '../slots/slot-worker.js';
import { isNoSpaceError, type JobStore } from '../storage/job-store.js';
import type { RunIndex } from '../storage/run-index.js';
import { createRunFolder, removeCreatedFolders } from '../storage/run-folder.js';
import type { JobPlan } from './job-plan.js';
import { JOB_RECORD_SCHEMA, describeSlotNotes, type JobRecord } from './job-record.js';
import { runMode } from './mode-runner.js';
import { planJobProvenance } from './run-metadata.js';
import { DEFAULT_RECORDS_IN_MEMORY, JobTable, jobStateOf, type JobTableFigures, type KnownJob } from './job-table.js';
import { deriveJobState, isTerminal } from './progress.js';
import { listSlotFiles } from './slot-files.js';
import type { SlotContext, SlotEvent, SubscriberFactory } from './slot-events.js';
import { SlotStream } from './slot-stream.js';
import { progressSubscriber, type LiveProgress } from './subscribers/progress-subscriber.js';
import { recordSubscriber } from './subscribers/record-subscriber.js';
import type { SlotState } from './types.js';

/** How the engine gets a slot's device (the slot registry). */
export interface SlotAccess {
  /** The slot's worker, connected to its device; rejects when the device is not available. */
  acquire(slot: string): Promise<SlotWorker>;
}

/** What the engine needs of the job store: saving, and reading back records it dropped from memory. */
export type JobRecordStore = Pick<JobStore<JobRecord>, 'save' | 'delete' | 'flush' | 'isPersisted' | 'loadSync'>;

export interface JobEngineDeps {
  slots: SlotAccess;
  jobStore: JobRecordStore;
  runIndex: RunIndex;
  logger: Logger;
  versions: JobRecord['versions'];
  /** Consumers of every slot's stream (recorder, plots, ...), in delivery order. */
  subscribers: readonly SubscriberFactory[];
  /** Called once when a job ends `done` (NAS upload). */
  onJobDone?: (runId: string, runDir: string) => void;
  galPollIntervalMs?: number;
  /**
   * Full records of ended jobs kept in memory (BOX_JOBS_IN_MEMORY, default 500); older ones are
   * read back from the job store when asked for (job-table.ts).
   */
  recordsInMemory?: number;
}

/** The live side of one slot of a job. */
export interface SlotRun {
  readonly live: LiveProgress;
  cancelRequested: boolean;
  readonly abort: AbortController;
  runner: Promise<void> | null;
  /** The runner has ended: consumers closed, device stopped, slot released. */
  finished: boolean;
}

export interface JobRuntime {
  /** null once the job has ended and its runners have finished (recovered jobs too). */
  readonly plan: JobPlan | null;
  readonly record: JobRecord;
  /** One per slot while the job runs; empty once it has ended and its runners have finished. */
  readonly runs: readonly SlotRun[];
}

/** How long a new job waits for a slot whose previous job has just ended there (awaitEndingSlots). */
const RELEASE_WAIT_MS = 10_000;

const nowIso = (): string => new Date().toISOString();

/** Resolves with `promise`, or rejects as soon as `signal` aborts (the promise runs on unobserved). */
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(new DaemonError('ABORTED', 'cancelled'));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new DaemonError('ABORTED', 'cancelled'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export function newSlotRun(): SlotRun {
  return { live: { pointsDone: 0, rows: 0 }, cancelRequested: false, abort: new AbortController(), runner: null, finished: false };
}

export class JobEngine {
  /** Every job known: live while it runs, compact once ended (job-table.ts). */
  private readonly jobs: JobTable<JobRuntime>;
  /** slot → run_id of the non-terminal job holding it. */
  private readonly reservations = new Map<string, string>();
  /** Callbacks waiting for a slot whose job has ended there to be released (see awaitEndingSlots). */
  private readonly releaseWaiters = new Map<string, Array<() => void>>();
  private shuttingDown = false;

  constructor(private readonly deps: JobEngineDeps) {
    this.jobs = new JobTable({ recordsInMemory: deps.recordsInMemory ?? DEFAULT_RECORDS_IN_MEMORY, files: deps.jobStore, logger: deps.logger });
  }

  // ---- state the views and services read --------------------------------------------

  /**
   * A job with its full record: the running one, or for an ended job its record alone (which
   * may be read back from the job store: a `DaemonError` if its file cannot be read). For views
   * of one job; to walk every job use {@link knownJobs}, which reads no record.
   */
  job(runId: string): JobRuntime | undefined {
    const known = this.jobs.get(runId);
    if (!known) return undefined;
    if (known.live !== null) return known.live;
    return { plan: null, record: this.jobs.record(runId)!, runs: [] };
  }

  /** A job's compact fields (run folder, slots, GET /jobs entry once ended); never reads a record. */
  knownJob(runId: string): KnownJob<JobRuntime> | undefined {
    return this.jobs.get(runId);
  }

  /** Every job known, newest first (GET /jobs order); never reads a record. */
  knownJobs(): Iterable<KnownJob<JobRuntime>> {
    return this.jobs.newestFirst();
  }

  /** How many jobs and full records the engine holds in memory. */
  get memory(): JobTableFigures {
    return this.jobs.figures;
  }

  /** Slot → run_id of its reserving job. */
  reservationOf(slot: string): string | undefined {
    return this.reservations.get(slot);
  }

  get busySlots(): string[] {
    return [...this.reservations.keys()].sort();
  }

  /** Jobs loaded from the store after a restart (already made terminal by recovery). */
  adopt(record: JobRecord): void {
    this.jobs.addCompact(record);
  }

  // ---- starting ----------------------------------------------------------------------

  /**
   * Reserves the plan's slots and starts it. The checks and the reservation are one atomic
   * section (no await in between); the run folder, run index entry and job record follow, and
   * are undone if any of them fails: the reservation, the index entry, the record, and the
   * folders this start created (only those, and only while empty: a run folder shared with
   * another job of the batch stays).
   */
  async start(plan: JobPlan): Promise<JobRuntime> {
    if (this.shuttingDown) throw new DaemonError('jobs.shutting_down', 'The daemon is shutting down');
    if (this.jobs.has(plan.runId) || this.deps.runIndex.has(plan.runId)) throw new DaemonError('jobs.run_id_conflict', 'run_id already exists');
    const slots = plan.slots.map((s) => s.slot);
    await this.awaitEndingSlots(slots);
    if (this.shuttingDown) throw new DaemonError('jobs.shutting_down', 'The daemon is shutting down');
    const busy = slots.filter((s) => this.reservations.has(s)).sort();
    if (busy.length > 0) throw new DaemonError('jobs.slots_busy', `Slots busy: ${busy.join(', ')}`, { details: { slots: busy } });
    for (const s of slots) this.reservations.set(s, plan.runId);

    const job: JobRuntime = { plan, record: this.newRecord(plan), runs: plan.slots.map(() => newSlotRun()) };
    this.jobs.addLive(job);
    let created: string[] = [];
    try {
      created = await createRunFolder(plan.runDir);
      await this.deps.runIndex.add(plan.runId, plan.runDir);
      await this.deps.jobStore.save(plan.runId, job.record);
    } catch (err) {
      this.jobs.delete(plan.runId);
      for (const s of slots) if (this.reservations.get(s) === plan.runId) this.reservations.delete(s);
      await this.deps.runIndex.remove(plan.runId).catch(() => undefined);
      await this.deps.jobStore.delete(plan.runId).catch(() => undefined);
      await removeCreatedFolders(created);
      this.deps.logger.warn({ runId: plan.runId, err }, 'job not started; what its start created was removed');
      if (isNoSpaceError(err)) {
        throw new DaemonError('storage.insufficient_space', `The file system of the runs folder is full (${(err as NodeJS.ErrnoException).code ?? 'ENOSPC'}); the job was not started`, { cause: err });
      }
      throw err;
    }
    this.deps.logger.info({ runId: plan.runId, slots, modes: plan.steps.map((s) => s.token) }, 'job started');
    for (const [i, run] of job.runs.entries()) run.runner = this.runSlot(job, plan, i);
    return job;
  }

  /**
   * A slot whose job already reads as ended there (done, failed, cancelled) stays reserved while
   * its consumers finish (run.json, plots, the live stream's end) and its device is stopped. A
   * client that starts the next job as soon as it sees the end must not get `jobs.slots_busy`
   * for that short tail: wait for those slots to be released, for at most `timeoutMs`. Slots
   * held by a job still running there are not waited for (the check after this refuses them).
   */
  private async awaitEndingSlots(slots: readonly string[], timeoutMs = RELEASE_WAIT_MS): Promise<void> {
    const ending = slots.filter((slot) => this.isEnding(slot));
    if (ending.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const released = ending.map((slot) => new Promise<void>((resolve) => {
      const waiters = this.releaseWaiters.get(slot) ?? [];
      waiters.push(resolve);
      this.releaseWaiters.set(slot, waiters);
    }));
    await Promise.race([Promise.all(released), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** The slot is reserved by a job whose slot has already reached its terminal state. */
  private isEnding(slot: string): boolean {
    const runId = this.reservations.get(slot);
    if (runId === undefined) return false;
    const status = this.jobs.get(runId)?.live?.record.slots.find((s) => s.slot === slot)?.status;
    return status !== undefined && isTerminal(status);
  }

  private newRecord(plan: JobPlan): JobRecord {
    const provenance = planJobProvenance(plan);
    return {
      schema: JOB_RECORD_SCHEMA,
      run_id: plan.runId,
      created_at: plan.createdAt,
      ended_at: null,
      status: 'queued',
      modes: plan.steps.map((s) => s.token),
      params_by_mode: Object.fromEntries(plan.steps.map((s) => [s.token, { ...s.recordedParams }])),
      request_params_by_mode: { ...plan.requestParams },
      mode_estimates: plan.steps.map((s) => ({ points: s.points, plannedS: s.plannedS })),
      tia_gain: plan.tiaGain,
      sampling_interval: plan.samplingIntervalS,
      make_plot: plan.makePlot,
      experiment_name: plan.experimentName,
      subdir: plan.subdir,
      client_datetime: plan.clientDatetime,
      group_label: plan.groupLabel,
      storage_subfolder: plan.storageSubfolder,
      run_dir: plan.runDir,
      run_dir_relative: plan.runDirRelative,
      versions: this.deps.versions,
      warnings: provenance.warnings,
      adjustments: provenance.adjustments,
      slots: plan.slots.map((s) => ({
        slot: s.slot, port: s.port || '<unknown>', sn: s.sn, status: 'queued', started_at: null, ended_at: null, message: null, files: [], mode_index: -1, mode_started_at: null, results: [],
      })),
    };
  }

  // ---- running -----------------------------------------------------------------------

  /** Saves the record (coalesced by the store) after deriving the job state from its slots. */
  private persist(job: JobRuntime): void {
    const r = job.record;
    const state = deriveJobState(r.slots.map((s) => s.status));
    if (state !== r.status) {
      r.status = state;
      if (isTerminal(state) && r.ended_at === null) {
        r.ended_at = nowIso();
        this.deps.logger.info({ runId: r.run_id, status: state }, 'job ended');
      }
    }
    this.deps.jobStore.save(r.run_id, r).then(
      // Now in its file: an ended job's record may leave memory if it is beyond the bound.
      () => this.jobs.trim(),
      (err: unknown) => this.deps.logger.error({ err, runId: r.run_id }, 'job record not saved'),
    );
  }

  /**
   * The one place a slot reaches a terminal state (called only by the slot's runner). The slot
   * stays reserved until its runner has ended ({@link releaseSlot}): a slot that failed while its
   * device is still being stopped is not free yet.
   */
  private endSlot(job: JobRuntime, i: number, status: Extract<SlotState, 'done' | 'failed' | 'cancelled'>, message: string | null): void {
    const s = job.record.slots[i]!;
    if (isTerminal(s.status)) return;
    s.status = status;
    s.message = message;
    s.ended_at = nowIso();
    s.started_at ??= s.ended_at;
    if (status === 'cancelled' && s.mode_index < 0) s.files = [];
    this.deps.logger.info({ runId: job.record.run_id, slot: s.slot, status, message }, 'slot ended');
    this.persist(job);
  }

  /**
   * The slot's runner has ended: its device is stopped, the slot is free for the next job. When
   * it was the job's last runner the job keeps only its compact form (plan, runners and live
   * progress dropped), and if it is done its files are complete (run.json included): hand it on
   * (NAS upload).
   */
  private releaseSlot(job: JobRuntime, i: number): void {
    const slot = job.record.slots[i]!.slot;
    if (this.reservations.get(slot) === job.record.run_id) this.reservations.delete(slot);
    const waiters = this.releaseWaiters.get(slot);
    this.releaseWaiters.delete(slot);
    for (const resolve of waiters ?? []) resolve();
    job.runs[i]!.finished = true;
    if (!job.runs.every((r) => r.finished)) return;
    this.jobs.compact(job.record.run_id);
    if (job.record.status === 'done') this.deps.onJobDone?.(job.record.run_id, job.record.run_dir);
  }

  private openStream(job: JobRuntime, plan: JobPlan, i: number, log: Logger, onFailure: (message: string) => void): SlotStream {
    const run = job.runs[i]!;
    const stream = new SlotStream({ logger: log, onEssentialFailure: (_name, err) => onFailure(err.message) });
    const ctx: SlotContext = { plan, slotIndex: i, slot: plan.slots[i]!, signal: run.abort.signal, publish: (e: SlotEvent) => stream.emit(e) };
    stream.add(progressSubscriber(run.live));
    stream.add(
      recordSubscriber({
        record: job.record.slots[i]!,
        logger: log,
        persist: () => this.persist(job),
        listFiles: (last) => listSlotFiles(plan.runDir, plan.slots[i]!.files.slice(0, last + 1)),
      }),
    );
    for (const factory of this.deps.subscribers) {
      const subscriber = factory(ctx);
      if (subscriber) stream.add(subscriber);
    }
    return stream;
  }

  private async runSlot(job: JobRuntime, plan: JobPlan, i: number): Promise<void> {
    const run = job.runs[i]!;
    const s = job.record.slots[i]!;
    const signal = run.abort.signal;
    const log = this.deps.logger.child({ runId: plan.runId, slot: s.slot });
    let failure: string | null = null;
    // A consumer's fault (the CSV cannot be written: disk full, I/O error, read-only file system)
    // fails the slot at once, with the reason, while its device is still being stopped; a cancel
    // requested before it still wins.
    const fail = (message: string): void => {
      failure ??= message;
      run.abort.abort();
      if (!run.cancelRequested && !this.shuttingDown) this.endSlot(job, i, 'failed', failure);
    };
    const stream = this.openStream(job, plan, i, log, fail);
    let worker: SlotWorker | null = null;
    // The last mode left the cell under control (CE closed, holding its last potential): the
    // next mode starts from there; if none follows (cancel, failure), the CE is opened below.
    let cellHeld = false;
    try {
      // queued → running only once the worker has acquired the device (rest-api 4.4).
      worker = await unlessAborted(this.deps.slots.acquire(s.slot), signal);
      for (const step of plan.steps) {
        if (signal.aborted) break;
        s.status = 'running';
        s.started_at ??= nowIso();
        s.mode_index = step.index;
        s.mode_started_at = nowIso();
        this.persist(job);
        await mkdir(plan.slots[i]!.files[step.index]!.dir, { recursive: true });
        stream.emit({ type: 'mode-started', step, files: plan.slots[i]!.files[step.index]!, at: s.mode_started_at });
        log.info({ mode: step.token }, 'mode started');
        try {
          const keepControl = step.index < plan.steps.length - 1 && !signal.aborted;
          // On a failure cellHeld keeps its value: the held cell is released below (harmless if the failure opened it).
          const { counters, control, link } = await runMode({ plan, step, worker, emit: (e) => stream.emit(e), signal, galPollIntervalMs: this.deps.galPollIntervalMs, linked: cellHeld, keepControl });
          cellHeld = control?.held_after === true;
          stream.emit({ type: 'mode-ended', modeIndex: step.index, counters, error: null, at: nowIso(), link });
          if (counters.aborted) break;
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          stream.emit({ type: 'mode-ended', modeIndex: step.index, counters: null, error: message, at: nowIso() });
          throw err;
        }
      }
    } catch (err) {
      if (!(err instanceof DaemonError && err.code === 'ABORTED')) {
        log.warn({ err }, 'slot failed');
        failure ??= err instanceof Error ? err.message : String(err);
      }
    }
    // The sequence ended between modes (cancel, failure, shutdown): release the held cell.
    if (cellHeld && worker) await worker.releaseCell().catch((err: unknown) => log.warn({ err }, 'CE switch not opened after the sequence'));
    // The end is decided once the consumers have handled everything the slot produced (a cancel
    // up to then still wins); then they get `slot-ended` and close before the slot is released.
    await stream.settle().catch((err: unknown) => log.error({ err }, 'slot consumers did not settle'));
    if (run.cancelRequested) this.endSlot(job, i, 'cancelled', 'cancelled');
    else if (failure !== null) this.endSlot(job, i, 'failed', failure);
    else if (this.shuttingDown || signal.aborted) this.endSlot(job, i, 'failed', 'stopped by daemon shutdown');
    else this.endSlot(job, i, 'done', describeSlotNotes(s.results));
    stream.emit({ type: 'slot-ended', status: s.status as 'done' | 'failed' | 'cancelled', message: s.message, at: s.ended_at ?? nowIso() });
    await stream.finish().catch((err: unknown) => log.error({ err }, 'slot consumers did not finish'));
    this.releaseSlot(job, i);
  }

  // ---- cancel and shutdown ------------------------------------------------------------

  /** Requests the cancel of every live slot of a job; their runners end them `cancelled`. */
  cancel(runId: string): { run_id: string; status: string } {
    const known = this.jobs.get(runId);
    if (!known) throw new DaemonError('jobs.not_found', 'Unknown run_id');
    if (known.live === null) return { run_id: runId, status: known.overview.status };
    const job = known.live;
    const state = deriveJobState(job.record.slots.map((s) => s.status));
    if (isTerminal(state)) return { run_id: runId, status: state };
    job.record.slots.forEach((s, i) => {
      if (isTerminal(s.status)) return;
      const run = job.runs[i]!;
      run.cancelRequested = true;
      run.abort.abort();
    });
    this.deps.logger.info({ runId }, 'job cancel requested');
    return { run_id: runId, status: 'cancelled' };
  }

  /** Stops running measurements (devices switched off, CSVs flushed) and marks the slots. */
  async shutdown(timeoutMs = 10_000): Promise<void> {
    this.shuttingDown = true;
    const runners: Promise<void>[] = [];
    for (const job of this.jobs.liveJobs()) {
      for (const run of job.runs) {
        run.abort.abort();
        if (run.runner) runners.push(run.runner);
      }
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(runners), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    // A pending timer would keep the stopped daemon alive for the whole timeout.
    clearTimeout(timer);
    await this.deps.jobStore.flush();
  }

  /** Run directories referenced by non-terminal jobs (NAS upload waits, retention skips). */
  isRunDirBusy(runDir: string): boolean {
    for (const job of this.jobs.liveJobs()) if (job.record.run_dir === runDir && !isTerminal(job.record.status)) return true;
    return false;
  }

  /** Retention removed a run directory: forget its terminal jobs (their compact fields say which). */
  async forgetRunDir(runDir: string): Promise<string[]> {
    const ids = this.jobs.inRunDir(runDir).filter((j) => isTerminal(jobStateOf(j))).map((j) => j.runId);
    for (const id of ids) {
      this.jobs.delete(id);
      await this.deps.jobStore.delete(id);
    }
    return ids;
  }
}
