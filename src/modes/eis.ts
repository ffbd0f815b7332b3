/**
 * EIS analysis (modes.md 7.5, 7.6): a single-bin DFT (digital lock-in) per frequency block over
 * the analysed whole periods, using the measured potential and current at full rate.
 *
 * The analyser is streaming: feed it the same blocks as the CSV encoder (plan-aligned rows in
 * arrival order); memory is O(frequencies + largest P), independent of the run length.
 */
import { DaemonError } from '../errors.js';
import { formatPyFloat, type SampleArray } from './csv.js';
import type { EisBlock } from './plan-types.js';

export interface EisSpectrumRow {
  /** 0-based frequency index (Step label). */
  index: number;
  /** Applied frequency 1/(P Δt), Hz (the `Frequency (Hz)` column). */
  frequencyHz: number;
  requestedFreqHz: number;
  pointsPerPeriod: number;
  /** Whole analysed periods received (cycles_per_freq for a complete block). */
  cyclesUsed: number;
  zRealOhm: number;
  zImagOhm: number;
  zAbsOhm: number;
  /** atan2(Im Z, Re Z) in degrees; negative for capacitive behaviour. */
  phaseDeg: number;
  /** 2|Ẽ|/M, V. */
  eAmpV: number;
  /** 2|Ĩ|/M, A. */
  iAmpA: number;
}

export interface EisAnalysis {
  /** One row per frequency that received at least one row, in measurement order. */
  rows: EisSpectrumRow[];
  /** Human-readable notes about incomplete or unusable blocks. */
  warnings: string[];
}

interface BlockSums {
  eRe: number; eIm: number; iRe: number; iIm: number;
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

export class EisAnalyser {
  private readonly blocks: readonly EisBlock[];
  private readonly sums: BlockSums[];
  private readonly n: number;
  private received = 0;
  private cursor = 0;
  private tableP = 0;
  private cosTable = new Float64Array(0);
  private sinTable = new Float64Array(0);

  constructor(plan: EisPlanView) {
    if (plan.eisBlocks === null) throw new RangeError('EisAnalyser needs an EIS plan');
    this.blocks = plan.eisBlocks;
    this.n = plan.n;
    this.sums = this.blocks.map(() => ({ eRe: 0, eIm: 0, iRe: 0, iIm: 0, analysed: 0, touched: false }));
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
      const P = b.pointsPerPeriod;
      this.ensureTable(P);
      const cosT = this.cosTable;
      const sinT = this.sinTable;
      let { eRe, eIm, iRe, iIm } = s;
      let m = (j - b.analysedFirstIndex) % P;
      for (; j < blockEnd; j++) {
        const i = j - firstIndex;
        const e = potential[i]!;
        const c = current[i]!;
        const cs = cosT[m]!;
        const sn = sinT[m]!;
        eRe += e * cs;
        eIm -= e * sn;
        iRe += c * cs;
        iIm -= c * sn;
        s.analysed++;
        if (++m === P) m = 0;
      }
      s.eRe = eRe; s.eIm = eIm; s.iRe = iRe; s.iIm = iIm;
    }
  }

  /** Impedance per frequency reached so far. Safe to call more than once. */
  finish(): EisAnalysis {
    const rows: EisSpectrumRow[] = [];
    const warnings: string[] = [];
    let unreached = 0;
    this.blocks.forEach((b, k) => {
      const s = this.sums[k]!;
      if (!s.touched) { unreached++; return; }
      const P = b.pointsPerPeriod;
      const M = b.analysedCycles * P;
      const row: EisSpectrumRow = {
        index: b.index, frequencyHz: b.actualFreqHz, requestedFreqHz: b.requestedFreqHz, pointsPerPeriod: P,
        cyclesUsed: Math.floor(s.analysed / P), zRealOhm: NaN, zImagOhm: NaN, zAbsOhm: NaN, phaseDeg: NaN, eAmpV: NaN, iAmpA: NaN,
      };
      rows.push(row);
      const label = `EIS frequency ${b.index} (${b.actualFreqHz.toFixed(4)} Hz)`;
      if (s.analysed < M) {
        warnings.push(`${label}: only ${s.analysed} of ${M} analysed rows; impedance not computed.`);
        return;
      }
      row.eAmpV = (2 * Math.hypot(s.eRe, s.eIm)) / M;
      row.iAmpA = (2 * Math.hypot(s.iRe, s.iIm)) / M;
      if (!(row.iAmpA > 0) || !Number.isFinite(row.iAmpA) || !Number.isFinite(row.eAmpV)) {
        warnings.push(`${label}: current amplitude is ${row.iAmpA}; impedance not computed.`);
        return;
      }
      // Z = Ẽ / Ĩ
      const den = s.iRe * s.iRe + s.iIm * s.iIm;
      row.zRealOhm = (s.eRe * s.iRe + s.eIm * s.iIm) / den;
      row.zImagOhm = (s.eIm * s.iRe - s.eRe * s.iIm) / den;
      row.zAbsOhm = Math.hypot(row.zRealOhm, row.zImagOhm);
      row.phaseDeg = (Math.atan2(row.zImagOhm, row.zRealOhm) * 180) / Math.PI;
    });
    if (unreached > 0) warnings.push(`${unreached} EIS frequencies were not reached.`);
    return { rows, warnings };
  }
}

/** One-shot analysis of plan-aligned full-rate rows 0 … count−1. */
export function analyseEis(plan: EisPlanView, current: SampleArray, potential: SampleArray, count: number): EisAnalysis {
  const a = new EisAnalyser(plan);
  a.push(0, current, potential, count);
  return a.finish();
}

export const EIS_SPECTRUM_HEADERS = [
  'Frequency (Hz)', 'Z_real (Ohm)', 'Z_imag (Ohm)', '|Z| (Ohm)', 'Phase (deg)', 'Points per period', 'Cycles used',
  'Requested frequency (Hz)', 'E_amp (V)', 'I_amp (A)',
] as const;

/**
 * `<base>_spectrum.csv` (modes.md 7.6): Python float formatting, CRLF, P and cycles as plain
 * integers. Always has the header line (also with no rows).
 */
export function encodeEisSpectrumCsv(rows: readonly EisSpectrumRow[]): string {
  let out = EIS_SPECTRUM_HEADERS.join(',') + '\r\n';
  for (const r of rows) {
    out += [
      formatPyFloat(r.frequencyHz), formatPyFloat(r.zRealOhm), formatPyFloat(r.zImagOhm), formatPyFloat(r.zAbsOhm),
      formatPyFloat(r.phaseDeg), String(r.pointsPerPeriod), String(r.cyclesUsed), formatPyFloat(r.requestedFreqHz),
      formatPyFloat(r.eAmpV), formatPyFloat(r.iAmpA),
    ].join(',') + '\r\n';
  }
  return out;
}
