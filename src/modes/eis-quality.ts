/**
 * Quality of one EIS spectrum point, from the fits of its potential and current channels: one
 * figure (the estimated relative standard uncertainty of Z) and a flag with its reasons when a
 * documented threshold is crossed. The thresholds are what the README's EIS section lists.
 */
import type { ChannelFit } from './eis-fit.js';

/** Flag a point whose estimated relative standard uncertainty of Z exceeds 2 % (about 1.1° in phase). */
export const EIS_MAX_UNCERTAINTY_REL = 0.02;
/** Flag energy at 2f and 3f above 5 % of the fundamental (non-linear response, clipping). */
export const EIS_MAX_HARMONICS_REL = 0.05;
/** Flag a drift across the window larger than half the amplitude (a line was removed; its curvature was not). */
export const EIS_MAX_DRIFT_REL = 0.5;
/** Flag a measured potential amplitude below half the applied one (the cell did not follow the setpoints). */
export const EIS_MIN_POTENTIAL_AMPLITUDE_RATIO = 0.5;

export interface EisPointQuality {
  /** Largest of the two channels. */
  driftRel: number;
  harmonicsRel: number;
  residualRel: number;
  /** √(u_E² + u_I²): relative standard uncertainty of |Z|, and of the phase in radians. */
  uncertaintyRel: number;
  /** `ok`, or `low_quality: <reason>; <reason>` (no commas: it is one CSV field). */
  flag: string;
}

const percent = (x: number): string => `${(100 * x).toFixed(1)} %`;

/** Quality of a point whose two channels were fitted; `appliedAmplitudeV` is the requested sine amplitude. */
export function assessEisPoint(e: ChannelFit, i: ChannelFit, appliedAmplitudeV: number | null): EisPointQuality {
  const uncertaintyRel = Math.hypot(e.uncertaintyRel, i.uncertaintyRel);
  const reasons: string[] = [];
  const worse = (pick: (f: ChannelFit) => number): { value: number; channel: 'E' | 'I' } => {
    const ve = pick(e);
    const vi = pick(i);
    return !(ve <= vi) && !Number.isNaN(ve) ? { value: ve, channel: 'E' } : { value: vi, channel: 'I' };
  };
  if (!(uncertaintyRel <= EIS_MAX_UNCERTAINTY_REL)) {
    reasons.push(`uncertainty ${percent(uncertaintyRel)} > ${percent(EIS_MAX_UNCERTAINTY_REL)} (signal too small for the noise)`);
  }
  const harmonics = worse((f) => f.harmonicsRel);
  if (!(harmonics.value <= EIS_MAX_HARMONICS_REL)) {
    reasons.push(`${harmonics.channel} harmonics ${percent(harmonics.value)} > ${percent(EIS_MAX_HARMONICS_REL)} (non-linear or clipped)`);
  }
  const drift = worse((f) => f.driftRel);
  if (!(drift.value <= EIS_MAX_DRIFT_REL)) {
    reasons.push(`${drift.channel} drift ${percent(drift.value)} of the amplitude > ${percent(EIS_MAX_DRIFT_REL)} (not settled)`);
  }
  if (appliedAmplitudeV !== null && appliedAmplitudeV > 0 && !(e.amplitude >= EIS_MIN_POTENTIAL_AMPLITUDE_RATIO * appliedAmplitudeV)) {
    reasons.push(`E amplitude ${percent(e.amplitude / appliedAmplitudeV)} of the applied one`);
  }
  return {
    driftRel: worse((f) => f.driftRel).value,
    harmonicsRel: harmonics.value,
    residualRel: worse((f) => f.residualRel).value,
    uncertaintyRel,
    flag: reasons.length === 0 ? 'ok' : `low_quality: ${reasons.join('; ')}`,
  };
}
