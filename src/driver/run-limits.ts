/**
 * The run-time limits a mode's final parameters set for its measurement loop: the charge
 * cut-off (potentiostatic and galvanostatic modes) and the potential cut-offs (galvanostatic
 * modes). A parameter that is absent or null means "no limit".
 */
import { commonParamsOf } from '../modes/common-params.js';
import type { ModeName, ModeParams, PotentialCutoffAction } from '../modes/types.js';

export interface RunLimits {
  /** |Q| at which the mode stops (C), or null. */
  chargeCutoffC: number | null;
  /** Galvanostatic modes: the measured potential at or above which the cut-off acts (V), or null. */
  potentialCutoffMax: number | null;
  /** Galvanostatic modes: the measured potential at or below which the cut-off acts (V), or null. */
  potentialCutoffMin: number | null;
  potentialCutoffAction: PotentialCutoffAction;
}

export const NO_LIMITS: RunLimits = Object.freeze({ chargeCutoffC: null, potentialCutoffMax: null, potentialCutoffMin: null, potentialCutoffAction: 'stop_mode' });

/** The limits in a mode's final parameters (`charge_cutoff_c`, `potential_cutoff_max|min|action`), defaults applied. */
export function runLimitsOf(mode: ModeName, params: ModeParams): RunLimits {
  const common = commonParamsOf(mode, params);
  const cutoff = common.potentialCutoff;
  return {
    chargeCutoffC: common.chargeCutoffC !== null && common.chargeCutoffC > 0 ? common.chargeCutoffC : null,
    potentialCutoffMax: cutoff?.max ?? null,
    potentialCutoffMin: cutoff?.min ?? null,
    potentialCutoffAction: cutoff?.action ?? 'stop_mode',
  };
}

/** Which potential cut-off a measured potential crosses, or null. */
export function potentialCutoffCrossed(limits: RunLimits, potentialV: number): 'max' | 'min' | null {
  if (limits.potentialCutoffMax !== null && potentialV >= limits.potentialCutoffMax) return 'max';
  if (limits.potentialCutoffMin !== null && potentialV <= limits.potentialCutoffMin) return 'min';
  return null;
}
