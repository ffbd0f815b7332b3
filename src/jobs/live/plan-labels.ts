/**
 * The Cycle and Step labels of a mode's plan, kept as runs (first plan index, label) instead of
 * one Int32 per point, so a live view can label its decimated points without holding the plan.
 * Built once at the mode's start from the plan (the worker and the recorder build their own).
 */
import { buildPlan, getModeInfo, type ModeName, type ModeParams } from '../../modes/index.js';

/**
 * Largest plan whose labels are derived (~5 ns a point: 4 M points ≈ 20 ms on the supervisor's
 * loop, once per mode, before the device streams). Beyond it the live points carry no labels.
 */
export const MAX_LABELLED_PLAN_POINTS = 4_000_000;

/** Piecewise-constant labels: `values[k]` from plan index `starts[k]` up to the next start. */
export class RunLengthLabels {
  private constructor(
    private readonly starts: Int32Array,
    private readonly values: Int32Array,
  ) {}

  /** Compresses a per-point label array (labels change rarely: a few runs per cycle or step). */
  static fromArray(labels: Int32Array): RunLengthLabels {
    let runs = 0;
    for (let k = 0; k < labels.length; k++) if (k === 0 || labels[k] !== labels[k - 1]) runs++;
    const starts = new Int32Array(runs);
    const values = new Int32Array(runs);
    let r = 0;
    for (let k = 0; k < labels.length; k++) {
      if (k === 0 || labels[k] !== labels[k - 1]) {
        starts[r] = k;
        values[r++] = labels[k]!;
      }
    }
    return new RunLengthLabels(starts, values);
  }

  get runCount(): number {
    return this.starts.length;
  }

  /** Label at plan index `index` (binary search; the last run extends to the end). */
  at(index: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    if (hi < 0) return 0;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    return this.values[lo]!;
  }
}

export interface ModeLabels {
  cycle: RunLengthLabels | null;
  step: RunLengthLabels | null;
}

/** The labels a mode's CSV has (CV, GCV, CDL, EIS cycles; PSTEP, EIS steps); none for the others. */
export function deriveModeLabels(mode: ModeName, params: Readonly<ModeParams>, points: number): ModeLabels {
  const columns = getModeInfo(mode).csvColumns;
  const wanted = columns.includes('cycle') || columns.includes('step');
  if (!wanted || points > MAX_LABELLED_PLAN_POINTS) return { cycle: null, step: null };
  const plan = buildPlan(mode, params as never);
  return {
    cycle: columns.includes('cycle') && plan.cycle ? RunLengthLabels.fromArray(plan.cycle) : null,
    step: columns.includes('step') && plan.step ? RunLengthLabels.fromArray(plan.step) : null,
  };
}
