/**
 * Progress and ETA (rest-api.md 5), from exact plan point counts and the points actually
 * received: every mode's estimate is planned_s = N × Δt plus 1 s setup (modes.md 5), and
 * the running mode advances by rows received rather than by wall clock alone.
 */
import type { JobState, SlotState } from './types.js';

export const SETUP_S = 1;

export interface ModeEstimate {
  /** Exact plan points N. */
  points: number;
  /** N × Δt. */
  plannedS: number;
}

export interface SlotProgressInput {
  status: SlotState;
  modes: readonly ModeEstimate[];
  /** Index of the current mode (running only). */
  modeIndex: number;
  /** Seconds since the current mode started. */
  modeElapsedS: number;
  /** Plan points of the current mode already measured (highest plan index + 1). */
  modePointsDone: number;
}

export interface ProgressFigures {
  progress_pct: number;
  remaining_s: number | null;
}

const eta = (m: ModeEstimate) => m.plannedS + SETUP_S;

export function computeSlotProgress(s: SlotProgressInput): ProgressFigures {
  switch (s.status) {
    case 'queued':
      return { progress_pct: 0, remaining_s: Math.ceil(s.modes.reduce((a, m) => a + eta(m), 0)) };
    case 'done':
    case 'failed':
      return { progress_pct: 100, remaining_s: 0 };
    case 'cancelled':
      return { progress_pct: 0, remaining_s: 0 };
    case 'running': {
      const total = s.modes.reduce((a, m) => a + eta(m), 0);
      const k = Math.min(s.modeIndex, s.modes.length - 1);
      const current = s.modes[k]!;
      const before = s.modes.slice(0, k).reduce((a, m) => a + eta(m), 0);
      const after = s.modes.slice(k + 1).reduce((a, m) => a + eta(m), 0);
      // Setup time passes by the clock; measuring time by rows received.
      const measured = current.points > 0 ? (Math.min(s.modePointsDone, current.points) / current.points) * current.plannedS : 0;
      const done = Math.min(eta(current), s.modePointsDone > 0 ? SETUP_S + measured : Math.min(s.modeElapsedS, SETUP_S));
      const pct = total > 0 ? Math.min(99, Math.round((100 * (before + done)) / total)) : 0;
      return { progress_pct: pct, remaining_s: Math.ceil(Math.max(eta(current) - done, 0) + after) };
    }
  }
}

/** Job status from slot statuses (rest-api 4.4), first matching rule wins. */
export function deriveJobState(slots: readonly SlotState[]): JobState {
  if (slots.every((s) => s === 'queued')) return 'queued';
  if (slots.some((s) => s === 'queued' || s === 'running')) return 'running';
  if (slots.some((s) => s === 'failed')) return 'failed';
  if (slots.some((s) => s === 'cancelled')) return 'cancelled';
  return 'done';
}

export function isTerminal(s: SlotState): boolean {
  return s === 'done' || s === 'failed' || s === 'cancelled';
}

/** Job figures from slot figures (rest-api 5.3). */
export function computeJobProgress(state: JobState, slots: ReadonlyArray<{ status: SlotState } & ProgressFigures>): ProgressFigures {
  if (state === 'done' || state === 'failed') return { progress_pct: 100, remaining_s: 0 };
  const mean = slots.reduce((a, s) => a + s.progress_pct, 0) / Math.max(1, slots.length);
  if (state === 'cancelled') return { progress_pct: Math.round(mean), remaining_s: 0 };
  let remaining: number | null = 0;
  for (const s of slots) {
    if (isTerminal(s.status)) continue;
    if (s.remaining_s === null || remaining === null) remaining = null;
    else remaining = Math.max(remaining, s.remaining_s);
  }
  return { progress_pct: Math.min(99, Math.round(mean)), remaining_s: remaining };
}
