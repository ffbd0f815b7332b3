/**
 * The metrics consumer: turns a slot's event stream into its Prometheus counters (GET /metrics).
 * Points are counted live from the blocks, so a scrape during a mode shows its progress; at the
 * mode's end the count is brought to the mode's `points` (blocks this optional consumer lost
 * while behind are added then), and lost, underruns, overflows, overloads and the Modbus figures
 * are added from the same counters the job record and run.json keep, so the totals agree exactly.
 *
 * Optional and synchronous: it never holds the slot back, and a failure only detaches it.
 */
import type { SlotEvent, SlotSubscriber, SubscriberFactory } from '../slot-events.js';

/** What the consumer reports; src/metrics' SlotMetrics implements it (wired in main.ts). */
export interface SlotMetricsSink {
  pointsReceived(slot: string, count: number): void;
  integrityEvent(slot: string, kind: string): void;
  modeEnded(
    slot: string,
    report: {
      mode: string;
      outcome: string;
      lost: number;
      dac_underruns: number;
      adc_overflows: number;
      overloads: number;
      link: { transactions: number; busy_replies: number; timeouts: number } | null;
    },
  ): void;
}

export function metricsSubscriber(sink: SlotMetricsSink): SubscriberFactory {
  return (ctx): SlotSubscriber => {
    const slot = ctx.slot.slot;
    /** Rows reported for each mode so far (by mode index). */
    const counted = new Map<number, number>();
    const report = (modeIndex: number, rows: number): void => {
      if (rows <= 0) return;
      counted.set(modeIndex, (counted.get(modeIndex) ?? 0) + rows);
      sink.pointsReceived(slot, rows);
    };

    function handle(event: SlotEvent): void {
      switch (event.type) {
        case 'block':
          report(event.modeIndex, event.count);
          return;
        case 'integrity':
          sink.integrityEvent(slot, event.event.kind);
          return;
        case 'mode-ended': {
          const step = ctx.plan.steps[event.modeIndex];
          const c = event.counters;
          if (c !== null) report(event.modeIndex, c.points - (counted.get(event.modeIndex) ?? 0));
          counted.delete(event.modeIndex);
          sink.modeEnded(slot, {
            mode: step?.mode ?? 'unknown',
            outcome: c === null ? 'failed' : c.stop_reason,
            lost: c?.lost ?? 0,
            dac_underruns: c?.dac_underruns ?? 0,
            adc_overflows: c?.adc_overflows ?? 0,
            overloads: c?.overloads ?? 0,
            link: event.link ?? null,
          });
          return;
        }
        default:
          return;
      }
    }

    return { name: 'metrics', essential: false, handle };
  };
}
