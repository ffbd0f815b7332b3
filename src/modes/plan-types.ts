/**
 * What `buildPlan` hands to the driver and the CSV encoder. A plan is a pure description:
 * typed arrays indexed by point (0 … n−1); time is never stored (time[i] = i × intervalS).
 *
 * Ownership: a plan is immutable after construction; its arrays may be transferred to a worker
 * (the sender must not use them afterwards) or shared read-only.
 */
import type { CsvColumn } from './catalogue.js';
import type { ModeFamily, ModeName } from './types.js';

export interface PlanBase {
  mode: ModeName;
  family: ModeFamily;
  /** Number of points N (one setpoint / one measured pair per point). */
  n: number;
  /** Δt in seconds (0.00036). */
  intervalS: number;
  /** N × Δt (modes.md 5, "Corrected rule"). */
  plannedDurationS: number;
  /** plannedDurationS + 1 s setup. */
  etaS: number;
  /** Columns of the raw CSV, in order (modes.md 3.1). */
  columns: readonly CsvColumn[];
  /** Per-point applied value as float32 (V for POT, A for GAL), `null` for OCP. */
  applied: Float32Array | null;
  /** Per-point Cycle label (CV, GCV, CDL, EIS), else `null`. */
  cycle: Int32Array | null;
  /** Per-point 0-based Step label (PSTEP, EIS), else `null`. */
  step: Int32Array | null;
}

/** One frequency block of an EIS plan (modes.md 7.4). */
export interface EisBlock {
  /** 0-based frequency index k (the Step label). */
  index: number;
  /** Frequency from the list of 7.2 (after clamping), Hz. */
  requestedFreqHz: number;
  /** Applied frequency 1/(P Δt), Hz. */
  actualFreqHz: number;
  /** Samples per period P (integer ≥ 10). */
  pointsPerPeriod: number;
  settlingCycles: number;
  /** Analysed periods (cycles_per_freq). */
  analysedCycles: number;
  /** Plan index of the block's first point. */
  firstIndex: number;
  /** Block length B = (settling + analysed) × P. */
  length: number;
  /** Plan index of the first analysed point (firstIndex + settling × P). */
  analysedFirstIndex: number;
}

/** Layout of one CDL scan-rate block (modes.md 2.8). */
export interface CdlBlock {
  /** 1-based block number j; its cycles are labelled 2j − 1 and 2j. */
  block: number;
  scanRate: number;
  firstIndex: number;
  /** Points labelled 2j − 1. */
  firstCycleLength: number;
  /** Sweep points labelled 2j (second cycle plus the final segment when end ≠ vertex_a), without the rest. */
  secondCycleSweepLength: number;
  /** Rest points held at `start`, labelled 2j. */
  restLength: number;
  /** firstIndex + all lengths. */
  endIndex: number;
}

export interface PotPlan extends PlanBase {
  family: 'pot';
  /** Float32 potential setpoints streamed to the device (the same array as `applied`). */
  setpoints: Float32Array;
  applied: Float32Array;
  /** EIS only: one entry per frequency, in measurement order. */
  eisBlocks: readonly EisBlock[] | null;
  /** CDL only: one entry per scan rate. */
  cdlBlocks: readonly CdlBlock[] | null;
}

/** One row per PID step (modes.md 2.5). Drives the device; never written to the CSV. */
export interface GalStepTable {
  /** Target current per step, float32 (A). */
  current: Float32Array;
  /** Requested step duration as float32 (s), e.g. 0.1 → 0.10000000149011612. */
  durationS: Float32Array;
  /** Points per step = trunc(duration / Δt). */
  length: Int32Array;
}

export interface GalPlan extends PlanBase {
  family: 'gal';
  steps: GalStepTable;
  /** Per-point applied current (each step's current repeated `length` times); labels the CSV only. */
  applied: Float32Array;
}

export interface OcpPlan extends PlanBase {
  family: 'ocp';
  applied: null;
  cycle: null;
  step: null;
}

export type ModePlan = PotPlan | GalPlan | OcpPlan;
