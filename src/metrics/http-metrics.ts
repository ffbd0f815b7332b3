/**
 * HTTP request durations by method, route template and status class. The route is the table's
 * template (`/jobs/{run_id}`), never the raw path: one series per endpoint, whatever the ids.
 */
import { Histogram, type Registry } from 'prom-client';

/** The label of requests no route handled (404, 405, refused Host or Origin). */
export const UNMATCHED_ROUTE = 'unmatched';

/** From sub-millisecond answers (/health) to ZIP downloads and live streams. */
const DURATION_BUCKETS_S = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export function statusClassOf(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}

export class HttpMetrics {
  private readonly durations: Histogram<'method' | 'route' | 'status_class'>;

  constructor(registry: Registry) {
    this.durations = new Histogram({
      name: 'beepbox_http_request_duration_seconds',
      help: 'Time from the request to the end of its response (streams: until they close), by method, route template and status class.',
      labelNames: ['method', 'route', 'status_class'],
      buckets: DURATION_BUCKETS_S,
      registers: [registry],
    });
  }

  observeRequest(method: string, route: string | null, status: number, seconds: number): void {
    this.durations.observe({ method, route: route ?? UNMATCHED_ROUTE, status_class: statusClassOf(status) }, seconds);
  }
}
