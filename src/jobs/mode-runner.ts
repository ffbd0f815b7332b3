/**
 * Runs one mode of a plan on a slot's worker and turns what the worker streams into the slot's
 * events; returns the mode's counters. Cancellation arrives through `signal` and becomes the
 * worker's abort (switch off, stop, keep the partial data).
 */
import type { CellControlReport } from '../driver/cell-control.js';
import type { MeasureOutcome, SlotWorker } from '../slots/slot-worker.js';
import { commonParamsOf } from '../modes/common-params.js';
import type { JobPlan, ModeStep } from './job-plan.js';
import { runTimeLimitCounters } from './mode-counters.js';
import type { LinkCounters, ModeCounters, SlotEvent } from './slot-events.js';

export interface ModeRunOptions {
  plan: JobPlan;
  step: ModeStep;
  worker: SlotWorker;
  emit(event: SlotEvent): void;
  signal: AbortSignal;
  galPollIntervalMs?: number;
  /** The previous mode left the cell under control (see MeasureRequest.linked). */
  linked?: boolean;
  /** Another mode follows: keep the cell under control after this one. */
  keepControl?: boolean;
}

export interface ModeRunResult {
  counters: ModeCounters;
  /** How the mode kept the cell under control (linked start, rest, hold after the run). */
  control: CellControlReport | null;
  /** The mode's Modbus traffic (GET /metrics). */
  link: LinkCounters;
}

function toCounters(outcome: MeasureOutcome): ModeCounters {
  const sum = outcome.summary;
  return {
    points: outcome.integrity.rows,
    expected_points: sum.expected_points,
    lost: sum.lost + outcome.integrity.missingMessages,
    duplicated: sum.duplicated + outcome.integrity.duplicatedRows,
    dac_underruns: sum.dac_underruns,
    adc_overflows: sum.adc_overflows,
    duration_s: sum.duration_s,
    measured_interval_us: sum.measured_interval_us,
    poll_rate_hz: sum.poll_rate_hz,
    aborted: sum.aborted,
    ...runTimeLimitCounters(sum),
  };
}

/** The gain the mode runs with: its own `tia_gain` (admission fills it from the job's), else the job's. */
function modeGain(o: ModeRunOptions): number | null {
  return commonParamsOf(o.step.mode, o.step.params).tiaGain ?? o.plan.tiaGain;
}

export async function runMode(o: ModeRunOptions): Promise<ModeRunResult> {
  const modeIndex = o.step.index;
  const abort = (): void => void o.worker.abort().catch(() => undefined);
  // Registered before the request goes out: a cancel in between is never lost (the worker
  // handles control calls in order, so the abort reaches it after the measure call). A signal
  // already aborted (a cancel at the mode's start) fires no event: abort right after the call.
  o.signal.addEventListener('abort', abort, { once: true });
  try {
    const measuring = o.worker.measure(
      {
        mode: o.step.mode, params: o.step.params, pointCount: o.step.points, tiaGain: modeGain(o), galPollIntervalMs: o.galPollIntervalMs,
        linked: o.linked, keepControl: o.keepControl,
      },
      {
        onBlock: (b) => o.emit({ type: 'block', modeIndex, firstIndex: b.firstIndex, count: b.count, current: b.current, potential: b.potential }),
        onEvent: (event) => o.emit({ type: 'integrity', modeIndex, event }),
        onProgress: (pointsDone) => o.emit({ type: 'progress', modeIndex, pointsDone }),
      },
    );
    if (o.signal.aborted) abort();
    const outcome = await measuring;
    const counters = toCounters(outcome);
    // The plan's N is the nominal reference for every mode (the worker reports it too, for the CLI);
    // expected_points is what the run should have delivered (polls made, or up to a cut-off).
    counters.nominal_points = o.step.points;
    const { transactions, busy_replies, timeouts } = outcome.summary;
    return { counters, control: outcome.summary.control ?? null, link: { transactions, busy_replies, timeouts } };
  } finally {
    o.signal.removeEventListener('abort', abort);
  }
}
