/**
 * EIS analysis (modes.md 7.5, 7.6): a single-bin DFT (digital lock-in) per frequency block over
 * the analysed whole periods, using the measured potential and current at full rate, after a
 * least-squares line (drift) is removed from each channel (eis-fit.ts); each point gets quality
 * figures and a flag (eis-quality.ts). The frequency axis uses the device's measured sample
 * period when the caller has one.
 *
 * The analyser is streaming: feed it the same blocks as the CSV encoder (plan-aligned rows in
 * arrival order); memory is O(frequencies + largest P), independent of the run length.
 */
import { DaemonError } from '../errors.js';
import { POINT_INTERVAL_S } from './constants.js';
import { formatPyFloat, type SampleArray } from './csv.js';
import { emptyChannelSums, fitChannel, type ChannelSums } from './eis-fit.js';
import { assessEisPoint } from './eis-quality.js';
import { clampEisFrequency } from './plan-eis.js';
import type { EisModeAnalysis } from './analysis-types.js';
import type { EisBlock } from './plan-types.js';

export interface EisSpectrumRow {
  /** 0-based frequency index (Step label). */
  index: number;
  /** Applied frequency 1/(P Δt) with the sample period used (the `Frequency (Hz)` column). */
  frequencyHz: number;
  /** What the user asked for: the list's frequency, or for a clamped end the value before clamping. */
  requestedFreqHz: number;
  pointsPerPeriod: number;
  /** Whole analysed periods received (cycles_per_freq for a complete block). */
  cyclesUsed: number;
  zRealOhm: number;
  zImagOhm: number;
  zAbsOhm: number;
  /** atan2(Im Z, Re Z) in degrees; negative for capacitive behaviour. */
  phaseDeg: number;
  /** 2|Ẽ|/M after drift removal, V. */
  eAmpV: number;
  /** 2|Ĩ|/M after drift removal, A. */
  iAmpA: number;
  /** Quality figures (see eis-quality.ts); NaN when the impedance was not computed. */
  driftRel: number;
  harmonicsRel: number;
  residualRel: number;
  uncertaintyRel: number;
  /** `ok` or `low_quality: <reasons>`. */
  quality: string;
}

export interface EisAnalysis {
  /** One row per frequency that received at least one row, in measurement order. */
  rows: EisSpectrumRow[];
  /** Human-readable notes about incomplete or unusable blocks. */
  warnings: string[];
  /** Sample period the frequency axis used (s). */
  sampleIntervalS: number;
  /** Whether that period was measured on the device (else the nominal 0.36 ms). */
  sampleIntervalSource: 'measured' | 'nominal';
}

interface BlockSums {
  e: ChannelSums;
  i: ChannelSums;
  /** First analysed value of each channel: sums are taken about it, so Σx² keeps its precision at a large DC level. */
  eRef: number;
  iRef: number;
  /** Analysed rows accumulated. */
  analysed: number;
  /** Any row of the block (settling included) received. */
  touched: boolean;
}

/** Minimal plan view: the EIS block layout. */
export interface EisPlanView {
  n: number;
  eisBlocks: readonly EisBlock[] | null;
}

export interface EisAnalyserOptions {
  /** Sine amplitude applied (V): a measured potential amplitude far below it flags the point. */
  amplitudeV?: number;
  /** start_freq and end_freq as requested, before clamping: the `Requested frequency` of the end blocks. */
  requested?: { startHz: number; endHz: number };
}

export interface EisFinishOptions {
  /** The device's measured sample period (s); null or absent = nominal Δt. */
  measuredIntervalS?: number | null;
}

/**
 * A measured period is used only near the nominal one: the device's timer is crystal-driven, so a
 * value off by more than this says the measurement of the period failed, not that the timer did.
 */
export const EIS_MEASURED_INTERVAL_TOLERANCE = 0.05;

const HARMONICS = 3;

export class EisAnalyser {
  private readonly blocks: readonly EisBlock[];
  private readonly sums: BlockSums[];
  private readonly n: number;
  private received = 0;
  private cursor = 0;
  private tableP = 0;
  private cosTable = new Float64Array(0);
  private sinTable = new Float64Array(0);

  constructor(plan: EisPlanView, private readonly options: EisAnalyserOptions = {}) {
    if (plan.eisBlocks === null) throw new RangeError('EisAnalyser needs an EIS plan');
    this.blocks = plan.eisBlocks;
    this.n = plan.n;
    this.sums = this.blocks.map(() => ({ e: emptyChannelSums(), i: emptyChannelSums(), eRef: 0, iRef: 0, analysed: 0, touched: false }));
  }

  private ensureTable(P: number): void {
    if (this.tableP === P) return;
    this.tableP = P;
    this.cosTable = new Float64Array(P);
    this.sinTable = new Float64Array(P);
    for (let m = 0; m < P; m++) {
      const theta = (2 * Math.PI * m) / P;
      this.cosTable[m] = Math.cos(theta);
      this.sinTable[m] = Math.sin(theta);
    }
  }

  /** Accumulate plan-aligned rows; `firstIndex` must continue where the previous call ended. */
  push(firstIndex: number, current: SampleArray, potential: SampleArray, count: number): void {
    if (firstIndex !== this.received) {
      throw new DaemonError('DATA_INTEGRITY', `EIS rows out of order: expected row ${this.received}, got ${firstIndex}`);
    }
    this.received += count;
    const end = Math.min(firstIndex + count, this.n);
    let j = firstIndex;
    while (j < end) {
      while (this.cursor < this.blocks.length && j >= this.blocks[this.cursor]!.firstIndex + this.blocks[this.cursor]!.length) this.cursor++;
      const b = this.blocks[this.cursor];
      if (b === undefined) return;
      const s = this.sums[this.cursor]!;
      s.touched = true;
      const blockEnd = Math.min(end, b.firstIndex + b.length);
      if (j < b.analysedFirstIndex) j = Math.min(b.analysedFirstIndex, blockEnd);
      if (j >= blockEnd) continue;
      this.ensureTable(b.pointsPerPeriod);
      if (s.analysed === 0) {
        s.eRef = potential[j - firstIndex]!;
        s.iRef = current[j - firstIndex]!;
      }
      this.accumulate(s, b, j, blockEnd, firstIndex, current, potential);
      j = blockEnd;
    }
  }

  /** Adds rows [from, to) of one block (plan indices; the arrays start at `offset`). */
  private accumulate(s: BlockSums, b: EisBlock, from: number, to: number, offset: number, current: SampleArray, potential: SampleArray): void {
    const P = b.pointsPerPeriod;
    const cosT = this.cosTable;
    const sinT = this.sinTable;
    const e = s.e;
    const c = s.i;
    let m = from - b.analysedFirstIndex;
    for (let j = from; j < to; j++, m++) {
      const x = potential[j - offset]! - s.eRef;
      const y = current[j - offset]! - s.iRef;
      e.s0 += x; e.s1 += m * x; e.s2 += x * x;
      c.s0 += y; c.s1 += m * y; c.s2 += y * y;
      for (let h = 1; h <= HARMONICS; h++) {
        const k = (h * m) % P;
        const cs = cosT[k]!;
        const sn = sinT[k]!;
        const r = h - 1;
        e.re[r] = e.re[r]! + x * cs; e.im[r] = e.im[r]! - x * sn;
        c.re[r] = c.re[r]! + y * cs; c.im[r] = c.im[r]! - y * sn;
      }
    }
    s.analysed += to - from;
  }

  /** Impedance and quality per frequency reached so far. Safe to call more than once. */
  finish(options: EisFinishOptions = {}): EisAnalysis {
    const { intervalS, source } = chooseSampleInterval(options.measuredIntervalS ?? null);
    const rows: EisSpectrumRow[] = [];
    const warnings: string[] = [];
    const measured = options.measuredIntervalS;
    if (source === 'nominal' && measured !== null && measured !== undefined) {
      warnings.push(`EIS: the measured sample period ${(measured * 1e6).toFixed(2)} µs is more than ${EIS_MEASURED_INTERVAL_TOLERANCE * 100} % from the nominal ${(POINT_INTERVAL_S * 1e6).toFixed(0)} µs; frequencies use the nominal period.`);
    }
    let unreached = 0;
    this.blocks.forEach((b, k) => {
      const s = this.sums[k]!;
      if (!s.touched) { unreached++; return; }
      const P = b.pointsPerPeriod;
      const M = b.analysedCycles * P;
      const row: EisSpectrumRow = {
        index: b.index, frequencyHz: 1 / (P * intervalS), requestedFreqHz: this.requestedFrequency(b), pointsPerPeriod: P,
        cyclesUsed: Math.floor(s.analysed / P), zRealOhm: NaN, zImagOhm: NaN, zAbsOhm: NaN, phaseDeg: NaN, eAmpV: NaN, iAmpA: NaN,
        driftRel: NaN, harmonicsRel: NaN, residualRel: NaN, uncertaintyRel: NaN, quality: 'low_quality: not measured',
      };
      rows.push(row);
      const label = `EIS frequency ${b.index} (${row.frequencyHz.toFixed(4)} Hz)`;
      if (s.analysed < M) {
        warnings.push(`${label}: only ${s.analysed} of ${M} analysed rows; impedance not computed.`);
        row.quality = 'low_quality: incomplete block';
        return;
      }
      const e = fitChannel(s.e, M, P);
      const i = fitChannel(s.i, M, P);
      row.eAmpV = e.amplitude;
      row.iAmpA = i.amplitude;
      if (!(row.iAmpA > 0) || !Number.isFinite(row.iAmpA) || !Number.isFinite(row.eAmpV)) {
        warnings.push(`${label}: current amplitude is ${row.iAmpA}; impedance not computed.`);
        row.quality = 'low_quality: no current signal';
        return;
      }
      // Z = Ẽ / Ĩ
      const den = i.re * i.re + i.im * i.im;
      row.zRealOhm = (e.re * i.re + e.im * i.im) / den;
      row.zImagOhm = (e.im * i.re - e.re * i.im) / den;
      row.zAbsOhm = Math.hypot(row.zRealOhm, row.zImagOhm);
      row.phaseDeg = (Math.atan2(row.zImagOhm, row.zRealOhm) * 180) / Math.PI;
      const q = assessEisPoint(e, i, this.options.amplitudeV ?? null);
      row.driftRel = q.driftRel;
      row.harmonicsRel = q.harmonicsRel;
      row.residualRel = q.residualRel;
      row.uncertaintyRel = q.uncertaintyRel;
      row.quality = q.flag;
    });
    if (unreached > 0) warnings.push(`${unreached} EIS frequencies were not reached.`);
    const flagged = rows.filter((r) => r.quality !== 'ok').length;
    if (flagged > 0) warnings.push(`EIS: ${flagged} of ${rows.length} spectrum points are flagged low_quality (see the Quality column).`);
    return { rows, warnings, sampleIntervalS: intervalS, sampleIntervalSource: source };
  }

  /** A block at a clamped end reports the value the user asked for (e.g. 1000 Hz, applied at 277.78 Hz). */
  private requestedFrequency(b: EisBlock): number {
    const asked = this.options.requested;
    if (asked === undefined) return b.requestedFreqHz;
    if (b.index === 0 && clampEisFrequency(asked.startHz) !== asked.startHz) return asked.startHz;
    if (b.index === this.blocks.length - 1 && clampEisFrequency(asked.endHz) !== asked.endHz) return asked.endHz;
    return b.requestedFreqHz;
  }
}

/** The sample period for the frequency axis: the measured one when plausible, else the nominal Δt. */
export function chooseSampleInterval(measuredS: number | null): { intervalS: number; source: 'measured' | 'nominal' } {
  if (measuredS !== null && Number.isFinite(measuredS) && Math.abs(measuredS / POINT_INTERVAL_S - 1) <= EIS_MEASURED_INTERVAL_TOLERANCE) {
    return { intervalS: measuredS, source: 'measured' };
  }
  return { intervalS: POINT_INTERVAL_S, source: 'nominal' };
}

/** One-shot analysis of plan-aligned full-rate rows 0 … count−1. */
export function analyseEis(
  plan: EisPlanView, current: SampleArray, potential: SampleArray, count: number, options: EisAnalyserOptions & EisFinishOptions = {},
): EisAnalysis {
  const a = new EisAnalyser(plan, options);
  a.push(0, current, potential, count);
  return a.finish(options);
}

export const EIS_SPECTRUM_HEADERS = [
  'Frequency (Hz)', 'Z_real (Ohm)', 'Z_imag (Ohm)', '|Z| (Ohm)', 'Phase (deg)', 'Points per period', 'Cycles used',
  'Requested frequency (Hz)', 'E_amp (V)', 'I_amp (A)',
  'Drift (rel)', 'Harmonics (rel)', 'Residual (rel)', 'Uncertainty (rel)', 'Low quality', 'Quality',
] as const;

/**
 * `<base>_spectrum.csv` (modes.md 7.6): Python float formatting, CRLF, P and cycles as plain
 * integers, then the quality columns: the figures, `Low quality` as 0/1 (for filters and plots)
 * and `Quality` as `ok` or `low_quality: <reasons>` (reasons never contain a comma). Always has
 * the header line (also with no rows).
 */
export function encodeEisSpectrumCsv(rows: readonly EisSpectrumRow[]): string {
  let out = EIS_SPECTRUM_HEADERS.join(',') + '\r\n';
  for (const r of rows) {
    out += [
      formatPyFloat(r.frequencyHz), formatPyFloat(r.zRealOhm), formatPyFloat(r.zImagOhm), formatPyFloat(r.zAbsOhm),
      formatPyFloat(r.phaseDeg), String(r.pointsPerPeriod), String(r.cyclesUsed), formatPyFloat(r.requestedFreqHz),
      formatPyFloat(r.eAmpV), formatPyFloat(r.iAmpA), formatPyFloat(r.driftRel), formatPyFloat(r.harmonicsRel),
      formatPyFloat(r.residualRel), formatPyFloat(r.uncertaintyRel), r.quality === 'ok' ? '0' : '1', r.quality.replaceAll(',', ';'),
    ].join(',') + '\r\n';
  }
  return out;
}

/** The spectrum's summary for the job record and `GET /jobs/{id}`. */
export function summariseEisAnalysis(analysis: EisAnalysis): EisModeAnalysis {
  const freqs = analysis.rows.map((r) => r.frequencyHz);
  const uncertainties = analysis.rows.map((r) => r.uncertaintyRel).filter((u) => Number.isFinite(u));
  return {
    kind: 'eis',
    points: analysis.rows.length,
    flagged: analysis.rows.filter((r) => r.quality !== 'ok').length,
    frequency_range_hz: freqs.length === 0 ? null : [Math.min(...freqs), Math.max(...freqs)],
    sample_period_us: analysis.sampleIntervalS * 1e6,
    sample_period_source: analysis.sampleIntervalSource,
    max_uncertainty_rel: uncertainties.length === 0 ? null : Math.max(...uncertainties),
  };
}
