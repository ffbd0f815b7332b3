/** Pieces shared by the FIFO and galvanostatic loops. */
import { ProtocolError } from '../errors.js';
import { Command, TIA_GAIN_INDEX_MAX_ACCEPTED, TIA_GAIN_INDEX_MAX_EFFECTIVE, TIA_GAIN_OHMS, StatusBit } from '../protocol/constants.js';
import type { BeepDevice } from './beep-device.js';
import { sleep } from './modbus-client.js';
import type { RunSummary } from './measurement.js';

/** Settling after a gain change: ~100 ADC conversions (beep-protocol.md 7.4). */
const GAIN_SETTLE_MS = 20;

/** Sets the gain (null keeps the device's) and returns the effective gain in force, in ohms (for the current full scale). */
export async function applyTiaGain(device: BeepDevice, gain: number | null): Promise<number> {
  if (gain === null) return (await device.readPotValues()).gxOhm;
  if (!Number.isInteger(gain) || gain < 0 || gain > TIA_GAIN_INDEX_MAX_ACCEPTED) throw new RangeError(`tia_gain must be an integer 0..${TIA_GAIN_INDEX_MAX_ACCEPTED}`);
  await device.command(Command.SET_TIA_GAIN, gain);
  const expected = TIA_GAIN_OHMS[Math.min(gain, TIA_GAIN_INDEX_MAX_EFFECTIVE)]!;
  const v = await device.readPotValues();
  if (Math.abs(v.gxOhm - expected) > expected * 1e-6) {
    throw new ProtocolError('DEVICE_STATE', `device on ${device.path} reports TIA gain ${v.gxOhm} Ω, expected ${expected} Ω`);
  }
  await sleep(GAIN_SETTLE_MS);
  return v.gxOhm;
}

/** Best effort: open the CE switch and stop; errors are ignored (the port may be gone). */
export async function switchOffQuietly(device: BeepDevice): Promise<void> {
  if (device.client.closed) return;
  try {
    await device.command(Command.SET_SWITCH, 0);
    const st = await device.readStatus();
    if (st & StatusBit.RUN && !(st & StatusBit.STOP)) await device.command(Command.TEST_STOP, 1);
  } catch {
    // The device is unreachable; the caller reports the original error.
  }
}

export function finishSummary(device: BeepDevice, partial: Omit<RunSummary, 'transactions' | 'timeouts'>): RunSummary {
  return { ...partial, transactions: device.client.stats.transactions, timeouts: device.client.stats.timeouts };
}
