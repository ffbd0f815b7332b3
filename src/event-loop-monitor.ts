/**
 * Event-loop delay of the supervisor over a sliding window, for /health: the figure that
 * says whether anything is blocking the loop that serves the API. GET /metrics publishes the
 * same figures as a summary, with the running count and sum of every delay recorded.
 *
 * Node's histogram records the whole interval between two firings of its sampling timer, so the
 * delay is that interval minus the sampling period. The period is 10 ms, not 1 ms: a 1 ms timer
 * wakes the supervisor a thousand times a second, which cost it 1.6 % of a core doing nothing
 * (as much as ten streaming slots). A block shorter than the period can hide between two samples;
 * anything that delays the API by more than a few milliseconds still shows.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface LoopDelayFigures {
  window_s: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

/** Every delay recorded since the monitor started (monotonic: a Prometheus summary's _count and _sum). */
export interface LoopDelayTotals {
  count: number;
  sum_s: number;
}

/** How often the loop is sampled (the histogram's timer), in milliseconds. */
export const LOOP_SAMPLE_MS = 10;
const LOOP_SAMPLE_NS = LOOP_SAMPLE_MS * 1e6;

export class EventLoopMonitor {
  private current: IntervalHistogram;
  private last: LoopDelayFigures | null = null;
  /** Delays of the completed windows (the current one is added at read time). */
  private readonly done: LoopDelayTotals = { count: 0, sum_s: 0 };
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly windowS = 10) {
    this.current = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
    this.current.enable();
    this.timer = setInterval(() => this.rotate(), windowS * 1000);
    this.timer.unref();
  }

  private rotate(): void {
    this.last = EventLoopMonitor.figures(this.current, this.windowS);
    const window = EventLoopMonitor.totalsOf(this.current);
    this.done.count += window.count;
    this.done.sum_s += window.sum_s;
    this.current.reset();
  }

  /** An empty histogram's mean is NaN: no delays, no sum. */
  private static totalsOf(h: IntervalHistogram): LoopDelayTotals {
    return h.count === 0 ? { count: 0, sum_s: 0 } : { count: h.count, sum_s: (Math.max(0, h.mean - LOOP_SAMPLE_NS) * h.count) / 1e9 };
  }

  private static figures(h: IntervalHistogram, windowS: number): LoopDelayFigures {
    // An empty histogram reads 0 everywhere: no delay either.
    const ms = (intervalNs: number) => Number((Math.max(0, intervalNs - LOOP_SAMPLE_NS) / 1e6).toFixed(2));
    return { window_s: windowS, p50_ms: ms(h.percentile(50)), p99_ms: ms(h.percentile(99)), max_ms: ms(h.max) };
  }

  /** The last complete window (or the current one before the first rotation). */
  read(): LoopDelayFigures {
    return this.last ?? EventLoopMonitor.figures(this.current, this.windowS);
  }

  totals(): LoopDelayTotals {
    const window = EventLoopMonitor.totalsOf(this.current);
    return { count: this.done.count + window.count, sum_s: this.done.sum_s + window.sum_s };
  }

  stop(): void {
    clearInterval(this.timer);
    this.current.disable();
  }
}
