import type { CdlFitPlotData, CycleSeries, PlotData } from './collect-plot-data.js';
import { EnvelopeReducer, computeBounds, decimateByPixelColumn, type Bounds, type XYSeries } from './decimate.js';
import { CURRENT_COLOR, POTENTIAL_COLOR, TAB10, type AxisScaleSpec, type ChartSpec, type PageSpec, type SeriesSpec } from './page-spec.js';
import { FIGURE_10X6, FIGURE_8X6, describePlotHeading } from './plot-kind.js';

export interface PageSpecOptions {
  /** Experiment · slot · mode line under the heading. */
  title: string;
  mode: string | null;
}

/** Matplotlib's default 5 % data margin. */
const MARGIN = 0.05;
const LINE_WIDTH = 1.5;
const Y_AXIS_PX = 64;

/** Linear axis range with a 5 % margin; a flat line gets a symmetric band around it. */
export function padRange(min: number, max: number, margin = MARGIN): AxisScaleSpec {
  if (!(Number.isFinite(min) && Number.isFinite(max))) return { min: 0, max: 1, log: false };
  if (max > min) {
    const pad = (max - min) * margin;
    return { min: min - pad, max: max + pad, log: false };
  }
  const pad = Math.abs(min) * 0.05 || 1;
  return { min: min - pad, max: max + pad, log: false };
}

/** Log axis range (positive values only) with the same relative margin in decades. */
export function padLogRange(min: number, max: number, margin = MARGIN): AxisScaleSpec {
  if (!(min > 0 && max > 0 && Number.isFinite(min) && Number.isFinite(max))) return { min: 0.1, max: 10, log: true };
  const l0 = Math.log10(min);
  const l1 = Math.log10(max);
  const pad = l1 > l0 ? (l1 - l0) * margin : 0.5;
  return { min: 10 ** (l0 - pad), max: 10 ** (l1 + pad), log: true };
}

/** "Cycle 1" for a label stored as `1.0`; fractional labels (down-sampled files) keep their digits. */
export function formatCycleLabel(cycle: number | null): string {
  if (cycle === null) return 'All rows';
  return `Cycle ${Number.isInteger(cycle) ? cycle.toFixed(0) : String(cycle)}`;
}

function toSeries(data: XYSeries, label: string, color: string, markers = false): SeriesSpec {
  return { label, color, xs: Array.from(data.xs), ys: Array.from(data.ys), width: LINE_WIDTH, markers };
}

/** Upper bound on points sent to the page for one chart (all its series together). */
export const MAX_POINTS_PER_CHART = 240_000;

/**
 * Per-pixel-column envelope (stage 2), then a hard cap: a series whose x is so noisy that runs
 * stay short is reduced further by index-chunk envelopes until the chart fits the budget.
 * Never triggers for ordinary data (a CV keeps ~6 points per column per sweep).
 */
function decimateAll(series: readonly XYSeries[], bounds: Bounds, columns: number): XYSeries[] {
  const budget = Math.max(12_000, Math.floor(MAX_POINTS_PER_CHART / Math.max(1, series.length)));
  return series.map((s) => {
    const d = decimateByPixelColumn(s, bounds.xMin, bounds.xMax, columns);
    if (d.xs.length <= budget) return d;
    const r = new EnvelopeReducer(Math.max(1, Math.floor(budget / 12)));
    r.addMany(d.xs, d.ys, 0, d.xs.length);
    return r.finish();
  });
}

function unionBounds(a: Bounds | null, b: Bounds | null): Bounds | null {
  if (!a) return b;
  if (!b) return a;
  return { xMin: Math.min(a.xMin, b.xMin), xMax: Math.max(a.xMax, b.xMax), yMin: Math.min(a.yMin, b.yMin), yMax: Math.max(a.yMax, b.yMax) };
}

/** True when the data has no drawable point (empty CSV, all `nan`). */
export function isPlotDataEmpty(data: PlotData): boolean {
  switch (data.kind) {
    case 'cv-cycles':
    case 'gcv':
      return data.series.every((s) => s.data.xs.length === 0);
    case 'cdl':
      return data.series.every((s) => s.data.xs.length === 0) && !(data.fit && data.fit.scanRates.length > 0);
    case 'iv':
      return data.series.xs.length === 0;
    case 'time-series':
      return data.current.xs.length === 0 && data.potential.xs.length === 0;
    case 'eis':
      return !data.frequency.some((f, i) => Number.isFinite(f) && Number.isFinite(data.zReal[i]!) && Number.isFinite(data.zImag[i]!));
  }
}

function buildCyclesChart(series: CycleSeries[], columns: number, xLabel: string, yLabel: string): ChartSpec {
  const bounds = computeBounds(series.map((s) => s.data)) ?? { xMin: 0, xMax: 1, yMin: 0, yMax: 1 };
  const reduced = decimateAll(
    series.map((s) => s.data),
    bounds,
    columns,
  );
  return {
    weight: 1,
    xLabel,
    yLabel,
    yColor: null,
    xTickLabels: true,
    xScale: padRange(bounds.xMin, bounds.xMax),
    yScale: padRange(bounds.yMin, bounds.yMax),
    equalAspect: false,
    legend: true,
    series: series.map((s, k) => toSeries(reduced[k]!, formatCycleLabel(s.cycle), TAB10[k % TAB10.length]!)),
  };
}

/**
 * Page specs for one plot request: one spec per PNG (EIS gives Nyquist then Bode).
 * Applies the per-pixel-column decimation (stage 2) with the figure width as column count.
 */
export function buildPageSpecs(data: PlotData, options: PageSpecOptions): PageSpec[] {
  const subtitle = options.title;
  switch (data.kind) {
    case 'cv-cycles': {
      const { widthPx, heightPx } = FIGURE_8X6;
      return [
        {
          widthPx,
          heightPx,
          heading: describePlotHeading('cv-cycles', options.mode),
          subtitle,
          yAxisSizePx: Y_AXIS_PX,
          charts: [buildCyclesChart(data.series, widthPx, 'Potential (V)', 'Current (A)')],
        },
      ];
    }
    case 'gcv': {
      const { widthPx, heightPx } = FIGURE_10X6;
      return [
        {
          widthPx,
          heightPx,
          heading: describePlotHeading('gcv', options.mode),
          subtitle,
          yAxisSizePx: Y_AXIS_PX,
          charts: [buildCyclesChart(data.series, widthPx, 'Time (s)', 'Potential (V)')],
        },
      ];
    }
    case 'iv': {
      const { widthPx, heightPx } = FIGURE_8X6;
      const bounds = computeBounds([data.series]) ?? { xMin: 0, xMax: 1, yMin: 0, yMax: 1 };
      const [reduced] = decimateAll([data.series], bounds, widthPx);
      return [
        {
          widthPx,
          heightPx,
          heading: describePlotHeading('iv', options.mode),
          subtitle,
          yAxisSizePx: Y_AXIS_PX,
          charts: [
            {
              weight: 1,
              xLabel: 'Potential (V)',
              yLabel: 'Current (A)',
              yColor: null,
              xTickLabels: true,
              xScale: padRange(bounds.xMin, bounds.xMax),
              yScale: padRange(bounds.yMin, bounds.yMax),
              equalAspect: false,
              legend: false,
              series: [toSeries(reduced!, 'Current', TAB10[0]!)],
            },
          ],
        },
      ];
    }
    case 'time-series': {
      const { widthPx, heightPx } = FIGURE_10X6;
      const bi = computeBounds([data.current]);
      const be = computeBounds([data.potential]);
      const bx = unionBounds(bi, be) ?? { xMin: 0, xMax: 1, yMin: 0, yMax: 1 };
      const xScale = padRange(bx.xMin, bx.xMax);
      const [ci] = decimateAll([data.current], bx, widthPx);
      const [pe] = decimateAll([data.potential], bx, widthPx);
      return [
        {
          widthPx,
          heightPx,
          heading: describePlotHeading('time-series', options.mode),
          subtitle,
          yAxisSizePx: Y_AXIS_PX,
          charts: [
            {
              weight: 1,
              xLabel: '',
              yLabel: 'Current (A)',
              yColor: CURRENT_COLOR,
              xTickLabels: false,
              xScale,
              yScale: bi ? padRange(bi.yMin, bi.yMax) : padRange(0, 1),
              equalAspect: false,
              legend: false,
              series: [toSeries(ci!, 'Current (A)', CURRENT_COLOR)],
            },
            {
              weight: 1.15,
              xLabel: 'Time (s)',
              yLabel: 'Potential (V)',
              yColor: POTENTIAL_COLOR,
              xTickLabels: true,
              xScale,
              yScale: be ? padRange(be.yMin, be.yMax) : padRange(0, 1),
              equalAspect: false,
              legend: false,
              series: [toSeries(pe!, 'Potential (V)', POTENTIAL_COLOR)],
            },
          ],
        },
      ];
    }
    case 'eis':
      return buildEisSpecs(data, subtitle, options.mode);
    case 'cdl': {
      const { widthPx, heightPx } = FIGURE_8X6;
      const cycles: PageSpec = {
        widthPx,
        heightPx,
        heading: describePlotHeading('cdl', options.mode),
        subtitle,
        yAxisSizePx: Y_AXIS_PX,
        charts: [buildCyclesChart(data.series, widthPx, 'Potential (V)', 'Current (A)')],
      };
      return [cycles, buildCdlScanRateSpec(data.fit, subtitle, options.mode)];
    }
  }
}

/** "C_dl ≈ 20.0 µF   R² ≈ 0.9999" (the reference's text box, with a unit that fits the value). */
export function formatCdlNote(capacitanceF: number | null, r2: number | null): string {
  if (capacitanceF === null || !Number.isFinite(capacitanceF)) return 'C_dl: no analysed scan rate';
  const a = Math.abs(capacitanceF);
  const [scale, unit] = a >= 1e-3 ? [1e3, 'mF'] : a >= 1e-6 ? [1e6, 'µF'] : a >= 1e-9 ? [1e9, 'nF'] : [1e12, 'pF'];
  const c = `C_dl ≈ ${(capacitanceF * scale).toPrecision(4)} ${unit}`;
  return r2 === null ? `${c}   (one rate: no R²)` : `${c}   R² ≈ ${r2.toFixed(4)}`;
}

/**
 * modes.md 4 "CDL points": I_cap vs v as markers, the through-origin fit line, a dashed y = 0
 * line and the C_dl/R² text box; 8×6 in. Flagged rates (a warning) are drawn in red.
 */
function buildCdlScanRateSpec(fit: CdlFitPlotData | null, subtitle: string, mode: string | null): PageSpec {
  const xs = fit?.scanRates ?? [];
  const ys = fit?.icap ?? [];
  const xMax = xs.length > 0 ? Math.max(...xs) : 1;
  const xScale = padRange(0, xMax);
  // The fit line runs to the right edge; the y range holds it whole (points travel clamped to it).
  const yAll = [0, ...ys, ...(fit?.capacitanceF != null ? [fit.capacitanceF * xScale.max] : [])];
  const yScale = padRange(Math.min(...yAll), Math.max(...yAll));
  const pick = (flagged: boolean) => {
    const out = { xs: [] as number[], ys: [] as number[] };
    xs.forEach((x, i) => {
      if ((fit?.flagged[i] ?? false) === flagged) {
        out.xs.push(x);
        out.ys.push(ys[i]!);
      }
    });
    return out;
  };
  const ok = pick(false);
  const bad = pick(true);
  const series: SeriesSpec[] = [
    { label: 'y = 0', color: '#7f7f7f', xs: [xScale.min, xScale.max], ys: [0, 0], width: 1, markers: false, dash: [6, 4] },
  ];
  if (fit?.capacitanceF != null) {
    series.push({ label: 'Fit I_cap = C_dl·v', color: TAB10[1]!, xs: [0, xScale.max], ys: [0, fit.capacitanceF * xScale.max], width: LINE_WIDTH, markers: false });
  }
  series.push({ label: 'I_cap', color: TAB10[0]!, xs: ok.xs, ys: ok.ys, width: LINE_WIDTH, markers: true, line: false });
  if (bad.xs.length > 0) series.push({ label: 'I_cap (flagged)', color: TAB10[3]!, xs: bad.xs, ys: bad.ys, width: LINE_WIDTH, markers: true, line: false });
  return {
    widthPx: FIGURE_8X6.widthPx,
    heightPx: FIGURE_8X6.heightPx,
    heading: describePlotHeading('cdl', mode, 'scan-rate'),
    subtitle,
    yAxisSizePx: Y_AXIS_PX,
    charts: [
      {
        weight: 1,
        xLabel: 'Scan rate v (V/s)',
        yLabel: 'I_cap (A)',
        yColor: null,
        xTickLabels: true,
        xScale,
        yScale,
        equalAspect: false,
        legend: true,
        series,
        note: formatCdlNote(fit?.capacitanceF ?? null, fit?.r2 ?? null),
      },
    ],
  };
}

/** Label of the overlay that marks spectrum points flagged low_quality (red markers, no line). */
export const EIS_FLAGGED_LABEL = 'low quality (flagged)';

function buildEisSpecs(data: Extract<PlotData, { kind: 'eis' }>, subtitle: string, mode: string | null): PageSpec[] {
  type Points = { xs: number[]; ys: number[] };
  const empty = (): Points => ({ xs: [], ys: [] });
  // Every point stays on the joined line (frequency order); flagged ones are also drawn again, in red, on top.
  const nyq = empty();
  const mod = empty();
  const ph = empty();
  const flagged = { nyq: empty(), mod: empty(), ph: empty() };
  const add = (to: Points, bad: Points, isBad: boolean, x: number, y: number): void => {
    to.xs.push(x);
    to.ys.push(y);
    if (isBad) {
      bad.xs.push(x);
      bad.ys.push(y);
    }
  };
  for (let i = 0; i < data.frequency.length; i++) {
    const f = data.frequency[i]!;
    const re = data.zReal[i]!;
    const im = data.zImag[i]!;
    const bad = data.lowQuality?.[i] === 1;
    if (Number.isFinite(re) && Number.isFinite(im)) add(nyq, flagged.nyq, bad, re, -im);
    if (!(f > 0 && Number.isFinite(f))) continue;
    const m = data.zMod[i]!;
    if (m > 0 && Number.isFinite(m)) add(mod, flagged.mod, bad, f, m);
    const p = data.phase[i]!;
    if (Number.isFinite(p)) add(ph, flagged.ph, bad, f, p);
  }
  const color = TAB10[0]!;
  const anyFlagged = flagged.nyq.xs.length + flagged.mod.xs.length + flagged.ph.xs.length > 0;
  const withFlags = (d: Points, bad: Points, label: string): SeriesSpec[] => {
    const main: SeriesSpec = { label, color, xs: d.xs, ys: d.ys, width: LINE_WIDTH, markers: true };
    if (!anyFlagged) return [main];
    return [main, { label: EIS_FLAGGED_LABEL, color: TAB10[3]!, xs: bad.xs, ys: bad.ys, width: LINE_WIDTH, markers: true, line: false }];
  };
  const minMax = (a: number[]): [number, number] => {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of a) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    return lo <= hi ? [lo, hi] : [0, 1];
  };
  const [rx0, rx1] = minMax(nyq.xs);
  const [ry0, ry1] = minMax(nyq.ys);
  const allF = [...mod.xs, ...ph.xs];
  const [f0, f1] = minMax(allF.length ? allF : [1, 10]);
  const [m0, m1] = minMax(mod.ys.length ? mod.ys : [1, 10]);
  const [p0, p1] = minMax(ph.ys);
  const fScale = padLogRange(f0, f1);
  return [
    {
      widthPx: FIGURE_8X6.widthPx,
      heightPx: FIGURE_8X6.heightPx,
      heading: describePlotHeading('eis', mode, 'main'),
      subtitle,
      yAxisSizePx: Y_AXIS_PX,
      charts: [
        {
          weight: 1,
          xLabel: 'Z_real (Ohm)',
          yLabel: '-Z_imag (Ohm)',
          yColor: null,
          xTickLabels: true,
          xScale: padRange(rx0, rx1),
          yScale: padRange(ry0, ry1),
          equalAspect: true,
          legend: anyFlagged,
          series: withFlags(nyq, flagged.nyq, '-Z_imag (Ohm)'),
        },
      ],
    },
    {
      widthPx: FIGURE_10X6.widthPx,
      heightPx: FIGURE_10X6.heightPx,
      heading: describePlotHeading('eis', mode, 'bode'),
      subtitle,
      yAxisSizePx: Y_AXIS_PX,
      charts: [
        {
          weight: 1,
          xLabel: '',
          yLabel: '|Z| (Ohm)',
          yColor: null,
          xTickLabels: false,
          xScale: fScale,
          yScale: padLogRange(m0, m1),
          equalAspect: false,
          legend: anyFlagged,
          series: withFlags(mod, flagged.mod, '|Z| (Ohm)'),
        },
        {
          weight: 1.15,
          xLabel: 'Frequency (Hz)',
          yLabel: 'Phase (deg)',
          yColor: null,
          xTickLabels: true,
          xScale: fScale,
          yScale: padRange(p0, p1),
          equalAspect: false,
          legend: false,
          series: withFlags(ph, flagged.ph, 'Phase (deg)'),
        },
      ],
    },
  ];
}

/** Points in a page spec (for stats). */
export function countSpecPoints(spec: PageSpec): number {
  return spec.charts.reduce((a, c) => a + c.series.reduce((b, s) => b + s.xs.length, 0), 0);
}
