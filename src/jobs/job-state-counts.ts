/** Jobs the engine knows, counted by their derived state (GET /metrics `beepbox_jobs`). */
import type { JobEngine } from './engine.js';
import { jobStateOf } from './job-table.js';
import type { JobState } from './types.js';

export function countJobsByState(engine: JobEngine): Record<JobState, number> {
  const counts: Record<JobState, number> = { queued: 0, running: 0, done: 0, failed: 0, cancelled: 0 };
  for (const job of engine.knownJobs()) counts[jobStateOf(job)]++;
  return counts;
}
