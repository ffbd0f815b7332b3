/**
 * Device limits that depend on more than one field: the commanded currents of the galvanostatic
 * modes against the current full scale of the gain they run with (4.95 V / effective TIA gain),
 * and the order of the potential cut-offs. The single-field ranges (potentials within ±4.95 V,
 * tia_gain 0–3) live in the mode schemas. Pure; used by validation (the mode's own gain) and by
 * admission (the job's gain, once the mode inherits it).
 */
import { TIA_GAIN_INDEX_MAX_EFFECTIVE, TIA_GAIN_OHMS } from '../protocol/constants.js';
import { DEVICE_RANGE_V } from './constants.js';
import type { ModeName } from './types.js';

/** Parameters holding a commanded current (A), by mode; a list parameter holds one per element. */
export const CURRENT_FIELDS: Readonly<Partial<Record<ModeName, readonly string[]>>> = {
  CP: ['current'],
  GS: ['start', 'end'],
  GCV: ['start', 'vertex1', 'vertex2', 'end'],
  STEPSEQ: ['currents'],
};

/**
 * Parameters holding an applied potential (V) that must stay within the device range, by mode.
 * EIS is checked by its own rule (dc_bias ± amplitude); the potential cut-offs by their schema.
 */
export const POTENTIAL_FIELDS: Readonly<Partial<Record<ModeName, readonly string[]>>> = {
  CA: ['potential'],
  LSV: ['start', 'end'],
  CV: ['start', 'vertex1', 'vertex2', 'end'],
  PSTEP: ['potentials'],
  CDL: ['vertex_a', 'vertex_b', 'start', 'end'],
};

/** Largest current magnitude (A) the device measures at gain index `gain` (0–3). */
export function currentFullScaleA(gain: number): number {
  return DEVICE_RANGE_V / TIA_GAIN_OHMS[Math.min(gain, TIA_GAIN_INDEX_MAX_EFFECTIVE)]!;
}

/** The largest full scale of any gain (gain 0, about 4.95 mA). */
export function largestFullScaleA(): number {
  return currentFullScaleA(0);
}

const PREFIXES: ReadonlyArray<[number, string]> = [[1, 'A'], [1e-3, 'mA'], [1e-6, 'µA'], [1e-9, 'nA']];

/** A current with a readable unit and 3 significant digits: 0.01 → "10 mA", 5.445e-6 → "5.45 µA". */
export function formatCurrent(amps: number): string {
  const mag = Math.abs(amps);
  const [scale, unit] = PREFIXES.find(([s]) => mag >= s) ?? PREFIXES[PREFIXES.length - 1]!;
  return `${Number((amps / scale).toPrecision(3))} ${unit}`;
}

/** One commanded current of a mode: its field (`currents[3]` for a list element) and value. */
export interface CommandedCurrent {
  field: string;
  value: number;
}

/** The commanded currents of a mode, read through `read` (which returns undefined for an unusable field). */
export function commandedCurrents(mode: ModeName, read: (name: string) => unknown): CommandedCurrent[] {
  const out: CommandedCurrent[] = [];
  for (const name of CURRENT_FIELDS[mode] ?? []) {
    const value = read(name);
    if (typeof value === 'number') out.push({ field: name, value });
    else if (Array.isArray(value)) value.forEach((v, i) => { if (typeof v === 'number') out.push({ field: `${name}[${i}]`, value: v }); });
  }
  return out;
}

/** The most sensitive gain whose full scale holds `amps`, or null when none does. */
export function gainAllowing(amps: number): number | null {
  for (let g = TIA_GAIN_INDEX_MAX_EFFECTIVE; g >= 0; g--) if (Math.abs(amps) <= currentFullScaleA(g)) return g;
  return null;
}

/**
 * Why `amps` cannot be commanded at `gain` (null = gain unknown: the largest full scale applies),
 * or null when it can. `whose` names where the gain came from in the message ("tia_gain 1",
 * "the job's tia_gain 1"). The message starts with "Value" like every issue message.
 */
export function currentLimitMessage(amps: number, gain: number | null, whose: 'mode' | 'job'): string | null {
  const fullScale = gain === null ? largestFullScaleA() : currentFullScaleA(gain);
  if (Math.abs(amps) <= fullScale) return null;
  const largest = `±${formatCurrent(largestFullScaleA())}`;
  if (gain === null) return `Value ${formatCurrent(amps)} exceeds the device's largest current full scale, ${largest} (tia_gain 0); no gain allows it.`;
  const allowing = gainAllowing(amps);
  const remedy = allowing !== null
    ? `tia_gain ${allowing} (±${formatCurrent(currentFullScaleA(allowing))}) allows it`
    : `no gain allows it${gain === 0 ? '' : ` (the largest full scale is ${largest}, at tia_gain 0)`}`;
  const owner = whose === 'job' ? "the job's " : '';
  return `Value ${formatCurrent(amps)} exceeds the current full scale ±${formatCurrent(fullScale)} of ${owner}tia_gain ${gain} (${DEVICE_RANGE_V} V / ${formatOhms(TIA_GAIN_OHMS[gain]!)}); ${remedy}.`;
}

function formatOhms(ohms: number): string {
  if (ohms >= 1e6) return `${Number((ohms / 1e6).toPrecision(4))} MΩ`;
  return ohms >= 1e3 ? `${Number((ohms / 1e3).toPrecision(4))} kΩ` : `${Number(ohms.toPrecision(4))} Ω`;
}
