/**
 * Raw CSV encoding, byte-compatible with pyBEEP's DataLogger (modes.md 3) with its two
 * down-sampling defects fixed: labels come from a chunk's first row, and the final partial
 * chunk is written.
 *
 * Rows are paired with plan indices: measured row j (arrival order over the whole run) gets
 * time j × Δt and plan j's labels/applied value; rows with j ≥ N are dropped. Lines end in CRLF,
 * there is no trailing blank line, and the header is emitted together with the first data line,
 * so a run without rows yields an empty file (modes.md 3.2, kept on purpose).
 */
import { DaemonError } from '../errors.js';
import { CSV_COLUMN_HEADERS, type CsvColumn } from './catalogue.js';
import { POINT_INTERVAL_S } from './constants.js';
import { roundHalfEven } from './numeric.js';

/**
 * Python `repr(float)`: shortest round-trip digits; fixed notation for decimal exponents
 * −4 ≤ e < 16 (integral values get `.0`), else `d.ddde±XX` with at least two exponent digits;
 * `-0.0`, `nan`, `inf`, `-inf`.
 */
export function formatPyFloat(x: number): string {
  const a = x < 0 ? -x : x;
  if (a >= 1e-4 && a < 1e16) {
    // JS prints fixed notation throughout [1e-6, 1e21) with the same shortest digits.
    const s = '' + x;
    return s.indexOf('.') === -1 ? s + '.0' : s;
  }
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  if (x !== x) return 'nan';
  if (a === Infinity) return x > 0 ? 'inf' : '-inf';
  const e = x.toExponential();
  const k = e.indexOf('e');
  const exp = e.slice(k + 2);
  return e.slice(0, k + 2) + (exp.length < 2 ? '0' + exp : exp);
}

/**
 * Down-sampling factor R = Python round(sampling_interval / Δt), halves to even (0.00234 s → 6).
 * `null`/`undefined`, or an interval below Δt (0 and negatives included), gives R = 1.
 */
export function computeDownsampleFactor(samplingIntervalS: number | null | undefined, intervalS = POINT_INTERVAL_S): number {
  if (samplingIntervalS === null || samplingIntervalS === undefined) return 1;
  if (!Number.isFinite(samplingIntervalS)) throw new RangeError('sampling_interval must be a finite number or null');
  if (samplingIntervalS < intervalS) return 1;
  return Math.max(1, roundHalfEven(samplingIntervalS / intervalS));
}

/** Header line (with CRLF) for a column set. */
export function formatCsvHeader(columns: readonly CsvColumn[]): string {
  return columns.map((c) => CSV_COLUMN_HEADERS[c]).join(',') + '\r\n';
}

/** The part of a plan the encoder reads (any `ModePlan` fits). */
export interface CsvPlanView {
  n: number;
  intervalS: number;
  columns: readonly CsvColumn[];
  applied: Float32Array | null;
  cycle: Int32Array | null;
  step: Int32Array | null;
}

export interface CsvEncoderOptions {
  /** Job option `sampling_interval` (s) or null. */
  samplingIntervalS?: number | null;
  /** Sees the numbers of every data line as it is written (plan index, time, potential, current). */
  onLine?: LineObserver | null;
}

export type LineObserver = (index: number, timeS: number, potential: number, current: number) => void;

/** Measured samples as the driver decodes them (float32 widened exactly, or doubles). */
export type SampleArray = Float32Array | Float64Array;

const CANONICAL_ORDER: readonly CsvColumn[] = ['time', 'potential', 'current', 'cycle', 'step', 'exp', 'applied_potential', 'applied_current'];

const LABEL_CACHE_SIZE = 4096;
const LABEL_STRINGS: string[] = Array.from({ length: LABEL_CACHE_SIZE }, (_, k) => `${k}.0`);
function formatLabel(k: number): string {
  return k >= 0 && k < LABEL_CACHE_SIZE ? LABEL_STRINGS[k]! : formatPyFloat(k);
}

/**
 * Streaming encoder for one mode's raw CSV. Feed blocks in arrival order with
 * {@link encodeRows}; call {@link finish} once at the end. Each call returns the text to append
 * (possibly `''`). Not thread-safe; one instance per file.
 */
export class CsvEncoder {
  /** Down-sampling factor R (1 = every row). */
  readonly factor: number;
  readonly header: string;
  private readonly n: number;
  private readonly dt: number;
  private readonly applied: Float32Array | null;
  private readonly cycle: Int32Array | null;
  private readonly step: Int32Array | null;
  private readonly onLine: LineObserver | null;
  private received = 0;
  private lines = 0;
  private finished = false;
  // Down-sampling chunk state.
  private chunkFirst = -1;
  private chunkCount = 0;
  private sumPotential = 0;
  private sumCurrent = 0;
  private sumApplied = 0;
  // The applied value repeats for long runs (CA, steps); cache its text.
  private lastApplied = NaN;
  private lastAppliedText = 'nan';

  constructor(plan: CsvPlanView, options: CsvEncoderOptions = {}) {
    const cols = plan.columns;
    const order = CANONICAL_ORDER.filter((c) => cols.includes(c));
    if (order.length !== cols.length || order.some((c, i) => cols[i] !== c) || cols.slice(0, 3).join() !== 'time,potential,current' || !cols.includes('exp')) {
      throw new RangeError(`unsupported CSV column set: ${cols.join(',')}`);
    }
    const wantsApplied = cols.includes('applied_potential') || cols.includes('applied_current');
    if (wantsApplied && plan.applied === null) throw new RangeError('plan has applied column but no applied array');
    if (cols.includes('cycle') && plan.cycle === null) throw new RangeError('plan has Cycle column but no cycle labels');
    if (cols.includes('step') && plan.step === null) throw new RangeError('plan has Step column but no step labels');
    this.n = plan.n;
    this.dt = plan.intervalS;
    this.applied = wantsApplied ? plan.applied : null;
    this.cycle = cols.includes('cycle') ? plan.cycle : null;
    this.step = cols.includes('step') ? plan.step : null;
    this.header = formatCsvHeader(cols);
    this.factor = computeDownsampleFactor(options.samplingIntervalS, plan.intervalS);
    this.onLine = options.onLine ?? null;
  }

  /** Measured rows received so far (including dropped ones beyond N). */
  get rowsReceived(): number { return this.received; }
  /** Rows paired with a plan index (min(received, N)). */
  get rowsAccepted(): number { return Math.min(this.received, this.n); }
  /** Data lines produced so far (header excluded). */
  get linesWritten(): number { return this.lines; }

  private appliedText(v: number): string {
    if (v !== this.lastApplied) {
      this.lastApplied = v;
      this.lastAppliedText = formatPyFloat(v);
    }
    return this.lastAppliedText;
  }

  private formatLine(index: number, potential: number, current: number, applied: number): string {
    const time = index * this.dt;
    this.onLine?.(index, time, potential, current);
    let s = formatPyFloat(time) + ',' + formatPyFloat(potential) + ',' + formatPyFloat(current);
    if (this.cycle !== null) s += ',' + formatLabel(this.cycle[index]!);
    if (this.step !== null) s += ',' + formatLabel(this.step[index]!);
    s += ',1.0';
    if (this.applied !== null) s += ',' + this.appliedText(applied);
    return s + '\r\n';
  }

  private flushChunk(): string {
    if (this.chunkCount === 0) return '';
    const c = this.chunkCount;
    const line = this.formatLine(this.chunkFirst, this.sumPotential / c, this.sumCurrent / c, this.sumApplied / c);
    this.chunkCount = 0;
    this.sumPotential = this.sumCurrent = this.sumApplied = 0;
    return this.withHeader(line, 1);
  }

  private withHeader(text: string, lineCount: number): string {
    if (lineCount === 0) return '';
    const first = this.lines === 0;
    this.lines += lineCount;
    return first ? this.header + text : text;
  }

  /**
   * Encode `count` measured rows for plan indices [firstIndex, firstIndex + count).
   * `current[i]`/`potential[i]` are measured pair elements 0 and 1. Blocks arrive in plan
   * order; a block may start past the previous one's end (points reported lost by the
   * driver, or sparse galvanostatic polling): those plan indices simply have no row. A
   * block that goes backwards is a duplicate and is refused. Rows at or beyond N are dropped.
   *
   * Down-sampling groups rows by plan-index window [kR, (k+1)R): for gap-free data from
   * index 0 that is exactly "consecutive rows in chunks of R" (modes.md 3.4), and with
   * gaps a chunk never mixes rows from different windows. Time is the first row's.
   */
  encodeRows(firstIndex: number, current: SampleArray, potential: SampleArray, count: number): string {
    if (this.finished) throw new DaemonError('INTERNAL', 'CsvEncoder.encodeRows after finish()');
    if (firstIndex < this.received) {
      throw new DaemonError('DATA_INTEGRITY', `CSV rows out of order: row ${firstIndex} arrived after row ${this.received - 1}`);
    }
    if (count > current.length || count > potential.length) throw new RangeError('count exceeds the sample arrays');
    this.received = firstIndex + count;
    const end = Math.min(firstIndex + count, this.n);
    if (end <= firstIndex) return '';
    const applied = this.applied;
    if (this.factor === 1) {
      let out = '';
      for (let j = firstIndex, i = 0; j < end; j++, i++) {
        out += this.formatLine(j, potential[i]!, current[i]!, applied === null ? 0 : applied[j]!);
      }
      return this.withHeader(out, end - firstIndex);
    }
    let out = '';
    const R = this.factor;
    for (let j = firstIndex, i = 0; j < end; j++, i++) {
      if (this.chunkCount > 0 && Math.floor(j / R) !== Math.floor(this.chunkFirst / R)) out += this.flushChunk();
      if (this.chunkCount === 0) this.chunkFirst = j;
      this.sumPotential += potential[i]!;
      this.sumCurrent += current[i]!;
      if (applied !== null) this.sumApplied += applied[j]!;
      this.chunkCount++;
      if ((j + 1) % R === 0) out += this.flushChunk();
    }
    // The plan is complete: its last partial chunk can go out now.
    if (end === this.n) out += this.flushChunk();
    return out;
  }

  /** Flush the final partial chunk. Returns '' when nothing is pending (and for a run with no rows). */
  finish(): string {
    if (this.finished) return '';
    this.finished = true;
    return this.flushChunk();
  }
}
