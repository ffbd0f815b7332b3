/**
 * The device conditions of one measurement in the slot worker: where it sits in the slot's
 * sequence (linked setup, hold after the run, the rest before it; driver/cell-control.ts), and
 * the firmware averaging chosen for the mode (modes/device-settings.ts), set before the run and
 * restored after it, also after an abort or a failure (best effort).
 */
import type { AveragingSamples, BeepDevice } from '../driver/beep-device.js';
import type { CellControlOptions } from '../driver/cell-control.js';
import { restSettingFor } from '../modes/device-settings.js';
import type { ModePlan } from '../modes/plan.js';
import type { ModeName, ModeParams } from '../modes/types.js';
import type { MeasureRequest } from './slot-api.js';

/**
 * `cellHeld`: this worker's own record that its last measurement left the cell under control;
 * the request's `linked` is honoured only when both agree (the device is checked again at setup).
 */
export function cellControlFor(mode: ModeName, params: ModeParams, plan: ModePlan, request: MeasureRequest, cellHeld: boolean): CellControlOptions {
  const rest = restSettingFor(mode, plan.family, params);
  const first = plan.family === 'pot' ? plan.setpoints[0] : undefined;
  return {
    linked: request.linked === true && cellHeld,
    keepControl: request.keepControl === true && plan.family !== 'ocp',
    rest: rest.seconds > 0 ? { seconds: rest.seconds, holdV: rest.openCircuit || first === undefined ? null : first } : null,
  };
}

/** Runs `run` with the WE and RE averaging set to `samples` (null: unchanged), restoring the previous values afterwards. */
export async function withAveraging<T>(device: BeepDevice, samples: number | null, run: () => Promise<T>): Promise<T> {
  if (samples === null) return run();
  const previous = await device.setAveraging({ we: samples, re: samples });
  try {
    return await run();
  } finally {
    await restoreAveraging(device, previous);
  }
}

async function restoreAveraging(device: BeepDevice, previous: AveragingSamples): Promise<void> {
  if (device.client.closed) return;
  try {
    await device.setAveraging(previous);
  } catch {
    // The device is unreachable; the measurement's own outcome is what the caller reports.
  }
}
