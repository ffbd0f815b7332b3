/**
 * The persisted job record (`RUNS_ROOT/.jobs/<run_id>.json`, rest-api.md 4.8): everything
 * needed to rebuild JobStatus/JobOverview after a restart, plus what a lab needs later to
 * trust the data (resolved parameters, versions, device identities, integrity counters).
 * Progress figures are computed, never stored.
 */
import type { IntegrityEvent } from '../driver/run-accounting.js';
import type { ModeAnalysis } from '../modes/analysis-types.js';
import { getModeFamily, normaliseModeName } from '../modes/catalogue.js';
import type { ModeEstimate } from './progress.js';
import type { ModeCounters } from './slot-events.js';
import type { Adjustment, JobState, ModeWarning, SlotState } from './types.js';

export const JOB_RECORD_SCHEMA = 1;

export interface ModeResult extends ModeCounters {
  mode: string;
  /** First integrity events (capped), for the record. */
  events: IntegrityEvent[];
  /** "ok", or why the plot was skipped; null when no plot was asked for. */
  plot: string | null;
  warnings: string[];
  error: string | null;
  /** The mode's post-analysis (CDL fit, EIS summary); absent in records of older versions. */
  analysis?: ModeAnalysis | null;
}

export interface SlotRecord {
  slot: string;
  port: string;
  sn: string | null;
  status: SlotState;
  started_at: string | null;
  ended_at: string | null;
  message: string | null;
  files: string[];
  /** Index of the current (or last started) mode; −1 before the first. */
  mode_index: number;
  mode_started_at: string | null;
  results: ModeResult[];
}

export interface JobRecord {
  schema: number;
  run_id: string;
  created_at: string;
  ended_at: string | null;
  status: JobState;
  modes: string[];
  /** Parameters as run (coerced, defaults filled, auto-adjusted). */
  params_by_mode: Record<string, Record<string, unknown>>;
  /** Parameters as the client sent them. */
  request_params_by_mode: Record<string, unknown>;
  mode_estimates: ModeEstimate[];
  tia_gain: number | null;
  sampling_interval: number | null;
  make_plot: boolean;
  experiment_name: string;
  subdir: string | null;
  client_datetime: string;
  group_label: string | null;
  storage_subfolder: string | null;
  run_dir: string;
  run_dir_relative: string;
  versions: { beepbox: string; node: string; api: string };
  /** Validation warnings and the adjustments among them (absent in records of older versions). */
  warnings?: ModeWarning[];
  adjustments?: Adjustment[];
  slots: SlotRecord[];
}

export function isJobRecord(value: unknown): value is JobRecord {
  const v = value as Partial<JobRecord> | null;
  return !!v && typeof v === 'object' && v.schema === JOB_RECORD_SCHEMA && typeof v.run_id === 'string' && Array.isArray(v.slots) && Array.isArray(v.modes);
}

/** "12 points lost (ADC FIFO overflow), 3 DAC underrun ticks (...)", or null when clean. */
function describeIntegrity(r: ModeResult): string | null {
  const parts: string[] = [];
  if (r.lost > 0) parts.push(`${r.lost} points lost${r.adc_overflows > 0 ? ' (ADC FIFO overflow)' : ''}`);
  if (r.dac_underruns > 0) parts.push(`${r.dac_underruns} DAC underrun ticks (held points dropped, alignment kept)`);
  if (r.duplicated > 0) parts.push(`${r.duplicated} duplicate points dropped`);
  const overloads = describeOverloads(r);
  if (overloads) parts.push(overloads);
  const stop = describeEarlyStop(r);
  if (stop) parts.push(stop);
  return parts.length > 0 ? parts.join(', ') : null;
}

function isGalvanostatic(token: string): boolean {
  const mode = normaliseModeName(token);
  return mode !== null && getModeFamily(mode) === 'gal';
}

/**
 * "312 points at current full scale (compliance) from plan index 1200": clipped readings. A
 * galvanostatic mode at a range limit has run out of compliance; a potentiostatic one asked for
 * more current than its gain's range (or a potential beyond the rails).
 */
function describeOverloads(r: ModeResult): string | null {
  const total = r.overloads ?? 0;
  if (total === 0) return null;
  const current = r.overloads_current ?? 0;
  const potential = r.overloads_potential ?? 0;
  let what: string;
  if (current > 0 && potential > 0) what = `at the range limits (${current} at current full scale, ${potential} at the potential rail)`;
  else if (current > 0) what = 'at current full scale';
  else what = 'at the potential rail';
  const compliance = isGalvanostatic(r.mode) ? ' (compliance)' : '';
  const where = r.first_overload_index === null || r.first_overload_index === undefined ? '' : ` from plan index ${r.first_overload_index}`;
  return `${total} points ${what}${compliance}${where}`;
}

/** Why a mode ended before its plan did (charge or potential cut-off), and what was not measured. */
function describeEarlyStop(r: ModeResult): string | null {
  const parts: string[] = [];
  if (r.stop_reason === 'charge_cutoff' || r.stop_reason === 'potential_cutoff') {
    const nominal = r.nominal_points ?? r.expected_points;
    const measuredUpTo = r.poll_rate_hz === null ? r.expected_points : null;
    const notMeasured = measuredUpTo === null ? '' : ` (${nominal - measuredUpTo} of ${nominal} planned points not measured)`;
    parts.push(`${r.stop_detail ?? r.stop_reason.replace('_', ' ')}${notMeasured}`);
  }
  if ((r.cutoff_steps ?? 0) > 0) parts.push(`${r.cutoff_steps} steps ended early at the potential cut-off`);
  return parts.length > 0 ? parts.join(', ') : null;
}

/** The message of a slot that ended done: what is worth telling (integrity events, skipped plots), or null. */
export function describeSlotNotes(results: readonly ModeResult[]): string | null {
  const notes: string[] = [];
  for (const r of results) {
    const integrity = describeIntegrity(r);
    if (integrity) notes.push(`${r.mode}: ${integrity}`);
    if (r.plot !== null && r.plot !== 'ok') notes.push(r.plot);
  }
  return notes.length > 0 ? notes.join('; ') : null;
}
