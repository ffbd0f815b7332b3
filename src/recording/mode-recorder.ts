/**
 * Turns one slot-mode's sample stream into its files: the raw CSV (modes.md 3), and on
 * close the EIS spectrum (7.6) or the CDL results (2.8: `_cdl.csv`, `_cdl.json`). Runs inside the recorder
 * thread, so CSV formatting never competes with the supervisor's event loop.
 */
import { CsvEncoder } from '../modes/csv.js';
import type { ModeAnalysis } from '../modes/analysis-types.js';
import { CdlRecording, deriveCdlJsonPath } from './cdl-recording.js';
import { EisAnalyser, encodeEisSpectrumCsv, summariseEisAnalysis } from '../modes/eis.js';
import { requestedEisEnds } from '../modes/plan-eis.js';
import { buildPlan } from '../modes/plan.js';
import type { ModePlan, PotPlan } from '../modes/plan-types.js';
import type { CdlParams, EisParams, ModeName, ModeParams } from '../modes/types.js';
import type { PlotData } from '../plots/collect-plot-data.js';
import { PlotDataFeed } from '../plots/plot-data-feed.js';
import type { PlotKind } from '../plots/types.js';

export interface TextSink {
  append(text: string): void;
  close(): Promise<void>;
}
/** Opens a file sink; `onError` is called once if a later write fails (disk full, I/O error). */
export type SinkOpener = (path: string, onError: (err: Error) => void) => Promise<TextSink>;

export interface RecordingSpec {
  csvPath: string;
  /** The resolved mode and its final parameters, as admission planned them (not re-validated here). */
  mode: ModeName;
  params: ModeParams;
  samplingIntervalS: number | null;
  /** `<base>_spectrum.csv` for EIS. */
  spectrumPath?: string;
  /** `<base>_cdl.csv` for CDL (per-rate rows); `<base>_cdl.json` (the whole analysis) goes beside it. */
  cdlPath?: string;
  /** Collect this plot's data from the CSV lines as they are written (kinds fed from the CSV only). */
  plot?: { kind: PlotKind; maxCycles: number | null } | null;
  /** The mode's parameters as the client sent them (EIS: the frequencies asked for before clamping). */
  requestParams?: unknown;
}

/** What the mode's end tells the recording. */
export interface RecordingCloseOptions {
  /** The device's measured sample period (µs) over the mode; null or absent = not measured (EIS uses the nominal Δt). */
  measuredIntervalUs?: number | null;
}

export interface RecordingResult {
  rows: number;
  lines: number;
  files: string[];
  warnings: string[];
  /** The plot's data, when `spec.plot` asked for it. */
  plotData: PlotData | null;
  /** What the mode's post-analysis concluded (EIS spectrum summary, CDL fit), or null. */
  analysis: ModeAnalysis | null;
}

export class ModeRecorder {
  private readonly plan: ModePlan;
  private readonly encoder: CsvEncoder;
  private readonly eis: EisAnalyser | null;
  private readonly cdl: CdlRecording | null;
  private readonly plot: PlotDataFeed | null;
  private sink: TextSink | null = null;
  private rows = 0;

  constructor(
    private readonly spec: RecordingSpec,
    private readonly openSink: SinkOpener,
    /** A write of any of this recording's files failed after `append` returned. */
    private readonly onWriteError: (err: Error) => void = () => undefined,
  ) {
    this.plan = buildPlan(spec.mode, spec.params as never);
    this.cdl = spec.mode === 'CDL' && spec.cdlPath ? new CdlRecording(this.plan as PotPlan, spec.params as CdlParams) : null;
    this.plot = spec.plot && PlotDataFeed.supports(spec.plot.kind)
      ? new PlotDataFeed(spec.plot.kind, spec.plot.maxCycles, this.plan.columns.includes('cycle') ? this.plan.cycle : null, this.cdl?.isAnalysed ?? null)
      : null;
    const plot = this.plot;
    this.encoder = new CsvEncoder(this.plan, { samplingIntervalS: spec.samplingIntervalS, onLine: plot && ((index, timeS, potential, current) => plot.addLine(index, timeS, potential, current)) });
    this.eis = this.plan.mode === 'EIS' && spec.spectrumPath
      ? new EisAnalyser(this.plan as PotPlan, { amplitudeV: (spec.params as EisParams).amplitude, requested: requestedEisEnds(spec.requestParams) })
      : null;
  }

  async open(): Promise<void> {
    this.sink = await this.openSink(this.spec.csvPath, this.onWriteError);
  }

  /** Rows for plan indices [firstIndex, firstIndex + count). */
  write(firstIndex: number, current: Float32Array, potential: Float32Array, count: number): void {
    const text = this.encoder.encodeRows(firstIndex, current, potential, count);
    if (text) this.sink!.append(text);
    this.eis?.push(firstIndex, current, potential, count);
    this.cdl?.push(firstIndex, current, count);
    this.rows += count;
  }

  async close(options: RecordingCloseOptions = {}): Promise<RecordingResult> {
    const tail = this.encoder.finish();
    if (tail) this.sink!.append(tail);
    await this.sink!.close();
    const files = [this.spec.csvPath];
    const warnings: string[] = [];
    let modeAnalysis: ModeAnalysis | null = null;
    if (this.eis && this.spec.spectrumPath) {
      const measured = options.measuredIntervalUs;
      const analysis = this.eis.finish({ measuredIntervalS: typeof measured === 'number' ? measured / 1e6 : null });
      warnings.push(...analysis.warnings);
      modeAnalysis = summariseEisAnalysis(analysis);
      if (analysis.rows.length > 0) {
        await this.writeWhole(this.spec.spectrumPath, encodeEisSpectrumCsv(analysis.rows));
        files.push(this.spec.spectrumPath);
      }
    }
    let plotData = this.plot?.finish() ?? null;
    if (this.cdl?.hasRows && this.spec.cdlPath) {
      const out = this.cdl.finish();
      warnings.push(...out.analysis.warnings.map((w) => w.message));
      modeAnalysis = out.analysis;
      if (plotData?.kind === 'cdl') plotData = { ...plotData, fit: out.fit };
      // Written even without an analysed rate: the JSON says why (its warnings).
      const jsonPath = deriveCdlJsonPath(this.spec.cdlPath);
      await this.writeWhole(this.spec.cdlPath, out.csvText);
      await this.writeWhole(jsonPath, out.jsonText);
      files.push(this.spec.cdlPath, jsonPath);
    }
    return { rows: this.rows, lines: this.encoder.linesWritten, files, warnings, plotData, analysis: modeAnalysis };
  }

  private async writeWhole(path: string, text: string): Promise<void> {
    const sink = await this.openSink(path, this.onWriteError);
    sink.append(text);
    await sink.close();
  }
}
