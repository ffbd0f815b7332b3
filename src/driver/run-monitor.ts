/**
 * The per-row checks a measurement loop makes where it builds its blocks: overloads (rows at
 * a range limit) and the charge passed with its cut-off. One object per run; the loop feeds
 * every row it emits and asks after each received block whether the charge cut-off is reached.
 */
import { ChargeMeter } from './charge-meter.js';
import type { StopReason } from './measurement.js';
import { OverloadCounter, currentFullScaleA, type OverloadFigures } from './overload-counter.js';
import type { IntegrityEvent } from './run-accounting.js';
import type { RunLimits } from './run-limits.js';

export interface MonitorFigures extends OverloadFigures {
  charge_c: number | null;
}

export class RunMonitor {
  readonly charge: ChargeMeter;
  private overloads: OverloadCounter;

  /**
   * `measuresCharge`: false for OCP (no charge is passed, no cut-off applies). `report` gets
   * every event (overload episodes, the charge cut-off) for the sink and the run's event list.
   */
  constructor(limits: RunLimits | undefined, private readonly measuresCharge: boolean, private readonly report: (event: IntegrityEvent) => void) {
    this.charge = new ChargeMeter(measuresCharge ? (limits?.chargeCutoffC ?? null) : null);
    this.overloads = new OverloadCounter(null, report);
  }

  /** The effective TIA gain the run measures with (Ω): sets the current full scale. Call before the first row. */
  setGain(gainOhms: number): void {
    this.overloads = new OverloadCounter(gainOhms > 0 ? currentFullScaleA(gainOhms) : null, this.report);
  }

  row(planIndex: number, currentA: number, potentialV: number, dtS: number): void {
    this.overloads.check(planIndex, currentA, potentialV);
    this.charge.add(currentA, dtS);
  }

  /**
   * After a received block whose last row has `lastIndex`: true when the charge cut-off is
   * reached (the first time, the cut-off event is reported).
   */
  chargeCutoffReached(lastIndex: number): boolean {
    if (this.charge.stoppedAt !== null) return true;
    if (!this.charge.reached(lastIndex)) return false;
    this.report({ kind: 'charge_cutoff', planIndex: lastIndex, count: 0, message: this.charge.describeStop() });
    return true;
  }

  /** Closes the overload bookkeeping (reports the last episode); call once, after the last row. */
  finish(): MonitorFigures {
    this.overloads.finish();
    return { ...this.overloads.figures(), charge_c: this.measuresCharge ? this.charge.charge : null };
  }
}

/** The stop reason and its detail, from how the loop ended. */
export function describeStop(aborted: boolean, charge: ChargeMeter, potentialStop: string | null): { stop_reason: StopReason; stop_detail: string | null } {
  if (aborted) return { stop_reason: 'aborted', stop_detail: null };
  if (potentialStop !== null) return { stop_reason: 'potential_cutoff', stop_detail: potentialStop };
  if (charge.stoppedAt !== null) return { stop_reason: 'charge_cutoff', stop_detail: charge.describeStop() };
  return { stop_reason: 'completed', stop_detail: null };
}
