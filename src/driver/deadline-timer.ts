/**
 * One timer for a stream of short-lived deadlines (one Modbus transaction after another).
 *
 * Creating and clearing a Node timer per transaction costs more than the transaction's own
 * work. Here the timer is armed only when no armed timer would fire in time; clearing a
 * deadline leaves the timer armed. When it fires early (its deadline was replaced by a later
 * one) it re-arms for what is left; with no live deadline it stops. So a stream of
 * transactions of ~1 ms with a 500 ms timeout arms the timer about twice a second, not twice
 * per transaction. An armed timer keeps the event loop alive until it lapses (at most one
 * timeout after the last deadline) or `dispose`: toggling ref/unref per transaction instead
 * was measured to delay the thread's other timers (galvanostatic polls fell from ~550/s to ~440/s).
 */
export class DeadlineTimer {
  private timer: NodeJS.Timeout | null = null;
  /** When the armed timer fires (ms on `now`'s clock); Infinity when none is armed. */
  private firesAt = Infinity;
  /** The live deadline; Infinity when none. */
  private deadline = Infinity;

  constructor(
    private readonly onExpire: () => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Whether a deadline is live. */
  get active(): boolean {
    return this.deadline !== Infinity;
  }

  /** Makes `at` the live deadline (replacing any other). */
  set(at: number): void {
    this.deadline = at;
    if (this.timer === null || this.firesAt > at) this.arm(at);
  }

  /** No live deadline: `onExpire` will not run. The armed timer (if any) lapses on its own. */
  clear(): void {
    this.deadline = Infinity;
  }

  /** Stops the timer for good (e.g. the port closed); `set` may arm it again. */
  dispose(): void {
    this.deadline = Infinity;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.firesAt = Infinity;
  }

  private arm(at: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.firesAt = at;
    this.timer = setTimeout(this.fire, Math.max(1, at - this.now()));
  }

  private readonly fire = (): void => {
    this.timer = null;
    this.firesAt = Infinity;
    if (this.deadline === Infinity) return;
    // Node timers may fire up to ~1 ms early (millisecond rounding): re-arm for what is left.
    if (this.now() < this.deadline) {
      this.arm(this.deadline);
      return;
    }
    this.deadline = Infinity;
    this.onExpire();
  };
}
