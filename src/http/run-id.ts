/** The run_id pattern of rest-api.md 4.1: every run_id, generated or given, matches it. */
export const RUN_ID_PATTERN_SOURCE = '^[A-Za-z0-9_-]{1,128}$';
const RUN_ID_PATTERN = new RegExp(RUN_ID_PATTERN_SOURCE);

/** Whether a `{run_id}` path parameter may be looked up at all (else: the route's 404). */
export function isValidRunId(value: string): boolean {
  return RUN_ID_PATTERN.test(value);
}
