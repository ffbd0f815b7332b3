/**
 * EIS plan (modes.md 7.2–7.4): frequency list, clamping to the usable maximum, one sine block
 * per frequency with an integer number of samples per period.
 */
import { EIS_MAX_FREQ_HZ, EIS_MIN_POINTS_PER_PERIOD, POINT_INTERVAL_S } from './constants.js';
import { roundHalfEven, roundHalfUp } from './numeric.js';
import type { EisBlock } from './plan-types.js';
import type { EisParams } from './types.js';

/** The frequency-shaping subset of the EIS parameters. */
export type EisFrequencyParams = Pick<EisParams, 'start_freq' | 'end_freq' | 'points_per_decade' | 'spacing'>;

/** start_freq / end_freq above F_MAX are set to F_MAX before the list is built (modes.md 7.3). */
export function clampEisFrequency(freqHz: number): number {
  return freqHz > EIS_MAX_FREQ_HZ ? EIS_MAX_FREQ_HZ : freqHz;
}

/** Python `math.isclose(a, b, rel_tol=1e-9)`. */
function isClose(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

/** Length of the frequency list, without building it (start/end are clamped first). */
export function countEisFrequencies(p: EisFrequencyParams): number {
  const start = clampEisFrequency(p.start_freq);
  const end = clampEisFrequency(p.end_freq);
  if (isClose(start, end)) return 1;
  const decades = Math.abs(Math.log10(end) - Math.log10(start));
  return Math.max(roundHalfEven(decades * p.points_per_decade) + 1, 2);
}

/**
 * Frequency list of modes.md 7.2, from start_freq towards end_freq. log: 10^(a + i·(b − a)/(n − 1))
 * with a, b = log10 of the clamped ends; lin: start + i·(end − start)/(n − 1). The two ends are
 * the clamped start and end values exactly (no pow round trip).
 */
export function computeEisFrequencies(p: EisFrequencyParams): number[] {
  const start = clampEisFrequency(p.start_freq);
  const end = clampEisFrequency(p.end_freq);
  const n = countEisFrequencies(p);
  if (n === 1) return [start];
  const out = new Array<number>(n);
  if (p.spacing === 'lin') {
    const step = (end - start) / (n - 1);
    for (let i = 0; i < n; i++) out[i] = i * step + start;
  } else {
    const a = Math.log10(start);
    const step = (Math.log10(end) - a) / (n - 1);
    for (let i = 0; i < n; i++) out[i] = 10 ** (i * step + a);
  }
  out[0] = start;
  out[n - 1] = end;
  return out;
}

/** P = max(10, round(1 / (f Δt))), rounding halves up (modes.md 7.4). */
export function computePointsPerPeriod(freqHz: number): number {
  return Math.max(EIS_MIN_POINTS_PER_PERIOD, roundHalfUp(1 / (freqHz * POINT_INTERVAL_S)));
}

/** Frequency actually applied with P samples per period: 1 / (P Δt). */
export function computeActualFrequency(pointsPerPeriod: number): number {
  return 1 / (pointsPerPeriod * POINT_INTERVAL_S);
}

/** Block layout in measurement order. */
export function computeEisBlocks(p: EisParams): EisBlock[] {
  const periods = p.settling_cycles + p.cycles_per_freq;
  let offset = 0;
  return computeEisFrequencies(p).map((f, index) => {
    const pointsPerPeriod = computePointsPerPeriod(f);
    const length = periods * pointsPerPeriod;
    const block: EisBlock = {
      index, requestedFreqHz: f, actualFreqHz: computeActualFrequency(pointsPerPeriod), pointsPerPeriod,
      settlingCycles: p.settling_cycles, analysedCycles: p.cycles_per_freq, firstIndex: offset, length,
      analysedFirstIndex: offset + p.settling_cycles * pointsPerPeriod,
    };
    offset += length;
    return block;
  });
}

/** N = Σ_k (settling + cycles) × P_k. Loops over frequencies only (never over points). */
export function countEisPoints(p: EisParams): number {
  const periods = p.settling_cycles + p.cycles_per_freq;
  let n = 0;
  for (const f of computeEisFrequencies(p)) n += periods * computePointsPerPeriod(f);
  return n;
}

export function buildEisWaveform(p: EisParams): { setpoints: Float32Array; cycle: Int32Array; step: Int32Array; blocks: EisBlock[] } {
  const blocks = computeEisBlocks(p);
  const n = blocks.length === 0 ? 0 : blocks[blocks.length - 1]!.firstIndex + blocks[blocks.length - 1]!.length;
  const setpoints = new Float32Array(n);
  const cycle = new Int32Array(n);
  const step = new Int32Array(n);
  const twoPi = 2 * Math.PI;
  for (const b of blocks) {
    const P = b.pointsPerPeriod;
    const base = b.firstIndex;
    step.fill(b.index, base, base + b.length);
    // Cycle = max(0, floor(n / P) − settling + 1): 0 while settling, then 1 … cycles_per_freq.
    for (let period = 0; period < b.settlingCycles + b.analysedCycles; period++) {
      const from = base + period * P;
      cycle.fill(Math.max(0, period - b.settlingCycles + 1), from, from + P);
    }
    // Setpoint n = f32(dc_bias + amplitude · sin(2π n / P)), n counted from the block start.
    for (let i = 0; i < b.length; i++) setpoints[base + i] = p.dc_bias + p.amplitude * Math.sin((twoPi * i) / P);
  }
  return { setpoints, cycle, step, blocks };
}
