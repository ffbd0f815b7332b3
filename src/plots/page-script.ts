/**
 * Code that runs inside the headless page. The functions below are injected as source text
 * (`Function.prototype.toString`, see page-html.ts), so they must be self-contained: no imports,
 * no references to module scope other than each other (they become globals of the page), the
 * injected `dequantize` and the `uPlot` global. `formatAxisTicks` and `formatLogTicks` are plain
 * functions and are unit-tested in Node. Compiled with tsconfig.page.json (DOM lib, no Node types);
 * the daemon sees only this file's declarations.
 */
import type uPlot from 'uplot';
import { dequantize, type ChartSpec, type PageSpec } from './page-spec.js';

/**
 * Chart data in uPlot's faceted mode (`mode: 2`): index 0 unused, then one `[xs, ys]` pair per
 * series. uPlot's declarations only describe aligned (mode 1) data, hence the casts below.
 */
type FacetedData = (null | [xs: number[], ys: number[]])[];

/**
 * Tick labels for a linear axis. Plain decimals while the values are readable; otherwise one
 * common power of ten for the whole axis (`-2.5e-6`, `0`, `2.5e-6`), with as many decimals as
 * the tick increment needs.
 */
export function formatAxisTicks(splits: readonly (number | null)[], incr: number): string[] {
  let maxAbs = 0;
  for (const v of splits) if (v != null && Number.isFinite(v) && Math.abs(v) > maxAbs) maxAbs = Math.abs(v);
  const step = Math.abs(incr) > 0 && Number.isFinite(incr) ? Math.abs(incr) : maxAbs || 1;
  const decimalsFor = (inc: number): number => {
    let d = 0;
    while (d < 12) {
      const scaled = inc * Math.pow(10, d);
      if (Math.abs(scaled - Math.round(scaled)) <= 1e-6 * Math.max(1, scaled)) break;
      d++;
    }
    return d;
  };
  if (maxAbs !== 0 && (maxAbs >= 1e5 || maxAbs < 1e-2)) {
    const e = Math.floor(Math.log10(maxAbs) + 1e-12);
    const p = Math.pow(10, e);
    const dec = decimalsFor(step / p);
    return splits.map((v) => {
      if (v == null || !Number.isFinite(v)) return '';
      if (Math.abs(v) < step * 1e-6) return '0';
      return (v / p).toFixed(dec) + 'e' + e;
    });
  }
  const dec = decimalsFor(step);
  return splits.map((v) => {
    if (v == null || !Number.isFinite(v)) return '';
    const s = (Math.abs(v) < step * 1e-6 ? 0 : v).toFixed(dec);
    return s === '-0' ? '0' : s;
  });
}

/** Ticks for a log axis: every m·10^k (m = 1…9) inside [min, max]. */
export function computeLogSplits(min: number, max: number): number[] {
  const out: number[] = [];
  if (!(min > 0 && max > min)) return out;
  for (let k = Math.floor(Math.log10(min)); k <= Math.ceil(Math.log10(max)); k++) {
    for (let m = 1; m <= 9; m++) {
      const v = Number((m * Math.pow(10, k)).toPrecision(12));
      if (v >= min && v <= max) out.push(v);
    }
  }
  return out;
}

/**
 * Tick labels for a log axis: decades (`0.01`, `1`, `1000`, `1e6`); when fewer than two decades
 * are in view, the 2× and 5× ticks too, and failing that every tick.
 */
export function formatLogTicks(splits: readonly (number | null)[]): string[] {
  const text = (v: number): string => {
    const k = Math.floor(Math.log10(v) + 1e-9);
    if (k >= -3 && k <= 4) return String(Number(v.toPrecision(6)));
    const m = Number((v / Math.pow(10, k)).toPrecision(6));
    return (m === 1 ? '1' : String(m)) + 'e' + k;
  };
  const mantissa = (v: number): number => {
    const k = Math.floor(Math.log10(v) + 1e-9);
    return Math.round((v / Math.pow(10, k)) * 1e6) / 1e6;
  };
  const ok = splits.map((v) => v != null && v > 0 && Number.isFinite(v));
  const pick = (keep: (m: number) => boolean) => splits.map((v, i) => (ok[i] && keep(mantissa(v as number)) ? text(v as number) : ''));
  let labels = pick((m) => m === 1);
  if (labels.filter((l) => l !== '').length < 2) labels = pick((m) => m === 1 || m === 2 || m === 5);
  if (labels.filter((l) => l !== '').length < 2) labels = pick(() => true);
  return labels;
}

/** Installs `window.__beepboxRender(spec)` in the page. Runs in the browser. */
export function installPlotRenderer(): void {
  const w = window as unknown as {
    uPlot: typeof uPlot;
    __beepboxCharts?: uPlot[];
    __beepboxRender?: (spec: PageSpec) => Promise<{ ok: true; points: number }>;
  };
  const U = w.uPlot;
  const facetsOf = (u: uPlot): FacetedData => u.data as unknown as FacetedData;
  const FONT = "12px 'DejaVu Sans', 'Liberation Sans', sans-serif";
  const LABEL_FONT = "bold 13px 'DejaVu Sans', 'Liberation Sans', sans-serif";

  function decodeUint16(b64: string): Uint16Array {
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Uint16Array(bytes.buffer);
  }

  function linePaths(u: uPlot, si: number): uPlot.Series.Paths | null {
    const s = u.series[si];
    const d = facetsOf(u)[si];
    const xk = s?.facets?.[0]?.scale;
    const yk = s?.facets?.[1]?.scale;
    if (!d || xk === undefined || yk === undefined) return null;
    const [xs, ys] = d;
    const stroke = new Path2D();
    let pen = false;
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i];
      const y = ys[i];
      if (x == null || y == null) {
        pen = false;
        continue;
      }
      const px = u.valToPos(x, xk, true);
      const py = u.valToPos(y, yk, true);
      if (pen) stroke.lineTo(px, py);
      else {
        stroke.moveTo(px, py);
        pen = true;
      }
    }
    return { stroke, fill: null, clip: null, band: null, flags: 0 };
  }

  function drawMarkers(u: uPlot, chart: ChartSpec): void {
    const ctx = u.ctx;
    ctx.save();
    ctx.beginPath();
    ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
    ctx.clip();
    chart.series.forEach((s, k) => {
      if (!s.markers) return;
      const d = facetsOf(u)[k + 1];
      if (!d) return;
      const [xs, ys] = d;
      ctx.fillStyle = s.color;
      for (let i = 0; i < xs.length; i++) {
        const px = u.valToPos(xs[i]!, 'x', true);
        const py = u.valToPos(ys[i]!, 'y', true);
        ctx.beginPath();
        ctx.arc(px, py, 3.5, 0, 2 * Math.PI);
        ctx.fill();
      }
    });
    ctx.restore();
  }

  /** A framed text box in the upper left corner of the plot area (one line per `\n`). */
  function drawNote(u: uPlot, note: string | undefined): void {
    if (!note) return;
    const ctx = u.ctx;
    const dpr = window.devicePixelRatio || 1;
    const lines = note.split('\n');
    ctx.save();
    ctx.font = `${13 * dpr}px 'DejaVu Sans', 'Liberation Sans', sans-serif`;
    ctx.textBaseline = 'top';
    ctx.textAlign = 'left';
    const pad = 6 * dpr;
    const lineH = 17 * dpr;
    const width = Math.max(...lines.map((l) => ctx.measureText(l).width)) + 2 * pad;
    const x = u.bbox.left + 10 * dpr;
    const y = u.bbox.top + 10 * dpr;
    ctx.fillStyle = 'rgba(255, 255, 255, 0.9)';
    ctx.strokeStyle = '#999';
    ctx.lineWidth = dpr;
    ctx.fillRect(x, y, width, lines.length * lineH + 2 * pad);
    ctx.strokeRect(x, y, width, lines.length * lineH + 2 * pad);
    ctx.fillStyle = '#000';
    lines.forEach((l, i) => ctx.fillText(l, x + pad, y + pad + i * lineH));
    ctx.restore();
  }

  function axisValues(log: boolean, hide: boolean): uPlot.Axis.DynamicValues {
    return (_u, splits, _ai, _space, incr) => (hide ? splits.map(() => '') : log ? formatLogTicks(splits) : formatAxisTicks(splits, incr));
  }

  function makeChart(spec: PageSpec, chart: ChartSpec, width: number, height: number, box: HTMLElement): uPlot {
    const scale = (sc: ChartSpec['xScale']): uPlot.Scale =>
      sc.log
        ? { time: false, auto: false, distr: 3 satisfies uPlot.Scale.Distr.Logarithmic, log: 10, range: [sc.min, sc.max] }
        : { time: false, auto: false, range: [sc.min, sc.max] };
    const grid = { show: true, stroke: '#e4e4e4', width: 1 };
    const ticks = { show: true, stroke: '#555', width: 1, size: 5 };
    const yColor = chart.yColor ?? '#000';
    const opts: uPlot.Options = {
      mode: 2 satisfies uPlot.Mode.Faceted,
      width,
      height,
      pxAlign: 0,
      cursor: { show: false, drag: { x: false, y: false } },
      select: { show: false, left: 0, top: 0, width: 0, height: 0 },
      legend: { show: false },
      scales: { x: scale(chart.xScale), y: scale(chart.yScale) },
      axes: [
        {
          scale: 'x',
          label: chart.xLabel,
          labelSize: chart.xLabel ? 22 : 0,
          labelFont: LABEL_FONT,
          font: FONT,
          size: chart.xTickLabels ? 28 : 8,
          gap: 3,
          stroke: '#000',
          grid,
          ticks,
          values: axisValues(chart.xScale.log, !chart.xTickLabels),
          ...(chart.xScale.log ? { splits: (_u: uPlot, _ai: number, min: number, max: number) => computeLogSplits(min, max) } : {}),
        },
        {
          scale: 'y',
          label: chart.yLabel,
          labelSize: 22,
          labelFont: LABEL_FONT,
          font: FONT,
          size: spec.yAxisSizePx,
          gap: 4,
          stroke: yColor,
          grid,
          ticks,
          values: axisValues(chart.yScale.log, false),
          ...(chart.yScale.log ? { splits: (_u: uPlot, _ai: number, min: number, max: number) => computeLogSplits(min, max) } : {}),
        },
      ],
      series: [
        {},
        ...chart.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: s.width,
          facets: [
            { scale: 'x', auto: false },
            { scale: 'y', auto: false },
          ],
          paths: s.line === false ? () => null : linePaths,
          ...(s.dash ? { dash: s.dash } : {}),
          points: { show: false },
        })),
      ],
      hooks: { draw: [(u: uPlot) => drawMarkers(u, chart), (u: uPlot) => drawNote(u, chart.note)] },
    };
    const data: FacetedData = [null, ...chart.series.map((s): [number[], number[]] => [s.xs, s.ys])];
    return new U(opts, data as unknown as uPlot.AlignedData, box);
  }

  function applyEqualAspect(u: uPlot, chart: ChartSpec): void {
    const bw = u.bbox.width;
    const bh = u.bbox.height;
    if (!(bw > 0 && bh > 0)) return;
    let { min: x0, max: x1 } = chart.xScale;
    let { min: y0, max: y1 } = chart.yScale;
    const ux = (x1 - x0) / bw;
    const uy = (y1 - y0) / bh;
    if (ux > uy) {
      const c = (y0 + y1) / 2;
      const half = (ux * bh) / 2;
      y0 = c - half;
      y1 = c + half;
    } else {
      const c = (x0 + x1) / 2;
      const half = (uy * bw) / 2;
      x0 = c - half;
      x1 = c + half;
    }
    u.batch(() => {
      u.setScale('x', { min: x0, max: x1 });
      u.setScale('y', { min: y0, max: y1 });
    });
  }

  w.__beepboxRender = async (spec: PageSpec) => {
    for (const u of w.__beepboxCharts ?? []) u.destroy();
    w.__beepboxCharts = [];
    const root = document.getElementById('root')!;
    root.textContent = '';
    root.style.width = spec.widthPx + 'px';
    root.style.height = spec.heightPx + 'px';

    const hdr = document.createElement('div');
    hdr.className = 'hdr';
    const h1 = document.createElement('div');
    h1.className = 'heading';
    h1.textContent = spec.heading;
    hdr.appendChild(h1);
    if (spec.subtitle) {
      const sub = document.createElement('div');
      sub.className = 'sub';
      sub.textContent = spec.subtitle;
      hdr.appendChild(sub);
    }
    root.appendChild(hdr);

    const padX = 10;
    const chartWidth = spec.widthPx - 2 * padX;
    const avail = spec.heightPx - hdr.getBoundingClientRect().height - 6;
    const totalWeight = spec.charts.reduce((a, c) => a + c.weight, 0) || 1;
    let points = 0;
    for (const chart of spec.charts) {
      const box = document.createElement('div');
      box.className = 'chart';
      box.style.paddingLeft = padX + 'px';
      root.appendChild(box);
      const host = document.createElement('div');
      box.appendChild(host);
      let h = Math.floor((avail * chart.weight) / totalWeight);
      if (chart.legend) {
        // Legend below the axes, as one wrapped row; measured first so the chart is drawn once.
        const legend = document.createElement('div');
        legend.className = 'legend';
        for (const s of chart.series) {
          const item = document.createElement('span');
          item.className = 'item';
          const sw = document.createElement('span');
          sw.className = 'swatch';
          sw.style.background = s.color;
          item.appendChild(sw);
          item.appendChild(document.createTextNode(s.label));
          legend.appendChild(item);
        }
        box.appendChild(legend);
        h = Math.max(80, h - Math.ceil(legend.getBoundingClientRect().height));
      }
      // Series arrive as base64 16-bit positions within the axis ranges (encodePageSpecForTransfer).
      for (const s of chart.series as (ChartSpec['series'][number] & { xq?: string; yq?: string })[]) {
        if (s.xq !== undefined) s.xs = dequantize(decodeUint16(s.xq), chart.xScale);
        if (s.yq !== undefined) s.ys = dequantize(decodeUint16(s.yq), chart.yScale);
      }
      const u = makeChart(spec, chart, chartWidth, h, host);
      if (chart.equalAspect) applyEqualAspect(u, chart);
      w.__beepboxCharts.push(u);
      for (const s of chart.series) points += s.xs.length;
    }
    // uPlot draws in a queued microtask; let those run. (A timer would do too, but timers in a
    // headless background page fire late: 50–200 ms.) The screenshot then forces a frame.
    for (let k = 0; k < 3; k++) await Promise.resolve();
    for (const u of w.__beepboxCharts) if (u.status !== 1) throw new Error('uPlot did not finish drawing');
    return { ok: true as const, points };
  };
}
