/** Jobs the engine knows, counted by their derived state (GET /metrics `beepbox_jobs`). */
import type { JobEngine } from './engine.js';
import { deriveJobState } from './progress.js';
import type { JobState } from './types.js';

export function countJobsByState(engine: JobEngine): Record<JobState, number> {
  const counts: Record<JobState, number> = { queued: 0, running: 0, done: 0, failed: 0, cancelled: 0 };
  for (const job of engine.allJobs()) counts[deriveJobState(job.record.slots.map((s) => s.status))]++;
  return counts;
}
