/**
 * A live x–y chart on uPlot (the IIFE build, loaded by index.html as the global `uPlot`), in
 * uPlot's faceted mode: every series has its own x and y arrays, so a CV's current-versus-
 * potential loops (x not monotonic) and time series share one code path. Redraws are batched to
 * one per animation frame, and at most ten per second, however fast points arrive.
 */
import type uPlotType from 'uplot';
import { formatSiTicks, formatTicks } from './format.js';

const UPlot = (globalThis as unknown as { uPlot: typeof uPlotType }).uPlot;

/** Faceted data: index 0 unused, then one [xs, ys] per series (uPlot's types only describe aligned data). */
type FacetedData = Array<null | [number[], number[]]>;

export interface SeriesSpec {
  label: string;
  color: string;
  /** 'y' = left axis, 'y2' = right axis. */
  scale?: 'y' | 'y2';
  /** Draw dots only (spectra); default a line. */
  markers?: boolean;
}

export interface ChartSpec {
  xLabel: string;
  yLabel: string;
  y2Label?: string;
  xLog?: boolean;
  yLog?: boolean;
  /** Tick labels with an SI prefix and this unit ("100 µA"); default plain numbers. */
  xUnit?: string;
  yUnit?: string;
  y2Unit?: string;
  series: SeriesSpec[];
  height: number;
}

const MIN_REDRAW_MS = 100;

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v === '' ? fallback : v;
}

/** Series colours from the stylesheet (--series-1 … --series-8), so light and dark themes both read well. */
export function seriesColor(k: number): string {
  return cssVar(`--series-${(k % 8) + 1}`, '#2563eb');
}

function facetsOf(u: uPlotType): FacetedData {
  return u.data as unknown as FacetedData;
}

function paths(markers: boolean) {
  return (u: uPlotType, si: number): uPlotType.Series.Paths | null => {
    const s = u.series[si];
    const d = facetsOf(u)[si];
    const xk = s?.facets?.[0]?.scale;
    const yk = s?.facets?.[1]?.scale;
    if (!d || xk === undefined || yk === undefined) return null;
    const [xs, ys] = d;
    const path = new Path2D();
    const r = 3 * devicePixelRatio;
    for (let k = 0; k < xs.length; k++) {
      const px = u.valToPos(xs[k]!, xk, true);
      const py = u.valToPos(ys[k]!, yk, true);
      if (!Number.isFinite(px) || !Number.isFinite(py)) continue;
      if (markers) {
        path.moveTo(px + r, py);
        path.arc(px, py, r, 0, 2 * Math.PI);
      } else if (k === 0) path.moveTo(px, py);
      else path.lineTo(px, py);
    }
    return markers ? { stroke: path, fill: path, clip: null, band: null, flags: 0 } : { stroke: path, fill: null, clip: null, band: null, flags: 0 };
  };
}

export class XYChart {
  private plot: uPlotType | null = null;
  private data: Array<[number[], number[]]> = [];
  private frame: number | null = null;
  private lastDraw = 0;
  private readonly resize: ResizeObserver;

  constructor(
    private readonly box: HTMLElement,
    private spec: ChartSpec,
  ) {
    this.data = spec.series.map(() => [[], []]);
    this.build();
    this.resize = new ResizeObserver(() => {
      const width = this.width();
      if (this.plot !== null && width > 0 && Math.abs(this.plot.width - width) > 1) this.plot.setSize({ width, height: this.spec.height });
    });
    this.resize.observe(box);
  }

  private width(): number {
    return Math.max(200, Math.floor(this.box.clientWidth));
  }

  private build(): void {
    this.plot?.destroy();
    const axisStroke = cssVar('--chart-axis', '#555');
    const grid = { stroke: cssVar('--chart-grid', '#e5e7eb'), width: 1 };
    const ticks = { stroke: grid.stroke, width: 1, size: 4 };
    const font = `12px ${cssVar('--font-ui', 'system-ui, sans-serif')}`;
    const labelFont = `600 12px ${cssVar('--font-ui', 'system-ui, sans-serif')}`;
    // Log axes hand over null for splits they skip.
    const valuesIn = (unit: string | undefined) => (_u: uPlotType, splits: (number | null)[]): string[] =>
      unit === undefined ? formatTicks(splits) : formatSiTicks(splits, unit);
    const logScale = { time: false, distr: 3 as const, log: 10 as const };
    const hasY2 = this.spec.series.some((s) => s.scale === 'y2');
    const opts: uPlotType.Options = {
      mode: 2,
      width: this.width(),
      height: this.spec.height,
      pxAlign: 0,
      legend: { show: false },
      cursor: { show: false, drag: { x: false, y: false } },
      select: { show: false, left: 0, top: 0, width: 0, height: 0 },
      scales: {
        x: this.spec.xLog === true ? logScale : { time: false },
        y: this.spec.yLog === true ? logScale : { time: false },
        ...(hasY2 ? { y2: { time: false } } : {}),
      },
      axes: [
        { scale: 'x', label: this.spec.xLabel, labelFont, font, stroke: axisStroke, grid, ticks, values: valuesIn(this.spec.xUnit), labelSize: 20, size: 34 },
        { scale: 'y', label: this.spec.yLabel, labelFont, font, stroke: axisStroke, grid, ticks, values: valuesIn(this.spec.yUnit), labelSize: 20, size: 70 },
        ...(hasY2
          ? [{ scale: 'y2', side: 1 as const, label: this.spec.y2Label ?? '', labelFont, font, stroke: axisStroke, grid: { show: false }, ticks, values: valuesIn(this.spec.y2Unit), labelSize: 20, size: 70 }]
          : []),
      ],
      series: [
        {},
        ...this.spec.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          fill: s.markers === true ? s.color : undefined,
          width: 1.5,
          facets: [
            { scale: 'x', auto: true },
            { scale: s.scale ?? 'y', auto: true },
          ],
          paths: paths(s.markers === true),
          points: { show: false },
        })),
      ],
    };
    this.plot = new UPlot(opts, [null, ...this.data] as unknown as uPlotType.AlignedData, this.box);
    this.box.dataset['points'] = String(this.pointCount());
  }

  /** Points currently drawn (all series). */
  pointCount(): number {
    return this.data.reduce((n, [xs]) => n + xs.length, 0);
  }

  /** Replace the spec (e.g. one more CV cycle) and the data; rebuilds the plot. */
  respec(spec: ChartSpec, data: Array<[number[], number[]]>): void {
    this.spec = spec;
    this.data = data;
    this.build();
  }

  /** New data (the arrays may be the same ones, grown); drawn on the next allowed frame. */
  update(data: Array<[number[], number[]]>): void {
    this.data = data;
    if (this.frame !== null) return;
    const draw = (now: number): void => {
      if (now - this.lastDraw < MIN_REDRAW_MS) {
        this.frame = requestAnimationFrame(draw);
        return;
      }
      this.frame = null;
      this.lastDraw = now;
      this.plot?.setData([null, ...this.data] as unknown as uPlotType.AlignedData);
      this.box.dataset['points'] = String(this.pointCount());
    };
    this.frame = requestAnimationFrame(draw);
  }

  destroy(): void {
    if (this.frame !== null) cancelAnimationFrame(this.frame);
    this.resize.disconnect();
    this.plot?.destroy();
    this.plot = null;
  }
}
