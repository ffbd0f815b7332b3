/** POST /jobs, GET /jobs, POST /jobs/status, GET /jobs/{id}, cancel: admission, engine and views. */
import { admitJob } from '../jobs/admission.js';
import type { JobEngine } from '../jobs/engine.js';
import { buildJobStatus, getJobStatus, getJobStatuses, listJobs } from '../jobs/status-views.js';
import type { DeviceInfo } from '../jobs/types.js';
import type { JobApi } from './api.js';

export interface JobServiceDeps {
  engine: JobEngine;
  runsRoot: string;
  /** The registered slots now. */
  devices(): DeviceInfo[];
  /** Free space floor of admission (BOX_MIN_FREE_MB in bytes); null/undefined = the default per slot. */
  minFreeBytes?: number | null;
}

export function createJobService({ engine, runsRoot, devices, minFreeBytes }: JobServiceDeps): JobApi {
  return {
    async submit(body) {
      const plan = await admitJob(body, { runsRoot, devices: devices(), minFreeBytes });
      return buildJobStatus(await engine.start(plan));
    },
    get: (runId) => getJobStatus(engine, runId),
    statusMany: (runIds) => getJobStatuses(engine, runIds),
    list: (filter) => listJobs(engine, filter),
    cancel: (runId) => engine.cancel(runId),
  };
}
