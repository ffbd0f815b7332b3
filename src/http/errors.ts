/**
 * The HTTP edge of every error: one table maps a code to its HTTP status and hint
 * (rest-api.md 1.6), and one function turns any thrown value into the envelope of 1.4.
 * Every layer throws `DaemonError` with a code and structured details; nothing below
 * `src/http` knows about status numbers, hints or endpoints.
 */
import { DaemonError, type ContractErrorCode, type ErrorDetails, type ErrorIssue } from '../errors.js';
import { MAX_HEADER_BYTES } from './limits.js';

/** The status of a contract code and its hint (fixed, or built from the error's details). */
interface ErrorSpec {
  status: number;
  hint: string | ((details: ErrorDetails | undefined) => string);
}

/**
 * Contract code → status and hint. Codes missing here answer 500 `internal.error`.
 * `modes.parameter_error` is retired (1.6) and deliberately absent.
 */
export const ERROR_TABLE: Readonly<Record<ContractErrorCode, ErrorSpec>> = Object.freeze({
  'auth.invalid_api_key': { status: 401, hint: 'X-API-Key header is missing or incorrect.' },
  'http.not_found': { status: 404, hint: 'See GET /docs for the list of endpoints.' },
  'http.method_not_allowed': { status: 405, hint: 'See the Allow header for the methods of this path.' },
  /** [beepbox] malformed HTTP (request line, header syntax, Content-Length with Transfer-Encoding); the connection is closed. */
  'http.bad_request': { status: 400, hint: 'Send a well-formed HTTP/1.1 request.' },
  /** [beepbox] the request (headers and body) did not arrive within the server's time limit; the connection is closed. */
  'http.request_timeout': { status: 408, hint: 'Send the whole request without pauses, then retry.' },
  /** [beepbox] request line and headers over the server's limit; the connection is closed. */
  'http.headers_too_large': { status: 431, hint: `Request line and headers are limited to ${MAX_HEADER_BYTES / 1024} KiB.` },
  /** [beepbox] a state-changing request sent by a web page of another origin (CSRF). */
  'http.forbidden_origin': {
    status: 403,
    hint: 'Requests that change something are refused from web pages of other sites; call the API from a program (no Origin header) or from the same origin.',
  },
  /** [beepbox] the Host header names none of the addresses the daemon answers to (DNS rebinding). */
  'http.forbidden_host': { status: 421, hint: 'Address the box as localhost, by its IP address, or by a name listed in BOX_ALLOWED_HOSTS (with the port).' },
  'request.too_large': { status: 413, hint: 'JSON bodies are limited to 1 MiB.' },
  'request.validation_error': { status: 422, hint: 'Please check request payload and fields.' },
  'internal.error': { status: 500, hint: '' },
  'devices.scan_failed': { status: 500, hint: (d) => (typeof d?.reason === 'string' ? d.reason : '') },
  'devices.unavailable': { status: 503, hint: 'Use POST /admin/rescan to look for devices.' },
  'devices.busy': { status: 409, hint: 'Wait until running jobs have finished.' },
  'modes.not_found': { status: 404, hint: 'Fetch available modes via GET /modes.' },
  'jobs.invalid_request': { status: 422, hint: 'Check modes and params_by_mode.' },
  'jobs.invalid_params': { status: 422, hint: 'Validate parameters with POST /modes/{mode}/validate.' },
  'jobs.shutting_down': { status: 503, hint: 'Retry after the restart.' },
  'storage.exists': { status: 409, hint: 'Use a new client_datetime or subdir.' },
  'storage.invalid_name': { status: 400, hint: '' },
  /** [beepbox] RUNS_ROOT has less free space than the floor (BOX_MIN_FREE_MB), or is full or unreadable. */
  'storage.insufficient_space': { status: 507, hint: 'Free space in the runs folder (upload and delete old runs) or lower BOX_MIN_FREE_MB, then retry.' },
  'jobs.invalid_devices': { status: 400, hint: 'Use slots from GET /devices or "all".' },
  /** [beepbox] the slot exists but its device is gone or not answering (stable slot names). */
  'jobs.devices_offline': { status: 409, hint: 'Reconnect the device and POST /admin/rescan, or use slots whose state is online in GET /devices.' },
  'jobs.run_id_conflict': { status: 409, hint: 'Choose another run_name or omit it.' },
  'jobs.slots_busy': { status: 409, hint: 'Wait until the listed slots are free.' },
  'jobs.not_found': { status: 404, hint: 'Check the run_id or fetch the job list.' },
  'jobs.missing_run_ids': { status: 400, hint: '' },
  'jobs.run_ids_unknown': { status: 404, hint: 'Only request known run_ids.' },
  'runs.not_found': { status: 404, hint: 'Check the run_id or list existing runs.' },
  'runs.file_not_found': { status: 404, hint: 'Provide a path relative to the run directory.' },
  'nas.invalid_config': { status: 400, hint: '' },
  'nas.not_configured': { status: 409, hint: 'Configure it via POST /nas/setup.' },
  'nas.unsupported_platform': { status: 501, hint: '' },
  /** [beepbox] the NAS service is not wired into this daemon. */
  'nas.unavailable': { status: 503, hint: 'NAS features are not available on this box.' },
});

/** Whether `code` is one of the contract codes of the table. */
export function isContractCode(code: unknown): code is ContractErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_TABLE, code);
}

/** HTTP status of a contract code; 500 for anything unknown. */
export function statusOfCode(code: string): number {
  return isContractCode(code) ? ERROR_TABLE[code].status : 500;
}

/** The hint of a contract code for an error with these details. */
export function hintOfCode(code: ContractErrorCode, details?: ErrorDetails): string {
  const hint = ERROR_TABLE[code].hint;
  return typeof hint === 'string' ? hint : hint(details);
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
  errors?: ErrorIssue[];
}

/** Build the envelope; `errors` is added only when given. */
export function buildErrorEnvelope(code: string, message: string, hint: string, errors?: ErrorIssue[]): ErrorEnvelope {
  const triple: ErrorTriple = { code, message, hint };
  const envelope: ErrorEnvelope = { ...triple, detail: { ...triple } };
  if (errors !== undefined) envelope.errors = errors;
  return envelope;
}

/** An error raised by the HTTP layer itself that carries response headers (e.g. `Allow` on 405). */
export class HttpLayerError extends DaemonError {
  constructor(
    code: ContractErrorCode,
    message: string,
    readonly headers: Readonly<Record<string, string>>,
  ) {
    super(code, message);
  }
}

/** What the error middleware sends for a thrown value. */
export interface ErrorResponse {
  status: number;
  body: ErrorEnvelope;
  headers: Readonly<Record<string, string>>;
  /** True when the value was not a deliberate error (log it with its stack). */
  unexpected: boolean;
}

const INTERNAL_MESSAGE = 'Internal server error';

/**
 * A parameter that failed validation below the API (a `ValidationError` that escaped a
 * service) is the client's fault: 422 with the field named, never a 500.
 */
function mapValidationError(err: DaemonError): ErrorResponse {
  const field = typeof err.details?.field === 'string' ? err.details.field : '*';
  const issues = [{ loc: ['body', field], msg: err.message, type: 'value_error' }];
  const code = 'request.validation_error';
  return { status: 422, body: buildErrorEnvelope(code, 'Request validation failed', hintOfCode(code), issues), headers: {}, unexpected: false };
}

/**
 * Map any thrown value to the response. Contract codes keep their message, and their hint
 * comes from the table; everything else becomes 500 `internal.error` with a fixed message
 * (no stack, no error text: it may hold paths or secrets).
 */
export function mapErrorToResponse(err: unknown): ErrorResponse {
  if (err instanceof DaemonError) {
    if (err.code === 'VALIDATION') return mapValidationError(err);
    if (isContractCode(err.code) && err.code !== 'internal.error') {
      const headers = err instanceof HttpLayerError ? err.headers : {};
      const body = buildErrorEnvelope(err.code, err.message, hintOfCode(err.code, err.details), err.details?.issues);
      return { status: ERROR_TABLE[err.code].status, body, headers, unexpected: false };
    }
  }
  return { status: 500, body: buildErrorEnvelope('internal.error', INTERNAL_MESSAGE, ''), headers: {}, unexpected: true };
}

/** Shorthands for the errors the HTTP layer raises itself (messages per 1.6). */
export const httpErrors = {
  unauthorized: (): DaemonError => new DaemonError('auth.invalid_api_key', 'Unauthorized'),
  notFound: (): DaemonError => new DaemonError('http.not_found', 'Not found'),
  methodNotAllowed: (allowed: readonly string[]): HttpLayerError =>
    new HttpLayerError('http.method_not_allowed', 'Method not allowed', { Allow: allowed.join(', ') }),
  tooLarge: (): DaemonError => new DaemonError('request.too_large', 'Request body too large'),
  forbiddenOrigin: (): DaemonError => new DaemonError('http.forbidden_origin', 'Cross-origin request refused'),
  forbiddenHost: (): DaemonError => new DaemonError('http.forbidden_host', 'Host not allowed'),
  hostRequired: (): DaemonError => new DaemonError('http.bad_request', 'Host header required'),
  validation: (issues: ErrorIssue[]): DaemonError => new DaemonError('request.validation_error', 'Request validation failed', { details: { issues } }),
  jobNotFound: (): DaemonError => new DaemonError('jobs.not_found', 'Unknown run_id'),
  runNotFound: (): DaemonError => new DaemonError('runs.not_found', 'Run not found'),
  nasUnavailable: (): DaemonError => new DaemonError('nas.unavailable', 'NAS service is not available'),
  devicesUnavailable: (): DaemonError => new DaemonError('devices.unavailable', 'No devices registered'),
} as const;
