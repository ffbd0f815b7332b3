/**
 * Provenance of a job (`run.json`, schema `schemas/files/run-metadata.schema.json`): what was
 * asked, what was changed on the way, what ran, on which device and build, and what came back.
 * Pure data and the functions that fill it from the plan and the slot events; writing the file
 * is the run-metadata file's job (storage), feeding it is the metadata subscriber's.
 */
import type { IntegrityEvent } from '../driver/run-accounting.js';
import type { ValidationIssue } from '../modes/validate.js';
import type { JobPlan, ModeStep } from './job-plan.js';
import type { ModeCounters } from './slot-events.js';
import type { Adjustment, ModeWarning, SlotState } from './types.js';

export type { Adjustment, ModeWarning } from './types.js';

export const RUN_METADATA_SCHEMA = 'beepbox.run-metadata/1';

/** Integrity events kept per mode in `run.json` (all are counted in the counters). */
export const MAX_METADATA_EVENTS = 50;

/** Issue codes that mean "the value runs differently from what was asked". */
const ADJUSTMENT_CODES = new Set(['freq_clamped', 'value_adjusted']);

export interface PlannedMode {
  index: number;
  token: string;
  mode: string;
  /** The parameter object as the client sent it for this mode. */
  requested_params: unknown;
  /** Final parameters: coerced, defaults filled, auto-adjusted (what the device ran). */
  params: Record<string, unknown>;
  planned_points: number;
  planned_s: number;
  warnings: ModeWarning[];
  adjustments: Adjustment[];
}

export interface MeasuredMode {
  index: number;
  token: string;
  started_at: string | null;
  ended_at: string | null;
  /** Run-relative files the mode wrote. */
  files: string[];
  /** The device's measured tick period over the mode (µs); null for polled modes or when not measured. */
  measured_sample_period_us: number | null;
  counters: ModeCounters | null;
  /** First integrity events (lost ranges, overflows, overloads, ...). */
  events: IntegrityEvent[];
  /** Warnings of the mode's analysis and recording (EIS quality, CDL fit, ...). */
  warnings: string[];
  /** The mode's analysis result (CDL fit, EIS summary), when it has one. */
  analysis: unknown;
  /** "ok", why the plot was skipped, or null when no plot was asked for. */
  plot: string | null;
  error: string | null;
}

export interface SlotProvenance {
  slot: string;
  port: string;
  /** USB serial number (derived from the MCU's unique ID). */
  serial_number: string | null;
  /** This firmware revision exposes no version register; kept explicit so nobody guesses. */
  firmware: { version: string | null; note: string };
  status: SlotState;
  message: string | null;
  started_at: string | null;
  ended_at: string | null;
  modes: MeasuredMode[];
}

export interface JobProvenance {
  run_id: string;
  status: string;
  created_at: string;
  ended_at: string | null;
  /** The POST /jobs body as it was sent. */
  request: unknown;
  options: {
    tia_gain: number | null;
    sampling_interval: number | null;
    make_plot: boolean;
    experiment_name: string;
    subdir: string | null;
    client_datetime: string;
    group_label: string | null;
  };
  modes: PlannedMode[];
  warnings: ModeWarning[];
  adjustments: Adjustment[];
  slots: SlotProvenance[];
}

export interface SoftwareProvenance {
  beepbox: string;
  build: string;
  api: string;
  runtime: string;
  platform: string;
}

/** The whole file: one entry per job whose files live in this run folder (GUI batches share one). */
export interface RunMetadataDocument {
  schema: typeof RUN_METADATA_SCHEMA;
  box_id: string;
  software: SoftwareProvenance;
  updated_at: string;
  jobs: JobProvenance[];
}

const FIRMWARE_NOTE = 'This firmware revision exposes no version register; the serial number identifies the unit.';

function warningsOf(step: ModeStep): ModeWarning[] {
  return step.warnings.map((w: ValidationIssue) => ({ mode: step.token, field: w.field, code: w.code, message: w.message }));
}

/** The value at `field` (`name` or `name[i]`) of a parameter object, or undefined. */
function valueAt(params: unknown, field: string): unknown {
  if (params === null || typeof params !== 'object') return undefined;
  const m = /^([^[]+)(?:\[(\d+)\])?$/.exec(field);
  if (!m) return undefined;
  const value = (params as Record<string, unknown>)[m[1]!];
  if (m[2] === undefined) return value;
  return Array.isArray(value) ? value[Number(m[2])] : undefined;
}

/** The adjustments of one mode: its warnings whose code means a changed value, with both values. */
export function adjustmentsOf(token: string, warnings: readonly Pick<ValidationIssue, 'field' | 'code' | 'message'>[], requested: unknown, applied: unknown): Adjustment[] {
  return warnings
    .filter((w) => ADJUSTMENT_CODES.has(w.code))
    .map((w) => ({ mode: token, field: w.field, code: w.code, requested: valueAt(requested, w.field) ?? null, applied: valueAt(applied, w.field) ?? null, message: w.message }));
}

export function planJobProvenance(plan: JobPlan): JobProvenance {
  const modes = plan.steps.map((step): PlannedMode => {
    const requested = plan.requestParams[step.token] ?? null;
    return {
      index: step.index,
      token: step.token,
      mode: step.mode,
      requested_params: requested,
      params: { ...step.recordedParams },
      planned_points: step.points,
      planned_s: step.plannedS,
      warnings: warningsOf(step),
      adjustments: adjustmentsOf(step.token, step.warnings, requested, step.recordedParams),
    };
  });
  return {
    run_id: plan.runId,
    status: 'queued',
    created_at: plan.createdAt,
    ended_at: null,
    request: plan.request,
    options: {
      tia_gain: plan.tiaGain,
      sampling_interval: plan.samplingIntervalS,
      make_plot: plan.makePlot,
      experiment_name: plan.experimentName,
      subdir: plan.subdir,
      client_datetime: plan.clientDatetime,
      group_label: plan.groupLabel,
    },
    modes,
    warnings: modes.flatMap((m) => m.warnings),
    adjustments: modes.flatMap((m) => m.adjustments),
    slots: plan.slots.map((s) => ({
      slot: s.slot,
      port: s.port,
      serial_number: s.sn,
      firmware: { version: null, note: FIRMWARE_NOTE },
      status: 'queued',
      message: null,
      started_at: null,
      ended_at: null,
      modes: [],
    })),
  };
}

export function emptyMeasuredMode(step: ModeStep, at: string): MeasuredMode {
  return {
    index: step.index, token: step.token, started_at: at, ended_at: null, files: [], measured_sample_period_us: null,
    counters: null, events: [], warnings: [], analysis: null, plot: null, error: null,
  };
}
