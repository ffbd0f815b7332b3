/** Shapes of the job API (rest-api.md 3.8–3.12, 4.3). Snapshots, computed at read time. */
import type { ModeAnalysis } from '../modes/analysis-types.js';

/** [NEW] A validation warning of one mode of a job. */
export interface ModeWarning {
  mode: string;
  field: string;
  code: string;
  message: string;
}

/** [NEW] A parameter that admission changed (EIS frequency clamp, ...): what was asked and what runs. */
export interface Adjustment extends ModeWarning {
  requested: unknown;
  applied: unknown;
}

export type SlotState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
export type JobState = SlotState;

export interface SlotStatus {
  slot: string;
  status: SlotState;
  started_at: string | null;
  ended_at: string | null;
  message: string | null;
  files: string[];
  current_mode: string | null;
  remaining_modes: string[];
  progress_pct: number;
  remaining_s: number | null;
  /**
   * [NEW] per-slot data-integrity counters across the modes run so far. `expected_points`: the
   * rows the runs should have delivered (polled galvanostatic modes: the polls made; a mode
   * stopped by a cut-off: its plan up to there); `nominal_points`: the plans' N.
   */
  points: number;
  expected_points: number;
  nominal_points: number;
  lost: number;
  dac_underruns: number;
  adc_overflows: number;
  /** [NEW] Rows at a potential rail or at current full scale (clipped readings). */
  overloads: number;
  /** [NEW] One entry per mode started so far, in sequence order. */
  results: SlotModeResult[];
}

/** [NEW] What one mode of a slot delivered and concluded. */
export interface SlotModeResult {
  mode: string;
  points: number;
  expected_points: number;
  /** [NEW] The plan's N; a polled galvanostatic mode's rows are its polls (see `poll_rate_hz`), fewer than N by design. */
  nominal_points: number;
  lost: number;
  /** [NEW] Rows at a potential rail or at current full scale (clipped readings), and the first one's plan index. */
  overloads: number;
  first_overload_index: number | null;
  /** [NEW] completed, aborted, charge_cutoff or potential_cutoff; `stop_detail` says where and at what value. */
  stop_reason: string;
  stop_detail: string | null;
  /** [NEW] Charge passed (C), null for OCP. */
  charge_c: number | null;
  /** [NEW] Achieved poll rate of a polled galvanostatic mode (Hz), null for FIFO modes. */
  poll_rate_hz: number | null;
  /** Warnings of the recording and the analysis (CDL fit, EIS quality, ...). */
  warnings: string[];
  error: string | null;
  /** The mode's post-analysis (CDL: C_dl, R², per-rate currents, warnings), or null. */
  analysis: ModeAnalysis | null;
}

export interface JobStatus {
  run_id: string;
  mode: string;
  modes: string[];
  current_mode: string | null;
  remaining_modes: string[];
  status: JobState;
  started_at: string;
  ended_at: string | null;
  progress_pct: number;
  remaining_s: number | null;
  group_id: string | null;
  slots: SlotStatus[];
  /** [NEW] Validation warnings of the job's modes (high values, clamps, ...), as at submit. */
  warnings: ModeWarning[];
  /** [NEW] Parameters that run differently from what was sent (EIS frequency clamp, ...): field, requested and applied value. */
  adjustments: Adjustment[];
}

export interface JobOverview {
  run_id: string;
  mode: string;
  status: JobState;
  started_at: string;
  ended_at: string | null;
  devices: string[];
  group_id: string | null;
}

/** [NEW] Whether a slot's device is there: `offline` slots keep their name while their device is gone. */
export type DevicePresence = 'online' | 'offline';

export interface DeviceInfo {
  slot: string;
  port: string;
  sn: string | null;
  /** [NEW] Added field; absent means online (older producers). */
  state?: DevicePresence;
  /** [NEW] Why the slot is offline; null while online. */
  state_reason?: string | null;
}

export interface DeviceStatusEntry extends Omit<SlotStatus, 'status'> {
  status: 'idle' | 'queued' | 'running';
  run_id: string | null;
  /** [NEW] Presence of the slot's device (see DeviceInfo.state). */
  state?: DevicePresence;
}

/** POST /jobs body after schema validation (rest-api.md 4.1); values not yet normalised. */
export interface JobRequestBody {
  devices: string[] | 'all';
  modes: string[];
  params_by_mode?: Record<string, unknown>;
  tia_gain?: number | null;
  sampling_interval?: number | null;
  /** [NEW] Charge limit (C) for every mode that has `charge_cutoff_c` and sets none; null = none. */
  charge_cutoff_c?: number | null;
  experiment_name: string;
  subdir?: string | null;
  client_datetime: string;
  run_name?: string | null;
  folder_name?: string | null;
  group_id?: string | null;
  make_plot?: boolean;
}
