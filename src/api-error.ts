/**
 * An error the HTTP contract names (rest-api.md 1.6): `code` is the contract's code
 * string (e.g. "jobs.not_found"); the HTTP status comes from one table in
 * src/http/errors.ts, never from the service that throws it.
 */
export interface ApiIssue {
  [key: string]: unknown;
}

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly hint = '',
    /** Extra top-level fields of the envelope, e.g. `errors` for 422s. */
    readonly extra: { errors?: ApiIssue[] } = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}
