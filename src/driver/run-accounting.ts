/**
 * Exact bookkeeping of one FIFO run (beep-protocol.md 6.4–6.6, 10.2), pure and testable.
 *
 * Device pairs are numbered k = 0, 1, 2, … in push order. Pair 0 is measured before the
 * first setpoint (pre-run). Without underruns pair k belongs to setpoint k − 1. An
 * underrun at tick u inserts pair u + 1 measured under the held output: it duplicates
 * the previous setpoint and is dropped, which restores the alignment for later pairs.
 * An ADC overflow overwrites the oldest unread pairs: they are lost, and the plan
 * indices they carried are reported as a gap, never filled with later data.
 *
 * A status snapshot (adc_fifo_elem A, dac_fifo_elem D, both right after the last tick)
 * taken with no transaction in flight gives the exact tick count
 *   T = received + lost + A   (when A < capacity)
 *   T = pops + underruns     with pops = written − max(D, 0)
 * from which new underruns or lost pairs follow.
 */
import { ADC_FIFO_CAPACITY_PAIRS } from '../protocol/constants.js';

export interface IntegrityEvent {
  /**
   * FIFO accounting (`dac_underrun`, `adc_overflow`, `read_lost`, `accounting_uncertain`), or
   * what the run-time limits saw: `overload` (points at a potential rail or at current full
   * scale), `charge_cutoff` (the mode stopped at its charge limit), `potential_cutoff` (a
   * galvanostatic step or mode ended at a potential limit).
   */
  kind: 'dac_underrun' | 'adc_overflow' | 'read_lost' | 'accounting_uncertain' | 'overload' | 'charge_cutoff' | 'potential_cutoff';
  /** Plan index at which it happened (first affected index). */
  planIndex: number;
  /** Ticks (underrun), pairs (overflow) or points (overload) affected. */
  count: number;
  message: string;
}

interface Range {
  from: number;
  to: number; // exclusive, device pair numbers
}

export class RunAccounting {
  /** Setpoints queued in the DAC FIFO so far. */
  written = 0;
  /** Device pairs popped from the ADC FIFO so far (pair 0 included). */
  received = 0;
  underrunTicks = 0;
  lostPairs = 0;
  /** True while the last exact snapshot saw a full ADC FIFO (oldest pairs being overwritten). */
  overflowing = false;
  readonly events: IntegrityEvent[] = [];
  /** Underrun gap in progress: tick at which the FIFO ran dry, set when D = −1 is seen. */
  private openGapStartTick: number | null = null;
  private readonly dropped: Range[] = [];
  private readonly lost: Range[] = [];
  /** Written counts just before each write since the last snapshot (gap start candidates). */
  private writesSinceSnapshot: number[] = [];
  private lastTicks = 0;

  constructor(readonly totalSetpoints: number, private readonly adcCapacity = ADC_FIFO_CAPACITY_PAIRS) {}

  /** True when every setpoint has been queued (later underruns are the normal end). */
  get allWritten(): boolean {
    return this.written >= this.totalSetpoints;
  }

  get knownTicks(): number {
    return this.lastTicks;
  }

  noteWrite(count: number): void {
    this.writesSinceSnapshot.push(this.written);
    this.written += count;
  }

  /**
   * Applies a snapshot. `writtenAtSnapshot` must equal `written` (no write in flight) and
   * `received` must be exact. Returns the new events.
   */
  applySnapshot(adcFifoElem: number, dacFifoElem: number): IntegrityEvent[] {
    const before = this.events.length;
    const pops = this.written - Math.max(dacFifoElem, 0);
    const adcFull = adcFifoElem >= this.adcCapacity;
    this.overflowing = adcFull;
    if (!adcFull) {
      const ticks = this.received + this.lostPairs + adcFifoElem;
      const underruns = Math.max(0, ticks - pops);
      // Once every setpoint has been applied, underruns are the normal end of the run.
      const tail = pops >= this.totalSetpoints;
      const newUnderruns = tail ? 0 : underruns - this.underrunTicks;
      if (newUnderruns > 0) this.recordUnderruns(newUnderruns, dacFifoElem < 0);
      else if (dacFifoElem < 0 && !tail && this.openGapStartTick === null) this.openGapStartTick = pops + this.underrunTicks;
      this.lastTicks = ticks;
    } else {
      // Overflow: pairs beyond capacity were overwritten. Only exact when the DAC side is
      // known to have no new underruns (D ≥ 0 or all written).
      const ticks = pops + this.underrunTicks;
      if (dacFifoElem < 0 && !this.allWritten) {
        this.events.push({ kind: 'accounting_uncertain', planIndex: this.planIndexOf(this.received), count: 0, message: 'ADC FIFO full while the DAC FIFO was empty: loss and underrun cannot be separated' });
      }
      const lostNow = ticks - this.received - this.lostPairs - this.adcCapacity;
      if (lostNow > 0) this.recordLoss(this.received + this.lostPairs, lostNow);
      this.lastTicks = Math.max(this.lastTicks, ticks);
    }
    if (dacFifoElem >= 0) this.openGapStartTick = null;
    this.writesSinceSnapshot = [];
    return this.events.slice(before);
  }

  /**
   * Places `count` pairs just read while the FIFO was overflowing: pairs kept being
   * overwritten until the read, so their pair numbers are only known afterwards, from a
   * snapshot taken after the read (FIFO no longer full, DAC side known): they are the `count`
   * pairs just before the `adcFifoElem` still pending. Any pairs between what was accounted
   * and them were lost. Returns the new events, or null (nothing placed) when the snapshot
   * cannot decide.
   */
  placeReadAfterOverflow(count: number, adcFifoElem: number, dacFifoElem: number): IntegrityEvent[] | null {
    if (adcFifoElem >= this.adcCapacity || (dacFifoElem < 0 && !this.allWritten)) return null;
    const before = this.events.length;
    const ticks = this.written - Math.max(dacFifoElem, 0) + this.underrunTicks;
    const first = ticks - adcFifoElem - count;
    const gap = first - (this.received + this.lostPairs);
    if (gap > 0) this.recordLoss(this.received + this.lostPairs, gap);
    this.overflowing = false;
    this.lastTicks = Math.max(this.lastTicks, ticks);
    return this.events.slice(before);
  }

  /**
   * Places the `count` pairs left in the ADC FIFO once the run has stopped (drained to
   * BUSY): nothing ticks any more, so they are the last `count` of the run's
   * `expectedPairs`. Pairs between what was accounted and them were overwritten.
   * More pairs than expected cannot be placed exactly: that is reported.
   */
  placeFinalPairs(count: number): IntegrityEvent[] {
    const before = this.events.length;
    const first = this.expectedPairs - count;
    const next = this.received + this.lostPairs;
    if (first > next) this.recordLoss(next, first - next);
    else if (first < next) {
      this.events.push({ kind: 'accounting_uncertain', planIndex: this.planIndexOf(next), count: next - first, message: `the device delivered ${next - first} more points than the run can have` });
    }
    this.overflowing = false;
    return this.events.slice(before);
  }

  private recordLoss(from: number, count: number): void {
    this.lost.push({ from, to: from + count });
    this.lostPairs += count;
    this.events.push({ kind: 'adc_overflow', planIndex: this.planIndexOf(from), count, message: `ADC FIFO overflow: ${count} points overwritten before they could be read` });
  }

  /** Plan points (indices 0 … n−1) inside lost pair ranges. */
  lostPlanPoints(n: number): number {
    let total = 0;
    for (const r of this.lost) {
      for (let pair = r.from; pair < r.to; pair++) {
        const index = this.planIndexOf(pair);
        if (index >= 0 && index < n) total++;
      }
    }
    return total;
  }

  /**
   * After a read timed out the device may have popped pairs whose reply never arrived.
   * With no new underruns (DAC side known) the tick count comes from the DAC side and
   * the shortfall on the ADC side is the lost read.
   */
  reconcileLostRead(adcFifoElem: number, dacFifoElem: number): IntegrityEvent[] {
    const before = this.events.length;
    const ticks = this.written - Math.max(dacFifoElem, 0) + this.underrunTicks;
    const missing = ticks - this.received - this.lostPairs - Math.min(adcFifoElem, this.adcCapacity);
    if (missing > 0 && (dacFifoElem >= 0 || this.allWritten)) {
      const from = this.received + this.lostPairs;
      this.lost.push({ from, to: from + missing });
      this.lostPairs += missing;
      this.events.push({ kind: 'read_lost', planIndex: this.planIndexOf(from), count: missing, message: `a FIFO read reply was lost after the device removed ${missing} points` });
    }
    this.lastTicks = Math.max(this.lastTicks, ticks);
    return this.events.slice(before);
  }

  private recordUnderruns(count: number, stillEmpty: boolean): void {
    let startTick: number;
    let uncertain = false;
    if (this.openGapStartTick !== null) startTick = this.openGapStartTick;
    else if (stillEmpty) startTick = this.written - 0 + this.underrunTicks; // all written popped: gap began after them
    else {
      // The gap began when the FIFO ran dry just before one of the writes since the last snapshot.
      const candidates = this.writesSinceSnapshot;
      uncertain = candidates.length !== 1;
      startTick = (candidates[candidates.length - 1] ?? this.written) + this.underrunTicks;
    }
    // Underrun at tick u inserts pair u + 1; the setpoint due at that tick is delayed.
    const from = startTick + 1;
    const planIndex = this.planIndexOf(from);
    this.dropped.push({ from, to: from + count });
    this.underrunTicks += count;
    this.events.push({ kind: 'dac_underrun', planIndex, count, message: `DAC FIFO underrun: output held for ${count} ticks at plan index ${planIndex}; the held points were dropped` });
    if (uncertain) {
      this.events.push({ kind: 'accounting_uncertain', planIndex, count, message: 'underrun position inferred from several candidate writes' });
    }
    this.openGapStartTick = stillEmpty ? startTick + count : null;
  }

  /** Plan index carried by device pair k, or −1 when the pair is pre-run or an underrun duplicate. */
  planIndexOf(pair: number): number {
    if (pair <= 0) return -1;
    let dropsBefore = 0;
    for (const r of this.dropped) {
      if (pair >= r.from && pair < r.to) return -1;
      if (pair >= r.to) dropsBefore += r.to - r.from;
    }
    return pair - 1 - dropsBefore;
  }

  /**
   * Accounts for `count` pairs just popped and returns, per pair, its plan index
   * (−1 = drop). Lost ranges are skipped in pair numbering.
   */
  takePairs(count: number): Int32Array {
    const out = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const pair = this.received + this.lostPairs + i;
      out[i] = this.planIndexOf(pair);
    }
    this.received += count;
    return out;
  }

  /** Pairs the device must deliver in total for a complete run. */
  get expectedPairs(): number {
    return this.totalSetpoints + 1 + this.underrunTicks;
  }
}
