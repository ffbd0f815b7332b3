/**
 * Turns one slot-mode's sample stream into its files: the raw CSV (modes.md 3), and on
 * close the EIS spectrum (7.6) or the CDL result table (2.8). Runs inside the recorder
 * thread, so CSV formatting never competes with the supervisor's event loop.
 */
import { analyseCdl, encodeCdlCsv } from '../modes/cdl.js';
import { CsvEncoder } from '../modes/csv.js';
import { EisAnalyser, encodeEisSpectrumCsv } from '../modes/eis.js';
import { buildPlan } from '../modes/plan.js';
import type { ModePlan, PotPlan } from '../modes/plan-types.js';
import type { CdlParams, ModeName, ModeParams } from '../modes/types.js';
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
  /** `<base>_cdl.csv` for CDL. */
  cdlPath?: string;
  /** Collect this plot's data from the CSV lines as they are written (kinds fed from the CSV only). */
  plot?: { kind: PlotKind; maxCycles: number | null } | null;
}

export interface RecordingResult {
  rows: number;
  lines: number;
  files: string[];
  warnings: string[];
  /** The plot's data, when `spec.plot` asked for it. */
  plotData: PlotData | null;
}

export class ModeRecorder {
  private readonly plan: ModePlan;
  private readonly cdlParams: CdlParams | null;
  private readonly encoder: CsvEncoder;
  private readonly eis: EisAnalyser | null;
  /** Full-rate rows kept for the CDL analysis (N floats each; CDL runs are bounded). */
  private readonly cdl: { e: Float32Array; i: Float32Array; count: number } | null;
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
    this.cdlParams = spec.mode === 'CDL' ? (spec.params as CdlParams) : null;
    this.plot = spec.plot && PlotDataFeed.supports(spec.plot.kind) ? new PlotDataFeed(spec.plot.kind, spec.plot.maxCycles, this.plan.columns.includes('cycle') ? this.plan.cycle : null) : null;
    const plot = this.plot;
    this.encoder = new CsvEncoder(this.plan, { samplingIntervalS: spec.samplingIntervalS, onLine: plot && ((index, timeS, potential, current) => plot.addLine(index, timeS, potential, current)) });
    this.eis = this.plan.mode === 'EIS' && spec.spectrumPath ? new EisAnalyser(this.plan as PotPlan) : null;
    this.cdl = this.cdlParams && spec.cdlPath ? { e: new Float32Array(this.plan.n), i: new Float32Array(this.plan.n), count: 0 } : null;
  }

  async open(): Promise<void> {
    this.sink = await this.openSink(this.spec.csvPath, this.onWriteError);
  }

  /** Rows for plan indices [firstIndex, firstIndex + count). */
  write(firstIndex: number, current: Float32Array, potential: Float32Array, count: number): void {
    const text = this.encoder.encodeRows(firstIndex, current, potential, count);
    if (text) this.sink!.append(text);
    this.eis?.push(firstIndex, current, potential, count);
    if (this.cdl) {
      const n = Math.max(0, Math.min(count, this.plan.n - firstIndex));
      this.cdl.e.set(this.plan.applied!.subarray(firstIndex, firstIndex + n), firstIndex);
      this.cdl.i.set(current.subarray(0, n), firstIndex);
      this.cdl.count = Math.max(this.cdl.count, firstIndex + n);
    }
    this.rows += count;
  }

  async close(): Promise<RecordingResult> {
    const tail = this.encoder.finish();
    if (tail) this.sink!.append(tail);
    await this.sink!.close();
    const files = [this.spec.csvPath];
    const warnings: string[] = [];
    if (this.eis && this.spec.spectrumPath) {
      const analysis = this.eis.finish();
      warnings.push(...analysis.warnings);
      if (analysis.rows.length > 0) {
        await this.writeWhole(this.spec.spectrumPath, encodeEisSpectrumCsv(analysis.rows));
        files.push(this.spec.spectrumPath);
      }
    }
    if (this.cdl && this.cdlParams && this.spec.cdlPath && this.cdl.count > 0) {
      const analysis = analyseCdl({ params: this.cdlParams, potentialV: this.cdl.e, currentA: this.cdl.i, count: this.cdl.count });
      warnings.push(...analysis.warnings);
      if (analysis.rows.length > 0) {
        await this.writeWhole(this.spec.cdlPath, encodeCdlCsv(analysis.rows));
        files.push(this.spec.cdlPath);
      }
    }
    return { rows: this.rows, lines: this.encoder.linesWritten, files, warnings, plotData: this.plot?.finish() ?? null };
  }

  private async writeWhole(path: string, text: string): Promise<void> {
    const sink = await this.openSink(path, this.onWriteError);
    sink.append(text);
    await sink.close();
  }
}
