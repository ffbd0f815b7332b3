/**
 * CDL post-processing (modes.md 2.8, fork `CdlAnalysis.py`) with its defects fixed:
 * (a) E* = (vertex_a + vertex_b)/2 from the real parameters (the fork always used 0 V);
 * (b) rest points are excluded (the plan layout says where they are, labels are not trusted);
 * (c) cycles come from the plan layout by point index, never from (possibly averaged) CSV labels,
 *     and a cycle with too few rows is skipped with a warning instead of failing.
 * Kept from the fork: only the second cycle of each block (even labels) is analysed, including
 * the final segment when end ≠ vertex_a; direction from the gradient sign (≥ 0 anodic); scan rate
 * = median |dE/dt| between the 15 % and 85 % quantiles of E; I_cap = (median anodic − median
 * cathodic)/2 within ±0.01 V of E*; through-origin fit with R² = 1 − SSE/ΣI² for ≥ 2 points.
 */
import { POINT_INTERVAL_S } from './constants.js';
import { formatPyFloat } from './csv.js';
import { computeCdlLayout } from './plan-pot.js';
import type { CdlParams } from './types.js';

/** Half-width of the potential window around E* (V). */
export const CDL_WINDOW_V = 0.01;

export interface CdlAnalysisInput {
  params: CdlParams;
  /** E per row: the applied potential when available (as the fork prefers), else the measured one. */
  potentialV: ArrayLike<number>;
  /** Measured current per row (A). */
  currentA: ArrayLike<number>;
  /** Rows available (a run stopped early has fewer than N). */
  count: number;
  /** Row r starts at plan point r × rowStride: 1 for full-rate data, R for a down-sampled CSV. */
  rowStride?: number;
}

export interface CdlResultRow {
  /** 1-based scan-rate block j (analysed cycle label 2j). */
  block: number;
  cycle: number;
  /** Requested scan rate of the block (V/s). */
  requestedScanRate: number;
  /** Measured median |dE/dt| (V/s): the `scan_rate_V_per_s` column. */
  scanRateVPerS: number;
  icapA: number;
  /** Always 1 (one analysed cycle per block). */
  nCycles: number;
}

export interface CdlAnalysis {
  rows: CdlResultRow[];
  /** Through-origin slope Σ v·I / Σ v² (F), or null without rows. */
  capacitanceF: number | null;
  /** 1 − SSE/ΣI², only for ≥ 2 rows. */
  r2: number | null;
  eStarV: number;
  warnings: string[];
}

/** numpy.quantile, linear interpolation, on sorted data. */
function quantileSorted(sorted: Float64Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** numpy.median (mean of the two middle values for even lengths). */
export function computeMedian(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return NaN;
  const s = Float64Array.from(values).sort();
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/** numpy.gradient for uniform spacing h: central differences inside, one-sided at the ends. */
export function computeGradient(y: Float64Array, h: number): Float64Array {
  const n = y.length;
  const g = new Float64Array(n);
  if (n < 2) return g.fill(NaN);
  g[0] = (y[1]! - y[0]!) / h;
  g[n - 1] = (y[n - 1]! - y[n - 2]!) / h;
  for (let k = 1; k < n - 1; k++) g[k] = (y[k + 1]! - y[k - 1]!) / (2 * h);
  return g;
}

export function analyseCdl(input: CdlAnalysisInput): CdlAnalysis {
  const { params } = input;
  const stride = input.rowStride ?? 1;
  const count = Math.min(input.count, input.potentialV.length, input.currentA.length);
  const eStar = (params.vertex_a + params.vertex_b) / 2;
  const rows: CdlResultRow[] = [];
  const warnings: string[] = [];

  for (const b of computeCdlLayout(params)) {
    const cycle = 2 * b.block;
    const from = b.firstIndex + b.firstCycleLength;
    const to = from + b.secondCycleSweepLength; // rest excluded
    const rStart = Math.ceil(from / stride);
    const rEnd = Math.ceil(to / stride);
    if (rEnd > count) {
      if (rStart < count) warnings.push(`CDL cycle ${cycle}: incomplete (run stopped early); skipped.`);
      continue;
    }
    const len = rEnd - rStart;
    if (len < 3) {
      warnings.push(`CDL cycle ${cycle}: only ${len} rows; skipped.`);
      continue;
    }
    const E = new Float64Array(len);
    const I = new Float64Array(len);
    for (let k = 0; k < len; k++) {
      E[k] = input.potentialV[rStart + k]!;
      I[k] = input.currentA[rStart + k]!;
    }
    const grad = computeGradient(E, stride * POINT_INTERVAL_S);
    const sortedE = Float64Array.from(E).sort();
    const q15 = quantileSorted(sortedE, 0.15);
    const q85 = quantileSorted(sortedE, 0.85);
    const rates: number[] = [];
    const anodic: number[] = [];
    const cathodic: number[] = [];
    for (let k = 0; k < len; k++) {
      const e = E[k]!;
      if (e >= q15 && e <= q85) rates.push(Math.abs(grad[k]!));
      if (Math.abs(e - eStar) <= CDL_WINDOW_V) (grad[k]! >= 0 ? anodic : cathodic).push(I[k]!);
    }
    if (anodic.length === 0 || cathodic.length === 0) {
      warnings.push(`CDL cycle ${cycle}: no ${anodic.length === 0 ? 'anodic' : 'cathodic'} rows within ±${CDL_WINDOW_V} V of E* = ${eStar} V; skipped.`);
      continue;
    }
    rows.push({
      block: b.block, cycle, requestedScanRate: b.scanRate, scanRateVPerS: computeMedian(rates),
      icapA: (computeMedian(anodic) - computeMedian(cathodic)) / 2, nCycles: 1,
    });
  }

  let capacitanceF: number | null = null;
  let r2: number | null = null;
  if (rows.length > 0) {
    let svi = 0, svv = 0, sii = 0;
    for (const r of rows) {
      svi += r.scanRateVPerS * r.icapA;
      svv += r.scanRateVPerS * r.scanRateVPerS;
      sii += r.icapA * r.icapA;
    }
    capacitanceF = svi / svv;
    if (rows.length >= 2) {
      let sse = 0;
      for (const r of rows) sse += (r.icapA - capacitanceF * r.scanRateVPerS) ** 2;
      r2 = 1 - sse / sii;
    }
  }
  return { rows, capacitanceF, r2, eStarV: eStar, warnings };
}

/** `<name>_cdl.csv`: `scan_rate_V_per_s,Icap_A,n_cycles`, Python float formatting, CRLF, header always present. */
export function encodeCdlCsv(rows: readonly CdlResultRow[]): string {
  let out = 'scan_rate_V_per_s,Icap_A,n_cycles\r\n';
  for (const r of rows) out += `${formatPyFloat(r.scanRateVPerS)},${formatPyFloat(r.icapA)},${r.nCycles}\r\n`;
  return out;
}
