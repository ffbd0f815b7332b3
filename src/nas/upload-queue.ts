/**
 * The background upload queue (7.5): one upload at a time, keyed by run directory, with
 * de-duplication, waiting for busy directories, and automatic retries with exponential backoff.
 * The actual work is injected (`perform`), so the queue logic is independent of SMB.
 */
import type { Logger } from 'pino';

export type UploadPhase = 'pending' | 'uploading' | 'done' | 'failed';

export type UploadAttemptResult =
  | { outcome: 'done'; uploadedAt: string }
  | { outcome: 'failed'; message: string }
  /** Nothing to do any more (no config, directory gone): forget the entry, no retry. */
  | { outcome: 'dropped'; message: string };

export interface UploadEntrySnapshot {
  state: UploadPhase;
  message: string | null;
  attempts: number;
  /** ISO-8601 UTC, set while a retry is scheduled. */
  nextRetryAt: string | null;
  uploadedAt: string | null;
}

/** Figures of the whole queue (GET /metrics). */
export interface UploadQueueStats {
  /** Run folders with a pass pending or running. */
  queued: number;
  /** Run folders whose last attempt failed (a retry may be scheduled). */
  failed: number;
  /** Attempts that failed since the queue started. */
  failedAttempts: number;
  /** Passes that completed since the queue started. */
  completed: number;
}

export interface UploadQueueOptions {
  perform: (dir: string, runId: string, signal: AbortSignal) => Promise<UploadAttemptResult>;
  /** True while a non-terminal job references the directory; such entries wait. */
  isRunDirBusy: (dir: string) => boolean;
  /** Checked before an automatic retry: retries stop once the directory is gone. */
  dirExists: (dir: string) => Promise<boolean>;
  logger: Logger;
  /** First retry delay (contract: 30 s); doubles per consecutive failure. */
  retryBaseDelayMs: number;
  /** Cap of the retry delay (contract: 1 h). */
  retryMaxDelayMs: number;
  /** How often waiting (busy) entries are re-checked besides `notifyRunDirsChanged()`. */
  busyRecheckIntervalMs: number;
  now?: () => number;
}

interface Entry {
  dir: string;
  runId: string;
  state: UploadPhase;
  /** Queued for a (next) pass. At most one pending pass per directory. */
  pending: boolean;
  active: boolean;
  message: string | null;
  attempts: number;
  consecutiveFailures: number;
  nextRetryAt: number | null;
  uploadedAt: string | null;
  retryTimer: NodeJS.Timeout | null;
}

/** Delay before retry number `failures` (1-based): base · 2^(failures−1), capped. */
export function computeRetryDelayMs(failures: number, baseDelayMs: number, maxDelayMs: number): number {
  const exponent = Math.max(0, failures - 1);
  // 2^exponent overflows to Infinity long after the cap is reached; Math.min handles that.
  return Math.min(baseDelayMs * 2 ** Math.min(exponent, 1024), maxDelayMs);
}

export const BUSY_MESSAGE = 'waiting for running jobs on this run directory';

export class UploadQueue {
  readonly #options: UploadQueueOptions;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  /** Directories with a pending pass, in enqueue order. */
  readonly #order: string[] = [];
  #draining: Promise<void> | null = null;
  #drainScheduled = false;
  #busyTimer: NodeJS.Timeout | null = null;
  #activeAbort: AbortController | null = null;
  #closed = false;
  #failedAttempts = 0;
  #completed = 0;

  constructor(options: UploadQueueOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Queue a pass for `dir`. Returns false when a pass is already pending (de-duplication). While
   * the directory is being uploaded, exactly one follow-up pass is scheduled. A scheduled retry is
   * replaced by an immediate pass.
   */
  enqueue(dir: string, runId: string): boolean {
    if (this.#closed) return false;
    let entry = this.#entries.get(dir);
    if (entry?.pending) return false;
    if (!entry) {
      entry = {
        dir,
        runId,
        state: 'pending',
        pending: false,
        active: false,
        message: null,
        attempts: 0,
        consecutiveFailures: 0,
        nextRetryAt: null,
        uploadedAt: null,
        retryTimer: null,
      };
      this.#entries.set(dir, entry);
    }
    entry.runId = runId;
    if (entry.state === 'done' && !entry.active) entry.attempts = 0;
    this.#clearRetry(entry);
    this.#markPending(entry);
    return true;
  }

  /** State of a directory known to the queue, or null. */
  snapshot(dir: string): UploadEntrySnapshot | null {
    const e = this.#entries.get(dir);
    if (!e) return null;
    return {
      state: e.state,
      message: e.message,
      attempts: e.attempts,
      nextRetryAt: e.nextRetryAt === null ? null : new Date(e.nextRetryAt).toISOString(),
      uploadedAt: e.uploadedAt,
    };
  }

  /** Read-only figures of the queue, computed on demand. */
  stats(): UploadQueueStats {
    let queued = 0;
    let failed = 0;
    for (const e of this.#entries.values()) {
      if (e.pending || e.active) queued++;
      if (e.state === 'failed') failed++;
    }
    return { queued, failed, failedAttempts: this.#failedAttempts, completed: this.#completed };
  }

  /** True while `dir` has a pending or running pass (retention must leave it alone). */
  isQueuedOrActive(dir: string): boolean {
    const e = this.#entries.get(dir);
    return e !== undefined && (e.pending || e.active);
  }

  /** Forget a directory (after retention deleted it). */
  forget(dir: string): void {
    const e = this.#entries.get(dir);
    if (!e || e.active) return;
    this.#clearRetry(e);
    this.#removeFromOrder(dir);
    this.#entries.delete(dir);
  }

  /** Re-check waiting entries now (call when a job becomes terminal). */
  notifyRunDirsChanged(): void {
    this.#scheduleDrain();
  }

  /** Resolves when no pass is running or scheduled to start immediately (waiting entries may remain). */
  async whenIdle(): Promise<void> {
    while (this.#draining !== null || this.#drainScheduled) {
      await (this.#draining ?? new Promise<void>((r) => setImmediate(r)));
    }
  }

  /** Stop timers, abort the running pass and wait for it to end. No pass starts afterwards. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const e of this.#entries.values()) this.#clearRetry(e);
    if (this.#busyTimer) clearTimeout(this.#busyTimer);
    this.#busyTimer = null;
    this.#activeAbort?.abort();
    await this.#draining;
  }

  #markPending(entry: Entry): void {
    entry.pending = true;
    if (!entry.active) entry.state = 'pending';
    this.#order.push(entry.dir);
    this.#scheduleDrain();
  }

  #clearRetry(entry: Entry): void {
    if (entry.retryTimer) clearTimeout(entry.retryTimer);
    entry.retryTimer = null;
    entry.nextRetryAt = null;
  }

  #removeFromOrder(dir: string): void {
    const i = this.#order.indexOf(dir);
    if (i >= 0) this.#order.splice(i, 1);
  }

  #scheduleDrain(): void {
    if (this.#closed || this.#draining !== null || this.#drainScheduled) return;
    this.#drainScheduled = true;
    // Deferred, so requests arriving in the same turn coalesce into one pass.
    setImmediate(() => {
      this.#drainScheduled = false;
      if (this.#closed || this.#draining !== null) return;
      this.#draining = this.#drain().finally(() => {
        this.#draining = null;
        this.#afterDrain();
      });
    });
  }

  #afterDrain(): void {
    if (this.#closed || this.#order.length === 0) return;
    // Everything left is waiting for busy directories: look again later.
    if (this.#busyTimer) return;
    this.#busyTimer = setTimeout(() => {
      this.#busyTimer = null;
      this.#scheduleDrain();
    }, this.#options.busyRecheckIntervalMs);
    this.#busyTimer.unref();
  }

  #pickNext(): Entry | null {
    for (const dir of this.#order) {
      const e = this.#entries.get(dir);
      if (!e) continue;
      let busy: boolean;
      try {
        busy = this.#options.isRunDirBusy(dir);
      } catch (err) {
        this.#options.logger.warn({ err, dir }, 'isRunDirBusy failed; treating the directory as busy');
        busy = true;
      }
      if (!busy) return e;
      if (e.message === null) e.message = BUSY_MESSAGE;
    }
    return null;
  }

  async #drain(): Promise<void> {
    while (!this.#closed) {
      const entry = this.#pickNext();
      if (entry === null) return;
      await this.#process(entry);
    }
  }

  async #process(entry: Entry): Promise<void> {
    this.#removeFromOrder(entry.dir);
    entry.pending = false;
    entry.active = true;
    entry.state = 'uploading';
    if (entry.message === BUSY_MESSAGE) entry.message = null;
    entry.attempts += 1;
    const abort = new AbortController();
    this.#activeAbort = abort;
    let result: UploadAttemptResult;
    try {
      result = await this.#options.perform(entry.dir, entry.runId, abort.signal);
    } catch (err) {
      result = { outcome: 'failed', message: `upload error: ${(err as Error).message}` };
    } finally {
      this.#activeAbort = null;
      entry.active = false;
    }
    if (result.outcome === 'failed') this.#failedAttempts++;
    else if (result.outcome === 'done') this.#completed++;
    if (this.#closed) return;

    if (result.outcome === 'dropped') {
      this.#options.logger.info({ runId: entry.runId, dir: entry.dir, reason: result.message }, 'upload dropped');
      if (!entry.pending) {
        this.#entries.delete(entry.dir);
        return;
      }
    } else if (result.outcome === 'done') {
      entry.state = 'done';
      entry.message = null;
      entry.uploadedAt = result.uploadedAt;
      entry.consecutiveFailures = 0;
    } else {
      entry.state = 'failed';
      entry.message = result.message;
      entry.consecutiveFailures += 1;
      if (!entry.pending) this.#scheduleRetry(entry);
    }
    if (entry.pending) {
      // A follow-up pass was requested while this one ran.
      entry.state = 'pending';
      if (result.outcome === 'done') entry.attempts = 0;
    }
  }

  #scheduleRetry(entry: Entry): void {
    const delayMs = computeRetryDelayMs(entry.consecutiveFailures, this.#options.retryBaseDelayMs, this.#options.retryMaxDelayMs);
    entry.nextRetryAt = this.#now() + delayMs;
    this.#options.logger.info({ runId: entry.runId, dir: entry.dir, delayMs, attempts: entry.attempts }, 'upload retry scheduled');
    entry.retryTimer = setTimeout(() => {
      entry.retryTimer = null;
      void this.#retry(entry);
    }, delayMs);
    entry.retryTimer.unref();
  }

  async #retry(entry: Entry): Promise<void> {
    if (this.#closed || this.#entries.get(entry.dir) !== entry || entry.pending) return;
    let exists = false;
    try {
      exists = await this.#options.dirExists(entry.dir);
    } catch {
      exists = false;
    }
    if (this.#closed || this.#entries.get(entry.dir) !== entry || entry.pending) return;
    entry.nextRetryAt = null;
    if (!exists) {
      this.#options.logger.info({ runId: entry.runId, dir: entry.dir }, 'run directory gone; retries stopped');
      this.#entries.delete(entry.dir);
      return;
    }
    this.#markPending(entry);
  }
}
