/**
 * Galvanostatic (PID) measurement: setup, the step loop (gal-steps.ts: polled live values or
 * FIFO pairs, with the charge and potential cut-offs), teardown, and the run's counters.
 *
 * Polled rows are counted against the polls made, not against the FIFO plan: a polled mode
 * samples at the achieved poll rate (~500 Hz over a pty), so its rows are about a fifth of the
 * plan's N by design; `nominal_points` keeps N alongside.
 */
import { AbortedError } from '../errors.js';
import { Command } from '../protocol/constants.js';
import type { BeepDevice } from './beep-device.js';
import { GalStepLoop, type GalSteps } from './gal-steps.js';
import type { LoopOptions, RunSummary } from './measurement.js';
import type { IntegrityEvent } from './run-accounting.js';
import { applyTiaGain, finishSummary, switchOffQuietly } from './run-common.js';
import { RunMonitor, describeStop } from './run-monitor.js';
import { holdThroughStop, newControlReport, prepareCell, restCell } from './cell-control.js';
import { BlockBuilder } from './sample-sink.js';

export type { GalSteps } from './gal-steps.js';

export async function runGalvanostatic(device: BeepDevice, steps: GalSteps, pointIntervalS: number, options: LoopOptions): Promise<RunSummary> {
  const blocks = new BlockBuilder(options.sink);
  const total = steps.length.reduce((a, b) => a + b, 0);
  const started = performance.now();
  const events: IntegrityEvent[] = [];
  const report = (event: IntegrityEvent): void => {
    events.push(event);
    options.sink.onEvent(event);
  };
  const monitor = new RunMonitor(options.limits, true, report);
  const loop = new GalStepLoop(device, steps, pointIntervalS, options, blocks, monitor, report, started);
  let aborted = false;
  const control = newControlReport();
  try {
    control.linked = await prepareCell(device, options.control);
    monitor.setGain(await applyTiaGain(device, options.tiaGain));
    await device.command(Command.CLEAR_FIFO, 1);
    const rest = options.control?.rest;
    if (rest && rest.seconds > 0) control.rest = await restCell(device, rest, options.signal);
    await device.command(Command.SET_SWITCH, 1);
    await loop.run();
    if (options.control?.keepControl) {
      // A next mode follows: the PID stop opens the CE at the next tick; close it again at once,
      // so the cell holds the PID's last output potentiostatically.
      await device.command(Command.TEST_STOP, 1);
      const { held, windowMs } = await holdThroughStop(device);
      control.held_after = held;
      control.reclose_ms = windowMs;
      if (!held) await device.command(Command.SET_SWITCH, 0);
    } else {
      await device.command(Command.SET_SWITCH, 0);
      await device.command(Command.TEST_STOP, 1);
    }
    await device.waitForIdle(1000);
  } catch (err) {
    control.held_after = false;
    if (err instanceof AbortedError) {
      aborted = true;
      await switchOffQuietly(device);
    } else {
      await switchOffQuietly(device);
      blocks.flush();
      throw err;
    }
  }
  blocks.flush();
  const c = loop.counts;
  // Polled: the rows expected are the polls that fell inside their step (each is one row; a poll
  // that fails fails the mode), so nothing is lost; the FIFO plan's N stays alongside as nominal.
  const polled = !c.fifoData && c.polls > 0;
  return finishSummary(device, {
    points: c.rows,
    expected_points: polled ? c.rows : total - c.skippedPoints,
    nominal_points: total,
    lost: 0,
    duplicated: 0,
    dac_underruns: 0,
    adc_overflows: 0,
    ...monitor.finish(),
    duration_s: (performance.now() - started) / 1000,
    aborted,
    ...describeStop(aborted, monitor.charge, c.potentialStop),
    cutoff_steps: c.cutoffSteps,
    measured_interval_us: null,
    poll_rate_hz: polled && c.pollTimeMs > 0 ? c.polls / (c.pollTimeMs / 1000) : null,
    busy_replies: c.busy,
    events,
    control,
  });
}
