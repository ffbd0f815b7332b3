/**
 * A live estimate of the impedance spectrum from the streamed (decimated) points of an EIS mode.
 * The stream carries no spectrum: the daemon computes it at the mode's end from every sample and
 * writes `<base>_spectrum.csv`, which the dashboard loads then and draws instead of this estimate.
 *
 * Per frequency step (the points' `step`), only the analysed periods count (`cycle` ≥ 1; 0 =
 * settling). The period is measured from the points themselves: the analysed window spans exactly
 * `n` periods (n = the last cycle number), and a period is a whole number P ≥ 10 of the 0.36 ms
 * sample interval, so T = P × 0.36 ms with P rounded from (window span + one sample spacing) / n.
 * Then both channels get a least-squares fit a·sin ωt + b·cos ωt + c + d·t (the line removes
 * drift, as the daemon does) at their own sample times, which works on unevenly decimated points,
 * and Z = Ẽ / Ĩ with X̃ = b − j·a. Pure: no DOM, unit-tested in Node.
 */

/** The device's sample interval (s). */
export const SAMPLE_INTERVAL_S = 0.00036;
const MIN_POINTS_PER_PERIOD = 10;
/** Fewer analysed points than this in a step: no estimate for it. */
const MIN_SAMPLES = 8;

export interface ImpedancePoint {
  step: number;
  freqHz: number;
  zRe: number;
  zIm: number;
}

interface StepSamples {
  t: number[];
  e: number[];
  i: number[];
  lastCycle: number;
}

/** Solve the 4×4 system A x = b (Gaussian elimination, partial pivoting); null when singular. */
function solve4(a: number[][], b: number[]): number[] | null {
  const n = 4;
  const m = a.map((row, k) => [...row, b[k]!]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r]![col]!) > Math.abs(m[pivot]![col]!)) pivot = r;
    if (Math.abs(m[pivot]![col]!) < 1e-12) return null;
    [m[col], m[pivot]] = [m[pivot]!, m[col]!];
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = m[r]![col]! / m[col]![col]!;
      for (let c = col; c <= n; c++) m[r]![c] = m[r]![c]! - f * m[col]![c]!;
    }
  }
  return m.map((row, k) => row[n]! / row[k]!);
}

/** Phasor (re, im) of `ys` at angular frequency `w`, sampled at `ts` (s). */
export function fitPhasor(ts: readonly number[], ys: readonly number[], w: number): { re: number; im: number } | null {
  const t0 = ts[0]!;
  const ata = [0, 1, 2, 3].map(() => [0, 0, 0, 0]);
  const atb = [0, 0, 0, 0];
  for (let k = 0; k < ts.length; k++) {
    const t = ts[k]! - t0;
    const basis = [Math.sin(w * t), Math.cos(w * t), 1, t];
    for (let r = 0; r < 4; r++) {
      atb[r] = atb[r]! + basis[r]! * ys[k]!;
      for (let c = 0; c < 4; c++) ata[r]![c] = ata[r]![c]! + basis[r]! * basis[c]!;
    }
  }
  const x = solve4(ata, atb);
  if (x === null) return null;
  // a·sin + b·cos = Re{(b − j a) e^{jωt}}, referred to t0 (a common phase for both channels).
  return { re: x[1]!, im: -x[0]! };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** Period (s) of a step's analysed window of `cycles` periods sampled at `ts`. */
export function estimatePeriod(ts: readonly number[], cycles: number): number | null {
  if (ts.length < 2 || cycles < 1) return null;
  const gaps: number[] = [];
  for (let k = 1; k < ts.length; k++) gaps.push(ts[k]! - ts[k - 1]!);
  const span = ts[ts.length - 1]! - ts[0]! + median(gaps);
  const p = Math.round(span / cycles / SAMPLE_INTERVAL_S);
  return Math.max(MIN_POINTS_PER_PERIOD, p) * SAMPLE_INTERVAL_S;
}

export class EisLiveEstimator {
  private readonly steps = new Map<number, StepSamples>();
  private readonly done = new Map<number, ImpedancePoint | null>();
  private current = -1;

  /** Add streamed points (parallel arrays, as in a `points` event). */
  add(t: readonly number[], e: readonly number[], i: readonly number[], cycle: readonly number[], step: readonly number[]): void {
    for (let k = 0; k < t.length; k++) {
      const s = step[k]!;
      const c = cycle[k]!;
      if (s > this.current) this.current = s;
      if (c < 1 || this.done.has(s)) continue;
      let samples = this.steps.get(s);
      if (samples === undefined) {
        samples = { t: [], e: [], i: [], lastCycle: 0 };
        this.steps.set(s, samples);
      }
      samples.t.push(t[k]!);
      samples.e.push(e[k]!);
      samples.i.push(i[k]!);
      samples.lastCycle = Math.max(samples.lastCycle, c);
    }
  }

  /** Estimates of the finished steps (every step before the latest; all of them after `finish`). */
  estimate(finished = false): ImpedancePoint[] {
    for (const [s, samples] of this.steps) {
      if (!finished && s >= this.current) continue;
      this.done.set(s, estimateStep(s, samples));
      this.steps.delete(s);
    }
    return [...this.done.values()].filter((p): p is ImpedancePoint => p !== null).sort((a, b) => a.step - b.step);
  }
}

function estimateStep(step: number, s: StepSamples): ImpedancePoint | null {
  if (s.t.length < MIN_SAMPLES) return null;
  const period = estimatePeriod(s.t, s.lastCycle);
  if (period === null) return null;
  const w = (2 * Math.PI) / period;
  const e = fitPhasor(s.t, s.e, w);
  const i = fitPhasor(s.t, s.i, w);
  if (e === null || i === null) return null;
  const den = i.re * i.re + i.im * i.im;
  if (!(den > 0)) return null;
  return { step, freqHz: 1 / period, zRe: (e.re * i.re + e.im * i.im) / den, zIm: (e.im * i.re - e.re * i.im) / den };
}

/** Rows of a spectrum CSV (`Frequency (Hz)`, `Z_real (Ohm)`, `Z_imag (Ohm)`, ...). */
export function parseSpectrumCsv(text: string): ImpedancePoint[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = (lines.shift() ?? '').split(',').map((h) => h.trim());
  const col = (prefix: string): number => header.findIndex((h) => h.startsWith(prefix));
  const f = col('Frequency');
  const re = col('Z_real');
  const im = col('Z_imag');
  if (f < 0 || re < 0 || im < 0) return [];
  return lines
    .map((line, step) => {
      const cells = line.split(',');
      return { step, freqHz: Number(cells[f]), zRe: Number(cells[re]), zIm: Number(cells[im]) };
    })
    .filter((p) => Number.isFinite(p.freqHz) && Number.isFinite(p.zRe) && Number.isFinite(p.zIm));
}
