/**
 * Per-slot counters of what the devices delivered, fed by the metrics consumer of each slot's
 * event stream (src/jobs/subscribers/metrics-subscriber.ts). Each counter adds up the same
 * per-mode figures as GET /jobs/{id} and run.json, so after a run they agree exactly.
 */
import { Counter, type Registry } from 'prom-client';

/** What one finished mode adds to its slot's counters. */
export interface ModeEndReport {
  /** Catalogue mode that ran (CV, EIS, ...): a bounded label set. */
  mode: string;
  /** `completed`, `aborted`, `charge_cutoff`, `potential_cutoff` (the stop reason), or `failed`. */
  outcome: string;
  lost: number;
  dac_underruns: number;
  adc_overflows: number;
  overloads: number;
  /** Modbus traffic of the mode; null when the measurement failed before its summary. */
  link: { transactions: number; busy_replies: number; timeouts: number } | null;
}

export class SlotMetrics {
  private readonly points: Counter<'slot'>;
  private readonly lost: Counter<'slot'>;
  private readonly underruns: Counter<'slot'>;
  private readonly overflows: Counter<'slot'>;
  private readonly overloads: Counter<'slot'>;
  private readonly transactions: Counter<'slot'>;
  private readonly busyReplies: Counter<'slot'>;
  private readonly timeouts: Counter<'slot'>;
  private readonly modes: Counter<'slot' | 'mode' | 'outcome'>;
  private readonly integrity: Counter<'slot' | 'kind'>;

  constructor(registry: Registry) {
    const slotCounter = (name: string, help: string): Counter<'slot'> => new Counter({ name, help, labelNames: ['slot'], registers: [registry] });
    this.points = slotCounter('beepbox_points_received_total', 'Rows received from the device and handed to the CSV (live while a mode runs; GET /jobs/{id} points).');
    this.lost = slotCounter('beepbox_points_lost_total', 'Plan points never received (ADC overflows, lost reads; GET /jobs/{id} lost).');
    this.underruns = slotCounter('beepbox_dac_underruns_total', 'DAC FIFO underruns: setpoints the device had to hold (GET /jobs/{id} dac_underruns).');
    this.overflows = slotCounter('beepbox_adc_overflows_total', 'ADC FIFO overflows: pairs overwritten before they were read (GET /jobs/{id} adc_overflows).');
    this.overloads = slotCounter('beepbox_overloads_total', 'Rows at a potential rail or at the current full scale of the gain in force (GET /jobs/{id} overloads).');
    this.transactions = slotCounter('beepbox_modbus_transactions_total', 'Modbus RTU transactions of the measurements (counted when a mode ends).');
    this.busyReplies = slotCounter('beepbox_modbus_busy_replies_total', 'BUSY replies from the device, each followed by a retry of the request (counted when a mode ends).');
    this.timeouts = slotCounter('beepbox_modbus_timeouts_total', 'Modbus requests the device did not answer in time (counted when a mode ends).');
    this.modes = new Counter({
      name: 'beepbox_modes_total',
      help: 'Modes run, by catalogue mode and outcome (completed, aborted, charge_cutoff, potential_cutoff, failed).',
      labelNames: ['slot', 'mode', 'outcome'],
      registers: [registry],
    });
    this.integrity = new Counter({
      name: 'beepbox_integrity_events_total',
      help: 'Data-integrity and run-limit events by kind (dac_underrun, adc_overflow, read_lost, accounting_uncertain, overload, charge_cutoff, potential_cutoff).',
      labelNames: ['slot', 'kind'],
      registers: [registry],
    });
  }

  /** Makes a slot's counters appear at 0 before its first run (rate() needs a starting sample). */
  declareSlot(slot: string): void {
    for (const c of [this.points, this.lost, this.underruns, this.overflows, this.overloads, this.transactions, this.busyReplies, this.timeouts]) c.inc({ slot }, 0);
  }

  pointsReceived(slot: string, count: number): void {
    if (count > 0) this.points.inc({ slot }, count);
  }

  integrityEvent(slot: string, kind: string): void {
    this.integrity.inc({ slot, kind });
  }

  modeEnded(slot: string, report: ModeEndReport): void {
    this.modes.inc({ slot, mode: report.mode, outcome: report.outcome });
    this.lost.inc({ slot }, report.lost);
    this.underruns.inc({ slot }, report.dac_underruns);
    this.overflows.inc({ slot }, report.adc_overflows);
    this.overloads.inc({ slot }, report.overloads);
    if (report.link !== null) {
      this.transactions.inc({ slot }, report.link.transactions);
      this.busyReplies.inc({ slot }, report.link.busy_replies);
      this.timeouts.inc({ slot }, report.link.timeouts);
    }
  }
}
