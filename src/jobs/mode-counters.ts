/**
 * The run-time-limit part of a mode's counters (overloads, why it stopped, the charge), taken
 * from the worker's summary, and the zeroed counters a mode starts with in the job record.
 */
import type { RunSummary } from '../driver/measurement.js';
import type { ModeCounters } from './slot-events.js';

type LimitCounters = Pick<ModeCounters, 'overloads' | 'overloads_current' | 'overloads_potential' | 'first_overload_index' | 'stop_reason' | 'stop_detail' | 'charge_c' | 'cutoff_steps' | 'nominal_points'>;

export function runTimeLimitCounters(sum: RunSummary): LimitCounters {
  return {
    overloads: sum.overloads,
    overloads_current: sum.overloads_current,
    overloads_potential: sum.overloads_potential,
    first_overload_index: sum.first_overload_index,
    stop_reason: sum.stop_reason,
    stop_detail: sum.stop_detail,
    charge_c: sum.charge_c,
    cutoff_steps: sum.cutoff_steps,
    nominal_points: sum.nominal_points,
  };
}

/** A mode that has just started: nothing measured yet, the plan's N as both references. */
export function startingModeCounters(planPoints: number): ModeCounters {
  return {
    points: 0, expected_points: planPoints, nominal_points: planPoints, lost: 0, duplicated: 0, dac_underruns: 0, adc_overflows: 0,
    overloads: 0, overloads_current: 0, overloads_potential: 0, first_overload_index: null,
    duration_s: 0, measured_interval_us: null, poll_rate_hz: null, aborted: false,
    stop_reason: 'completed', stop_detail: null, charge_c: null, cutoff_steps: 0,
  };
}
