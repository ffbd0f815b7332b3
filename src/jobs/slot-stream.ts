/**
 * Fans one slot's event stream out to its consumers, each through its own queue, so a slow or
 * failing consumer can neither stall the slot nor another consumer (see SlotSubscriber for the
 * essential/optional policies).
 *
 * Back-pressure: none reaches the device, which cannot be paused without losing data. An
 * essential consumer that falls behind holds its events in memory (the recorder moves the work
 * to its own thread, so its queue stays short); an optional one drops blocks past its bound and
 * is told how many. Failure: an essential consumer's first error is reported to the slot
 * (`onEssentialFailure`), which stops the measurement and fails; an optional one is detached.
 */
import type { Logger } from 'pino';
import type { SlotEvent, SlotSubscriber } from './slot-events.js';

const DEFAULT_MAX_QUEUED = 1000;

class Delivery {
  private readonly queue: SlotEvent[] = [];
  private head = 0;
  private busy = false;
  /** Inside a synchronous `handle`: an event it publishes queues instead of re-entering. */
  private handling = false;
  private dropped = 0;
  private idleWaiters: Array<() => void> = [];
  failure: Error | null = null;
  private closed = false;

  constructor(
    readonly subscriber: SlotSubscriber,
    private readonly onFailure: (d: Delivery, err: Error) => void,
  ) {}

  private get pending(): number {
    return this.queue.length - this.head;
  }

  push(event: SlotEvent): void {
    if (this.failure !== null || this.closed) return;
    if (!this.busy && !this.handling && this.pending === 0 && this.dropped === 0) {
      this.deliver(event);
      if (!this.busy && this.pending > 0) this.pump();
      return;
    }
    const max = this.subscriber.maxQueued ?? DEFAULT_MAX_QUEUED;
    if (!this.subscriber.essential && event.type === 'block' && this.pending >= max) {
      this.dropped++;
      return;
    }
    this.queue.push(event);
    if (!this.busy && !this.handling) this.pump();
  }

  /** Hands one event over; a returned promise holds back the next ones. */
  private deliver(event: SlotEvent): void {
    let result: void | Promise<void>;
    this.handling = true;
    try {
      result = this.subscriber.handle(event);
    } catch (err) {
      this.fail(err);
      return;
    } finally {
      this.handling = false;
    }
    if (result instanceof Promise) {
      this.busy = true;
      result.then(
        () => {
          this.busy = false;
          this.pump();
        },
        (err: unknown) => {
          this.busy = false;
          this.fail(err);
        },
      );
    }
  }

  private pump(): void {
    while (!this.busy && this.failure === null) {
      if (this.dropped > 0) {
        const count = this.dropped;
        this.dropped = 0;
        this.deliver({ type: 'dropped', count });
        continue;
      }
      if (this.pending === 0) break;
      const event = this.queue[this.head]!;
      this.queue[this.head++] = undefined as never;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      this.deliver(event);
    }
    if (this.isIdle()) this.wakeIdle();
  }

  private fail(err: unknown): void {
    this.failure = err instanceof Error ? err : new Error(String(err));
    this.queue.length = 0;
    this.head = 0;
    this.onFailure(this, this.failure);
    this.wakeIdle();
  }

  isIdle(): boolean {
    return this.failure !== null || (!this.busy && this.pending === 0 && this.dropped === 0);
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Resolves once every event pushed so far was handled (or the consumer failed). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.subscriber.close?.();
  }
}

export interface SlotStreamOptions {
  logger: Logger;
  /** The first failure of an essential consumer (the slot stops and fails with it). */
  onEssentialFailure(subscriber: string, err: Error): void;
}

export class SlotStream {
  private readonly deliveries: Delivery[] = [];

  constructor(private readonly options: SlotStreamOptions) {}

  add(subscriber: SlotSubscriber): void {
    this.deliveries.push(new Delivery(subscriber, (d, err) => this.onFailure(d, err)));
  }

  private onFailure(d: Delivery, err: Error): void {
    const { name, essential } = d.subscriber;
    this.options.logger.error({ err, subscriber: name, essential }, essential ? 'slot consumer failed; the slot stops' : 'optional slot consumer failed and was detached');
    if (essential) this.options.onEssentialFailure(name, err);
    void d.close().catch((closeErr: unknown) => this.options.logger.warn({ err: closeErr, subscriber: name }, 'slot consumer did not close cleanly'));
  }

  emit(event: SlotEvent): void {
    for (const d of this.deliveries) d.push(event);
  }

  /**
   * Waits until the essential consumers have handled every event so far, including the derived
   * events they publish while doing so; nobody is closed (more events may follow).
   */
  async settle(): Promise<void> {
    const essential = this.deliveries.filter((d) => d.subscriber.essential);
    // A consumer may publish while handling (mode-recorded → plot-rendered), waking one that was
    // already idle: done only when all are idle at the same moment.
    while (!essential.every((d) => d.isIdle())) await Promise.all(essential.map((d) => d.idle()));
  }

  /**
   * Waits until the essential consumers have handled every event, including the derived events
   * they publish while doing so, then closes every consumer. Optional consumers are not waited
   * for: they finish their queue on their own and are closed when they do.
   */
  async finish(): Promise<void> {
    await this.settle();
    for (const d of this.deliveries) {
      if (d.subscriber.essential) await d.close();
      else void d.idle().then(() => d.close()).catch((err: unknown) => this.options.logger.warn({ err, subscriber: d.subscriber.name }, 'slot consumer did not close cleanly'));
    }
  }

  /** The failure of an essential consumer, if one failed. */
  essentialFailure(): { subscriber: string; error: Error } | null {
    const d = this.deliveries.find((x) => x.subscriber.essential && x.failure !== null);
    return d ? { subscriber: d.subscriber.name, error: d.failure! } : null;
  }
}
