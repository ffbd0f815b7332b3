/**
 * FIFO-mode measurement loops: potentiostatic setpoint streaming and open-circuit
 * potential (beep-protocol.md 6, 9.4, 10.2). Pre-fills the DAC FIFO before FIFO_START,
 * keeps it topped up, drains the ADC FIFO at the point rate, cross-checks both against
 * the fill snapshots and drains the tail with shrinking reads.
 *
 * Longer than our ~400-line guide on purpose: it is one loop whose phases (pre-fill, stream,
 * snapshot cross-check, stop, tail drain) share the run's accounting state; split apart, the
 * invariants that keep every row aligned with its setpoint would be spread over several files.
 */
import { AbortedError, DeviceTimeoutError, ProtocolError } from '../errors.js';
import {
  ADC_FIFO_CAPACITY_PAIRS, Command, DAC_FIFO_CAPACITY_SETPOINTS, MAX_ADC_READ_PAIRS, MAX_DAC_WRITE_SETPOINTS,
  NOMINAL_POINT_INTERVAL_US, StatusBit, TIMER_UNIT_US,
} from '../protocol/constants.js';
import { wordBytesToFloat32 } from '../protocol/words.js';
import { BeepDevice, safeWriteSize, type PotValues } from './beep-device.js';
import { sleep } from './modbus-client.js';
import type { LoopOptions, RunSummary } from './measurement.js';
import { RunAccounting, type IntegrityEvent } from './run-accounting.js';
import { RunMonitor, describeStop } from './run-monitor.js';
import { BlockBuilder } from './sample-sink.js';
import { applyTiaGain, finishSummary, switchOffQuietly } from './run-common.js';
import { holdAfterStop, holdThroughStop, newControlReport, prepareCell, restCell } from './cell-control.js';

/** The fastest the firmware can tick (fifo_smp 200 timer units), with margin: bounds device progress. */
const MIN_TICK_US = 195;
const SNAPSHOT_PERIOD_MS = 250;
const MAX_CONSECUTIVE_TIMEOUTS = 5;
const SHRINKING_READS = [16, 8, 4, 2, 1];
/** A stopped run with fewer pairs left than it should have: how long to retry reads the device refuses. */
const STOPPED_BUSY_PATIENCE_MS = 1000;
/** Points of slack before a read is attempted: the estimate of pending pairs is a few ticks off. */
const PACING_MARGIN = 4;
/** Pairs let pile up between wake-ups while streaming (~90 ms at full rate), then read back to back. */
const STREAM_BATCH_PAIRS = 8 * MAX_ADC_READ_PAIRS;
const STREAM_MAX_SLEEP_MS = 100;
/**
 * Keeping control after the run: ticks before the expected stop at which the host starts polling
 * the status back to back, to close the CE the moment the firmware's stop opened it (~14 ms at 360 µs).
 */
const STOP_WATCH_TICKS = 40;

interface Clock {
  nowMs(): number;
}
const clock: Clock = { nowMs: () => performance.now() };

/**
 * Streams `setpoints` (potentiostatic) or, when `setpoints` is null, records `points`
 * open-circuit samples with the CE switch open. Rows go to `options.sink` with plan
 * indices 0 … N−1.
 */
export async function runFifoMeasurement(device: BeepDevice, setpoints: Float32Array | null, points: number, options: LoopOptions): Promise<RunSummary> {
  const run = new FifoRun(device, setpoints, points, options);
  return run.execute();
}

/** Thrown inside the loop when the charge cut-off is reached; the run then stops like a completed mode, not like an abort. */
class ChargeCutoffStop extends Error {
  constructor() {
    super('charge cut-off reached');
  }
}

class FifoRun {
  private readonly acc: RunAccounting;
  private readonly blocks: BlockBuilder;
  private readonly n: number;
  private t0 = 0;
  private lastSnapshot = { timeMs: 0, ticks: 0 };
  private intervalUs = NOMINAL_POINT_INTERVAL_US;
  private busy = 0;
  private busyByPhase = { stream: 0, drain: 0, write: 0 };
  private phase: 'stream' | 'drain' = 'stream';
  private consecutiveTimeouts = 0;
  private stopSent = false;
  private emitted = 0;
  private extra = 0;
  private readonly isOcp: boolean;
  /** Overloads and the charge (cut-off) of the rows emitted. */
  private readonly monitor: RunMonitor;
  private readonly control = newControlReport();
  /** A next mode follows: close the CE again right at the firmware's stop (never for OCP: open circuit). */
  private watchStop: boolean;

  constructor(private readonly device: BeepDevice, private readonly setpoints: Float32Array | null, points: number, private readonly options: LoopOptions) {
    this.n = setpoints ? setpoints.length : points;
    this.isOcp = setpoints === null;
    this.acc = new RunAccounting(this.isOcp ? 0 : this.n);
    this.blocks = new BlockBuilder(options.sink);
    this.monitor = new RunMonitor(options.limits, !this.isOcp, (e) => this.reportEvent(e));
    this.watchStop = !this.isOcp && options.control?.keepControl === true;
  }

  async execute(): Promise<RunSummary> {
    const started = clock.nowMs();
    let aborted = false;
    let streamEnd: { ms: number; ticks: number } | null = null;
    try {
      this.control.linked = await prepareCell(this.device, this.options.control);
      this.monitor.setGain(await applyTiaGain(this.device, this.options.tiaGain));
      this.throwIfAborted();
      const rest = this.options.control?.rest;
      if (rest && rest.seconds > 0) this.control.rest = await restCell(this.device, rest, this.options.signal);
      if (!this.isOcp) await this.prefill();
      // OCP: CE switch stays open (true open circuit); every tick is an expected underrun.
      await this.device.command(Command.FIFO_START, this.isOcp ? 0 : 1);
      this.t0 = clock.nowMs();
      this.lastSnapshot = { timeMs: this.t0, ticks: 0 };
      if (!this.isOcp && this.acc.allWritten) await this.sendStop();
      await this.stream();
      await this.drainTail();
      if (!this.isOcp && this.options.control?.keepControl && !this.control.held_after) this.control.held_after = await holdAfterStop(this.device);
    } catch (err) {
      // Aborted or failed: the CE is opened (the cell is released).
      this.control.held_after = false;
      if (err instanceof AbortedError) {
        aborted = true;
        await this.abortRun();
      } else if (err instanceof ChargeCutoffStop) {
        // The tick period is measured up to the last exact snapshot, not over the stop that follows the cut-off.
        streamEnd = { ms: this.lastSnapshot.timeMs, ticks: this.lastSnapshot.ticks };
        await this.stopAtChargeCutoff();
      } else {
        await switchOffQuietly(this.device);
        this.blocks.flush();
        throw err;
      }
    }
    this.blocks.flush();
    // A charge cut-off ends the run after the block that reached it: the rest of the plan is not measured, not lost.
    const stoppedAt = this.monitor.charge.stoppedAt;
    const expected = stoppedAt === null ? this.n : stoppedAt + 1;
    const lost = aborted ? this.acc.lostPlanPoints(this.n) : stoppedAt !== null ? this.acc.lostPlanPoints(expected) : this.checkEveryPointPlaced();
    const ticks = streamEnd?.ticks ?? Math.max(this.acc.knownTicks, this.acc.received + this.acc.lostPairs);
    const elapsedUs = ((streamEnd?.ms ?? clock.nowMs()) - this.t0) * 1000;
    return finishSummary(this.device, {
      points: this.emitted,
      expected_points: expected,
      nominal_points: this.n,
      lost,
      duplicated: this.extra,
      dac_underruns: this.acc.underrunTicks,
      adc_overflows: this.acc.events.filter((e) => e.kind === 'adc_overflow').length,
      duration_s: (clock.nowMs() - started) / 1000,
      ...this.monitor.finish(),
      aborted,
      ...describeStop(aborted, this.monitor.charge, null),
      cutoff_steps: 0,
      measured_interval_us: ticks > 1 ? elapsedUs / ticks : null,
      poll_rate_hz: null,
      busy_replies: this.busy,
      busy_by_phase: this.busyByPhase,
      events: this.acc.events,
      control: this.control,
    });
  }

  /**
   * A completed run must account for every plan point: in the data or in a lost range.
   * Returns the plan points missing from the data; any it cannot explain are reported.
   */
  private checkEveryPointPlaced(): number {
    const accounted = this.acc.lostPlanPoints(this.n);
    const missing = this.n - this.emitted;
    if (missing !== accounted) {
      this.reportUncertain(`${missing} points are missing from the data but ${accounted} were accounted as lost`, -1, Math.abs(missing - accounted));
    }
    return Math.max(missing, 0);
  }

  /** An event of the run-time checks: in the summary's list and on the sink. */
  private reportEvent(event: IntegrityEvent): void {
    this.acc.events.push(event);
    this.options.sink.onEvent(event);
  }

  /** Reports that rows from here on may not sit at their own plan index (or that a count is off). */
  private reportUncertain(message: string, planIndex = this.acc.planIndexOf(this.acc.received + this.acc.lostPairs), count = 0): void {
    const event = { kind: 'accounting_uncertain' as const, planIndex, count, message };
    this.acc.events.push(event);
    this.options.sink.onEvent(event);
  }

  private throwIfAborted(): void {
    if (this.options.signal.aborted) throw new AbortedError();
  }

  /** A cancel, or the charge cut-off reached by the last block: leave the loop. */
  private throwIfStopping(): void {
    this.throwIfAborted();
    if (this.monitor.charge.stoppedAt !== null) throw new ChargeCutoffStop();
  }

  private async prefill(): Promise<void> {
    const target = Math.min(this.n, DAC_FIFO_CAPACITY_SETPOINTS);
    while (this.acc.written < target) {
      const size = safeWriteSize(Math.min(MAX_DAC_WRITE_SETPOINTS, target - this.acc.written));
      const ok = await this.device.writeSetpoints(this.setpoints!, this.acc.written, this.acc.written + size);
      if (!ok) throw new ProtocolError('PROTOCOL_MALFORMED', `DAC FIFO on ${this.device.path} refused the pre-fill: it was not empty after the reset`);
      this.acc.noteWrite(size);
    }
  }

  private async sendStop(): Promise<void> {
    if (this.stopSent) return;
    await this.device.command(Command.TEST_STOP, 1);
    this.stopSent = true;
  }

  /** Upper bound of ticks executed so far (calibrated by the last snapshot). */
  private ticksUpperBound(now: number): number {
    return this.lastSnapshot.ticks + (now - this.lastSnapshot.timeMs) * 1000 / MIN_TICK_US + 2;
  }

  private atRisk(now: number): boolean {
    const ticksMax = this.ticksUpperBound(now);
    const adcRisk = ticksMax - this.acc.received - this.acc.lostPairs >= ADC_FIFO_CAPACITY_PAIRS;
    const dacRisk = !this.isOcp && !this.acc.allWritten && ticksMax - this.acc.underrunTicks >= this.acc.written;
    return adcRisk || dacRisk;
  }

  /**
   * Reads the fill snapshots so that they are known to postdate every data transaction:
   * they are only updated by ticks, so a value is trusted once it changed between two
   * consecutive reads (a tick happened after our last read/write). Returns the values and
   * whether they were exact; inexact values are used only for status and pacing.
   */
  private async readExactValues(): Promise<{ v: PotValues; exact: boolean }> {
    let v = await this.device.readPotValues();
    if (!(v.status & StatusBit.RUN)) return { v, exact: false };
    for (let i = 0; i < 6; i++) {
      const next = await this.device.readPotValues();
      const ticked = next.adcFifoElem !== v.adcFifoElem || next.dacFifoElem !== v.dacFifoElem;
      v = next;
      if (ticked) return { v, exact: true };
      if (!(v.status & StatusBit.RUN)) return { v, exact: false };
    }
    return { v, exact: false };
  }

  private async snapshot(): Promise<{ v: PotValues; exact: boolean }> {
    const { v, exact } = await this.readExactValues();
    const now = clock.nowMs();
    if (v.sampTmUnits > 0) this.intervalUs = v.sampTmUnits * TIMER_UNIT_US;
    if (!exact) return { v, exact };
    if (this.isOcp) {
      const ticks = this.acc.received + this.acc.lostPairs + Math.min(v.adcFifoElem, ADC_FIFO_CAPACITY_PAIRS);
      if (v.adcFifoElem >= ADC_FIFO_CAPACITY_PAIRS) {
        const elapsedTicks = this.lastSnapshot.ticks + Math.round((now - this.lastSnapshot.timeMs) * 1000 / this.intervalUs);
        const lost = Math.max(0, elapsedTicks - ticks);
        if (lost > 0) this.recordOcpLoss(lost);
      }
      this.lastSnapshot = { timeMs: now, ticks: this.acc.received + this.acc.lostPairs + v.adcFifoElem };
    } else {
      for (const e of this.acc.applySnapshot(v.adcFifoElem, v.dacFifoElem)) this.options.sink.onEvent(e);
      this.lastSnapshot = { timeMs: now, ticks: this.acc.knownTicks };
    }
    return { v, exact };
  }

  /**
   * Before a read: when pairs may have been overwritten since the last exact snapshot,
   * take one, so the read's pairs can be numbered. False = the device is running and no
   * exact snapshot could be had (device still ticking, or stopped): reading now could
   * misnumber pairs, so don't.
   */
  private async readyToRead(): Promise<{ ok: boolean; v: PotValues | null }> {
    const now = clock.nowMs();
    const risky = this.atRisk(now);
    if (!risky && now - this.lastSnapshot.timeMs < SNAPSHOT_PERIOD_MS) return { ok: true, v: null };
    const { v, exact } = await this.snapshot();
    // A stopped potentiostatic run is drained by drainStopped, which numbers from the end.
    return { ok: exact || !risky || (this.isOcp && !(v.status & StatusBit.RUN)), v };
  }

  private recordOcpLoss(lost: number): void {
    // OCP has no DAC side to cross-check: the loss is estimated from elapsed time.
    const from = this.acc.received + this.acc.lostPairs;
    this.acc.lostPairs += lost;
    const event = { kind: 'adc_overflow' as const, planIndex: from - 1, count: lost, message: `ADC FIFO overflow: about ${lost} points overwritten (estimated from elapsed time)` };
    this.acc.events.push(event);
    this.options.sink.onEvent(event);
  }

  /** The transaction's result, or 'timeout' within the allowed run of timeouts. Takes the started transaction, not a closure that starts it: no closure per call. */
  private async guarded<T>(transaction: Promise<T>): Promise<T | 'timeout'> {
    try {
      const r = await transaction;
      this.consecutiveTimeouts = 0;
      return r;
    } catch (err) {
      if (!(err instanceof DeviceTimeoutError)) throw err;
      if (++this.consecutiveTimeouts > MAX_CONSECUTIVE_TIMEOUTS) throw err;
      return 'timeout';
    }
  }

  private consumePairs(data: Uint8Array): void {
    const count = data.length >> 3;
    const indices = this.acc.takePairs(count);
    // After the charge cut-off the rows are past the end of this mode: accounted, not emitted.
    if (this.monitor.charge.stoppedAt !== null) return;
    const dtS = this.intervalUs / 1e6;
    let last = -1;
    for (let p = 0; p < count; p++) {
      const planIndex = indices[p]!;
      if (planIndex < 0) continue;
      if (planIndex >= this.n) {
        // OCP: the device keeps ticking until TEST_STOP lands; those pairs are past the
        // requested duration, not duplicates. A potentiostatic run has exactly N + 1 pairs.
        if (!this.isOcp) this.extra++;
        continue;
      }
      const currentA = wordBytesToFloat32(data, p * 8);
      const potentialV = wordBytesToFloat32(data, p * 8 + 4);
      this.blocks.add(planIndex, currentA, potentialV);
      this.monitor.row(planIndex, currentA, potentialV, dtS);
      this.emitted++;
      last = planIndex;
    }
    if (last >= 0) this.monitor.chargeCutoffReached(last);
    this.options.onProgress?.(this.emitted);
  }

  private async read(pairs: number): Promise<boolean | 'timeout'> {
    const r = await this.guarded(this.device.readPairs(pairs));
    if (r === 'timeout') {
      // The reply may have been lost after the device popped the pairs: reconcile.
      const { v, exact } = await this.readExactValues();
      if (exact && !this.isOcp) for (const e of this.acc.reconcileLostRead(v.adcFifoElem, v.dacFifoElem)) this.options.sink.onEvent(e);
      return 'timeout';
    }
    if (r === null) {
      this.busy++;
      this.busyByPhase[this.phase]++;
      return false;
    }
    if (this.acc.overflowing && !this.isOcp) {
      // Pairs were overwritten up to the moment of this read: number them from a snapshot taken after it.
      const { v, exact } = await this.readExactValues();
      const placed = exact ? this.acc.placeReadAfterOverflow(r.length >> 3, v.adcFifoElem, v.dacFifoElem) : null;
      if (placed) for (const e of placed) this.options.sink.onEvent(e);
      else this.reportUncertain('pairs read during an ADC overflow could not be placed exactly');
    }
    this.consumePairs(r);
    return true;
  }

  private async write(size: number): Promise<boolean> {
    const start = this.acc.written;
    const r = await this.guarded(this.device.writeSetpoints(this.setpoints!, start, start + size));
    if (r === 'timeout') {
      // Did the write land? The snapshot's DAC level tells: never re-send blindly.
      const { v, exact } = await this.readExactValues();
      if (!exact) throw new ProtocolError('PROTOCOL_MALFORMED', `cannot reconcile DAC FIFO on ${this.device.path} after a write timeout: device not running`);
      const ticks = this.acc.received + this.acc.lostPairs + Math.min(v.adcFifoElem, ADC_FIFO_CAPACITY_PAIRS);
      const pops = ticks - this.acc.underrunTicks;
      const queued = pops + Math.max(v.dacFifoElem, 0);
      if (queued === start + size) this.acc.noteWrite(size);
      else if (queued !== start) {
        throw new ProtocolError('PROTOCOL_MALFORMED', `cannot reconcile DAC FIFO on ${this.device.path} after a write timeout (device holds ${queued}, host wrote ${start})`);
      }
      return false;
    }
    if (!r) {
      this.busy++;
      this.busyByPhase.write++;
      return false;
    }
    this.acc.noteWrite(size);
    if (this.acc.allWritten) await this.sendStop();
    return true;
  }

  /** Free DAC slots, lower bound from what the host knows. */
  private dacFreeLowerBound(): number {
    const popsLower = Math.max(0, this.acc.received + this.acc.lostPairs - 1 - this.acc.underrunTicks);
    return DAC_FIFO_CAPACITY_SETPOINTS - (this.acc.written - popsLower);
  }

  private pendingEstimate(now: number): number {
    const ticks = this.lastSnapshot.ticks + ((now - this.lastSnapshot.timeMs) * 1000) / this.intervalUs;
    return ticks - this.acc.received - this.acc.lostPairs;
  }

  private async stream(): Promise<void> {
    const target = this.isOcp ? this.n + 1 : Infinity;
    for (;;) {
      this.throwIfStopping();
      const ready = await this.readyToRead();
      if (ready.v && !(ready.v.status & StatusBit.RUN) && !this.stopSent) {
        throw new ProtocolError('DEVICE_STATE', `device on ${this.device.path} stopped unexpectedly (st=0x${ready.v.status.toString(16)})`);
      }
      if (this.isOcp && this.acc.received >= target) return;
      if (!this.isOcp && this.stopSent) return;

      const readSize = this.isOcp ? Math.min(MAX_ADC_READ_PAIRS, Math.max(1, target - this.acc.received)) : MAX_ADC_READ_PAIRS;
      const got = ready.ok ? await this.read(readSize) : false;
      this.throwIfStopping(); // no more setpoints once the charge cut-off is reached
      let wrote = false;
      if (!this.isOcp) {
        while (!this.acc.allWritten) {
          const size = safeWriteSize(Math.min(MAX_DAC_WRITE_SETPOINTS, this.n - this.acc.written));
          if (this.dacFreeLowerBound() < size) break;
          const risky = this.atRisk(clock.nowMs());
          if (!(await this.write(size))) break;
          wrote = true;
          // Near-empty FIFO: a snapshot right after the write pins any underrun to it.
          if (risky) await this.snapshot();
          if (this.stopSent) break;
        }
      }
      this.blocks.maybeFlush();
      // Keep reading while a full chunk is pending; then sleep until a batch of chunks is,
      // and drain it back to back. Every wake-up of the thread costs more CPU than the
      // transactions themselves, and the FIFOs hold 0.74 s (ADC) and 1.5 s (DAC).
      const pending = this.pendingEstimate(clock.nowMs());
      if (pending >= readSize + PACING_MARGIN && (got === true || wrote)) continue;
      const batch = this.isOcp ? Math.min(STREAM_BATCH_PAIRS, target - this.acc.received) : STREAM_BATCH_PAIRS;
      await sleep(Math.max(1, Math.min(STREAM_MAX_SLEEP_MS, ((batch + PACING_MARGIN - pending) * this.intervalUs) / 1000)));
    }
  }

  /**
   * After TEST_STOP (POT) or the last needed pair (OCP): full reads until BUSY, then
   * shrinking reads; done when the run has stopped and even a one-pair read is BUSY
   * (a BUSY read removes nothing, so the FIFO is then empty).
   */
  private async drainTail(): Promise<void> {
    if (this.isOcp) await this.sendStop();
    this.phase = 'drain';
    const deadline = clock.nowMs() + 5000;
    const sleepUntilChunk = async () => {
      const now = clock.nowMs();
      const missing = MAX_ADC_READ_PAIRS + PACING_MARGIN - this.pendingEstimate(now);
      // Never sleep past the moment to start watching for the stop.
      const untilWatch = this.watchStop ? ((this.ticksToStop(now) - STOP_WATCH_TICKS) * this.intervalUs) / 1000 : Infinity;
      if (missing > 0) await sleep(Math.max(1, Math.min(20, (missing * this.intervalUs) / 1000, untilWatch)));
    };
    for (;;) {
      this.throwIfStopping();
      if (this.watchStop && this.ticksToStop(clock.nowMs()) <= STOP_WATCH_TICKS) await this.holdAtStop();
      const ready = await this.readyToRead();
      if (ready.ok && (await this.read(MAX_ADC_READ_PAIRS)) === true) {
        this.blocks.maybeFlush();
        await sleepUntilChunk();
        continue;
      }
      const { v } = await this.snapshot();
      if (v.status & StatusBit.RUN) {
        if (clock.nowMs() > deadline) throw new ProtocolError('DEVICE_STATE', `device on ${this.device.path} did not stop after TEST_STOP`);
        await sleepUntilChunk();
        continue;
      }
      if (this.isOcp) {
        let gotAny = false;
        for (const size of SHRINKING_READS) {
          while ((await this.read(size)) === true) gotAny = true;
        }
        if (!gotAny) return;
      } else {
        await this.drainStopped();
        return;
      }
    }
  }

  /** Ticks left until the run's expected stop tick (the one that pushes the last pair). */
  private ticksToStop(now: number): number {
    return this.acc.expectedPairs - (this.lastSnapshot.ticks + ((now - this.lastSnapshot.timeMs) * 1000) / this.intervalUs);
  }

  /** Keeping control: close the CE the moment the firmware's stop opens it (cell-control.ts). */
  private async holdAtStop(): Promise<void> {
    this.watchStop = false;
    const { held, windowMs } = await holdThroughStop(this.device);
    this.control.held_after = held;
    this.control.reclose_ms = windowMs;
  }

  /**
   * The run has stopped: the FIFO content is final. Everything left is read first and
   * numbered afterwards, from the end of the run, so pairs overwritten since the last
   * exact snapshot become a reported gap instead of shifting the rows after them.
   */
  private async drainStopped(): Promise<void> {
    const chunks: Uint8Array[] = [];
    let count = 0;
    let replyLost = false;
    const expectedLeft = Math.min(ADC_FIFO_CAPACITY_PAIRS, this.acc.expectedPairs - this.acc.received - this.acc.lostPairs);
    const patienceEnd = clock.nowMs() + STOPPED_BUSY_PATIENCE_MS;
    for (;;) {
      for (const size of [MAX_ADC_READ_PAIRS, ...SHRINKING_READS]) {
        for (;;) {
          const r = await this.guarded(this.device.readPairs(size));
          if (r === null) break;
          if (r === 'timeout') replyLost = true;
          else {
            chunks.push(r);
            count += r.length >> 3;
          }
        }
      }
      // BUSY on a one-pair read means empty, unless the device is momentarily refusing reads.
      if (count >= expectedLeft || replyLost || clock.nowMs() > patienceEnd) break;
      await sleep(20);
    }
    for (const e of this.acc.placeFinalPairs(count)) this.options.sink.onEvent(e);
    if (replyLost) this.reportUncertain('a read reply was lost while draining the stopped run: the last rows may be misplaced');
    for (const c of chunks) this.consumePairs(c);
  }

  /**
   * The charge cut-off was reached: end the run now. The DAC FIFO cannot be emptied, so the CE
   * is opened first (the setpoints still queued play out, not into the cell), then the run is
   * stopped and its leftover pairs cleared. A next mode then finds the cell as after a normal
   * end: held at the potential of the cut-off when the sequence keeps control.
   */
  private async stopAtChargeCutoff(): Promise<void> {
    try {
      await this.device.command(Command.SET_SWITCH, 0);
      const st = await this.device.readStatus();
      if (st & StatusBit.RUN && !(st & StatusBit.STOP)) await this.sendStop();
      await this.device.waitForIdle(3000);
      await this.device.command(Command.CLEAR_FIFO, 1);
      const stoppedAt = this.monitor.charge.stoppedAt;
      if (this.options.control?.keepControl && this.setpoints && stoppedAt !== null) {
        await this.device.setIdlePotential(this.setpoints[stoppedAt]!);
        this.control.held_after = await holdAfterStop(this.device);
      }
    } catch (err) {
      await switchOffQuietly(this.device);
      throw err;
    }
  }

  private async abortRun(): Promise<void> {
    // Open the CE switch first: queued setpoints may still play out, but not into the cell.
    try {
      await this.device.command(Command.SET_SWITCH, 0);
      const st = await this.device.readStatus();
      if (st & StatusBit.RUN && !(st & StatusBit.STOP)) await this.device.command(Command.TEST_STOP, 1);
      await this.device.waitForIdle(3000);
      await this.device.command(Command.CLEAR_FIFO, 1);
    } catch {
      await switchOffQuietly(this.device);
    }
  }
}
