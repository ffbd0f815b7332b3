/**
 * One base class for every error beepbox raises on purpose. `code` is stable and
 * machine-readable; HTTP status mapping happens only at the HTTP edge.
 */
export type ErrorCode =
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
  | 'INTERNAL'
  | 'nas.invalid_config'
  | 'nas.not_configured'
  | 'nas.unsupported_platform';

export interface ErrorPayload {
  name: string;
  code: ErrorCode;
  message: string;
  details?: unknown;
}

export class DaemonError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;
  constructor(code: ErrorCode, message: string, options?: { details?: unknown; cause?: unknown }) {
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
  constructor(field: string, message: string, details?: unknown) {
    super('VALIDATION', `${field}: ${message}`, { details });
    this.field = field;
  }
  override toJSON(): ErrorPayload {
    return { ...super.toJSON(), details: { field: this.field, ...(typeof this.details === 'object' ? this.details : {}) } };
  }
}
/** The measurement was aborted on request. */
export class AbortedError extends DaemonError {
  constructor(message = 'measurement aborted') {
    super('ABORTED', message);
  }
}

const errorClasses = { DaemonError, ProtocolError, PortError, DeviceTimeoutError, ValidationError, AbortedError } as const;

/** Rebuild an error that crossed a thread boundary as a plain payload. */
export function reviveError(payload: ErrorPayload): DaemonError {
  if (payload.name === 'ValidationError') {
    const d = (payload.details ?? {}) as { field?: string };
    const err = new ValidationError(d.field ?? '*', payload.message.replace(/^[^:]*: /, ''), payload.details);
    return err;
  }
  if (payload.name === 'AbortedError') return new AbortedError(payload.message);
  const Ctor = errorClasses[payload.name as keyof typeof errorClasses] ?? DaemonError;
  return new (Ctor as typeof DaemonError)(payload.code, payload.message, { details: payload.details });
}
