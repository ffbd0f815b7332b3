/**
 * One HTTP client of a run's live stream: a byte stream (the HTTP layer pipes it into the
 * response) with its own bounded queue. The queue is the stream's buffer: when the client reads
 * slower than the run produces, bytes pile up there, not anywhere the slot or other clients see.
 *
 * - Past {@link LiveClientLimits.behindBytes} the client is behind: `points` and `progress`
 *   events are not queued for it (each is counted per slot); everything else still is (a few
 *   small events per mode). Once its queue is below {@link LiveClientLimits.resumeBytes} again,
 *   a `dropped` event per slot says how many it lost, and the live feed goes on. The lost events
 *   stay in the run's ring for a while: the client may fetch them with `Last-Event-ID`.
 * - Past {@link LiveClientLimits.maxBytes} (a client that stopped reading altogether through a
 *   long sequence) the connection is closed; an EventSource reconnects and resumes.
 */
import { Readable } from 'node:stream';
import { encodeSseEvent } from './sse-frame.js';

export interface LiveClientLimits {
  behindBytes: number;
  resumeBytes: number;
  maxBytes: number;
}

export const DEFAULT_CLIENT_LIMITS: Readonly<LiveClientLimits> = Object.freeze({
  behindBytes: 256 * 1024,
  resumeBytes: 64 * 1024,
  maxBytes: 4 * 1024 * 1024,
});

/** How an event may be treated when the client is behind. */
export type Delivery = 'always' | 'droppable';

export class LiveClient extends Readable {
  /** Events not queued per slot while behind, reported in the next `dropped` events. */
  private readonly lost = new Map<string, number>();
  private behind = false;
  /** Sends nothing more after `end` (the stream is finished). */
  private ended = false;

  constructor(
    /** Only this slot's events (`?slot=`), or all. */
    readonly slot: string | null,
    private readonly limits: LiveClientLimits,
    private readonly onClose: (client: LiveClient) => void,
  ) {
    super({ highWaterMark: limits.resumeBytes });
  }

  /** Whether an event about `slot` (null: the whole run) is for this client. */
  wants(slot: string | null): boolean {
    return this.slot === null || slot === null || slot === this.slot;
  }

  /** Queues one frame; a droppable one is counted instead while the client is behind. */
  send(frame: Buffer, delivery: Delivery, slot: string | null): void {
    if (this.ended || this.destroyed) return;
    const queued = this.readableLength;
    if (this.behind && queued < this.limits.resumeBytes) this.reportLost();
    if (delivery === 'droppable' && (this.behind || queued >= this.limits.behindBytes)) {
      this.behind = true;
      const key = slot ?? '';
      this.lost.set(key, (this.lost.get(key) ?? 0) + 1);
      return;
    }
    if (queued + frame.length > this.limits.maxBytes) {
      this.destroy();
      return;
    }
    this.push(frame);
  }

  /** Queues the last frame and ends the stream (the HTTP response closes once it is written). */
  finish(frame: Buffer | null): void {
    if (this.ended || this.destroyed) return;
    if (this.behind) this.reportLost();
    if (frame !== null) this.push(frame);
    this.ended = true;
    this.push(null);
  }

  /** A comment line; skipped when bytes are already waiting (they keep the connection busy). */
  keepAlive(frame: Buffer): void {
    if (this.ended || this.destroyed || this.readableLength > 0) return;
    this.push(frame);
  }

  private reportLost(): void {
    this.behind = false;
    for (const [slot, count] of this.lost) this.push(encodeSseEvent(null, 'dropped', { slot: slot === '' ? null : slot, count, reason: 'slow_client' }));
    this.lost.clear();
  }

  /** The consumer wants more: a client that caught up learns at once what it lost. */
  override _read(): void {
    if (this.behind && this.readableLength < this.limits.resumeBytes) this.reportLost();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.ended = true;
    this.onClose(this);
    callback(err);
  }
}
