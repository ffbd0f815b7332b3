/** Galvanostatic step tables: CP, GS, GCV, STEPSEQ (modes.md 2.5, 2.6). */
import { countDurationPoints, fillLinspaceF32 } from './numeric.js';
import type { GalStepTable } from './plan-types.js';
import type { CpParams, GcvParams, GsParams, StepseqParams } from './types.js';

export interface GalWaveform {
  steps: GalStepTable;
  /** Cycle label per step (GCV only). */
  stepCycle: Int32Array | null;
}

function makeSteps(currents: Float32Array, durationS: number, pointsPerStep: number): GalStepTable {
  const count = currents.length;
  return {
    current: currents,
    durationS: new Float32Array(count).fill(durationS),
    length: new Int32Array(count).fill(pointsPerStep),
  };
}

export function countCpPoints(p: CpParams): number {
  return countDurationPoints(p.duration);
}

export function buildCpWaveform(p: CpParams): GalWaveform {
  return { steps: makeSteps(Float32Array.of(p.current), p.duration, countCpPoints(p)), stepCycle: null };
}

export function countGsPoints(p: GsParams): number {
  return p.num_steps * countDurationPoints(p.step_duration);
}

export function buildGsWaveform(p: GsParams): GalWaveform {
  const currents = new Float32Array(p.num_steps);
  fillLinspaceF32(currents, 0, p.start, p.end, p.num_steps);
  return { steps: makeSteps(currents, p.step_duration, countDurationPoints(p.step_duration)), stepCycle: null };
}

/** S = num_steps × (3 × cycles + [end ≠ start]) steps (modes.md 2.6). */
export function countGcvSteps(p: GcvParams): number {
  return p.num_steps * (3 * p.cycles + (p.end !== p.start ? 1 : 0));
}

export function countGcvPoints(p: GcvParams): number {
  return countGcvSteps(p) * countDurationPoints(p.step_duration);
}

export function buildGcvWaveform(p: GcvParams): GalWaveform {
  const m = p.num_steps;
  const total = countGcvSteps(p);
  const currents = new Float32Array(total);
  const stepCycle = new Int32Array(total);
  let k = 0;
  for (let c = 1; c <= p.cycles; c++) {
    const from = k;
    k = fillLinspaceF32(currents, k, p.start, p.vertex1, m);
    k = fillLinspaceF32(currents, k, p.vertex1, p.vertex2, m);
    k = fillLinspaceF32(currents, k, p.vertex2, p.start, m);
    stepCycle.fill(c, from, k);
  }
  if (p.end !== p.start) {
    const from = k;
    k = fillLinspaceF32(currents, k, p.start, p.end, m);
    stepCycle.fill(p.cycles + 1, from, k);
  }
  return { steps: makeSteps(currents, p.step_duration, countDurationPoints(p.step_duration)), stepCycle };
}

export function countStepseqPoints(p: StepseqParams): number {
  return p.currents.length * countDurationPoints(p.step_duration);
}

export function buildStepseqWaveform(p: StepseqParams): GalWaveform {
  return { steps: makeSteps(Float32Array.from(p.currents), p.step_duration, countDurationPoints(p.step_duration)), stepCycle: null };
}

/** Expand a step table to per-point arrays (applied current, and cycle labels when given per step). */
export function expandSteps(steps: GalStepTable, stepCycle: Int32Array | null): { applied: Float32Array; cycle: Int32Array | null } {
  let n = 0;
  for (let s = 0; s < steps.length.length; s++) n += steps.length[s]!;
  const applied = new Float32Array(n);
  const cycle = stepCycle === null ? null : new Int32Array(n);
  let k = 0;
  for (let s = 0; s < steps.length.length; s++) {
    const len = steps.length[s]!;
    applied.fill(steps.current[s]!, k, k + len);
    if (cycle !== null) cycle.fill(stepCycle![s]!, k, k + len);
    k += len;
  }
  return { applied, cycle };
}
