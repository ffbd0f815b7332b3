/**
 * The job plan: everything admission resolved, made once and frozen. The engine runs it; the
 * slot worker and the recorder thread receive its data. Nothing downstream re-validates or
 * re-derives what it holds.
 */
import type { ValidationIssue } from '../modes/validate.js';
import type { ModeName, ModeParams } from '../modes/types.js';
import type { PlotKind } from '../plots/types.js';
import type { ModeFiles } from '../storage/run-layout.js';

/** One mode of the sequence, as every slot runs it. */
export interface ModeStep {
  /** Position in the sequence. */
  readonly index: number;
  /** The token as requested (upper-cased); names the mode's folder and files (`DC` stays `DC`). */
  readonly token: string;
  /** The catalogue mode that runs (legacy `DC` resolves to CA or CP). */
  readonly mode: ModeName;
  /** Final parameters: coerced, defaults filled, auto-adjusted. */
  readonly params: Readonly<ModeParams>;
  /** The parameter object as recorded in the job record (typed values plus unknown keys kept). */
  readonly recordedParams: Readonly<Record<string, unknown>>;
  /** Exact plan point count N. */
  readonly points: number;
  /** N × Δt. */
  readonly plannedS: number;
  /** Warnings and adjustments validation made (EIS frequency clamp, high scan rate, ...). */
  readonly warnings: readonly ValidationIssue[];
  /** The plot this mode gets, or null when no plot was asked for. */
  readonly plot: { readonly kind: PlotKind; readonly maxCycles: number | null } | null;
}

/** One slot of the job: its device and the files of each mode. */
export interface SlotPlan {
  readonly slot: string;
  readonly port: string;
  readonly sn: string | null;
  /** Files of mode k at `files[k]`. */
  readonly files: readonly ModeFiles[];
}

export interface JobPlan {
  readonly runId: string;
  /** ISO time of admission. */
  readonly createdAt: string;
  readonly steps: readonly ModeStep[];
  readonly slots: readonly SlotPlan[];
  /** Parameters as the client sent them, by mode token. */
  readonly requestParams: Readonly<Record<string, unknown>>;
  /** The POST /jobs body as it was sent (a copy; provenance in run.json). */
  readonly request: unknown;
  /**
   * Job-level TIA gain index; null leaves the device setting unchanged. Each step's
   * `params.tia_gain` holds the gain that mode runs with (this value when the mode set none).
   */
  readonly tiaGain: number | null;
  /** Job-level charge limit (C) or null; steps that set none hold it in `params.charge_cutoff_c`. */
  readonly chargeCutoffC: number | null;
  readonly samplingIntervalS: number | null;
  readonly makePlot: boolean;
  readonly experimentName: string;
  readonly subdir: string | null;
  readonly clientDatetime: string;
  readonly groupLabel: string | null;
  readonly storageSubfolder: string | null;
  readonly runDir: string;
  readonly runDirRelative: string;
}

/** Freezes a plan and everything in it, so no consumer can change what admission decided. */
export function freezePlan(plan: JobPlan): JobPlan {
  const deepFreeze = (value: unknown): void => {
    if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  };
  deepFreeze(plan);
  return plan;
}
