/**
 * The ordered stream one slot emits while it runs its plan, and the interface every consumer
 * (CSV recorder, plots, job record, progress, live streams, metadata writers) implements.
 *
 * Per mode the stream is: `mode-started` → `block`* / `integrity`* / `progress`* →
 * `mode-ended`, then the derived `mode-recorded` (files written, published by the recorder)
 * and `plot-rendered` (published by the plot consumer) may follow later, interleaved with the
 * next mode. After the last mode, `slot-ended` closes the stream. Each consumer sees every
 * event exactly once, in emission order.
 */
import type { IntegrityCounters, RunSummary } from '../driver/measurement.js';
import type { IntegrityEvent } from '../driver/run-accounting.js';
import type { RecordingResult } from '../recording/mode-recorder.js';
import type { ModeFiles } from '../storage/run-layout.js';
import type { JobPlan, ModeStep, SlotPlan } from './job-plan.js';

/** What a mode delivered against its plan (from the worker's summary and the stream check). */
export type ModeCounters = Pick<
  RunSummary,
  | keyof IntegrityCounters
  | 'measured_interval_us'
  | 'poll_rate_hz'
  | 'aborted'
  | 'stop_reason'
  | 'stop_detail'
  | 'charge_c'
  | 'cutoff_steps'
  | 'overloads_current'
  | 'overloads_potential'
  | 'first_overload_index'
>;

/** A mode's Modbus traffic (kept out of ModeCounters: it is not part of the job record). */
export type LinkCounters = Pick<RunSummary, 'transactions' | 'busy_replies' | 'timeouts'>;

export type SlotEvent =
  | { type: 'mode-started'; step: ModeStep; files: ModeFiles; at: string }
  /** Rows for plan indices [firstIndex, firstIndex + count). The arrays are shared: read-only, copy to keep. */
  | { type: 'block'; modeIndex: number; firstIndex: number; count: number; current: Float32Array; potential: Float32Array }
  | { type: 'integrity'; modeIndex: number; event: IntegrityEvent }
  /** Highest plan index measured so far + 1 (between blocks, for progress). */
  | { type: 'progress'; modeIndex: number; pointsDone: number }
  /** `counters` is null when the measurement failed before it produced a summary. */
  | { type: 'mode-ended'; modeIndex: number; counters: ModeCounters | null; error: string | null; at: string; link?: LinkCounters | null }
  | { type: 'mode-recorded'; modeIndex: number; result: RecordingResult | null; error: string | null }
  /** `outcome` is "ok" or why the plot was skipped. */
  | { type: 'plot-rendered'; modeIndex: number; outcome: string }
  /**
   * The slot's last event: its terminal state, as the job record has it. Emitted once the
   * consumers have handled everything before it; the job counts as ended only after they
   * handled this too (run.json is complete before the NAS upload starts).
   */
  | { type: 'slot-ended'; status: 'done' | 'failed' | 'cancelled'; message: string | null; at: string }
  /** Events this consumer did not get because its queue was full (optional consumers only). */
  | { type: 'dropped'; count: number };

export type SlotEventType = SlotEvent['type'];

/** Who a consumer works for. */
export interface SlotContext {
  readonly plan: JobPlan;
  readonly slotIndex: number;
  readonly slot: SlotPlan;
  /** Aborted when the slot is cancelled, fails or the daemon stops: skip optional work. */
  readonly signal: AbortSignal;
  /** Adds a derived event to this slot's stream (every consumer, including the publisher, gets it). */
  publish(event: SlotEvent): void;
}

/**
 * A consumer of one slot's stream. `handle` is called once per event, in order; when it returns
 * a promise, the next event waits for it (events queue meanwhile, the slot does not).
 *
 * - essential: the data depends on it (CSV, plots, job record). Its queue is unbounded, so it
 *   never loses an event; if it throws, the slot fails with its reason; the slot reports its
 *   end only after the consumer has handled everything.
 * - optional (live streams, metadata, test probes): its queue holds at most `maxQueued`
 *   events; beyond that, blocks are dropped and a `dropped` event tells it how many. If it
 *   throws it is detached and logged; the slot and the other consumers go on. The slot does
 *   not wait for it at the end.
 *
 * `handle` must return quickly when it is synchronous: it runs on the supervisor's event loop.
 */
export interface SlotSubscriber {
  readonly name: string;
  readonly essential: boolean;
  /** Optional consumers only: queue bound (default 1000 events). */
  readonly maxQueued?: number;
  handle(event: SlotEvent): void | Promise<void>;
  /** Called once after the last event (or after a failure detached it); release resources here. */
  close?(): void | Promise<void>;
}

/** Creates one consumer per running slot; registered once with the engine. */
export type SubscriberFactory = (ctx: SlotContext) => SlotSubscriber | null;
