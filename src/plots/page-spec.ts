/**
 * What the render page draws. Built in Node (`build-page-spec.ts`), sent to the page with one
 * `page.evaluate` call (JSON over the DevTools pipe), drawn by `page-script.ts` with uPlot.
 * Numbers only, already decimated.
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
