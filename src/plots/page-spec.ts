/**
 * What the render page draws. Built in Node (`build-page-spec.ts`), sent to the page with one
 * `page.evaluate` call (JSON over the DevTools pipe), drawn by `page-script.ts` with uPlot.
 * Numbers only, already decimated.
 *
 * Shared by both sides: the daemon imports it, and so does the page script, so it is compiled with
 * tsconfig.page.json (no Node types) and must stay plain ECMAScript: no Node APIs (`Buffer`), no DOM.
 */

export interface AxisScaleSpec {
  min: number;
  max: number;
  /** Base-10 logarithmic scale (Bode). */
  log: boolean;
}

export interface SeriesSpec {
  label: string;
  /** CSS colour. */
  color: string;
  xs: number[];
  ys: number[];
  /** Line width in CSS px. */
  width: number;
  /** Draw a circle marker at every point (EIS). */
  markers: boolean;
  /** false: markers only, no connecting line (a scatter). Absent = true. */
  line?: boolean;
  /** Dash pattern in CSS px (e.g. [6, 4]); absent = solid. */
  dash?: number[];
}

export interface ChartSpec {
  /** Share of the height left for charts (stacked charts split by weight). */
  weight: number;
  xLabel: string;
  yLabel: string;
  /** Colour of the y axis label and tick labels (time series: red current, blue potential). */
  yColor: string | null;
  /** Hide x tick labels (upper axis of a stacked pair). */
  xTickLabels: boolean;
  xScale: AxisScaleSpec;
  yScale: AxisScaleSpec;
  /** Same data units per pixel on both axes (Nyquist). */
  equalAspect: boolean;
  legend: boolean;
  series: SeriesSpec[];
  /** Text box in the upper left corner of the plot area (CDL: C_dl and R²); absent = none. */
  note?: string;
}

export interface PageSpec {
  widthPx: number;
  heightPx: number;
  heading: string;
  subtitle: string;
  /** Fixed y axis width so stacked charts line up. */
  yAxisSizePx: number;
  charts: ChartSpec[];
}

/** matplotlib's default colour cycle ("tab10"); colour k is entry k mod 10 (modes.md 4). */
export const TAB10: readonly string[] = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

export const CURRENT_COLOR = '#d62728';
export const POTENTIAL_COLOR = '#1f77b4';

/** Sub-pixel steps per axis when points travel as 16-bit positions (≈ 80 per pixel at 800 px). */
const QUANT_MAX = 65535;

/** Position of v within the scale, 0..65535 (log scales in log space). */
export function quantize(values: readonly number[], scale: AxisScaleSpec): Uint16Array {
  const out = new Uint16Array(values.length);
  const lo = scale.log ? Math.log10(scale.min) : scale.min;
  const hi = scale.log ? Math.log10(scale.max) : scale.max;
  const k = hi > lo ? QUANT_MAX / (hi - lo) : 0;
  for (let i = 0; i < values.length; i++) {
    const v = scale.log ? Math.log10(values[i]!) : values[i]!;
    const q = Math.round((v - lo) * k);
    out[i] = q < 0 ? 0 : q > QUANT_MAX ? QUANT_MAX : q;
  }
  return out;
}

/** Inverse of the quantisation (also injected into the page). */
export function dequantize(q: ArrayLike<number>, scale: AxisScaleSpec): number[] {
  const lo = scale.log ? Math.log10(scale.min) : scale.min;
  const hi = scale.log ? Math.log10(scale.max) : scale.max;
  const out: number[] = new Array<number>(q.length);
  for (let i = 0; i < q.length; i++) {
    const v = lo + (q[i]! / 65535) * (hi - lo);
    out[i] = scale.log ? Math.pow(10, v) : v;
  }
  return out;
}
