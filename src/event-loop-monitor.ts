/**
 * Event-loop delay of the supervisor over a sliding window, for /health: the figure that
 * says whether anything is blocking the loop that serves the API.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface LoopDelayFigures {
  window_s: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

export class EventLoopMonitor {
  private current: IntervalHistogram;
  private last: LoopDelayFigures | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly windowS = 10) {
    this.current = monitorEventLoopDelay({ resolution: 1 });
    this.current.enable();
    this.timer = setInterval(() => this.rotate(), windowS * 1000);
    this.timer.unref();
  }

  private rotate(): void {
    this.last = EventLoopMonitor.figures(this.current, this.windowS);
    this.current.reset();
  }

  private static figures(h: IntervalHistogram, windowS: number): LoopDelayFigures {
    const ms = (ns: number) => Number((ns / 1e6).toFixed(2));
    return { window_s: windowS, p50_ms: ms(h.percentile(50)), p99_ms: ms(h.percentile(99)), max_ms: ms(h.max) };
  }

  /** The last complete window (or the current one before the first rotation). */
  read(): LoopDelayFigures {
    return this.last ?? EventLoopMonitor.figures(this.current, this.windowS);
  }

  stop(): void {
    clearInterval(this.timer);
    this.current.disable();
  }
}
