import type { MessagePort } from 'node:worker_threads';
import type { PlotData } from './collect-plot-data.js';
/**
 * Wire types for plotting. Everything here crosses the main thread ↔ pool thread boundary
 * (structured clone): plain objects, strings, numbers. No functions, no class instances.
 *
 * | Direction | Type | Notes |
 * |---|---|---|
 * | main → task | `RenderTaskPayload` | paths are absolute; the task writes the PNG(s) itself; `launcher` is transferred |
 * | task → main | `RenderTaskResult` | never carries PNG bytes, only the written paths and stats |
 */

/**
 * Plot kinds (modes.md 4 and 7.6, issue 4). `cdl` draws two PNGs: the analysed cycles (current
 * vs potential) and the capacitive current vs scan rate with the through-origin fit.
 */
export type PlotKind = 'cv-cycles' | 'time-series' | 'iv' | 'gcv' | 'eis' | 'cdl';

export const PLOT_KINDS: readonly PlotKind[] = ['cv-cycles', 'time-series', 'iv', 'gcv', 'eis', 'cdl'];

/** What the job engine asks for. */
export interface PlotRequest {
  /** Measurement CSV (modes.md 3). For `eis`: the `<base>_spectrum.csv` (a `<base>.csv` is mapped to it). */
  csvPath: string;
  /** PNG to write, normally the CSV path with `.png`. For `eis` this is the Nyquist plot. */
  pngPath: string;
  kind: PlotKind;
  /** Names experiment, slot and mode, e.g. `exp42 · slot01 · CV`. Shown under the plot heading. */
  title: string;
  /** Mode token (CV, CDL, ...); only refines the heading. */
  mode?: string;
  /** `eis` only: where the Bode plot goes. Default: pngPath with `.png` replaced by `_bode.png`. */
  bodePngPath?: string;
  /** `cdl` only: where the current-vs-scan-rate plot goes. Default: pngPath with `.png` replaced by `_cdl.png`. */
  cdlPngPath?: string;
  /** `cv-cycles`/`gcv`: draw only the first n distinct Cycle values (modes.md 4 `cycles`). */
  maxCycles?: number;
  /** Cancels the render (a cancelled job). */
  signal?: AbortSignal;
  /** The plot's data, already collected while the CSV was written: the CSV is then not read. */
  data?: PlotData | null;
}

export type PlotResult =
  | { ok: true; files: string[]; stats?: RenderStats }
  | { ok: false; reason: string };

export interface PlotStatus {
  available: boolean;
  reason: string | null;
}

/** Why a task could not render. `CHROMIUM_*` codes make plotting unavailable in /health. */
export type RenderFailureCode = 'CHROMIUM_MISSING' | 'CHROMIUM_FAILED' | 'RENDER_FAILED' | 'NO_DATA' | 'BAD_CSV' | 'IO';

export interface RenderStats {
  /** Data rows read from the CSV. */
  rows: number;
  /** Points sent to the page after decimation (all series, all charts). */
  pointsDrawn: number;
  parseMs: number;
  drawMs: number;
  totalMs: number;
  /** PID of the Chromium that drew the plot. */
  browserPid: number | null;
  /** How many times this pool thread has launched Chromium so far. */
  browserLaunches: number;
}

export interface RenderTaskPayload {
  csvPath: string;
  kind: PlotKind;
  title: string;
  mode: string | null;
  /** Output files in the order the kind produces them (eis: Nyquist, Bode). */
  pngPaths: string[];
  maxCycles: number | null;
  /** Pre-collected data (see PlotRequest.data); null = read the CSV. */
  data: PlotData | null;
  chromiumPath: string;
  /** Parent folder for the per-browser temporary profile directories. */
  profileRoot: string;
  /** Port to the plot service's `ChromiumHost` (in the transfer list): launches go through it. */
  launcher?: MessagePort | null;
}

export type RenderTaskResult =
  | { ok: true; files: string[]; stats: RenderStats }
  | { ok: false; code: RenderFailureCode; reason: string };
