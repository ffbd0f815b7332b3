/**
 * The HTTP edge of every error: one table maps a contract code to its HTTP status
 * (rest-api.md 1.6), and one function turns any thrown value into the envelope of 1.4.
 * Services throw `ApiError` (or a `DaemonError` whose code is a contract code, as the NAS
 * service does); nothing below `src/http` knows about status numbers.
 */
import { ApiError, type ApiIssue } from '../api-error.js';

/** A contract error code and its HTTP status, plus the hint used when the thrower gave none. */
interface ErrorSpec {
  status: number;
  defaultHint: string;
}

/**
 * Contract code → status. Codes missing here are programming errors and answer
 * 500 `internal.error`. `modes.parameter_error` is retired (1.6) and deliberately absent.
 */
export const ERROR_TABLE: Readonly<Record<string, ErrorSpec>> = Object.freeze({
  'auth.invalid_api_key': { status: 401, defaultHint: 'X-API-Key header is missing or incorrect.' },
  'http.not_found': { status: 404, defaultHint: 'See GET /docs for the list of endpoints.' },
  'http.method_not_allowed': { status: 405, defaultHint: 'See the Allow header for the methods of this path.' },
  'request.too_large': { status: 413, defaultHint: 'JSON bodies are limited to 1 MiB.' },
  'request.validation_error': { status: 422, defaultHint: 'Please check request payload and fields.' },
  'internal.error': { status: 500, defaultHint: '' },
  'devices.scan_failed': { status: 500, defaultHint: '' },
  'devices.unavailable': { status: 503, defaultHint: 'Use POST /admin/rescan to look for devices.' },
  'devices.busy': { status: 409, defaultHint: 'Wait until all jobs have finished.' },
  'modes.not_found': { status: 404, defaultHint: 'Fetch available modes via GET /modes.' },
  'jobs.invalid_request': { status: 422, defaultHint: '' },
  'jobs.invalid_params': { status: 422, defaultHint: '' },
  'storage.exists': { status: 409, defaultHint: 'Use a new client_datetime or subdir.' },
  'storage.invalid_name': { status: 400, defaultHint: '' },
  'jobs.invalid_devices': { status: 400, defaultHint: 'Use slots from GET /devices or "all".' },
  'jobs.run_id_conflict': { status: 409, defaultHint: 'Choose another run_name or omit it.' },
  'jobs.slots_busy': { status: 409, defaultHint: 'Wait until the listed slots are free.' },
  'jobs.not_found': { status: 404, defaultHint: 'Check the run_id or fetch the job list.' },
  'jobs.missing_run_ids': { status: 400, defaultHint: '' },
  'jobs.run_ids_unknown': { status: 404, defaultHint: 'Only request known run_ids.' },
  'runs.not_found': { status: 404, defaultHint: 'Check the run_id or list existing runs.' },
  'runs.file_not_found': { status: 404, defaultHint: 'Provide a path relative to the run directory.' },
  'nas.invalid_config': { status: 400, defaultHint: '' },
  'nas.not_configured': { status: 409, defaultHint: 'Configure it via POST /nas/setup.' },
  'nas.unsupported_platform': { status: 501, defaultHint: '' },
  /** [beepbox] the NAS service is not wired into this daemon (services.nas is null). */
  'nas.unavailable': { status: 503, defaultHint: 'NAS features are not available on this box.' },
});

/** Whether `code` is one of the contract codes of the table. */
export function isContractCode(code: unknown): code is string {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_TABLE, code);
}

/** HTTP status of a contract code; 500 for anything unknown. */
export function statusOfCode(code: string): number {
  return isContractCode(code) ? (ERROR_TABLE[code] as ErrorSpec).status : 500;
}

/** The `code/message/hint` triple of 1.4. */
export interface ErrorTriple {
  code: string;
  message: string;
  hint: string;
}

/** The error envelope of 1.4 (plus `errors` for 422s, 1.5). `detail` is always an object. */
export interface ErrorEnvelope extends ErrorTriple {
  detail: ErrorTriple;
  errors?: ApiIssue[];
}

/** Build the envelope; `errors` is added only when given. */
export function buildErrorEnvelope(code: string, message: string, hint: string, errors?: ApiIssue[]): ErrorEnvelope {
  const triple: ErrorTriple = { code, message, hint };
  const envelope: ErrorEnvelope = { ...triple, detail: { ...triple } };
  if (errors !== undefined) envelope.errors = errors;
  return envelope;
}

/** An error raised by the HTTP layer itself that carries response headers (e.g. `Allow` on 405). */
export class HttpLayerError extends ApiError {
  constructor(
    code: string,
    message: string,
    hint: string,
    readonly headers: Readonly<Record<string, string>>,
  ) {
    super(code, message, hint);
    this.name = 'HttpLayerError';
  }
}

/** What the error middleware sends for a thrown value. */
export interface ErrorResponse {
  status: number;
  body: ErrorEnvelope;
  headers: Readonly<Record<string, string>>;
  /** True when the value was not a deliberate contract error (log it with its stack). */
  unexpected: boolean;
}

const INTERNAL_MESSAGE = 'Internal server error';

/**
 * Map any thrown value to the response. Contract codes (from `ApiError`, or any error with a
 * contract `code` such as the NAS service's `DaemonError`s) keep their message; everything else
 * becomes 500 `internal.error` with a fixed message (no stack, no error text: it may hold
 * paths or secrets). An empty hint is replaced by the table's default hint.
 */
export function mapErrorToResponse(err: unknown): ErrorResponse {
  const code = (err as { code?: unknown } | null)?.code;
  if (err instanceof Error && isContractCode(code) && code !== 'internal.error') {
    const spec = ERROR_TABLE[code] as ErrorSpec;
    const givenHint = err instanceof ApiError ? err.hint : '';
    const hint = givenHint !== '' ? givenHint : spec.defaultHint;
    const errors = err instanceof ApiError ? err.extra.errors : undefined;
    const headers = err instanceof HttpLayerError ? err.headers : {};
    return { status: spec.status, body: buildErrorEnvelope(code, err.message, hint, errors), headers, unexpected: false };
  }
  return {
    status: 500,
    body: buildErrorEnvelope('internal.error', INTERNAL_MESSAGE, ''),
    headers: {},
    unexpected: true,
  };
}

/** Shorthands for the errors the HTTP layer raises itself (messages per 1.6). */
export const httpErrors = {
  unauthorized: (): ApiError => new ApiError('auth.invalid_api_key', 'Unauthorized', 'X-API-Key header is missing or incorrect.'),
  notFound: (): ApiError => new ApiError('http.not_found', 'Not found', ERROR_TABLE['http.not_found']!.defaultHint),
  methodNotAllowed: (allowed: readonly string[]): HttpLayerError =>
    new HttpLayerError('http.method_not_allowed', 'Method not allowed', ERROR_TABLE['http.method_not_allowed']!.defaultHint, {
      Allow: allowed.join(', '),
    }),
  tooLarge: (): ApiError => new ApiError('request.too_large', 'Request body too large', ERROR_TABLE['request.too_large']!.defaultHint),
  validation: (errors: ApiIssue[]): ApiError =>
    new ApiError('request.validation_error', 'Request validation failed', 'Please check request payload and fields.', { errors }),
  jobNotFound: (): ApiError => new ApiError('jobs.not_found', 'Unknown run_id', 'Check the run_id or fetch the job list.'),
  runNotFound: (): ApiError => new ApiError('runs.not_found', 'Run not found', 'Check the run_id or list existing runs.'),
  nasUnavailable: (): ApiError =>
    new ApiError('nas.unavailable', 'NAS service is not available', ERROR_TABLE['nas.unavailable']!.defaultHint),
  devicesUnavailable: (): ApiError =>
    new ApiError('devices.unavailable', 'No devices registered', 'Use POST /admin/rescan to look for devices.'),
} as const;
