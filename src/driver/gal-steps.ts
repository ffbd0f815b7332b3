/**
 * The step loop of a galvanostatic run: one PID_START per step, then the step's rows, by
 * polling the live values (this firmware pushes no FIFO pairs in PID mode, beep-protocol.md
 * 6.5) or, on a device that does push them, from the ADC FIFO. Each polled row sits at the
 * plan index of its elapsed time within the step (sparse, exactly aligned, never duplicated).
 *
 * The host sees every row as it arrives, so it also applies the run-time limits here: the
 * charge cut-off (stop the mode after the block that reached it) and the potential cut-offs
 * (stop the mode, or end the step and go on with the next). Setup and teardown of the run are
 * the caller's (gal-run.ts).
 */
import { AbortedError } from '../errors.js';
import { MAX_ADC_READ_PAIRS } from '../protocol/constants.js';
import { wordBytesToFloat32 } from '../protocol/words.js';
import type { BeepDevice } from './beep-device.js';
import { sleep } from './modbus-client.js';
import { PollPacer } from './poll-pacer.js';
import type { LoopOptions } from './measurement.js';
import type { IntegrityEvent } from './run-accounting.js';
import { NO_LIMITS, potentialCutoffCrossed, type RunLimits } from './run-limits.js';
import type { RunMonitor } from './run-monitor.js';
import type { BlockBuilder } from './sample-sink.js';

export interface GalSteps {
  currentA: Float32Array;
  length: Int32Array;
}

const FIFO_PROBE_MS = 15;

/** What the step loop measured. */
export interface GalStepCounts {
  /** Rows emitted. */
  rows: number;
  /** Live-value polls answered (0 when the device pushed FIFO pairs), for the poll rate. */
  polls: number;
  /** Time of the last poll since the run's start (ms), for the poll rate. */
  pollTimeMs: number;
  busy: number;
  /** The device pushed FIFO pairs in PID mode (rows are FIFO pairs, not polls). */
  fifoData: boolean;
  /** Plan points skipped because a potential cut-off ended their step early. */
  skippedPoints: number;
  /** Steps ended early by a potential cut-off (action next_step). */
  cutoffSteps: number;
  /** Why the mode stopped at a potential cut-off (action stop_mode), or null. */
  potentialStop: string | null;
}

type StepEnd = 'complete' | 'next_step' | 'stop_mode';

export class GalStepLoop {
  readonly counts: GalStepCounts = { rows: 0, polls: 0, pollTimeMs: 0, busy: 0, fifoData: false, skippedPoints: 0, cutoffSteps: 0, potentialStop: null };
  private readonly limits: RunLimits;
  private readonly pollMs: number;
  /** Middle of the transaction of the last polled row (ms), for the charge's Δt. */
  private lastRowAtMs: number | null = null;
  private readonly pacer: PollPacer;

  constructor(
    private readonly device: BeepDevice,
    private readonly steps: GalSteps,
    private readonly pointIntervalS: number,
    private readonly options: LoopOptions,
    private readonly blocks: BlockBuilder,
    private readonly monitor: RunMonitor,
    private readonly report: (event: IntegrityEvent) => void,
    private readonly startedMs: number,
  ) {
    this.limits = options.limits ?? NO_LIMITS;
    this.pollMs = options.galPollIntervalMs ?? 2;
    this.pacer = new PollPacer(device.client.blocking);
  }

  /** Runs every step (or until a cut-off stops the mode). The CE switch must be closed. */
  async run(): Promise<void> {
    let stepStart = 0;
    for (let s = 0; s < this.steps.length.length; s++) {
      this.checkAbort();
      const length = this.steps.length[s]!;
      await this.device.pidStart(this.steps.currentA[s]!);
      const t0 = performance.now();
      this.lastRowAtMs ??= t0;
      let end: StepEnd;
      let covered: number;
      if (s === 0) await this.probeFifo(stepStart);
      if (this.counts.fifoData) ({ end, covered } = await this.fifoStep(s, stepStart, length));
      else ({ end, covered } = await this.pollStep(s, stepStart, length, t0));
      if (end !== 'complete') this.counts.skippedPoints += length - covered;
      if (end === 'stop_mode' || this.monitor.charge.stoppedAt !== null) {
        for (let rest = s + 1; rest < this.steps.length.length; rest++) this.counts.skippedPoints += this.steps.length[rest]!;
        return;
      }
      stepStart += length;
    }
  }

  private checkAbort(): void {
    if (this.options.signal.aborted) throw new AbortedError();
  }

  /** Whether this device pushes FIFO pairs in PID mode: one read shortly after the first PID_START. */
  private async probeFifo(stepStart: number): Promise<void> {
    await sleep(FIFO_PROBE_MS);
    const probe = await this.device.readPairs(1);
    this.counts.fifoData = probe !== null;
    if (probe) this.emit(stepStart, wordBytesToFloat32(probe, 0), wordBytesToFloat32(probe, 4), this.pointIntervalS);
  }

  private emit(planIndex: number, currentA: number, potentialV: number, dtS: number): void {
    this.blocks.add(planIndex, currentA, potentialV);
    this.monitor.row(planIndex, currentA, potentialV, dtS);
    this.counts.rows++;
  }

  /**
   * After a received block whose last row is `planIndex` (potential `potentialV` crossed a
   * cut-off or not): how the step goes on. The block is kept in every case.
   */
  private afterBlock(step: number, planIndex: number, crossedAt: { planIndex: number; potentialV: number } | null, elapsedS: number): StepEnd | null {
    if (this.monitor.chargeCutoffReached(planIndex)) return 'stop_mode';
    if (crossedAt === null) return null;
    const which = potentialCutoffCrossed(this.limits, crossedAt.potentialV)!;
    const limit = which === 'max' ? `≥ potential_cutoff_max ${this.limits.potentialCutoffMax} V` : `≤ potential_cutoff_min ${this.limits.potentialCutoffMin} V`;
    const stepText = `step ${step + 1} of ${this.steps.length.length}`;
    const reading = `${Number(crossedAt.potentialV.toPrecision(4))} V ${limit} at plan index ${crossedAt.planIndex}, ${elapsedS.toFixed(3)} s into ${stepText}`;
    if (this.limits.potentialCutoffAction === 'next_step') {
      this.counts.cutoffSteps++;
      this.report({ kind: 'potential_cutoff', planIndex: crossedAt.planIndex, count: 0, message: `potential cut-off: ${reading}; went on with the next step` });
      return 'next_step';
    }
    this.counts.potentialStop = `stopped at the potential cut-off: ${reading}`;
    this.report({ kind: 'potential_cutoff', planIndex: crossedAt.planIndex, count: 0, message: this.counts.potentialStop });
    return 'stop_mode';
  }

  /** A step from FIFO pairs, counted per step (the fork's fix of pyBEEP's cumulative counter). */
  private async fifoStep(step: number, stepStart: number, length: number): Promise<{ end: StepEnd; covered: number }> {
    const t0 = performance.now();
    let got = step === 0 ? 1 : 0;
    while (got < length) {
      this.checkAbort();
      const want = Math.min(MAX_ADC_READ_PAIRS, length - got);
      const data = await this.device.readPairs(want);
      if (!data) {
        this.counts.busy++;
        await sleep(Math.max(1, (want * this.pointIntervalS * 1000) / 2));
        continue;
      }
      let crossed: { planIndex: number; potentialV: number } | null = null;
      for (let p = 0; p < want; p++) {
        const potentialV = wordBytesToFloat32(data, p * 8 + 4);
        this.emit(stepStart + got + p, wordBytesToFloat32(data, p * 8), potentialV, this.pointIntervalS);
        if (crossed === null && potentialCutoffCrossed(this.limits, potentialV) !== null) crossed = { planIndex: stepStart + got + p, potentialV };
      }
      got += want;
      this.blocks.maybeFlush();
      this.options.onProgress?.(stepStart + got);
      const end = this.afterBlock(step, stepStart + got - 1, crossed, (performance.now() - t0) / 1000);
      if (end) return { end, covered: got };
    }
    return { end: 'complete', covered: length };
  }

  /** A step from live-value polls at the poll period; each poll is one block of one row. */
  private async pollStep(step: number, stepStart: number, length: number, t0: number): Promise<{ end: StepEnd; covered: number }> {
    const stepMs = length * this.pointIntervalS * 1000;
    let lastIndex = -1;
    // When the next poll is due: one poll period after the previous one was due; a late poll
    // goes at once and the schedule restarts from it (no catch-up burst, no poll period skipped).
    let due = t0;
    for (;;) {
      this.checkAbort();
      const before = performance.now();
      if (before - t0 >= stepMs) return { end: 'complete', covered: length };
      const v = await this.device.readLiveValues();
      const after = performance.now();
      this.counts.polls++;
      this.counts.pollTimeMs = after - this.startedMs;
      // Stamp the sample at the middle of the transaction.
      const mid = (before + after) / 2;
      // A poll whose middle falls past the step's end, or on the plan point of the previous one,
      // adds no row (the plan has no index for it); every other poll is one row.
      const offset = Math.min(length - 1, Math.floor((mid - t0) / (this.pointIntervalS * 1000)));
      if (offset > lastIndex) {
        // The charge: this row's current over the time since the previous row (the actual poll spacing).
        this.emit(stepStart + offset, v.weoutA, v.reoutV, (mid - (this.lastRowAtMs ?? t0)) / 1000);
        this.lastRowAtMs = mid;
        lastIndex = offset;
      }
      this.blocks.maybeFlush();
      this.options.onProgress?.(stepStart + offset + 1);
      const crossed = potentialCutoffCrossed(this.limits, v.reoutV) !== null ? { planIndex: stepStart + offset, potentialV: v.reoutV } : null;
      const end = this.afterBlock(step, stepStart + lastIndex, crossed, (mid - t0) / 1000);
      if (end) return { end, covered: offset + 1 };
      due = Math.max(due + this.pollMs, after);
      await this.pacer.pause(due - performance.now());
    }
  }
}
