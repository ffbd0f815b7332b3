/**
 * Typed parameter objects of every mode, exactly as validated and run (defaults filled,
 * numeric strings converted, integers truncated). Field names follow modes.md 6.3 and the
 * JSON Schemas in `schemas/modes/`; `test/unit/modes/catalogue.test.ts` checks that the two agree.
 */

export const MODE_NAMES = ['CA', 'LSV', 'CV', 'PSTEP', 'CP', 'GS', 'GCV', 'STEPSEQ', 'OCP', 'CDL', 'EIS'] as const;
export type ModeName = (typeof MODE_NAMES)[number];

/** `pot` = host streams potential setpoints; `gal` = on-device PID holds a current per step; `ocp` = nothing applied. */
export type ModeFamily = 'pot' | 'gal' | 'ocp';

export interface CaParams { potential: number; duration: number }
export interface LsvParams { start: number; end: number; scan_rate: number }
export interface CvParams { start: number; vertex1: number; vertex2: number; end: number; scan_rate: number; cycles: number }
export interface PstepParams { potentials: number[]; step_duration: number }
export interface CpParams { current: number; duration: number }
export interface GsParams { start: number; end: number; num_steps: number; step_duration: number }
export interface GcvParams {
  start: number; vertex1: number; vertex2: number; end: number; num_steps: number; step_duration: number; cycles: number;
}
export interface StepseqParams { currents: number[]; step_duration: number }
export interface OcpParams { duration: number }
/** `start`/`end` are filled with `vertex_a` by validation; `null` is still accepted by the plan builder. */
export interface CdlParams {
  vertex_a: number; vertex_b: number; scan_rates: number[]; rest_time: number; start: number | null; end: number | null;
}
export type EisSpacing = 'log' | 'lin';
export interface EisParams {
  start_freq: number; end_freq: number; points_per_decade: number; cycles_per_freq: number;
  spacing: EisSpacing; amplitude: number; dc_bias: number; settling_cycles: number;
}

export interface ModeParamsMap {
  CA: CaParams; LSV: LsvParams; CV: CvParams; PSTEP: PstepParams; CP: CpParams; GS: GsParams;
  GCV: GcvParams; STEPSEQ: StepseqParams; OCP: OcpParams; CDL: CdlParams; EIS: EisParams;
}
export type ModeParams = ModeParamsMap[ModeName];

/** Discriminated pair of a mode and its typed parameters. */
export type ModeRequest = { [M in ModeName]: { mode: M; params: ModeParamsMap[M] } }[ModeName];
