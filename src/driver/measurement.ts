/** Options and results shared by the three measurement loops. */
import type { CellControlOptions, CellControlReport } from './cell-control.js';
import type { OverloadFigures } from './overload-counter.js';
import type { IntegrityEvent } from './run-accounting.js';
import type { RunLimits } from './run-limits.js';
import type { SampleSink } from './sample-sink.js';

export interface LoopOptions {
  /** TIA gain index 0–3 (4, 5 are clamped by the firmware); null leaves it unchanged. */
  tiaGain: number | null;
  signal: AbortSignal;
  sink: SampleSink;
  /** Galvanostatic live-value polling period. */
  galPollIntervalMs?: number;
  /** Charge and potential cut-offs from the mode's final parameters (none when absent). */
  limits?: RunLimits;
  /** The mode's place in its slot's sequence (linked start, keep control after, rest). */
  control?: CellControlOptions;
  /** Called with plan-index progress; cheap. */
  onProgress?: (pointsDone: number) => void;
}

/** Why a mode's measurement ended. Only `aborted` ends the slot's sequence. */
export type StopReason = 'completed' | 'aborted' | 'charge_cutoff' | 'potential_cutoff';

/** What a measurement delivered against its plan: reported by the CLI, the job record and the API. */
export interface IntegrityCounters {
  /** Rows delivered to the sink. */
  points: number;
  /**
   * Rows this run should have delivered: the plan's points up to where it stopped (FIFO
   * modes), or the polls made (polled galvanostatic modes, which sample at the achieved
   * poll rate, not at the FIFO rate). points + lost = expected_points for a clean run.
   */
  expected_points: number;
  /** The plan's N (FIFO point count); more than expected_points for polled modes and early stops. */
  nominal_points: number;
  lost: number;
  duplicated: number;
  dac_underruns: number;
  adc_overflows: number;
  /** Rows at a potential rail or at current full scale (clipped readings). */
  overloads: number;
  duration_s: number;
}

export interface RunSummary extends IntegrityCounters, OverloadFigures {
  aborted: boolean;
  stop_reason: StopReason;
  /** What ended the mode early (charge or potential cut-off), null otherwise. */
  stop_detail: string | null;
  /** Charge passed, Σ I·Δt over the rows received (C); null for OCP. */
  charge_c: number | null;
  /** Galvanostatic steps ended early by a potential cut-off with action next_step. */
  cutoff_steps: number;
  /** Mean device tick period measured from the pair stream, in µs (null for polling). */
  measured_interval_us: number | null;
  /** Galvanostatic polling rate achieved, in Hz (null for FIFO modes). */
  poll_rate_hz: number | null;
  /** Modbus transactions of this measurement (the slot worker subtracts what its client counted before). */
  transactions: number;
  /** BUSY replies; each request is retried after one. */
  busy_replies: number;
  /** FIFO-mode BUSY replies by where they happened (pacing diagnostics). */
  busy_by_phase?: { stream: number; drain: number; write: number };
  /** Requests of this measurement that got no reply in time. */
  timeouts: number;
  events: IntegrityEvent[];
  /** How the cell was kept under control around the run (absent from loops that do not report it). */
  control?: CellControlReport;
}
