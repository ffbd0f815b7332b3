/**
 * The parameters several modes share (`schemas/modes/common-params.fragment.json`): reading them
 * with their defaults, and filling the ones a job sets for all its modes. Pure.
 */
import { commonParamNames, getModeInfo } from './catalogue.js';
import type { ModeName, ModeParams, PotentialCutoffAction, TiaGainIndex } from './types.js';

/** The shared parameters of one mode as it runs (defaults applied). */
export interface ResolvedCommonParams {
  /** Gain index; null = unknown here (the job leaves the device setting unchanged). */
  tiaGain: TiaGainIndex | null;
  restS: number;
  /** Charge limit (C); null = none (always null for OCP and EIS, which have no such parameter). */
  chargeCutoffC: number | null;
  /** Galvanostatic modes only; null for the others. */
  potentialCutoff: { max: number | null; min: number | null; action: PotentialCutoffAction } | null;
}

/** Job-level values a mode inherits when it does not set its own. */
export interface JobLevelParams {
  tiaGain: number | null;
  chargeCutoffC: number | null;
}

function defaultOf(mode: ModeName, name: string): unknown {
  return getModeInfo(mode).params.find((p) => p.name === name)?.default;
}

function read(mode: ModeName, params: ModeParams, name: string): unknown {
  const value = (params as unknown as Record<string, unknown>)[name];
  return value === undefined ? defaultOf(mode, name) : value;
}

const numberOrNull = (v: unknown): number | null => (typeof v === 'number' ? v : null);

/** True when `mode` has the shared parameter `name` (e.g. `charge_cutoff_c` is not an OCP parameter). */
export function hasCommonParam(mode: ModeName, name: string): boolean {
  return commonParamNames(mode).includes(name);
}

/** The shared parameters of a mode's final params, defaults applied where a field is absent. */
export function commonParamsOf(mode: ModeName, params: ModeParams): ResolvedCommonParams {
  const gain = read(mode, params, 'tia_gain');
  return {
    tiaGain: typeof gain === 'number' ? (gain as TiaGainIndex) : null,
    restS: numberOrNull(read(mode, params, 'rest_s')) ?? 0,
    chargeCutoffC: hasCommonParam(mode, 'charge_cutoff_c') ? numberOrNull(read(mode, params, 'charge_cutoff_c')) : null,
    potentialCutoff: hasCommonParam(mode, 'potential_cutoff_action')
      ? {
          max: numberOrNull(read(mode, params, 'potential_cutoff_max')),
          min: numberOrNull(read(mode, params, 'potential_cutoff_min')),
          action: read(mode, params, 'potential_cutoff_action') === 'next_step' ? 'next_step' : 'stop_mode',
        }
      : null,
  };
}

/**
 * The params with the job-level values filled in where the mode left them null or absent:
 * `tia_gain` always, `charge_cutoff_c` for the modes that have it. Returns a new object.
 */
export function fillFromJob<P extends ModeParams>(mode: ModeName, params: P, job: JobLevelParams): P {
  const out: Record<string, unknown> = { ...params };
  if (out.tia_gain === undefined || out.tia_gain === null) out.tia_gain = job.tiaGain;
  if (hasCommonParam(mode, 'charge_cutoff_c') && (out.charge_cutoff_c === undefined || out.charge_cutoff_c === null)) {
    out.charge_cutoff_c = job.chargeCutoffC;
  }
  return out as P;
}
