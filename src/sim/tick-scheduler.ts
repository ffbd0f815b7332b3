/**
 * The device's main loop in time, driven by an injected clock in microseconds.
 *
 * Frames are scheduled at `base + k·tickIntervalUs` (+ optional jitter), so there is no
 * cumulative drift; a suspension (stall, flash write) rebases the schedule, so there is no
 * catch-up afterwards. Pending RESET and flash writes run in time order with the frames.
 * Long idle gaps are fast-forwarded with coarse cell steps.
 */
import { StatusBit } from '../protocol/index.js';
import type { Controller } from './controller.js';
import type { DeviceStats } from './device-stats.js';
import { Prng } from './random.js';
import type { RegisterMemory } from './register-memory.js';

/** Idle gaps longer than this are fast-forwarded with coarse cell steps. */
const FAST_FORWARD_US = 2_000_000;
const FAST_FORWARD_STEP_US = 50_000;

export function validateInterval(us: number): number {
  if (!(us >= 1 && Number.isFinite(us))) throw new RangeError(`tickIntervalUs must be a finite number >= 1, got ${us}`);
  return us;
}

export function clampJitter(jitterUs: number, intervalUs: number): number {
  if (!(jitterUs >= 0)) throw new RangeError(`tickJitterUs must be >= 0, got ${jitterUs}`);
  return Math.min(jitterUs, 0.45 * intervalUs);
}

export interface TickSchedulerOptions {
  /** Clock time at construction (µs). */
  startUs: number;
  /** Validated frame period (µs). */
  tickIntervalUs: number;
  /** Clamped jitter (µs). */
  tickJitterUs: number;
  /** Flash erase + programme stall (µs). */
  flashStallUs: number;
  seed: number;
}

export class TickScheduler {
  /** Frames (ticks, conversions) are suspended until this time (µs). */
  suspendedUntilUs = -Infinity;

  private tickIntervalUs: number;
  private tickJitterUs: number;
  private readonly flashStallUs: number;
  private readonly jitterRng: Prng;

  private lastAdvanceUs: number;
  private lastFrameUs: number;
  private frameBaseUs = 0;
  private frameIndex = 0;
  private nextFrameUs = 0;

  /** `boot(t)` puts the whole MCU in its power-on state (RESET, reboot). */
  constructor(
    options: TickSchedulerOptions,
    private readonly controller: Controller,
    private readonly memory: RegisterMemory,
    private readonly stats: DeviceStats,
    private readonly boot: (t: number) => void,
  ) {
    this.tickIntervalUs = options.tickIntervalUs;
    this.tickJitterUs = options.tickJitterUs;
    this.flashStallUs = options.flashStallUs;
    this.jitterRng = new Prng(options.seed ^ 0x71773e);
    this.lastAdvanceUs = options.startUs;
    this.lastFrameUs = Math.round(options.startUs);
  }

  get tickInterval(): number {
    return this.tickIntervalUs;
  }

  /** First frame one interval after power-on at `t`. */
  start(t: number): void {
    this.rebaseFrames(t + this.tickIntervalUs);
  }

  /** Changes the frame period (and jitter) from now on. */
  setTickInterval(intervalUs: number, jitterUs = this.tickJitterUs): void {
    this.tickIntervalUs = validateInterval(intervalUs);
    this.tickJitterUs = clampJitter(jitterUs, this.tickIntervalUs);
    this.rebaseFrames(Math.max(this.lastFrameUs + this.tickIntervalUs, this.lastAdvanceUs));
  }

  /** Executes every frame (and controller tick) due at or before `t` (µs). */
  advanceTo(t: number): void {
    if (!(t > this.lastAdvanceUs)) return;
    this.lastAdvanceUs = t;
    const c = this.controller;
    for (;;) {
      const eventUs = c.pendingResetAtUs < c.pendingFlashAtUs ? c.pendingResetAtUs : c.pendingFlashAtUs;
      const frameUs = this.nextFrameUs;
      if (eventUs <= frameUs) {
        if (eventUs > t) return;
        this.runEvent(eventUs);
        continue;
      }
      if (frameUs > t) return;
      if ((c.st & StatusBit.RUN) === 0 && t - frameUs > FAST_FORWARD_US && eventUs > t) {
        this.fastForward(t - 2 * this.tickIntervalUs);
        continue;
      }
      this.frame(frameUs);
      this.frameIndex++;
      const jitter = this.tickJitterUs > 0 ? this.tickJitterUs * (2 * this.jitterRng.nextFloat() - 1) : 0;
      this.nextFrameUs = this.frameBaseUs + this.frameIndex * this.tickIntervalUs + jitter;
    }
  }

  /**
   * Suspends the main loop (no conversions, no ticks) at `atUs` for `durationUs`. Frames
   * resume at the end without catching up; the next tick sees a long dt.
   */
  suspend(durationUs: number, atUs: number): void {
    this.advanceTo(atUs);
    this.suspendUntil(atUs + Math.max(0, durationUs));
  }

  /** Reboots the MCU at `atUs` (power cycle, or RESET after its delay). The cell is untouched. */
  reboot(atUs: number): void {
    this.advanceTo(atUs);
    this.boot(atUs);
    this.stats.reboots++;
  }

  private frame(t: number): void {
    const tr = Math.round(t);
    const dtUs = tr - this.lastFrameUs;
    this.lastFrameUs = tr;
    this.stats.frames++;
    this.controller.frame(t, dtUs);
  }

  private rebaseFrames(firstFrameUs: number): void {
    this.frameBaseUs = firstFrameUs;
    this.frameIndex = 0;
    this.nextFrameUs = firstFrameUs;
  }

  private suspendUntil(untilUs: number): void {
    if (untilUs > this.suspendedUntilUs) this.suspendedUntilUs = untilUs;
    if (this.nextFrameUs < untilUs) this.rebaseFrames(untilUs);
  }

  /** A pending RESET reboots; a pending flash write is recorded and stalls the main loop. */
  private runEvent(eventUs: number): void {
    const c = this.controller;
    if (c.pendingResetAtUs === eventUs) {
      this.boot(eventUs);
      this.stats.reboots++;
      return;
    }
    c.pendingFlashAtUs = Infinity;
    this.stats.flashWrites++;
    this.memory.recordFlashWrite(eventUs);
    this.suspendUntil(eventUs + this.flashStallUs);
  }

  /** Idle only: coarse cell steps across a long gap, then normal frames resume. */
  private fastForward(targetUs: number): void {
    const target = Math.round(targetUs);
    let remaining = target - this.lastFrameUs;
    const steps = Math.min(256, Math.ceil(remaining / FAST_FORWARD_STEP_US));
    const stepUs = Math.floor(remaining / steps);
    for (let s = 0; s < steps; s++) {
      const dt = s === steps - 1 ? remaining : stepUs;
      remaining -= dt;
      this.controller.stepCell(dt);
    }
    this.controller.settleReadings();
    this.lastFrameUs = target;
    this.rebaseFrames(target + this.tickIntervalUs);
  }
}
