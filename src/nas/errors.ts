import { DaemonError, type ErrorCode, type ErrorDetails } from '../errors.js';

/** Codes a NAS operation raises on purpose; the strings are the contract's (rest-api.md 1.6). */
export type NasErrorCode = Extract<ErrorCode, `nas.${string}`> | 'INTERNAL';

/**
 * A NAS request that cannot be served: invalid setup input (400 `nas.invalid_config`), no
 * configuration (409 `nas.not_configured`), Windows (501 `nas.unsupported_platform`), or NAS
 * disabled because its directories could not be created (`INTERNAL`). Messages never carry the
 * password.
 */
export class NasError extends DaemonError {
  constructor(code: NasErrorCode, message: string, options?: { details?: ErrorDetails; cause?: unknown }) {
    super(code, message, options);
  }
}

/** The one message the contract uses for every NAS feature on Windows (7.8). */
export const UNSUPPORTED_PLATFORM_MESSAGE = 'NAS/SMB is not supported on this platform';
