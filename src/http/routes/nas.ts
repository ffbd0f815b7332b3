/**
 * POST /nas/setup, GET /nas/health, POST /runs/{run_id}/upload, GET /runs/{run_id}/upload
 * (rest-api.md 3.16–3.18, 7.5). While the NAS service is not wired (`services.nas` null)
 * every one of them answers 503 `nas.unavailable`, never 404.
 */
import { httpErrors } from '../errors.js';
import { defineRoute, type AnyRoute } from '../route-types.js';
import { API_SCHEMAS, componentRef, RESPONSE_SCHEMAS } from '../schemas.js';
import type { AppServices, NasApi } from '../../services/api.js';
import { RUN_RUN_ID } from './runs.js';

function nasOf(services: AppServices): NasApi {
  if (services.nas === null) throw httpErrors.nasUnavailable();
  return services.nas;
}

const EXAMPLE_RUN_ID = '20251103T091531_3fa9c2';

export const nasRoutes: readonly AnyRoute[] = [
  defineRoute<Record<string, unknown>>({
    method: 'POST',
    path: '/nas/setup',
    operationId: 'setupNas',
    tag: 'nas',
    summary: 'Configure the SMB NAS',
    description:
      'Body: SMBSetupRequest. Writes the credentials file (0600) and the configuration, then probes the share (creating base_subdir). ok:false with the probe message when the configuration was saved but the probe failed. The password is never returned or logged.',
    auth: 'key',
    pathParams: [],
    bodySchema: API_SCHEMAS.SMBSetupRequest,
    querySchema: null,
    requiresNas: true,
    successStatus: 200,
    responseDescription: '{ok: boolean, message: string}.',
    responseSchema: componentRef(RESPONSE_SCHEMAS.NasSetupResult),
    errorCodes: ['nas.invalid_config', 'nas.unsupported_platform'],
    example: {
      body: { host: 'nas.local', share: 'lab', username: 'box', password: 'secret', base_subdir: 'runs', retention_days: 14 },
      response: { ok: true, message: 'ok' },
    },
    handler: async ({ services, body }) => ({ body: await nasOf(services).setup(body) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/nas/health',
    operationId: 'getNasHealth',
    tag: 'nas',
    summary: 'Probe the NAS',
    description: 'Always a fresh read-only probe. message is "ok", "not configured", "base path not present: <path>" or "probe error: <text>".',
    auth: 'key',
    pathParams: [],
    bodySchema: null,
    querySchema: null,
    requiresNas: true,
    successStatus: 200,
    responseDescription: '{ok: boolean, last_checked: timestamp, message: string, transport: "mount"|"smbclient"|null}.',
    responseSchema: componentRef(RESPONSE_SCHEMAS.NasHealth),
    errorCodes: [],
    example: { response: { ok: false, last_checked: '2025-11-03T09:20:00.000Z', message: 'not configured', transport: null } },
    handler: async ({ services }) => ({ body: await nasOf(services).health() }),
  }),
  defineRoute({
    method: 'POST',
    path: '/runs/{run_id}/upload',
    operationId: 'uploadRun',
    tag: 'nas',
    summary: 'Enqueue a NAS upload of the run directory',
    description:
      'No body (any body is ignored). Checks in order: Windows → 501 nas.unsupported_platform; unknown run → 404 runs.not_found; NAS not configured → 409 nas.not_configured. enqueued is false when an upload of the same run directory is already pending.',
    auth: 'key',
    pathParams: [RUN_RUN_ID],
    bodySchema: null,
    querySchema: null,
    requiresNas: true,
    successStatus: 200,
    responseDescription: '{ok: true, enqueued: boolean, run_id: string}.',
    responseSchema: componentRef(RESPONSE_SCHEMAS.UploadEnqueued),
    errorCodes: ['nas.unsupported_platform', 'runs.not_found', 'nas.not_configured'],
    example: { path: `/runs/${EXAMPLE_RUN_ID}/upload`, response: { ok: true, enqueued: true, run_id: EXAMPLE_RUN_ID } },
    handler: async ({ services, params }) => ({ body: await nasOf(services).enqueueUpload(params['run_id'] ?? '') }),
  }),
  defineRoute({
    method: 'GET',
    path: '/runs/{run_id}/upload',
    operationId: 'getRunUploadState',
    tag: 'nas',
    summary: 'Upload state of the run directory',
    description: 'State of the NAS upload of the run directory: none (never asked for), pending, uploading, done or failed (with message and next retry time).',
    auth: 'key',
    pathParams: [RUN_RUN_ID],
    bodySchema: null,
    querySchema: null,
    requiresNas: true,
    successStatus: 200,
    responseDescription: '{run_id, state, message, attempts, next_retry_at, uploaded_at}.',
    responseSchema: componentRef(RESPONSE_SCHEMAS.UploadState),
    errorCodes: ['runs.not_found'],
    example: { path: `/runs/${EXAMPLE_RUN_ID}/upload` },
    handler: async ({ services, params }) => ({ body: await nasOf(services).uploadState(params['run_id'] ?? '') }),
  }),
];
