/**
 * Waits between galvanostatic polls (every ~2 ms). On a thread that blocks for its replies
 * anyway (the port offers `exchange`: a slot worker owning its tty), short waits block the
 * thread too (Atomics.wait: one futex sleep instead of a timer and an event-loop turn), and
 * the event loop is given a turn at least every `yieldEveryMs`, so a cancel, the watchdog's
 * ping and control calls are still answered within that time. Elsewhere every wait is a timer.
 */
import { sleep } from './modbus-client.js';

/** Longest the event loop goes without a turn while polling (ms). */
const YIELD_EVERY_MS = 20;

export class PollPacer {
  private lastYield = performance.now();
  private readonly cell: Int32Array | null;

  constructor(blocking: boolean, private readonly yieldEveryMs = YIELD_EVERY_MS) {
    this.cell = blocking ? new Int32Array(new SharedArrayBuffer(4)) : null;
  }

  /** Waits `ms` (≤ 0: no wait, but still a turn of the event loop when one is due). */
  async pause(ms: number): Promise<void> {
    const cell = this.cell;
    if (cell === null) {
      await sleep(Math.max(0, ms));
      return;
    }
    const until = performance.now() + ms;
    if (until - this.lastYield >= this.yieldEveryMs) {
      // A turn of the event loop without a timer (timers round up to whole milliseconds and
      // would stretch the poll period); the rest of the wait blocks as usual.
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.lastYield = performance.now();
    }
    const left = until - performance.now();
    if (left > 0) Atomics.wait(cell, 0, 0, left);
  }
}
