/** Options and results shared by the three measurement loops. */
import type { IntegrityEvent } from './run-accounting.js';
import type { SampleSink } from './sample-sink.js';

export interface LoopOptions {
  /** TIA gain index 0–3 (4, 5 are clamped by the firmware); null leaves it unchanged. */
  tiaGain: number | null;
  signal: AbortSignal;
  sink: SampleSink;
  /** Galvanostatic live-value polling period. */
  galPollIntervalMs?: number;
  /** Called with plan-index progress; cheap. */
  onProgress?: (pointsDone: number) => void;
}

/** What a measurement delivered against its plan: reported by the CLI, the job record and the API. */
export interface IntegrityCounters {
  /** Rows delivered to the sink. */
  points: number;
  /** Rows the plan asked for (galvanostatic polling delivers fewer by design). */
  expected_points: number;
  lost: number;
  duplicated: number;
  dac_underruns: number;
  adc_overflows: number;
  duration_s: number;
}

export interface RunSummary extends IntegrityCounters {
  aborted: boolean;
  /** Mean device tick period measured from the pair stream, in µs (null for polling). */
  measured_interval_us: number | null;
  /** Galvanostatic polling rate achieved, in Hz (null for FIFO modes). */
  poll_rate_hz: number | null;
  transactions: number;
  busy_replies: number;
  /** FIFO-mode BUSY replies by where they happened (pacing diagnostics). */
  busy_by_phase?: { stream: number; drain: number; write: number };
  timeouts: number;
  events: IntegrityEvent[];
}
