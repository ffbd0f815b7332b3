/**
 * Plans: `buildPlan` builds the per-point arrays a driver streams; `countPlanPoints` gives the
 * same N with closed forms (no arrays), so progress and ETA are cheap (modes.md 5, "Corrected rule").
 * Parameters must already be validated (`parseModeParams`); nothing here re-checks ranges.
 */
import { getModeInfo, UnsupportedModeError } from './catalogue.js';
import { POINT_INTERVAL_S, SETUP_TIME_S } from './constants.js';
import { buildCpWaveform, buildGcvWaveform, buildGsWaveform, buildStepseqWaveform, countCpPoints, countGcvPoints, countGsPoints, countStepseqPoints, expandSteps, type GalWaveform } from './plan-gal.js';
import { buildEisWaveform, countEisPoints } from './plan-eis.js';
import {
  buildCaWaveform, buildCdlWaveform, buildCvWaveform, buildLsvWaveform, buildPstepWaveform, countCaPoints, countCdlPoints,
  countCvPoints, countLsvPoints, countPstepPoints, type PotWaveform,
} from './plan-pot.js';
import type { CdlBlock, EisBlock, GalPlan, ModePlan, OcpPlan, PotPlan } from './plan-types.js';
import { countDurationPoints } from './numeric.js';
import type {
  CaParams, CdlParams, CpParams, CvParams, EisParams, GcvParams, GsParams, LsvParams, ModeName, ModeParamsMap, OcpParams,
  PstepParams, StepseqParams,
} from './types.js';

export type * from './plan-types.js';

/** Time stamp of plan point i: i × Δt as one double multiplication (never accumulated). */
export function computeTimeS(index: number): number {
  return index * POINT_INTERVAL_S;
}

/** N for a mode, from closed forms (for GAL the sum of the step lengths; for EIS the block sum). */
export function countPlanPoints<M extends ModeName>(mode: M, params: ModeParamsMap[M]): number {
  const p: unknown = params;
  switch (mode) {
    case 'CA': return countCaPoints(p as CaParams);
    case 'LSV': return countLsvPoints(p as LsvParams);
    case 'CV': return countCvPoints(p as CvParams);
    case 'PSTEP': return countPstepPoints(p as PstepParams);
    case 'CP': return countCpPoints(p as CpParams);
    case 'GS': return countGsPoints(p as GsParams);
    case 'GCV': return countGcvPoints(p as GcvParams);
    case 'STEPSEQ': return countStepseqPoints(p as StepseqParams);
    case 'OCP': return countDurationPoints((p as OcpParams).duration);
    case 'CDL': return countCdlPoints(p as CdlParams);
    case 'EIS': return countEisPoints(p as EisParams);
    default: throw new UnsupportedModeError(String(mode));
  }
}

/** planned_s = N × Δt. */
export function computePlannedDurationS<M extends ModeName>(mode: M, params: ModeParamsMap[M]): number {
  return countPlanPoints(mode, params) * POINT_INTERVAL_S;
}

/** ETA of one mode = planned_s + 1 s setup. A multi-mode sequence sums its modes. */
export function computeEtaS<M extends ModeName>(mode: M, params: ModeParamsMap[M]): number {
  return computePlannedDurationS(mode, params) + SETUP_TIME_S;
}

function finishPot(mode: ModeName, w: PotWaveform, extra: { eisBlocks?: EisBlock[]; cdlBlocks?: CdlBlock[] } = {}): PotPlan {
  const n = w.setpoints.length;
  const planned = n * POINT_INTERVAL_S;
  return {
    mode, family: 'pot', n, intervalS: POINT_INTERVAL_S, plannedDurationS: planned, etaS: planned + SETUP_TIME_S,
    columns: getModeInfo(mode).csvColumns, setpoints: w.setpoints, applied: w.setpoints, cycle: w.cycle, step: w.step,
    eisBlocks: extra.eisBlocks ?? null, cdlBlocks: extra.cdlBlocks ?? null,
  };
}

function finishGal(mode: ModeName, w: GalWaveform): GalPlan {
  const { applied, cycle } = expandSteps(w.steps, w.stepCycle);
  const n = applied.length;
  const planned = n * POINT_INTERVAL_S;
  return {
    mode, family: 'gal', n, intervalS: POINT_INTERVAL_S, plannedDurationS: planned, etaS: planned + SETUP_TIME_S,
    columns: getModeInfo(mode).csvColumns, steps: w.steps, applied, cycle, step: null,
  };
}

/** Plan type of a mode: `PlanOf<'CV'>` is `PotPlan`, `PlanOf<ModeName>` is `ModePlan`. */
export type PlanOf<M extends ModeName> = M extends 'CP' | 'GS' | 'GCV' | 'STEPSEQ' ? GalPlan : M extends 'OCP' ? OcpPlan : PotPlan;

/**
 * Build the plan of one mode. POT: float32 setpoints (V). GAL: step table plus per-point applied
 * current. OCP: only N. Labels (`cycle`, `step`) are present where the CSV has those columns.
 * Cost is linear in N (a 10 M point CV takes well under a second).
 */
export function buildPlan<M extends ModeName>(mode: M, params: ModeParamsMap[M]): PlanOf<M> {
  return buildAnyPlan(mode, params) as PlanOf<M>;
}

function buildAnyPlan(mode: ModeName, params: unknown): ModePlan {
  switch (mode) {
    case 'CA': return finishPot(mode, buildCaWaveform(params as CaParams));
    case 'LSV': return finishPot(mode, buildLsvWaveform(params as LsvParams));
    case 'CV': return finishPot(mode, buildCvWaveform(params as CvParams));
    case 'PSTEP': return finishPot(mode, buildPstepWaveform(params as PstepParams));
    case 'CDL': {
      const w = buildCdlWaveform(params as CdlParams);
      return finishPot(mode, w, { cdlBlocks: w.blocks });
    }
    case 'EIS': {
      const w = buildEisWaveform(params as EisParams);
      return finishPot(mode, w, { eisBlocks: w.blocks });
    }
    case 'CP': return finishGal(mode, buildCpWaveform(params as CpParams));
    case 'GS': return finishGal(mode, buildGsWaveform(params as GsParams));
    case 'GCV': return finishGal(mode, buildGcvWaveform(params as GcvParams));
    case 'STEPSEQ': return finishGal(mode, buildStepseqWaveform(params as StepseqParams));
    case 'OCP': {
      const n = countDurationPoints((params as OcpParams).duration);
      const planned = n * POINT_INTERVAL_S;
      return {
        mode, family: 'ocp', n, intervalS: POINT_INTERVAL_S, plannedDurationS: planned, etaS: planned + SETUP_TIME_S,
        columns: getModeInfo(mode).csvColumns, applied: null, cycle: null, step: null,
      };
    }
    default: throw new UnsupportedModeError(String(mode));
  }
}
