/**
 * Figures read from the daemon's state at scrape time: jobs by state, busy slots, the NAS upload
 * queue, and the box's identity. Nothing is kept here; each scrape asks the sources.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export const JOB_STATES = ['queued', 'running', 'done', 'failed', 'cancelled'] as const;

/** The NAS upload queue's figures (UploadQueue.stats()). */
export interface UploadStats {
  /** Run folders with an upload pass pending or running. */
  queued: number;
  /** Run folders whose last attempt failed (a retry may be scheduled). */
  failed: number;
  /** Attempts that failed since the start. */
  failedAttempts: number;
  /** Uploads completed since the start. */
  completed: number;
}

export interface StateSources {
  /** Jobs the daemon knows (this run and those recovered from the store), by state. */
  jobsByState(): Readonly<Record<string, number>>;
  /** Slots reserved by a job. */
  busySlots(): number;
  /** null while no NAS service is wired (the gauges then read 0). */
  uploads(): UploadStats | null;
  /** Full job records held in memory (running jobs', the latest ended ones kept, a few read back); absent = not exported. */
  jobRecordsInMemory?(): number;
}

export interface BoxIdentity {
  boxId: string;
  version: string;
  build: string;
}

const NO_UPLOADS: UploadStats = { queued: 0, failed: 0, failedAttempts: 0, completed: 0 };

/** A counter whose running total lives elsewhere: set to it at each scrape (it only grows there). */
function mirroredCounter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

export function registerStateGauges(registry: Registry, sources: StateSources, identity: BoxIdentity): void {
  new Gauge({
    name: 'beepbox_info',
    help: 'Always 1; labels name the box and its software (join on instance to label other series).',
    labelNames: ['box_id', 'version', 'build'],
    registers: [registry],
  }).set({ box_id: identity.boxId, version: identity.version, build: identity.build }, 1);

  new Gauge({
    name: 'beepbox_jobs',
    help: 'Jobs known to the daemon by state (queued, running, done, failed, cancelled).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const counts = sources.jobsByState();
      for (const state of JOB_STATES) this.set({ state }, counts[state] ?? 0);
    },
  });

  new Gauge({
    name: 'beepbox_slots_busy',
    help: 'Slots reserved by a running or queued job.',
    registers: [registry],
    collect() {
      this.set(sources.busySlots());
    },
  });

  const recordsInMemory = sources.jobRecordsInMemory?.bind(sources);
  if (recordsInMemory) {
    new Gauge({
      name: 'beepbox_job_records_in_memory',
      help: 'Full job records held in memory: running jobs, the BOX_JOBS_IN_MEMORY jobs that ended last, and a few read back from the job store.',
      registers: [registry],
      collect() {
        this.set(recordsInMemory());
      },
    });
  }

  const uploads = (): UploadStats => sources.uploads() ?? NO_UPLOADS;
  new Gauge({
    name: 'beepbox_nas_upload_queue_length',
    help: 'Run folders waiting for an upload pass or being uploaded to the NAS.',
    registers: [registry],
    collect() {
      this.set(uploads().queued);
    },
  });
  new Gauge({
    name: 'beepbox_nas_upload_failed_runs',
    help: 'Run folders whose last NAS upload attempt failed (retried with backoff).',
    registers: [registry],
    collect() {
      this.set(uploads().failed);
    },
  });
  mirroredCounter(registry, 'beepbox_nas_upload_failures_total', 'NAS upload attempts that failed.', () => uploads().failedAttempts);
  mirroredCounter(registry, 'beepbox_nas_uploads_total', 'NAS uploads completed.', () => uploads().completed);
}
