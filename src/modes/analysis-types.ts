/**
 * What a mode's post-analysis concludes, as it travels from the recorder thread to the job
 * record and `GET /jobs/{id}` (`slots[].results[].analysis`). A discriminated union on `kind`:
 * one member per mode that has an analysis. Plain JSON (structured clone, persisted as is);
 * field names are snake_case like the rest of the API. `schemas/api/mode-analysis.schema.json`
 * describes the same shape for the OpenAPI document.
 */

/** Why a CDL result should not be trusted as is (see `src/modes/cdl.ts` for each test). */
export type CdlWarningCode =
  /** The current had not settled after the vertex when the sweep reached the window. */
  | 'scan_rate_too_fast'
  /** The current changes across the window: a faradaic process (redox couple) in the window. */
  | 'faradaic_window'
  /** Through-origin R² below the threshold. */
  | 'poor_fit'
  /** Fewer than two analysed scan rates: no R². */
  | 'too_few_rates'
  /** A scan-rate block could not be analysed (run stopped early, window missed). */
  | 'rate_skipped';

export interface CdlWarning {
  code: CdlWarningCode;
  message: string;
  /** Requested scan rates (V/s) the warning is about; empty for whole-fit warnings. */
  scan_rates: number[];
}

/** One analysed scan rate: the second cycle of its block. */
export interface CdlRateResult {
  /** 1-based block j; its analysed cycle is labelled 2j. */
  block: number;
  cycle: number;
  requested_scan_rate_v_per_s: number;
  /** Median |dE/dt| of the applied potential between the cycle's 15 % and 85 % quantiles. */
  scan_rate_v_per_s: number;
  /** (anodic − cathodic)/2 (A). */
  icap_a: number;
  /** Median current of the anodic (rising E) rows within the window (A). */
  anodic_a: number;
  /** Median current of the cathodic rows within the window (A). */
  cathodic_a: number;
  /**
   * Change of the current across the window, from a least-squares line per branch, the larger
   * of the two, relative to |icap_a|. A pure double layer gives ~0.
   */
  window_slope_ratio: number;
  /** Time from a vertex to the near edge of the window at this rate (s). */
  settle_time_s: number;
  /** Warning codes that concern this rate. */
  flags: CdlWarningCode[];
}

export interface CdlModeAnalysis {
  kind: 'cdl';
  /** Through-origin slope Σ v·I / Σ v² over every analysed rate (F); null without rates. */
  capacitance_f: number | null;
  /** 1 − SSE/ΣI², null below two rates. */
  r2: number | null;
  /** Window centre E* = (vertex_a + vertex_b)/2 (V). */
  e_star_v: number;
  /** [E* − 0.01, E* + 0.01] (V). */
  window_v: [number, number];
  /** Firmware averaging samples (WE) in force during the mode. */
  averaging_samples: number;
  /** Time constant of that averaging (s): samples × conversion period. */
  smoothing_time_constant_s: number;
  /** Fastest rate whose current settles before the window (V/s). */
  max_settled_scan_rate_v_per_s: number;
  rates: CdlRateResult[];
  warnings: CdlWarning[];
}

/** EIS: a summary of the spectrum (`<base>_spectrum.csv` has every point with its quality figures). */
export interface EisModeAnalysis {
  kind: 'eis';
  /** Spectrum points written (frequencies reached). */
  points: number;
  /** Points whose Quality is not `ok` (thresholds in the README's EIS section). */
  flagged: number;
  /** Applied frequencies of the written points, lowest and highest (Hz); null without points. */
  frequency_range_hz: [number, number] | null;
  /** Sample period the frequency axis used (µs), and whether the device measured it or it is the nominal 360 µs. */
  sample_period_us: number;
  sample_period_source: 'measured' | 'nominal';
  /** Largest estimated relative standard uncertainty of Z over the computed points; null without any. */
  max_uncertainty_rel: number | null;
}

/** The analysis of a mode, by kind. */
export type ModeAnalysis = CdlModeAnalysis | EisModeAnalysis;
