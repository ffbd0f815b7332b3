import type { CsvColumnBlock, CsvColumnSpec } from './csv-columns.js';
import { EnvelopeReducer, type XYSeries } from './decimate.js';
import type { PlotKind } from './types.js';

/** Exact CSV headers (modes.md 3.1 and 7.6). */
export const COLUMN = {
  time: 'Time (s)',
  potential: 'Potential (V)',
  current: 'Current (A)',
  cycle: 'Cycle',
  frequency: 'Frequency (Hz)',
  zReal: 'Z_real (Ohm)',
  zImag: 'Z_imag (Ohm)',
  zMod: '|Z| (Ohm)',
  phase: 'Phase (deg)',
  lowQuality: 'Low quality',
} as const;

/** One line of a cycles plot. `cycle` is null when the CSV has no Cycle column. */
export interface CycleSeries {
  cycle: number | null;
  data: XYSeries;
}

/** The CDL fit drawn on the current-vs-scan-rate plot (from the mode's analysis). */
export interface CdlFitPlotData {
  /** Measured scan rate (V/s) and capacitive current (A) per analysed rate. */
  scanRates: number[];
  icap: number[];
  /** Rates with a warning flag, drawn in another colour. */
  flagged: boolean[];
  capacitanceF: number | null;
  r2: number | null;
}

export type PlotData =
  | { kind: 'cv-cycles' | 'gcv'; rows: number; series: CycleSeries[]; skippedCycles: number }
  /** CDL: the analysed cycles (second cycle of each block) and the fit; `fit` is null when drawn from a CSV alone. */
  | { kind: 'cdl'; rows: number; series: CycleSeries[]; skippedCycles: number; fit: CdlFitPlotData | null }
  | { kind: 'iv'; rows: number; series: XYSeries }
  | { kind: 'time-series'; rows: number; current: XYSeries; potential: XYSeries }
  /** `lowQuality`: 1 for a point flagged low_quality, 0 for ok (all 0 when the spectrum has no such column). */
  | { kind: 'eis'; rows: number; frequency: Float64Array; zReal: Float64Array; zImag: Float64Array; zMod: Float64Array; phase: Float64Array; lowQuality?: Float64Array };

export interface PlotDataCollector {
  /** Columns to ask the CSV parser for. */
  readonly columns: readonly CsvColumnSpec[];
  onBlock(block: CsvColumnBlock): void;
  finish(rows: number): PlotData;
}

export interface CollectorOptions {
  /** Draw only the first n distinct Cycle values (in order of first appearance). */
  maxCycles?: number | null;
  /** Chunks kept per series by the streaming reducer (see `EnvelopeReducer`). */
  reducerCapacity?: number;
}

/** Hard cap on lines in one cycles plot; the legend would be unreadable beyond it. */
export const MAX_CYCLE_SERIES = 60;

/**
 * Routes parsed CSV blocks into per-series envelope reducers for one plot kind. Memory is
 * bounded by the reducers, not by the CSV length. EIS spectra are small and kept whole.
 */
export function createPlotDataCollector(kind: PlotKind, options: CollectorOptions = {}): PlotDataCollector {
  const capacity = options.reducerCapacity ?? 8192;
  switch (kind) {
    case 'cv-cycles':
    case 'gcv':
      return createCycleCollector(kind, capacity, options.maxCycles ?? null);
    case 'cdl': {
      // From a CSV alone every cycle is drawn and there is no fit (the daemon passes the recorder's data).
      const cycles = createCycleCollector('cv-cycles', capacity, options.maxCycles ?? null);
      return {
        columns: cycles.columns,
        onBlock: (block) => cycles.onBlock(block),
        finish(rows) {
          const data = cycles.finish(rows) as Extract<PlotData, { kind: 'cv-cycles' | 'gcv' }>;
          return { kind, rows: data.rows, series: data.series, skippedCycles: data.skippedCycles, fit: null };
        },
      };
    }
    case 'iv': {
      const r = new EnvelopeReducer(capacity);
      return {
        columns: [
          { name: COLUMN.potential, required: true },
          { name: COLUMN.current, required: true },
        ],
        onBlock(block) {
          r.addMany(block.columns[0]!, block.columns[1]!, 0, block.rows);
        },
        finish: (rows) => ({ kind, rows, series: r.finish() }),
      };
    }
    case 'time-series': {
      const ri = new EnvelopeReducer(capacity);
      const re = new EnvelopeReducer(capacity);
      return {
        columns: [
          { name: COLUMN.time, required: true },
          { name: COLUMN.current, required: true },
          { name: COLUMN.potential, required: true },
        ],
        onBlock(block) {
          const t = block.columns[0]!;
          ri.addMany(t, block.columns[1]!, 0, block.rows);
          re.addMany(t, block.columns[2]!, 0, block.rows);
        },
        finish: (rows) => ({ kind, rows, current: ri.finish(), potential: re.finish() }),
      };
    }
    case 'eis':
      return createEisCollector();
  }
}

function createCycleCollector(kind: 'cv-cycles' | 'gcv', capacity: number, maxCycles: number | null): PlotDataCollector {
  const limit = Math.min(MAX_CYCLE_SERIES, maxCycles != null && maxCycles >= 1 ? Math.floor(maxCycles) : MAX_CYCLE_SERIES);
  const reducers = new Map<number, EnvelopeReducer | null>();
  const order: number[] = [];
  let skipped = 0;
  let hasCycle = true;
  // cv-cycles: current vs potential; gcv: potential vs time.
  const columns: CsvColumnSpec[] =
    kind === 'cv-cycles'
      ? [
          { name: COLUMN.potential, required: true },
          { name: COLUMN.current, required: true },
          { name: COLUMN.cycle, required: false },
        ]
      : [
          { name: COLUMN.time, required: true },
          { name: COLUMN.potential, required: true },
          { name: COLUMN.cycle, required: false },
        ];

  function reducerFor(cycle: number): EnvelopeReducer | null {
    const found = reducers.get(cycle);
    if (found !== undefined) return found;
    let r: EnvelopeReducer | null = null;
    if (order.length < limit) {
      r = new EnvelopeReducer(capacity);
      order.push(cycle);
    } else {
      skipped++;
    }
    reducers.set(cycle, r);
    return r;
  }

  return {
    columns,
    onBlock(block) {
      const xs = block.columns[0]!;
      const ys = block.columns[1]!;
      const cs = block.columns[2];
      if (!cs) {
        hasCycle = false;
        const r = reducerFor(NaN);
        if (r) r.addMany(xs, ys, 0, block.rows);
        return;
      }
      let lastCycle = NaN;
      let lastReducer: EnvelopeReducer | null = null;
      let haveLast = false;
      for (let i = 0; i < block.rows; i++) {
        const c = cs[i]!;
        if (!haveLast || (c !== lastCycle && !(c !== c && lastCycle !== lastCycle))) {
          lastReducer = reducerFor(c);
          lastCycle = c;
          haveLast = true;
        }
        if (lastReducer !== null) lastReducer.add(xs[i]!, ys[i]!);
      }
    },
    finish(rows) {
      const series: CycleSeries[] = [];
      for (const c of order) {
        const r = reducers.get(c);
        if (!r || r.count === 0) continue;
        series.push({ cycle: hasCycle && Number.isFinite(c) ? c : null, data: r.finish() });
      }
      return { kind, rows, series, skippedCycles: skipped };
    },
  };
}

class GrowableColumn {
  data = new Float64Array(256);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  toArray(): Float64Array {
    return this.data.slice(0, this.length);
  }
}

function createEisCollector(): PlotDataCollector {
  const cols = [new GrowableColumn(), new GrowableColumn(), new GrowableColumn(), new GrowableColumn(), new GrowableColumn(), new GrowableColumn()];
  return {
    columns: [
      { name: COLUMN.frequency, required: true },
      { name: COLUMN.zReal, required: true },
      { name: COLUMN.zImag, required: true },
      { name: COLUMN.zMod, required: false },
      { name: COLUMN.phase, required: false },
      { name: COLUMN.lowQuality, required: false },
    ],
    onBlock(block) {
      const [f, zr, zi, zm, ph, lq] = block.columns;
      for (let i = 0; i < block.rows; i++) {
        const re = zr![i]!;
        const im = zi![i]!;
        cols[0]!.push(f![i]!);
        cols[1]!.push(re);
        cols[2]!.push(im);
        // |Z| and phase can be derived when a writer left them out.
        cols[3]!.push(zm ? zm[i]! : Math.hypot(re, im));
        cols[4]!.push(ph ? ph[i]! : (Math.atan2(im, re) * 180) / Math.PI);
        cols[5]!.push(lq && lq[i] === 1 ? 1 : 0);
      }
    },
    finish: (rows) => ({
      kind: 'eis',
      rows,
      frequency: cols[0]!.toArray(),
      zReal: cols[1]!.toArray(),
      zImag: cols[2]!.toArray(),
      zMod: cols[3]!.toArray(),
      phase: cols[4]!.toArray(),
      lowQuality: cols[5]!.toArray(),
    }),
  };
}
