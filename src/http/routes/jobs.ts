/** POST /jobs, GET /jobs, POST /jobs/status, GET /jobs/{run_id}, POST /jobs/{run_id}/cancel (3.8–3.12). */
import type { JobRequestBody } from '../../services/api.js';
import { DaemonError } from '../../errors.js';
import { defineRoute, type AnyRoute, type PathParamSpec } from '../route-types.js';
import { API_SCHEMAS, arrayOf, componentRef, RESPONSE_SCHEMAS, type JobStatusRequestBody, type JobsQuery } from '../schemas.js';
import { RUN_ID_PATTERN_SOURCE } from '../../services/api.js';

const JOB_RUN_ID: PathParamSpec = {
  name: 'run_id',
  description: `run_id of the job (${RUN_ID_PATTERN_SOURCE}; anything else is answered 404 jobs.not_found).`,
  runIdNotFound: 'jobs.not_found',
};

const EXAMPLE_RUN_ID = '20251103T091531_3fa9c2';

export const jobRoutes: readonly AnyRoute[] = [
  defineRoute<JobRequestBody>({
    method: 'POST',
    path: '/jobs',
    operationId: 'startJob',
    tag: 'jobs',
    summary: 'Start a job',
    description:
      'Body: JobRequest. Checks in order: body schema (422 request.validation_error); modes (422 jobs.invalid_request); params_by_mode (422 jobs.invalid_request / jobs.invalid_params); run_name; devices (400 jobs.invalid_devices); storage names (400 storage.invalid_name, 409 storage.exists); run_id conflict and busy slots (409). Answers 200 (not 201) with the JobStatus of the new job.',
    auth: 'key',
    pathParams: [],
    bodySchema: API_SCHEMAS.JobRequest,
    querySchema: null,
    successStatus: 200,
    responseDescription: 'JobStatus of the new job (run_id, mode, modes, current_mode, remaining_modes, status, started_at, ended_at, progress_pct, remaining_s, group_id, slots[], warnings[], adjustments[]). `warnings` lists every validation warning by mode and field; `adjustments` the parameters that run differently from what was sent ({mode, field, code, requested, applied, message}, e.g. an EIS start_freq clamped from 1000 to 277.78 Hz). Both are also in GET /jobs/{run_id} and in the run folder\'s run.json.',
    responseSchema: componentRef(RESPONSE_SCHEMAS.JobStatus),
    errorCodes: [
      'jobs.invalid_request',
      'jobs.invalid_params',
      'jobs.invalid_devices',
      'storage.invalid_name',
      'storage.exists',
      'jobs.run_id_conflict',
      'jobs.slots_busy',
      'jobs.devices_offline',
      'storage.insufficient_space',
    ],
    example: {
      body: {
        devices: 'all',
        modes: ['CV', 'CA'],
        params_by_mode: {
          CV: { start: 0.0, vertex1: 0.5, vertex2: -0.5, end: 0.0, scan_rate: 0.05, cycles: 3 },
          CA: { potential: 0.2, duration: 10 },
        },
        tia_gain: 0,
        sampling_interval: null,
        experiment_name: 'Demo',
        subdir: 'BatchA',
        client_datetime: '2025-11-03T10:15:31Z',
        group_id: 'Demo_BatchA__20251103_101531__k3x9',
        make_plot: true,
      },
    },
    handler: async ({ services, body }) => ({ body: await services.jobs.submit(body) }),
  }),
  defineRoute<undefined, JobsQuery>({
    method: 'GET',
    path: '/jobs',
    operationId: 'listJobs',
    tag: 'jobs',
    summary: 'List jobs',
    description:
      'JobOverview of every job (including jobs from before a restart), sorted descending by (started_at, run_id). Filters: state=incomplete|completed, group_id (trimmed, blank = no filter; matches the group label or the storage subfolder, case-insensitively).',
    auth: 'key',
    pathParams: [],
    bodySchema: null,
    querySchema: API_SCHEMAS.JobsQuery,
    successStatus: 200,
    responseDescription: 'Array of JobOverview {run_id, mode, status, started_at, ended_at, devices, group_id}.',
    responseSchema: arrayOf(RESPONSE_SCHEMAS.JobOverview),
    errorCodes: [],
    example: { query: 'state=incomplete&group_id=Demo_BatchA__20251103_101531__k3x9' },
    handler: ({ services, query }) => {
      const groupId = query.group_id?.trim();
      return {
        body: services.jobs.list({
          ...(query.state !== undefined ? { state: query.state } : {}),
          ...(groupId ? { groupId } : {}),
        }),
      };
    },
  }),
  defineRoute<JobStatusRequestBody>({
    method: 'POST',
    path: '/jobs/status',
    operationId: 'getJobStatusMany',
    tag: 'jobs',
    summary: 'Batch status (the GUI polling call)',
    description:
      'Body {run_ids: [...]} (non-empty array of strings). Empty-string entries are dropped; nothing left → 400 jobs.missing_run_ids. Any unknown id → 404 jobs.run_ids_unknown listing all unknown ids (all-or-nothing).',
    auth: 'key',
    pathParams: [],
    bodySchema: API_SCHEMAS.JobStatusRequest,
    querySchema: null,
    successStatus: 200,
    responseDescription: 'Array of JobStatus in request order (duplicates repeated).',
    responseSchema: arrayOf(RESPONSE_SCHEMAS.JobStatus),
    errorCodes: ['jobs.missing_run_ids', 'jobs.run_ids_unknown'],
    example: { body: { run_ids: [EXAMPLE_RUN_ID] } },
    handler: ({ services, body }) => {
      const runIds = body.run_ids.filter((id) => id !== '');
      if (runIds.length === 0) throw new DaemonError('jobs.missing_run_ids', 'No run_ids provided');
      return { body: services.jobs.statusMany(runIds) };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/jobs/{run_id}',
    operationId: 'getJob',
    tag: 'jobs',
    summary: 'Single job status',
    description: 'JobStatus of one job; progress and ETA are computed at read time.',
    auth: 'key',
    pathParams: [JOB_RUN_ID],
    bodySchema: null,
    querySchema: null,
    successStatus: 200,
    responseDescription:
      'JobStatus, with the warnings and adjustments made at submit. Per slot the counters points, expected_points, nominal_points, lost, dac_underruns, adc_overflows and overloads (rows at a potential rail or at current full scale). ' +
      'Each slot lists results[], one per mode started: {mode, points, expected_points, nominal_points, lost, overloads, first_overload_index, stop_reason (completed | aborted | charge_cutoff | potential_cutoff), stop_detail, charge_c, poll_rate_hz, warnings, error, analysis}; ' +
      'a polled galvanostatic mode (poll_rate_hz not null) expects one row per poll, so its expected_points are below nominal_points (the plan\'s N) by design; ' +
      'analysis is the mode\'s post-analysis (the ModeAnalysis component: for CDL the capacitance C_dl, R², the per-rate currents, the window and the warnings) or null.',
    responseSchema: componentRef(RESPONSE_SCHEMAS.JobStatus),
    errorCodes: ['jobs.not_found'],
    example: { path: `/jobs/${EXAMPLE_RUN_ID}` },
    handler: ({ services, params }) => ({ body: services.jobs.get(params['run_id'] ?? '') }),
  }),
  defineRoute({
    method: 'POST',
    path: '/jobs/{run_id}/cancel',
    operationId: 'cancelJob',
    tag: 'jobs',
    summary: 'Cancel a job',
    description:
      'No body (a missing, empty or any body is accepted and ignored). Queued slots are cancelled at once; running slots stop asynchronously, so GET /jobs/{run_id} may still say running for a moment. Answers 202 with the terminal status if the job had already ended, else "cancelled".',
    auth: 'key',
    pathParams: [JOB_RUN_ID],
    bodySchema: null,
    querySchema: null,
    successStatus: 202,
    responseDescription: '{run_id, status}.',
    responseSchema: componentRef(RESPONSE_SCHEMAS.JobCancelResult),
    errorCodes: ['jobs.not_found'],
    example: { path: `/jobs/${EXAMPLE_RUN_ID}/cancel`, response: { run_id: EXAMPLE_RUN_ID, status: 'cancelled' } },
    handler: ({ services, params }) => ({ body: services.jobs.cancel(params['run_id'] ?? '') }),
  }),
];
