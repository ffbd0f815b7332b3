/**
 * The live side of one run: every event the run's live stream carries gets the next number of
 * the run's sequence (ids 1, 2, 3, … with no gap), is encoded once, kept in a bounded ring for
 * resumes, and queued to each client (each with its own bounded queue, live-client.ts).
 *
 * Per running mode it keeps the points sent so far, decimated (at most {@link MAX_HISTORY_POINTS},
 * halved in resolution when longer), so a client joining late draws the whole mode at once and
 * then follows the live tail.
 *
 * Fed by the live subscriber of each slot's stream (subscribers/live-subscriber.ts): `handle`
 * runs on the supervisor's loop for every block, so it only decimates into preallocated columns
 * and sends a `points` batch at most every {@link FLUSH_INTERVAL_MS} per slot.
 */
import { POINT_INTERVAL_S, getModeFamily } from '../../modes/index.js';
import type { ModeStep } from '../job-plan.js';
import type { SlotEvent } from '../slot-events.js';
import type { JobStatus } from '../types.js';
import { DisplayDecimator, PointColumns } from './display-points.js';
import { EventRing } from './event-ring.js';
import { LiveClient, type Delivery, type LiveClientLimits } from './live-client.js';
import { deriveModeLabels, type ModeLabels } from './plan-labels.js';
import { SSE_KEEP_ALIVE, SSE_RETRY, encodeSseEvent, type LiveEventType } from './sse-frame.js';

/** Shortest time between two `points` batches of one slot (≤ 20 batches/s). */
export const FLUSH_INTERVAL_MS = 50;
/** Shortest time between two `progress` events of one slot. */
export const PROGRESS_INTERVAL_MS = 500;
/** Points kept per running mode for late joiners; beyond it the history is halved in resolution. */
export const MAX_HISTORY_POINTS = 8000;
/** Display buckets per mode aimed at; the bucket is between ~5 ms and ~0.1 s of samples. */
const BUCKETS_PER_MODE = 4000;
const MIN_BUCKET = 14;
const MAX_BUCKET = 278;
/** Points per backlog event. */
const BACKLOG_CHUNK = 4000;
export const RING_MAX_EVENTS = 10_000;
export const RING_MAX_BYTES = 16 * 1024 * 1024;

/** Plan indices per display bucket for a mode of `points` plan points. */
export function displayBucketWidth(points: number): number {
  return Math.min(MAX_BUCKET, Math.max(MIN_BUCKET, Math.ceil(points / BUCKETS_PER_MODE)));
}

const roundTo = (x: number, scale: number): number => Math.round(x * scale) / scale;
const sig6 = (x: number): number => (x === 0 || !Number.isFinite(x) ? x : Number(x.toPrecision(6)));

/** One slot's mode while it runs. */
class RunningMode {
  readonly decimator: DisplayDecimator;
  /** Points decimated since the last batch. */
  readonly pending = new PointColumns(256);
  /** Points sent so far in this mode (the late joiners' backlog). */
  readonly history = new PointColumns(1024);
  readonly labels: ModeLabels;
  rows = 0;
  lastFlushMs = -Infinity;
  lastProgressMs = -Infinity;

  constructor(readonly step: ModeStep) {
    const signal = getModeFamily(step.mode) === 'pot' ? 'current' : 'potential';
    this.decimator = new DisplayDecimator(displayBucketWidth(step.points), signal);
    this.labels = deriveModeLabels(step.mode, step.params, step.points);
  }

  /** The `points` payload of `cols[from, to)`. */
  payload(slot: string, cols: PointColumns, from: number, to: number): Record<string, unknown> {
    const n = to - from;
    const index = new Array<number>(n);
    const t = new Array<number>(n);
    const e = new Array<number>(n);
    const i = new Array<number>(n);
    const cycle = this.labels.cycle ? new Array<number>(n) : null;
    const step = this.labels.step ? new Array<number>(n) : null;
    for (let k = 0; k < n; k++) {
      const j = cols.index[from + k]!;
      index[k] = j;
      t[k] = roundTo(j * POINT_INTERVAL_S, 1e6);
      e[k] = roundTo(cols.e[from + k]!, 1e6);
      i[k] = sig6(cols.i[from + k]!);
      if (cycle) cycle[k] = this.labels.cycle!.at(j);
      if (step) step[k] = this.labels.step!.at(j);
    }
    return { slot, mode_index: this.step.index, mode: this.step.token, first_index: n > 0 ? index[0] : null, index, t, e, i, cycle, step };
  }
}

export interface RunFeedOptions {
  runId: string;
  /** Slot names, by slot index of the plan. */
  slots: readonly string[];
  /** The job's current status (null when the engine no longer knows the run). */
  status(): JobStatus | null;
  limits: LiveClientLimits;
  /** Called once after `end` was sent (the hub forgets the run). */
  onEnd(): void;
  now?: () => number;
}

export interface AttachOptions {
  slot: string | null;
  /** `Last-Event-ID` of a reconnecting client. */
  lastEventId: number | null;
}

export class RunFeed {
  private seq = 0;
  private readonly ring = new EventRing(RING_MAX_EVENTS, RING_MAX_BYTES);
  private readonly modes: (RunningMode | null)[];
  private readonly slotOpen: boolean[];
  private readonly slotDone: boolean[];
  private readonly clients = new Set<LiveClient>();
  private ended = false;
  private readonly now: () => number;

  constructor(private readonly options: RunFeedOptions) {
    this.modes = options.slots.map(() => null);
    this.slotOpen = options.slots.map(() => true);
    this.slotDone = options.slots.map(() => false);
    this.now = options.now ?? (() => performance.now());
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** The last event id given out. */
  get lastId(): number {
    return this.seq;
  }

  // ---- the slot streams' side -----------------------------------------------------------

  handle(slotIndex: number, event: SlotEvent): void {
    if (this.ended) return;
    const slot = this.options.slots[slotIndex]!;
    switch (event.type) {
      case 'mode-started': {
        this.flush(slotIndex, true);
        const mode = new RunningMode(event.step);
        this.modes[slotIndex] = mode;
        this.publish('mode', { slot, mode_index: event.step.index, mode: event.step.token, state: 'started', plan: { points: event.step.points, planned_s: event.step.plannedS } }, slot, 'always');
        this.publishStatus();
        return;
      }
      case 'block': {
        const mode = this.modes[slotIndex];
        if (!mode || mode.step.index !== event.modeIndex) return;
        mode.rows += event.count;
        mode.decimator.add(event.firstIndex, event.count, event.current, event.potential, mode.pending);
        const now = this.now();
        if (now - mode.lastFlushMs >= FLUSH_INTERVAL_MS) this.flush(slotIndex, false, now);
        if (now - mode.lastProgressMs >= PROGRESS_INTERVAL_MS) this.publishProgress(slotIndex, now);
        return;
      }
      case 'progress': {
        const mode = this.modes[slotIndex];
        if (!mode || mode.step.index !== event.modeIndex) return;
        const now = this.now();
        if (now - mode.lastProgressMs >= PROGRESS_INTERVAL_MS) this.publishProgress(slotIndex, now);
        return;
      }
      case 'mode-ended': {
        const mode = this.modes[slotIndex];
        if (!mode || mode.step.index !== event.modeIndex) return;
        this.flush(slotIndex, true);
        this.publishProgress(slotIndex, this.now());
        this.modes[slotIndex] = null;
        this.publish('mode', { slot, mode_index: event.modeIndex, mode: mode.step.token, state: 'ended', counters: event.counters, error: event.error }, slot, 'always');
        this.publishStatus();
        return;
      }
      case 'slot-ended':
        this.slotEnded(slotIndex);
        return;
      default:
        return;
    }
  }

  /** The slot reached its terminal state: the status says so. */
  private slotEnded(slotIndex: number): void {
    if (this.slotDone[slotIndex]) return;
    this.slotDone[slotIndex] = true;
    this.flush(slotIndex, true);
    this.modes[slotIndex] = null;
    this.publishStatus();
  }

  /**
   * The slot's stream closed (or its live consumer was detached). The run's `end` follows its
   * last slot's, once the engine has released the slot (the essential consumers, run.json
   * included, have finished before optional ones are closed; the release follows within the same
   * turn): a client that starts the next job on `end` finds the slots free and the files complete.
   */
  slotClosed(slotIndex: number): void {
    if (this.ended || !this.slotOpen[slotIndex]) return;
    this.slotEnded(slotIndex);
    this.slotOpen[slotIndex] = false;
    if (this.slotOpen.some((open) => open)) return;
    this.ended = true;
    setImmediate(() => this.sendEnd());
  }

  private sendEnd(): void {
    const status = this.options.status();
    const frame = this.record('end', { run_id: this.options.runId, status: status?.status ?? null }, null, false);
    for (const client of this.clients) client.finish(frame);
    this.clients.clear();
    this.options.onEnd();
  }

  /** Sends the slot's pending points as one batch (`final`: the bucket still filling too). */
  private flush(slotIndex: number, final: boolean, now = this.now()): void {
    const mode = this.modes[slotIndex];
    if (!mode) return;
    if (final) mode.decimator.finish(mode.pending);
    mode.lastFlushMs = now;
    const pending = mode.pending;
    if (pending.length === 0) return;
    const slot = this.options.slots[slotIndex]!;
    this.publish('points', mode.payload(slot, pending, 0, pending.length), slot, 'droppable');
    mode.history.append(pending);
    while (mode.history.length > MAX_HISTORY_POINTS) mode.history.compact(mode.decimator.signal);
    pending.clear();
  }

  private publishProgress(slotIndex: number, now: number): void {
    const mode = this.modes[slotIndex];
    if (!mode) return;
    mode.lastProgressMs = now;
    const slot = this.options.slots[slotIndex]!;
    const figures = this.options.status()?.slots.find((s) => s.slot === slot);
    this.publish(
      'progress',
      { slot, mode_index: mode.step.index, points: mode.rows, expected_points: mode.step.points, progress_pct: figures?.progress_pct ?? null, remaining_s: figures?.remaining_s ?? null },
      slot,
      'droppable',
    );
  }

  private publishStatus(): void {
    const status = this.options.status();
    if (status) this.publish('status', status, null, 'always');
  }

  /** Numbers, encodes and keeps one event; returns its frame. */
  private record(type: LiveEventType, data: unknown, slot: string | null, droppable: boolean): Buffer {
    const id = ++this.seq;
    const frame = encodeSseEvent(id, type, data);
    this.ring.push({ id, slot, frame, droppable });
    return frame;
  }

  private publish(type: LiveEventType, data: unknown, slot: string | null, delivery: Delivery): void {
    const frame = this.record(type, data, slot, delivery === 'droppable');
    for (const client of this.clients) if (client.wants(slot)) client.send(frame, delivery, slot);
  }

  // ---- the clients' side ----------------------------------------------------------------

  /**
   * A new client: with a `Last-Event-ID` the ring still covers, the events after it; otherwise
   * the current status and the decimated points so far of each running mode (without ids: they
   * stand for the events up to now), then the live tail.
   */
  attach(client: LiveClient, options: AttachOptions): void {
    client.send(SSE_RETRY, 'always', null);
    const last = options.lastEventId;
    const oldest = this.ring.oldestId ?? this.seq + 1;
    if (last !== null && last <= this.seq && last >= oldest - 1) {
      for (const entry of this.ring.since(last)) if (client.wants(entry.slot)) client.send(entry.frame, entry.droppable ? 'droppable' : 'always', entry.slot);
    } else {
      this.sendSnapshot(client, last);
    }
    this.clients.add(client);
  }

  private sendSnapshot(client: LiveClient, resumeFrom: number | null): void {
    const status = this.options.status();
    if (status) client.send(encodeSseEvent(null, 'status', status), 'always', null);
    if (resumeFrom !== null) {
      const missed = Math.max(0, this.seq - resumeFrom);
      client.send(encodeSseEvent(null, 'dropped', { slot: client.slot, count: missed, reason: 'resume_too_old' }), 'always', null);
    }
    this.modes.forEach((mode, slotIndex) => {
      const slot = this.options.slots[slotIndex]!;
      if (!mode || !client.wants(slot)) return;
      const h = mode.history;
      for (let from = 0; from < h.length; from += BACKLOG_CHUNK) {
        client.send(encodeSseEvent(null, 'points', mode.payload(slot, h, from, Math.min(h.length, from + BACKLOG_CHUNK))), 'always', slot);
      }
    });
  }

  detach(client: LiveClient): void {
    this.clients.delete(client);
  }

  keepAlive(): void {
    for (const client of this.clients) client.keepAlive(SSE_KEEP_ALIVE);
  }

  /** Daemon shutdown: every client's stream ends (without `end`: the run did not end). */
  closeClients(): void {
    for (const client of this.clients) client.finish(null);
    this.clients.clear();
  }
}
