/**
 * Galvanostatic (PID) measurement: one PID_START per step of the step table.
 *
 * This firmware pushes no FIFO pairs in PID mode (beep-protocol.md 6.5), so current and
 * potential are sampled by polling the live values (group 0x03, registers 0–3) at a
 * fixed period; each poll becomes one row at the plan index of its elapsed time within
 * the step (rows are sparse but exactly aligned, never duplicated). If a device does
 * deliver FIFO pairs in PID mode, they are used instead and counted per step.
 */
import { AbortedError } from '../errors.js';
import { Command, MAX_ADC_READ_PAIRS } from '../protocol/constants.js';
import { wordBytesToFloat32 } from '../protocol/words.js';
import type { BeepDevice } from './beep-device.js';
import { sleep } from './modbus-client.js';
import type { LoopOptions, RunSummary } from './measurement.js';
import { applyTiaGain, finishSummary, switchOffQuietly } from './run-common.js';
import { BlockBuilder } from './sample-sink.js';

export interface GalSteps {
  currentA: Float32Array;
  length: Int32Array;
}

const FIFO_PROBE_MS = 15;

export async function runGalvanostatic(device: BeepDevice, steps: GalSteps, pointIntervalS: number, options: LoopOptions): Promise<RunSummary> {
  const blocks = new BlockBuilder(options.sink);
  const pollMs = options.galPollIntervalMs ?? 2;
  const total = steps.length.reduce((a, b) => a + b, 0);
  const started = performance.now();
  let emitted = 0;
  let polls = 0;
  let pollTimeMs = 0;
  let busy = 0;
  let aborted = false;
  let fifoData = false;
  const checkAbort = () => {
    if (options.signal.aborted) throw new AbortedError();
  };
  try {
    await device.resetToIdle();
    await applyTiaGain(device, options.tiaGain);
    await device.command(Command.CLEAR_FIFO, 1);
    await device.command(Command.SET_SWITCH, 1);
    let stepStart = 0;
    for (let s = 0; s < steps.length.length; s++) {
      checkAbort();
      const length = steps.length[s]!;
      await device.pidStart(steps.currentA[s]!);
      const t0 = performance.now();
      if (s === 0) {
        await sleep(FIFO_PROBE_MS);
        const probe = await device.readPairs(1);
        fifoData = probe !== null;
        if (probe) {
          blocks.add(stepStart, wordBytesToFloat32(probe, 0), wordBytesToFloat32(probe, 4));
          emitted++;
        }
      }
      if (fifoData) {
        // Count pairs per step (the fork's fix of pyBEEP's cumulative counter).
        let got = s === 0 ? 1 : 0;
        while (got < length) {
          checkAbort();
          const want = Math.min(MAX_ADC_READ_PAIRS, length - got);
          const data = await device.readPairs(want);
          if (!data) {
            busy++;
            await sleep(Math.max(1, (want * pointIntervalS * 1000) / 2));
            continue;
          }
          for (let p = 0; p < want; p++) blocks.add(stepStart + got + p, wordBytesToFloat32(data, p * 8), wordBytesToFloat32(data, p * 8 + 4));
          got += want;
          emitted += want;
          blocks.maybeFlush();
          options.onProgress?.(stepStart + got);
        }
      } else {
        const stepMs = length * pointIntervalS * 1000;
        let lastIndex = -1;
        for (;;) {
          checkAbort();
          const before = performance.now();
          const elapsed = before - t0;
          if (elapsed >= stepMs) break;
          const v = await device.readLiveValues();
          const after = performance.now();
          polls++;
          pollTimeMs = after - started;
          // Stamp the sample at the middle of the transaction.
          const offset = Math.min(length - 1, Math.floor(((before + after) / 2 - t0) / (pointIntervalS * 1000)));
          if (offset > lastIndex) {
            blocks.add(stepStart + offset, v.weoutA, v.reoutV);
            emitted++;
            lastIndex = offset;
          }
          blocks.maybeFlush();
          options.onProgress?.(stepStart + offset + 1);
          const next = t0 + Math.ceil((after - t0) / pollMs) * pollMs;
          await sleep(Math.max(0, next - performance.now()));
        }
      }
      stepStart += length;
    }
    await device.command(Command.SET_SWITCH, 0);
    await device.command(Command.TEST_STOP, 1);
    await device.waitForIdle(1000);
  } catch (err) {
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
  return finishSummary(device, {
    points: emitted,
    expected_points: total,
    lost: 0,
    duplicated: 0,
    dac_underruns: 0,
    adc_overflows: 0,
    duration_s: (performance.now() - started) / 1000,
    aborted,
    measured_interval_us: null,
    poll_rate_hz: fifoData || pollTimeMs === 0 ? null : polls / (pollTimeMs / 1000),
    busy_replies: busy,
    events: [],
  });
}
