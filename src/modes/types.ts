/**
 * Typed parameter objects of every mode, exactly as validated and run (defaults filled,
 * numeric strings converted, integers truncated). Field names follow modes.md 6.3 and the
 * JSON Schemas in `schemas/modes/`; `test/unit/modes/catalogue.test.ts` checks that the two agree.
 */

export const MODE_NAMES = ['CA', 'LSV', 'CV', 'PSTEP', 'CP', 'GS', 'GCV', 'STEPSEQ', 'OCP', 'CDL', 'EIS'] as const;
export type ModeName = (typeof MODE_NAMES)[number];

/** `pot` = host streams potential setpoints; `gal` = on-device PID holds a current per step; `ocp` = nothing applied. */
export type ModeFamily = 'pot' | 'gal' | 'ocp';

/** TIA gain indices that take distinct effect (the firmware treats 4 and 5 as 3). */
export type TiaGainIndex = 0 | 1 | 2 | 3;

/**
 * Parameters every mode has (`schemas/modes/common-params.fragment.json`, group `every_mode`).
 * Validation always fills them (defaults), and admission fills `tia_gain` from the job, so a
 * job step's final params hold what the mode runs with. They are optional in the type only so
 * that waveform-only objects (plan builders, tests) stay valid; read them through
 * `src/modes/common-params.ts`, which applies the defaults.
 */
export interface CommonParams {
  /** Gain index for this mode; null = the job's (which may itself be null: leave the device unchanged). */
  tia_gain?: TiaGainIndex | null;
  /** Rest before the mode (s), ≥ 0. */
  rest_s?: number;
}
/** Modes that apply a potential or a current (all but OCP and EIS). */
export interface ChargeCutoffParams {
  /** Stop the mode when |Q| reaches this many coulombs; null = no limit. */
  charge_cutoff_c?: number | null;
}
export type PotentialCutoffAction = 'stop_mode' | 'next_step';
/** Galvanostatic modes (CP, GS, GCV, STEPSEQ). */
export interface PotentialCutoffParams {
  potential_cutoff_max?: number | null;
  potential_cutoff_min?: number | null;
  potential_cutoff_action?: PotentialCutoffAction;
}
type PotCommon = CommonParams & ChargeCutoffParams;
type GalCommon = CommonParams & ChargeCutoffParams & PotentialCutoffParams;

export interface CaParams extends PotCommon { potential: number; duration: number }
export interface LsvParams extends PotCommon { start: number; end: number; scan_rate: number }
export interface CvParams extends PotCommon { start: number; vertex1: number; vertex2: number; end: number; scan_rate: number; cycles: number }
export interface PstepParams extends PotCommon { potentials: number[]; step_duration: number }
export interface CpParams extends GalCommon { current: number; duration: number }
export interface GsParams extends GalCommon { start: number; end: number; num_steps: number; step_duration: number }
export interface GcvParams extends GalCommon {
  start: number; vertex1: number; vertex2: number; end: number; num_steps: number; step_duration: number; cycles: number;
}
export interface StepseqParams extends GalCommon { currents: number[]; step_duration: number }
export interface OcpParams extends CommonParams { duration: number }
/** `start`/`end` are filled with `vertex_a` by validation; `null` is still accepted by the plan builder. */
export interface CdlParams extends PotCommon {
  vertex_a: number; vertex_b: number; scan_rates: number[]; rest_time: number; start: number | null; end: number | null;
}
export type EisSpacing = 'log' | 'lin';
export interface EisParams extends CommonParams {
  start_freq: number; end_freq: number; points_per_decade: number; cycles_per_freq: number;
  spacing: EisSpacing; amplitude: number; dc_bias: number; settling_cycles: number;
  /** Minimum settling time per frequency (s), on top of `settling_cycles`; rounded up to whole periods. */
  settling_time_s: number;
}

export interface ModeParamsMap {
  CA: CaParams; LSV: LsvParams; CV: CvParams; PSTEP: PstepParams; CP: CpParams; GS: GsParams;
  GCV: GcvParams; STEPSEQ: StepseqParams; OCP: OcpParams; CDL: CdlParams; EIS: EisParams;
}
export type ModeParams = ModeParamsMap[ModeName];

/** Discriminated pair of a mode and its typed parameters. */
export type ModeRequest = { [M in ModeName]: { mode: M; params: ModeParamsMap[M] } }[ModeName];
