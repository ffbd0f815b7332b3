/**
 * The live panel of one running slot: which mode runs, its progress, and its curve as it is
 * measured. CV: current versus potential, one colour per cycle. EIS: Nyquist and Bode of the
 * impedance estimated from the streamed points (eis-estimate.ts), replaced by the daemon's
 * spectrum file when the mode ends. Every other mode: current and potential versus time.
 */
import { filePath, runPath, type ApiClient, type SlotStatus } from './api.js';
import { h, replaceChildren } from './dom.js';
import { EisLiveEstimator, parseSpectrumCsv, type ImpedancePoint } from './eis-estimate.js';
import { formatDuration } from './format.js';
import type { ModeEvent, PointsEvent, ProgressEvent } from './live-stream.js';
import { seriesColor, XYChart, type ChartSpec } from './xy-chart.js';

type Kind = 'cv' | 'eis' | 'time';

/** Points kept per series; beyond it every other point is dropped (the CSV keeps them all). */
const MAX_POINTS_PER_SERIES = 40_000;

function kindOf(mode: string): Kind {
  if (mode === 'CV') return 'cv';
  if (mode === 'EIS') return 'eis';
  return 'time';
}

function thin(series: [number[], number[]]): void {
  if (series[0].length <= MAX_POINTS_PER_SERIES) return;
  series[0] = series[0].filter((_v, k) => k % 2 === 0);
  series[1] = series[1].filter((_v, k) => k % 2 === 0);
}

function cvSpec(cycles: readonly number[]): ChartSpec {
  return {
    xLabel: 'Potential (V)',
    yLabel: 'Current',
    yUnit: 'A',
    height: 300,
    series: cycles.map((c, k) => ({ label: c > 0 ? `cycle ${c}` : 'points', color: seriesColor(k) })),
  };
}

const TIME_SPEC = (): ChartSpec => ({
  xLabel: 'Time (s)',
  yLabel: 'Current',
  yUnit: 'A',
  y2Label: 'Potential (V)',
  height: 300,
  series: [
    { label: 'current', color: seriesColor(0), scale: 'y' },
    { label: 'potential', color: seriesColor(1), scale: 'y2' },
  ],
});

const NYQUIST_SPEC = (): ChartSpec => ({
  xLabel: "Z'",
  xUnit: 'Ω',
  yLabel: "−Z''",
  yUnit: 'Ω',
  height: 260,
  series: [{ label: 'impedance', color: seriesColor(0), markers: true }],
});

const BODE_SPEC = (): ChartSpec => ({
  xLabel: 'Frequency (Hz)',
  yLabel: '|Z|',
  yUnit: 'Ω',
  y2Label: 'Phase (°)',
  xLog: true,
  yLog: true,
  height: 260,
  series: [
    { label: '|Z|', color: seriesColor(0), markers: true, scale: 'y' },
    { label: 'phase', color: seriesColor(2), markers: true, scale: 'y2' },
  ],
});

export class LiveSlotView {
  readonly element: HTMLElement;
  private readonly title: HTMLElement;
  private readonly meta: HTMLElement;
  private readonly bar: HTMLElement;
  private readonly note: HTMLElement;
  private readonly legend: HTMLElement;
  private readonly charts: HTMLElement;
  private mode = '';
  private modeIndex = -1;
  private kind: Kind = 'time';
  private primary: XYChart | null = null;
  private secondary: XYChart | null = null;
  /** CV: cycle number → series index; time: 0 current, 1 potential. */
  private cycles: number[] = [];
  private data: Array<[number[], number[]]> = [];
  private eis: EisLiveEstimator | null = null;
  private received = 0;
  private dropped = 0;

  constructor(
    private readonly api: ApiClient,
    readonly runId: string,
    readonly slot: string,
  ) {
    this.title = h('h3', { class: 'live-title' }, slot);
    this.meta = h('div', { class: 'live-meta' });
    this.bar = h('div', { class: 'progress-fill' });
    this.note = h('div', { class: 'live-note', 'aria-live': 'polite' });
    this.legend = h('div', { class: 'legend' });
    this.charts = h('div', { class: 'live-charts' });
    this.element = h(
      'article',
      { class: 'card live-card', 'data-run': runId, 'data-slot': slot },
      h('header', { class: 'live-head' }, this.title, this.meta),
      h('div', { class: 'progress', role: 'progressbar', 'aria-label': `${slot} progress` }, this.bar),
      this.charts,
      this.legend,
      this.note,
    );
    this.showWaiting('Waiting for the first points…');
  }

  private showWaiting(text: string): void {
    this.destroyCharts();
    replaceChildren(this.charts, h('div', { class: 'chart-empty' }, text));
  }

  private destroyCharts(): void {
    this.primary?.destroy();
    this.secondary?.destroy();
    this.primary = null;
    this.secondary = null;
  }

  private chartBox(extra = ''): HTMLElement {
    return h('div', { class: `chart ${extra}`.trim() });
  }

  /** A mode started (or the first points of a mode the page joined late). */
  private startMode(mode: string, modeIndex: number): void {
    this.mode = mode;
    this.modeIndex = modeIndex;
    this.kind = kindOf(mode);
    this.received = 0;
    this.cycles = [];
    this.eis = this.kind === 'eis' ? new EisLiveEstimator() : null;
    this.destroyCharts();
    this.charts.replaceChildren();
    this.charts.classList.toggle('two', this.kind === 'eis');
    const first = this.chartBox('chart-main');
    this.charts.append(first);
    if (this.kind === 'cv') {
      // Built at the first cycle's points: uPlot's faceted mode needs at least one series.
      this.data = [];
      first.append(h('div', { class: 'chart-empty' }, 'Waiting for the first points…'));
    } else if (this.kind === 'eis') {
      const second = this.chartBox('chart-side');
      this.charts.append(second);
      this.data = [[[], []]];
      this.primary = new XYChart(first, NYQUIST_SPEC());
      this.secondary = new XYChart(second, BODE_SPEC());
      this.note.textContent = 'Impedance estimated live from the streamed points; the measured spectrum replaces it when the mode ends.';
    } else {
      this.data = [[[], []], [[], []]];
      this.primary = new XYChart(first, TIME_SPEC());
    }
    this.renderLegend();
    this.title.textContent = `${this.slot} · ${mode}`;
  }

  private renderLegend(): void {
    const items: Array<[string, string]> =
      this.kind === 'cv'
        ? this.cycles.map((c, k) => [c > 0 ? `cycle ${c}` : 'points', seriesColor(k)])
        : this.kind === 'eis'
          ? [['Nyquist, |Z|', seriesColor(0)], ['phase', seriesColor(2)]]
          : [['current (left)', seriesColor(0)], ['potential (right)', seriesColor(1)]];
    replaceChildren(this.legend, ...items.map(([label, color]) => h('span', { class: 'legend-item' }, swatch(color), label)));
  }

  onMode(ev: ModeEvent): void {
    if (ev.state === 'started') {
      this.startMode(ev.mode, ev.mode_index);
      if (ev.plan !== undefined) this.meta.textContent = `${ev.plan.points.toLocaleString()} points planned · ${formatDuration(ev.plan.planned_s)}`;
      return;
    }
    if (ev.mode_index === this.modeIndex && this.kind === 'eis') void this.finishEis();
  }

  onPoints(ev: PointsEvent): void {
    if (ev.mode_index !== this.modeIndex || ev.mode !== this.mode) this.startMode(ev.mode, ev.mode_index);
    this.received += ev.t.length;
    if (this.kind === 'cv') this.addCv(ev);
    else if (this.kind === 'eis') this.addEis(ev);
    else this.addTime(ev);
  }

  private addTime(ev: PointsEvent): void {
    const [cur, pot] = this.data as [[number[], number[]], [number[], number[]]];
    for (let k = 0; k < ev.t.length; k++) {
      cur[0].push(ev.t[k]!);
      cur[1].push(ev.i[k]!);
      pot[0].push(ev.t[k]!);
      pot[1].push(ev.e[k]!);
    }
    thin(cur);
    thin(pot);
    this.primary?.update(this.data);
  }

  private addCv(ev: PointsEvent): void {
    let added = false;
    for (let k = 0; k < ev.t.length; k++) {
      const c = ev.cycle?.[k] ?? 0;
      let si = this.cycles.indexOf(c);
      if (si < 0) {
        this.cycles.push(c);
        this.data.push([[], []]);
        si = this.cycles.length - 1;
        added = true;
      }
      const series = this.data[si]!;
      series[0].push(ev.e[k]!);
      series[1].push(ev.i[k]!);
    }
    for (const s of this.data) thin(s);
    if (added) {
      if (this.primary === null) {
        const box = this.charts.querySelector<HTMLElement>('.chart-main');
        if (box === null) return;
        box.replaceChildren();
        this.primary = new XYChart(box, cvSpec(this.cycles));
        this.primary.update(this.data);
      } else this.primary.respec(cvSpec(this.cycles), this.data);
      this.renderLegend();
    } else this.primary?.update(this.data);
  }

  private addEis(ev: PointsEvent): void {
    if (this.eis === null || ev.cycle === null || ev.step === null) return;
    this.eis.add(ev.t, ev.e, ev.i, ev.cycle, ev.step);
    this.drawSpectrum(this.eis.estimate());
  }

  private drawSpectrum(points: readonly ImpedancePoint[]): void {
    const byFreq = [...points].sort((a, b) => a.freqHz - b.freqHz);
    this.primary?.update([[points.map((p) => p.zRe), points.map((p) => -p.zIm)]]);
    this.secondary?.update([
      [byFreq.map((p) => p.freqHz), byFreq.map((p) => Math.hypot(p.zRe, p.zIm))],
      [byFreq.map((p) => p.freqHz), byFreq.map((p) => (Math.atan2(p.zIm, p.zRe) * 180) / Math.PI)],
    ]);
  }

  /** The EIS mode ended: draw the last estimate, then the daemon's spectrum once its file is there. */
  private async finishEis(): Promise<void> {
    if (this.eis !== null) this.drawSpectrum(this.eis.estimate(true));
    const modeIndex = this.modeIndex;
    for (let attempt = 0; attempt < 10 && this.modeIndex === modeIndex; attempt++) {
      try {
        const { files } = await this.api.get<{ files: string[] }>(runPath(this.runId, 'files'));
        const spectrum = files.find((f) => f.includes(`/${this.slot}/EIS/`) && f.endsWith('_spectrum.csv'));
        if (spectrum !== undefined) {
          const res = await this.api.fetch('GET', filePath(this.runId, spectrum));
          const points = parseSpectrumCsv(await res.text());
          if (points.length > 0 && this.modeIndex === modeIndex) {
            this.drawSpectrum(points);
            this.note.textContent = `Measured spectrum: ${points.length} frequencies (${spectrum.split('/').pop() ?? spectrum}).`;
          }
          return;
        }
      } catch {
        // not written yet, or a network blip: try again
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  onProgress(ev: ProgressEvent): void {
    this.setProgress(ev.progress_pct, ev.remaining_s, ev.points, ev.expected_points);
  }

  onDropped(count: number, reason: string): void {
    this.dropped += count;
    this.note.textContent =
      reason === 'resume_too_old'
        ? 'Reconnected after a long gap: the curve was redrawn from a thinned copy.'
        : `The display skipped ${this.dropped.toLocaleString()} batches to keep up (the CSV has every point).`;
  }

  /** From a JobStatus (the stream's status events, or polling). */
  onStatus(slot: SlotStatus, live: boolean): void {
    this.setProgress(slot.progress_pct, slot.remaining_s, slot.points, slot.expected_points);
    if (!live && this.received === 0 && slot.status === 'running') this.showWaiting('Live curve unavailable: this daemon has no live stream. Progress is polled.');
  }

  private setProgress(pct: number, remaining: number | null, points: number, expected: number): void {
    const clamped = Math.max(0, Math.min(100, pct));
    this.bar.style.width = `${clamped}%`;
    this.bar.parentElement?.setAttribute('aria-valuenow', clamped.toFixed(0));
    const parts = [`${clamped.toFixed(0)} %`];
    if (clamped < 100) parts.push(`ETA ${formatDuration(remaining)}`);
    if (expected > 0) parts.push(`${points.toLocaleString()} / ${expected.toLocaleString()} points`);
    this.meta.textContent = parts.join(' · ');
  }

  destroy(): void {
    this.destroyCharts();
    this.element.remove();
  }
}

function swatch(color: string): HTMLElement {
  const el = h('span', { class: 'swatch' });
  el.style.background = color;
  return el;
}
