/**
 * Keeping the cell under control through a slot's sequence of modes.
 *
 * The firmware opens the counter-electrode (CE) switch at every run stop and VCEIN keeps its
 * last value (beep-protocol.md 6.4). Between two modes of a sequence the host therefore closes
 * the CE again at once, so the cell holds the previous mode's last potential, and the next mode
 * skips the open-circuit reset when the device is cleanly idle. The CE opens only at the end of
 * the sequence, on cancel or failure, for OCP, and for open-circuit rests.
 *
 * A rest before a mode holds a potential (VCEIN set through the DAC-outputs group while idle,
 * CE closed) or sits at open circuit, polling the live values (group 0x03, updated even when
 * idle) at a low rate.
 */
import { AbortedError } from '../errors.js';
import { Command, StatusBit } from '../protocol/constants.js';
import type { BeepDevice } from './beep-device.js';

/** What a rest before the run does. */
export interface RestPlan {
  seconds: number;
  /** Potential held during the rest (V, CE closed), or null: open circuit. */
  holdV: number | null;
}

/** How a measurement fits in its slot's sequence. */
export interface CellControlOptions {
  /** The previous mode left the cell under control: skip the open-circuit reset if the device confirms a clean idle. */
  linked?: boolean;
  /** A next mode follows: close the CE again as soon as the run stops, holding the last potential. */
  keepControl?: boolean;
  /** Rest before the run; null or 0 s = none. */
  rest?: RestPlan | null;
}

export interface RestReport {
  duration_s: number;
  open_circuit: boolean;
  /** Potential held (V); null at open circuit. */
  held_v: number | null;
  /** Mean of the last polls of the rest: the open-circuit potential or the held cell's potential (V). */
  potential_v: number | null;
  current_a: number | null;
  polls: number;
}

export interface CellControlReport {
  /** The open-circuit reset was skipped: the cell stayed under control from the previous mode. */
  linked: boolean;
  /** After the mode the cell is under control (idle, CE closed, holding the last potential). */
  held_after: boolean;
  /**
   * Host-side upper bound (ms) of the open-CE window between the firmware's run stop and the
   * host closing the CE again: from the last status read that still showed the run to the
   * reply of the closing command. null when the CE was not closed again.
   */
  reclose_ms: number | null;
  rest: RestReport | null;
}

/** The rest's polling period: low rate, and the longest a cancel waits. */
const REST_POLL_MS = 100;
/** Polls averaged into the rest's final values. */
const REST_TAIL_POLLS = 5;
/** How long the host watches for a run stop it expects before leaving it to the normal teardown. */
const STOP_WATCH_LIMIT_MS = 2000;

export function newControlReport(): CellControlReport {
  return { linked: false, held_after: false, reclose_ms: null, rest: null };
}

/**
 * Setup before a mode: a linked mode keeps the cell under control when the device is cleanly
 * idle with its CE closed (only the ADC FIFO is cleared); otherwise the full open-circuit reset.
 * Returns whether the cell stayed under control.
 */
export async function prepareCell(device: BeepDevice, control: CellControlOptions | undefined): Promise<boolean> {
  if (control?.linked && (await device.heldIdle())) {
    await device.command(Command.CLEAR_FIFO, 1);
    return true;
  }
  await device.resetToIdle();
  return false;
}

/** Sleeps `ms`, or less when `signal` aborts (then throws AbortedError). */
function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new AbortedError());
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new AbortedError());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Rests the cell for `plan.seconds`: holding `plan.holdV` (set while idle, then CE closed) or at
 * open circuit (CE open). A cancel ends it at once (AbortedError; the caller opens the CE).
 */
export async function restCell(device: BeepDevice, plan: RestPlan, signal: AbortSignal): Promise<RestReport> {
  if (plan.holdV !== null) {
    // Potential first, then the switch: the cell never sees a stale VCEIN.
    await device.setIdlePotential(plan.holdV);
    await device.command(Command.SET_SWITCH, 1);
  } else {
    await device.command(Command.SET_SWITCH, 0);
  }
  const started = performance.now();
  const end = started + plan.seconds * 1000;
  const tail: Array<{ weoutA: number; reoutV: number }> = [];
  let polls = 0;
  for (;;) {
    if (signal.aborted) throw new AbortedError();
    tail.push(await device.readLiveValues());
    if (tail.length > REST_TAIL_POLLS) tail.shift();
    polls++;
    const left = end - performance.now();
    if (left <= 0) break;
    await sleepUnlessAborted(Math.min(REST_POLL_MS, left), signal);
  }
  const mean = (f: (v: { weoutA: number; reoutV: number }) => number): number => tail.reduce((a, v) => a + f(v), 0) / tail.length;
  return {
    duration_s: (performance.now() - started) / 1000,
    open_circuit: plan.holdV === null,
    held_v: plan.holdV,
    potential_v: mean((v) => v.reoutV),
    current_a: mean((v) => v.weoutA),
    polls,
  };
}

/**
 * The run is about to stop (or has): poll the status back to back until it has, then close the
 * CE at once, so the cell holds the run's last potential. `held` is false when the run did not
 * stop within the watch limit (the CE is then left to the normal teardown); `windowMs` is the
 * open window's upper bound, null when no status read saw the run still going.
 */
export async function holdThroughStop(device: BeepDevice): Promise<{ held: boolean; windowMs: number | null }> {
  const deadline = performance.now() + STOP_WATCH_LIMIT_MS;
  let lastRunSeen: number | null = null;
  for (;;) {
    const asked = performance.now();
    const st = await device.readStatus();
    if (!(st & StatusBit.RUN)) break;
    lastRunSeen = asked;
    if (asked > deadline) return { held: false, windowMs: null };
  }
  await device.command(Command.SET_SWITCH, 1);
  return { held: true, windowMs: lastRunSeen === null ? null : performance.now() - lastRunSeen };
}

/**
 * After a run has stopped: close the CE again if the stop opened it, so the cell holds the last
 * potential (the fallback when the stop was not watched). Returns whether the cell is held.
 */
export async function holdAfterStop(device: BeepDevice): Promise<boolean> {
  const st = await device.readStatus();
  if (st & (StatusBit.RUN | StatusBit.STOP)) return false;
  if (!(st & StatusBit.CE)) await device.command(Command.SET_SWITCH, 1);
  return true;
}
