/**
 * EIS plan (modes.md 7.2–7.4): frequency list, clamping to the usable maximum, one sine block
 * per frequency with an integer number of samples per period, preceded by whole settling
 * periods that last at least `settling_cycles` periods and at least `settling_time_s`.
 */
import { parseFiniteNumber } from './coerce.js';
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

/**
 * start_freq and end_freq as the client sent them (numeric strings accepted, like validation),
 * before any clamping; undefined when either is missing or unusable.
 */
export function requestedEisEnds(raw: unknown): { startHz: number; endHz: number } | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const startHz = parseFiniteNumber(r.start_freq);
  const endHz = parseFiniteNumber(r.end_freq);
  return startHz !== null && endHz !== null && startHz > 0 && endHz > 0 ? { startHz, endHz } : undefined;
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

/** The settling subset of the EIS parameters (`settling_time_s` absent = 0, as in modes.md 7.4). */
export type EisSettlingParams = Pick<EisParams, 'settling_cycles'> & Partial<Pick<EisParams, 'settling_time_s'>>;

/**
 * Settling periods of a block with P samples per period: at least `settling_cycles` periods and
 * at least `settling_time_s`, rounded up to whole periods so the analysed window stays coherent
 * (it starts at phase 0). A 1e-9 tolerance keeps an exact multiple from gaining a period.
 */
export function computeSettlingCycles(p: EisSettlingParams, pointsPerPeriod: number): number {
  const time = p.settling_time_s ?? 0;
  if (!(time > 0)) return p.settling_cycles;
  const byTime = Math.ceil(time / (pointsPerPeriod * POINT_INTERVAL_S) - 1e-9);
  return Math.max(p.settling_cycles, byTime);
}

/** Block layout in measurement order. */
export function computeEisBlocks(p: EisParams): EisBlock[] {
  let offset = 0;
  return computeEisFrequencies(p).map((f, index) => {
    const pointsPerPeriod = computePointsPerPeriod(f);
    const settlingCycles = computeSettlingCycles(p, pointsPerPeriod);
    const length = (settlingCycles + p.cycles_per_freq) * pointsPerPeriod;
    const block: EisBlock = {
      index, requestedFreqHz: f, actualFreqHz: computeActualFrequency(pointsPerPeriod), pointsPerPeriod,
      settlingCycles, analysedCycles: p.cycles_per_freq, firstIndex: offset, length,
      analysedFirstIndex: offset + settlingCycles * pointsPerPeriod,
    };
    offset += length;
    return block;
  });
}

/** N = Σ_k (settling_k + cycles) × P_k. Loops over frequencies only (never over points). */
export function countEisPoints(p: EisParams): number {
  let n = 0;
  for (const f of computeEisFrequencies(p)) {
    const P = computePointsPerPeriod(f);
    n += (computeSettlingCycles(p, P) + p.cycles_per_freq) * P;
  }
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
