/**
 * The CDL part of a recording: keeps the full-rate applied potential and current by plan index
 * (N floats each; CDL runs are bounded), and at the mode's end runs the analysis and returns the
 * result files' text (`<base>_cdl.csv` per-rate rows, `<base>_cdl.json` the whole analysis) and
 * the plot's fit. Which rows the plot draws is decided here too: only the analysed cycles (the
 * second cycle of each block, rests excluded), so neither the jump from open circuit to `start`
 * nor the first cycle's transient dominates the picture.
 */
import type { CdlModeAnalysis } from '../modes/analysis-types.js';
import { analyseCdl, encodeCdlCsv, encodeCdlJson } from '../modes/cdl.js';
import { averagingSamplesFor, FIRMWARE_DEFAULT_AVERAGING } from '../modes/device-settings.js';
import type { PotPlan } from '../modes/plan-types.js';
import type { CdlParams } from '../modes/types.js';
import type { CdlFitPlotData } from '../plots/collect-plot-data.js';

/** `<base>_cdl.json` beside `<base>_cdl.csv`. */
export function deriveCdlJsonPath(cdlCsvPath: string): string {
  return cdlCsvPath.replace(/_cdl\.csv$/i, '') + '_cdl.json';
}

export interface CdlOutputs {
  analysis: CdlModeAnalysis;
  csvText: string;
  jsonText: string;
  fit: CdlFitPlotData;
}

export class CdlRecording {
  private readonly e: Float32Array;
  private readonly i: Float32Array;
  private count = 0;
  /** Plan index ranges [from, to) of the analysed sweeps. */
  private readonly analysed: Array<[number, number]>;

  constructor(private readonly plan: PotPlan, private readonly params: CdlParams) {
    this.e = new Float32Array(plan.n);
    this.i = new Float32Array(plan.n);
    this.analysed = (plan.cdlBlocks ?? []).map((b) => {
      const from = b.firstIndex + b.firstCycleLength;
      return [from, from + b.secondCycleSweepLength];
    });
  }

  /** True for a plan index inside an analysed sweep (what the CDL cycles plot draws). */
  readonly isAnalysed = (index: number): boolean => this.analysed.some(([from, to]) => index >= from && index < to);

  push(firstIndex: number, current: Float32Array, count: number): void {
    const n = Math.max(0, Math.min(count, this.plan.n - firstIndex));
    this.e.set(this.plan.applied.subarray(firstIndex, firstIndex + n), firstIndex);
    this.i.set(current.subarray(0, n), firstIndex);
    this.count = Math.max(this.count, firstIndex + n);
  }

  get hasRows(): boolean {
    return this.count > 0;
  }

  finish(): CdlOutputs {
    const averagingSamples = averagingSamplesFor('CDL', this.params) ?? FIRMWARE_DEFAULT_AVERAGING;
    const analysis = analyseCdl({ params: this.params, potentialV: this.e, currentA: this.i, count: this.count, averagingSamples });
    return {
      analysis,
      csvText: encodeCdlCsv(analysis.rates),
      jsonText: encodeCdlJson(analysis),
      fit: {
        scanRates: analysis.rates.map((r) => r.scan_rate_v_per_s),
        icap: analysis.rates.map((r) => r.icap_a),
        // Only a rate's own flags mark it; a poor fit concerns them all.
        flagged: analysis.rates.map((r) => r.flags.some((f) => f !== 'poor_fit')),
        capacitanceF: analysis.capacitance_f,
        r2: analysis.r2,
      },
    };
  }
}
