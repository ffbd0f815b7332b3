/**
 * The charge a mode has passed, Q = Σ I·Δt over the rows received, and its cut-off. Rows are
 * added one by one where the blocks are built; the loop asks `reached` after each received
 * block (a FIFO read, a poll), so the overshoot is at most one block and the triggering block
 * is kept.
 */
import { formatSi } from './si-format.js';

export class ChargeMeter {
  /** Q so far (C), signed. */
  charge = 0;
  /** Plan index of the last row of the block that reached the cut-off, or null. */
  stoppedAt: number | null = null;

  constructor(readonly cutoffC: number | null) {}

  add(currentA: number, dtS: number): void {
    this.charge += currentA * dtS;
  }

  /** True once |Q| ≥ the cut-off; the first call that sees it records `lastIndex` as where the mode stops. */
  reached(lastIndex: number): boolean {
    if (this.stoppedAt !== null) return true;
    if (this.cutoffC === null || !(Math.abs(this.charge) >= this.cutoffC)) return false;
    this.stoppedAt = lastIndex;
    return true;
  }

  /** "stopped at the charge cut-off: |Q| = 1.02 mC ≥ 1 mC at plan index 2345". */
  describeStop(): string {
    return `stopped at the charge cut-off: |Q| = ${formatSi(Math.abs(this.charge), 'C')} ≥ ${formatSi(this.cutoffC ?? 0, 'C')} at plan index ${this.stoppedAt ?? -1}`;
  }
}
