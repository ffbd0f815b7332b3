/**
 * The daemon's Prometheus metrics (GET /metrics): one registry per daemon (never prom-client's
 * global one, so tests and several daemons in one process do not collide) holding the slot
 * counters, the HTTP histogram, the state gauges, the event-loop summary and prom-client's
 * default process metrics (CPU, memory, file descriptors, GC, heap; not its event-loop lag).
 *
 * This layer imports nothing from the rest of src/: the composition root hands it the sources
 * (functions), the job consumer and the HTTP app call its methods.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';
import { HttpMetrics } from './http-metrics.js';
import { registerLoopDelaySummary, type LoopDelaySource } from './loop-delay-summary.js';
import { SlotMetrics } from './slot-metrics.js';
import { registerStateGauges, type BoxIdentity, type StateSources } from './state-gauges.js';

export { SlotMetrics, type ModeEndReport } from './slot-metrics.js';
export { HttpMetrics, UNMATCHED_ROUTE, statusClassOf } from './http-metrics.js';
export type { BoxIdentity, StateSources, UploadStats } from './state-gauges.js';
export type { LoopDelaySource } from './loop-delay-summary.js';

export interface BoxMetricsOptions {
  identity: BoxIdentity;
  state: StateSources;
  loopDelay: LoopDelaySource;
  /** Slots to show at 0 from the start (their counters otherwise appear with the first run). */
  slots?: readonly string[];
}

export class BoxMetrics {
  private readonly registry = new Registry();
  readonly slots: SlotMetrics;
  readonly http: HttpMetrics;

  constructor(options: BoxMetricsOptions) {
    collectDefaultMetrics({ register: this.registry });
    // One source of loop delay: the daemon's monitor (the summary below, the /health figures).
    // prom-client's own lag gauges would repeat it, and write `Nan` (not NaN) when a scrape finds no sample.
    for (const m of this.registry.getMetricsAsArray()) if (m.name.startsWith('nodejs_eventloop_lag')) this.registry.removeSingleMetric(m.name);
    this.slots = new SlotMetrics(this.registry);
    this.http = new HttpMetrics(this.registry);
    registerStateGauges(this.registry, options.state, options.identity);
    registerLoopDelaySummary(this.registry, options.loopDelay);
    for (const slot of options.slots ?? []) this.slots.declareSlot(slot);
  }

  /** `text/plain; version=0.0.4; charset=utf-8`: the Prometheus text exposition. */
  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  observeRequest(method: string, route: string | null, status: number, seconds: number): void {
    this.http.observeRequest(method, route, status, seconds);
  }
}
