/** The one run_id pattern (rest-api.md 4.1): every run_id, generated or given, matches it. */
export const RUN_ID_PATTERN_SOURCE = '^[A-Za-z0-9_-]{1,128}$';
export const RUN_ID_PATTERN = new RegExp(RUN_ID_PATTERN_SOURCE);

/** Whether a run_id may be looked up or joined onto a path at all (`..`, `a/b` never are). */
export function isValidRunId(runId: string): boolean {
  return RUN_ID_PATTERN.test(runId);
}
