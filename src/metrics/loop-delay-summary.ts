/**
 * The supervisor's event-loop delay as a Prometheus summary, read from the daemon's own monitor
 * (the figures /health reports), not from a second histogram: quantiles 0.5, 0.99 and 1 (max)
 * over the monitor's last complete window, `_count`/`_sum` over every delay since the start.
 */
import { Summary, type Registry } from 'prom-client';

export interface LoopDelaySource {
  /** The last complete window, in milliseconds (EventLoopMonitor.read()). */
  window(): { p50_ms: number; p99_ms: number; max_ms: number };
  /** Every delay since the start (EventLoopMonitor.totals()). */
  totals(): { count: number; sum_s: number };
}

/** A summary whose values come from the monitor at scrape time; `observe` is never called. */
class MonitorSummary extends Summary {
  constructor(
    registry: Registry,
    private readonly source: LoopDelaySource,
  ) {
    super({
      name: 'beepbox_event_loop_delay_seconds',
      help: "Supervisor event-loop delay: quantiles over the daemon monitor's last window (BEEPBOX_LOOP_WINDOW_S, default 10 s; /health event_loop_delay), count and sum since the start.",
      percentiles: [0.5, 0.99, 1],
      registers: [registry],
    });
  }

  override async get(): ReturnType<Summary['get']> {
    const base = await super.get();
    const w = this.source.window();
    const totals = this.source.totals();
    return {
      ...base,
      values: [
        { labels: { quantile: 0.5 }, value: w.p50_ms / 1000 },
        { labels: { quantile: 0.99 }, value: w.p99_ms / 1000 },
        { labels: { quantile: 1 }, value: w.max_ms / 1000 },
        { metricName: `${base.name}_sum`, labels: {}, value: totals.sum_s },
        { metricName: `${base.name}_count`, labels: {}, value: totals.count },
      ],
    };
  }
}

export function registerLoopDelaySummary(registry: Registry, source: LoopDelaySource): Summary {
  return new MonitorSummary(registry, source);
}
