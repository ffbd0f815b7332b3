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
 *
 * Added: three checks that turn a silently wrong C_dl into a warning.
 * - Scan rate too fast: after a vertex the measured current approaches its new plateau as
 *   exp(−t/τ), τ = the firmware's averaging samples × conversion period (device-settings.ts,
 *   which also chooses the averaging the mode runs with). A rate is flagged when
 *   the sweep reaches the window before 2·exp(−t/τ) fell below CDL_SETTLE_RESIDUAL (2 %),
 *   i.e. t = (half the vertex span − 0.01 V)/v < τ·ln 100 ≈ 4.6 τ.
 * - Faradaic window: a double layer gives a current that is flat in E on each branch. A
 *   least-squares line of I against E per branch within the window gives the change across it;
 *   a rate is flagged when the larger change exceeds CDL_MAX_WINDOW_SLOPE_RATIO of |I_cap|.
 *   Only settled rates are tested (an unsettled current is not flat either).
 * - Poor fit: R² below CDL_MIN_R2 (a redox couple gives I ∝ √v, bending the line).
 */
import type { CdlModeAnalysis, CdlRateResult, CdlWarning } from './analysis-types.js';
import { POINT_INTERVAL_S } from './constants.js';
import { formatPyFloat } from './csv.js';
import { averagingTimeConstantS, FIRMWARE_DEFAULT_AVERAGING } from './device-settings.js';
import { computeCdlLayout } from './plan-pot.js';
import type { CdlParams } from './types.js';

/** Half-width of the potential window around E* (V). */
export const CDL_WINDOW_V = 0.01;
/** Settling residual 2·exp(−t/τ) accepted at the window edge. */
export const CDL_SETTLE_RESIDUAL = 0.02;
/** Largest change of the current across the window, relative to |I_cap|, before "faradaic window". */
export const CDL_MAX_WINDOW_SLOPE_RATIO = 0.2;
/** Smallest through-origin R² before "poor fit". */
export const CDL_MIN_R2 = 0.99;

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
  /** WE averaging samples in force during the mode (default: the firmware default, 100). */
  averagingSamples?: number;
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

/** Least-squares slope of y against x (0 for fewer than two distinct x). */
function fitSlope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  let mx = 0, my = 0;
  for (let k = 0; k < n; k++) { mx += xs[k]!; my += ys[k]!; }
  mx /= n;
  my /= n;
  let sxy = 0, sxx = 0;
  for (let k = 0; k < n; k++) {
    const dx = xs[k]! - mx;
    sxy += dx * (ys[k]! - my);
    sxx += dx * dx;
  }
  return sxx > 0 ? sxy / sxx : 0;
}

/** One analysed cycle before the whole-fit checks. */
interface Branches { anodicE: number[]; anodicI: number[]; cathodicE: number[]; cathodicI: number[]; rates: number[] }

function collectBranches(E: Float64Array, I: Float64Array, grad: Float64Array, eStar: number): Branches {
  const sortedE = Float64Array.from(E).sort();
  const q15 = quantileSorted(sortedE, 0.15);
  const q85 = quantileSorted(sortedE, 0.85);
  const b: Branches = { anodicE: [], anodicI: [], cathodicE: [], cathodicI: [], rates: [] };
  for (let k = 0; k < E.length; k++) {
    const e = E[k]!;
    if (e >= q15 && e <= q85) b.rates.push(Math.abs(grad[k]!));
    if (Math.abs(e - eStar) > CDL_WINDOW_V) continue;
    if (grad[k]! >= 0) { b.anodicE.push(e); b.anodicI.push(I[k]!); } else { b.cathodicE.push(e); b.cathodicI.push(I[k]!); }
  }
  return b;
}

/** Caps the slope ratio (a zero I_cap would make it infinite, which JSON cannot carry). */
const MAX_RATIO = 1e6;
const fmtRate = (v: number) => `${formatPyFloat(v)} V/s`;
const fmtMs = (s: number) => `${(s * 1000).toFixed(1)} ms`;

export function analyseCdl(input: CdlAnalysisInput): CdlModeAnalysis {
  const { params } = input;
  const stride = input.rowStride ?? 1;
  const count = Math.min(input.count, input.potentialV.length, input.currentA.length);
  const eStar = (params.vertex_a + params.vertex_b) / 2;
  const averaging = Math.max(1, input.averagingSamples ?? FIRMWARE_DEFAULT_AVERAGING);
  const tau = averagingTimeConstantS(averaging);
  const settleNeeded = tau * Math.log(2 / CDL_SETTLE_RESIDUAL);
  const approach = (params.vertex_b - params.vertex_a) / 2 - CDL_WINDOW_V;
  const rates: CdlRateResult[] = [];
  const warnings: CdlWarning[] = [];
  const skip = (rate: number, message: string) => warnings.push({ code: 'rate_skipped', message, scan_rates: [rate] });

  for (const b of computeCdlLayout(params)) {
    const cycle = 2 * b.block;
    const from = b.firstIndex + b.firstCycleLength;
    const to = from + b.secondCycleSweepLength; // rest excluded (defect b)
    const rStart = Math.ceil(from / stride);
    const rEnd = Math.ceil(to / stride);
    if (rEnd > count) {
      if (rStart < count) skip(b.scanRate, `CDL cycle ${cycle} (${fmtRate(b.scanRate)}): incomplete (run stopped early); skipped.`);
      continue;
    }
    const len = rEnd - rStart;
    if (len < 3) {
      skip(b.scanRate, `CDL cycle ${cycle} (${fmtRate(b.scanRate)}): only ${len} rows; skipped.`);
      continue;
    }
    const E = new Float64Array(len);
    const I = new Float64Array(len);
    for (let k = 0; k < len; k++) {
      E[k] = input.potentialV[rStart + k]!;
      I[k] = input.currentA[rStart + k]!;
    }
    const br = collectBranches(E, I, computeGradient(E, stride * POINT_INTERVAL_S), eStar);
    if (br.anodicI.length === 0 || br.cathodicI.length === 0) {
      skip(b.scanRate, `CDL cycle ${cycle}: no ${br.anodicI.length === 0 ? 'anodic' : 'cathodic'} rows within ±${CDL_WINDOW_V} V of E* = ${eStar} V; skipped.`);
      continue;
    }
    const anodic = computeMedian(br.anodicI);
    const cathodic = computeMedian(br.cathodicI);
    const icap = (anodic - cathodic) / 2;
    const across = 2 * CDL_WINDOW_V;
    const drift = Math.max(Math.abs(fitSlope(br.anodicE, br.anodicI)), Math.abs(fitSlope(br.cathodicE, br.cathodicI))) * across;
    const settle = approach / b.scanRate;
    rates.push({
      block: b.block, cycle, requested_scan_rate_v_per_s: b.scanRate, scan_rate_v_per_s: computeMedian(br.rates),
      icap_a: icap, anodic_a: anodic, cathodic_a: cathodic,
      window_slope_ratio: Math.min(MAX_RATIO, drift / Math.max(Math.abs(icap), Number.MIN_VALUE)), settle_time_s: settle, flags: [],
    });
  }

  const maxSettled = approach > 0 ? approach / settleNeeded : 0;
  const fast = rates.filter((r) => r.settle_time_s < settleNeeded);
  if (fast.length > 0) {
    for (const r of fast) r.flags.push('scan_rate_too_fast');
    warnings.push({
      code: 'scan_rate_too_fast', scan_rates: fast.map((r) => r.requested_scan_rate_v_per_s),
      message: `CDL: scan rate(s) ${fast.map((r) => fmtRate(r.requested_scan_rate_v_per_s)).join(', ')} too fast for the device smoothing: ` +
        `the sweep reaches the window ${fmtMs(Math.min(...fast.map((r) => r.settle_time_s)))} after a vertex, under the ` +
        `${fmtMs(settleNeeded)} the current needs to settle (${averaging} averaging samples, time constant ${fmtMs(tau)}); ` +
        `their currents read low. Use rates up to ${formatPyFloat(Number(maxSettled.toPrecision(2)))} V/s for this window, or widen it.`,
    });
  }
  // The flatness test means nothing where the current has not settled: only settled rates count.
  const sloped = rates.filter((r) => !r.flags.includes('scan_rate_too_fast') && r.window_slope_ratio > CDL_MAX_WINDOW_SLOPE_RATIO);
  if (sloped.length > 0) {
    for (const r of sloped) r.flags.push('faradaic_window');
    warnings.push({
      code: 'faradaic_window', scan_rates: sloped.map((r) => r.requested_scan_rate_v_per_s),
      message: `CDL: the current is not flat across E* ± ${CDL_WINDOW_V} V = ${formatPyFloat(eStar)} V at ${sloped.map((r) => fmtRate(r.requested_scan_rate_v_per_s)).join(', ')} ` +
        `(it changes by up to ${Math.round(Math.max(...sloped.map((r) => r.window_slope_ratio)) * 100)} % of I_cap, limit ${Math.round(CDL_MAX_WINDOW_SLOPE_RATIO * 100)} %): ` +
        'the window likely crosses a redox couple (faradaic current); choose a window where the electrode is non-faradaic.',
    });
  }

  const fit = fitThroughOrigin(rates);
  if (rates.length === 1) {
    warnings.push({ code: 'too_few_rates', scan_rates: [], message: 'CDL: only one scan rate analysed; no R², the capacitance rests on a single point.' });
  } else if (fit.r2 !== null && fit.r2 < CDL_MIN_R2) {
    for (const r of rates) r.flags.push('poor_fit');
    warnings.push({
      code: 'poor_fit', scan_rates: [],
      message: `CDL: poor through-origin fit, R² = ${fit.r2.toFixed(4)} < ${CDL_MIN_R2}: I_cap is not proportional to the scan rate.`,
    });
  }
  return {
    kind: 'cdl', capacitance_f: fit.capacitanceF, r2: fit.r2, e_star_v: eStar, window_v: [eStar - CDL_WINDOW_V, eStar + CDL_WINDOW_V],
    averaging_samples: averaging, smoothing_time_constant_s: tau, max_settled_scan_rate_v_per_s: maxSettled, rates, warnings,
  };
}

/** I_cap = C_dl × v through the origin: C_dl = Σ v·I / Σ v², R² = 1 − SSE/ΣI² (≥ 2 rates). */
function fitThroughOrigin(rates: readonly CdlRateResult[]): { capacitanceF: number | null; r2: number | null } {
  if (rates.length === 0) return { capacitanceF: null, r2: null };
  let svi = 0, svv = 0, sii = 0;
  for (const r of rates) {
    svi += r.scan_rate_v_per_s * r.icap_a;
    svv += r.scan_rate_v_per_s * r.scan_rate_v_per_s;
    sii += r.icap_a * r.icap_a;
  }
  const c = svi / svv;
  if (rates.length < 2) return { capacitanceF: c, r2: null };
  let sse = 0;
  for (const r of rates) sse += (r.icap_a - c * r.scan_rate_v_per_s) ** 2;
  return { capacitanceF: c, r2: 1 - sse / sii };
}

/**
 * `<base>_cdl.csv`: the reference columns `scan_rate_V_per_s,Icap_A,n_cycles` (n_cycles is
 * always 1), then beepbox's additions, so readers that pick columns by name keep working.
 * Python float formatting, CRLF, header always present.
 */
export function encodeCdlCsv(rates: readonly CdlRateResult[]): string {
  let out = 'scan_rate_V_per_s,Icap_A,n_cycles,requested_scan_rate_V_per_s,Ianodic_A,Icathodic_A,cycle,window_slope_ratio,settle_time_s,flags\r\n';
  for (const r of rates) {
    out += [
      formatPyFloat(r.scan_rate_v_per_s), formatPyFloat(r.icap_a), 1, formatPyFloat(r.requested_scan_rate_v_per_s),
      formatPyFloat(r.anodic_a), formatPyFloat(r.cathodic_a), r.cycle, formatPyFloat(r.window_slope_ratio), formatPyFloat(r.settle_time_s),
      r.flags.join(' '),
    ].join(',') + '\r\n';
  }
  return out;
}

/** `<base>_cdl.json`: the whole analysis (fit, window, smoothing, per-rate rows, warnings), pretty-printed. */
export function encodeCdlJson(analysis: CdlModeAnalysis): string {
  return JSON.stringify({ ...analysis, window_half_width_v: CDL_WINDOW_V, thresholds: { settle_residual: CDL_SETTLE_RESIDUAL, max_window_slope_ratio: CDL_MAX_WINDOW_SLOPE_RATIO, min_r2: CDL_MIN_R2 } }, null, 2) + '\n';
}

/** Older names of the analysis shapes (re-exported by the modes index). */
export type CdlResultRow = CdlRateResult;
export type CdlAnalysis = CdlModeAnalysis;
