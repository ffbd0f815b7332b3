/**
 * One coded error family for every layer. `code` is stable and machine-readable; `details`
 * carries structured facts (never HTTP wording). Which HTTP status, message and hint a code
 * becomes is decided only at the HTTP edge (src/http/errors.ts).
 *
 * Two kinds of codes share the type: the internal ones (UPPER_SNAKE) name what went wrong
 * below the API; the contract ones (`area.reason`) are the codes the REST contract names, so
 * a service can refuse a request with the code the client expects.
 */
export type InternalErrorCode =
  | 'PROTOCOL_CRC'
  | 'PROTOCOL_EXCEPTION'
  | 'PROTOCOL_MALFORMED'
  | 'DEVICE_TIMEOUT'
  | 'DEVICE_BUSY'
  | 'DEVICE_STATE'
  | 'PORT_CLOSED'
  | 'PORT_DISCONNECTED'
  | 'PORT_OPEN_FAILED'
  | 'VALIDATION'
  | 'ABORTED'
  | 'SLOT_CRASHED'
  | 'DATA_INTEGRITY'
  | 'INTERNAL';

export type ContractErrorCode =
  | 'auth.invalid_api_key'
  | 'http.not_found'
  | 'http.method_not_allowed'
  | 'http.bad_request'
  | 'http.request_timeout'
  | 'http.headers_too_large'
  | 'http.forbidden_origin'
  | 'http.forbidden_host'
  | 'request.too_large'
  | 'request.validation_error'
  | 'internal.error'
  | 'devices.scan_failed'
  | 'devices.unavailable'
  | 'devices.busy'
  | 'modes.not_found'
  | 'jobs.invalid_request'
  | 'jobs.invalid_params'
  | 'jobs.invalid_devices'
  | 'jobs.devices_offline'
  | 'jobs.run_id_conflict'
  | 'jobs.slots_busy'
  | 'jobs.not_found'
  | 'jobs.missing_run_ids'
  | 'jobs.run_ids_unknown'
  | 'jobs.shutting_down'
  | 'storage.exists'
  | 'storage.invalid_name'
  | 'storage.insufficient_space'
  | 'runs.not_found'
  | 'runs.file_not_found'
  | 'nas.invalid_config'
  | 'nas.not_configured'
  | 'nas.unsupported_platform'
  | 'nas.unavailable';

export type ErrorCode = InternalErrorCode | ContractErrorCode;

/** One entry of a list of problems (e.g. every invalid mode parameter of a job). */
export interface ErrorIssue {
  [key: string]: unknown;
}

/** Structured facts an error may carry; `issues` becomes the envelope's `errors` list. */
export interface ErrorDetails {
  issues?: ErrorIssue[];
  [key: string]: unknown;
}

export interface ErrorPayload {
  name: string;
  code: ErrorCode;
  message: string;
  details?: ErrorDetails;
}

export class DaemonError extends Error {
  readonly code: ErrorCode;
  readonly details?: ErrorDetails;
  constructor(code: ErrorCode, message: string, options?: { details?: ErrorDetails; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options?.details;
  }
  toJSON(): ErrorPayload {
    return { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

/** CRC mismatch, malformed reply or a Modbus exception reply from the device. */
export class ProtocolError extends DaemonError {}
/** The port closed or vanished (unplug). */
export class PortError extends DaemonError {}
/** No reply within the transaction timeout (not `TimeoutError`: DOMException owns that name). */
export class DeviceTimeoutError extends DaemonError {}
/** A parameter or option failed validation; `field` names it. */
export class ValidationError extends DaemonError {
  readonly field: string;
  constructor(field: string, message: string, details?: ErrorDetails) {
    super('VALIDATION', `${field}: ${message}`, { details: { ...details, field } });
    this.field = field;
  }
}
/** The measurement was aborted on request. */
export class AbortedError extends DaemonError {
  constructor(message = 'measurement aborted') {
    super('ABORTED', message);
  }
}

const errorClasses = { DaemonError, ProtocolError, PortError, DeviceTimeoutError } as const;

/** Rebuild an error that crossed a thread boundary as a plain payload. */
export function reviveError(payload: ErrorPayload): DaemonError {
  if (payload.name === 'ValidationError') {
    const field = typeof payload.details?.field === 'string' ? payload.details.field : '*';
    return new ValidationError(field, payload.message.replace(/^[^:]*: /, ''), payload.details);
  }
  if (payload.name === 'AbortedError') return new AbortedError(payload.message);
  const Ctor = errorClasses[payload.name as keyof typeof errorClasses] ?? DaemonError;
  return new Ctor(payload.code, payload.message, { details: payload.details });
}

/** Whether `err` is a DaemonError carrying `code`. */
export function hasErrorCode(err: unknown, code: ErrorCode): err is DaemonError {
  return err instanceof DaemonError && err.code === code;
}
