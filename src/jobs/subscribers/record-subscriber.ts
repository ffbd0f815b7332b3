/**
 * The job-record consumer: keeps the slot's part of the persisted record (one result per mode
 * with its counters, first integrity events, warnings, plot outcome and error, and the files on
 * disk) and saves it at each mode boundary. Essential: the record is what survives a restart.
 */
import type { Logger } from 'pino';
import type { ModeResult, SlotRecord } from '../job-record.js';
import { startingModeCounters } from '../mode-counters.js';
import type { SlotEvent, SlotSubscriber } from '../slot-events.js';

/** First integrity events kept per mode (all of them are counted). */
const MAX_EVENTS_KEPT = 50;

export interface RecordSubscriberOptions {
  record: SlotRecord;
  logger: Logger;
  /** Saves the job record (coalesced, never throws). */
  persist(): void;
  /** Run-relative files of the slot's modes up to and including `lastModeIndex`. */
  listFiles(lastModeIndex: number): Promise<string[]>;
}

export function recordSubscriber(options: RecordSubscriberOptions): SlotSubscriber {
  const { record, logger } = options;
  const resultOf = (modeIndex: number): ModeResult | undefined => record.results[modeIndex];

  async function refreshFiles(modeIndex: number): Promise<void> {
    record.files = await options.listFiles(modeIndex);
    options.persist();
  }

  function handle(event: SlotEvent): void | Promise<void> {
    switch (event.type) {
      case 'mode-started':
        record.results[event.step.index] = {
          mode: event.step.token, ...startingModeCounters(event.step.points), events: [], plot: null, warnings: [], error: null,
        };
        return;
      case 'integrity': {
        const r = resultOf(event.modeIndex);
        if (r && r.events.length < MAX_EVENTS_KEPT) r.events.push(event.event);
        logger.warn({ mode: r?.mode, event: event.event }, 'data integrity event');
        return;
      }
      case 'mode-ended': {
        const r = resultOf(event.modeIndex);
        if (!r) return;
        if (event.counters) Object.assign(r, event.counters);
        if (event.error !== null) r.error = event.error;
        logger.info({ mode: r.mode, points: r.points, expected: r.expected_points, lost: r.lost, underruns: r.dac_underruns, overflows: r.adc_overflows }, 'mode finished');
        return refreshFiles(event.modeIndex);
      }
      case 'mode-recorded': {
        const r = resultOf(event.modeIndex);
        if (!r) return;
        if (event.result) {
          r.warnings.push(...event.result.warnings);
          r.analysis = event.result.analysis;
        }
        if (event.error !== null) r.error ??= event.error;
        return refreshFiles(event.modeIndex);
      }
      case 'plot-rendered': {
        const r = resultOf(event.modeIndex);
        if (!r) return;
        r.plot = event.outcome;
        return refreshFiles(event.modeIndex);
      }
      default:
        return;
    }
  }

  return { name: 'job-record', essential: true, handle };
}
