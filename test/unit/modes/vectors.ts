/** Test vectors of modes.md section 8 and 7.7, typed. Shared by the modes unit tests. */
import type { ModeName, ModeParamsMap } from '../../../src/modes/index.js';

export interface PlanVector<M extends ModeName = ModeName> {
  id: string;
  mode: M;
  params: ModeParamsMap[M];
  n: number;
  first: number | null;
  last: number | null;
  /** Points per Cycle label, in label order. */
  cycles?: Record<number, number>;
  /** Points per Step label (POT) or step count × length (GAL). */
  steps?: Record<number, number>;
  galSteps?: { count: number; length: number };
  planned: number;
  eta: number;
}

const cdl = (p: Partial<ModeParamsMap['CDL']> & Pick<ModeParamsMap['CDL'], 'scan_rates'>): ModeParamsMap['CDL'] => ({
  vertex_a: 0.1, vertex_b: 0.3, rest_time: 0, start: null, end: null, ...p,
});

export const PLAN_VECTORS: PlanVector[] = [
  { id: 'CA-1', mode: 'CA', params: { potential: 0.5, duration: 2 }, n: 5555, first: 0.5, last: 0.5, planned: 1.9998, eta: 2.9998 },
  { id: 'CA-2', mode: 'CA', params: { potential: 0.1, duration: 0.36 }, n: 999, first: 0.10000000149011612, last: 0.10000000149011612, planned: 0.35964, eta: 1.35964 },
  { id: 'LSV-1', mode: 'LSV', params: { start: -0.5, end: 0.5, scan_rate: 0.1 }, n: 27777, first: -0.5, last: 0.5, planned: 9.99972, eta: 10.99972 },
  { id: 'LSV-2', mode: 'LSV', params: { start: 0.2, end: -0.3, scan_rate: 0.025 }, n: 55555, first: 0.20000000298023224, last: -0.30000001192092896, planned: 19.9998, eta: 20.9998 },
  { id: 'CV-1', mode: 'CV', params: { start: 0, vertex1: 0.5, vertex2: -0.5, end: 0, scan_rate: 0.05, cycles: 3 }, n: 333329, first: 0, last: 0,
    cycles: { 1: 83332, 2: 111110, 3: 138887 }, planned: 119.99844, eta: 120.99844 },
  { id: 'CV-2', mode: 'CV', params: { start: -0.5, vertex1: 0.5, vertex2: -0.5, end: -0.5, scan_rate: 1, cycles: 2 }, n: 11108, first: -0.5, last: -0.5,
    cycles: { 1: 5554, 2: 5554 }, planned: 3.99888, eta: 4.99888 },
  { id: 'CV-3', mode: 'CV', params: { start: 0, vertex1: 0.5, vertex2: -0.5, end: -0.5, scan_rate: 0.05, cycles: 3 }, n: 305552, first: 0, last: -0.5,
    cycles: { 1: 83332, 2: 111110, 3: 111110 }, planned: 109.99872, eta: 110.99872 },
  { id: 'CV-4', mode: 'CV', params: { start: 0.1, vertex1: 0.95, vertex2: -0.2, end: 0.1, scan_rate: 0.05, cycles: 3 }, n: 383328,
    first: 0.10000000149011612, last: 0.10000000149011612, cycles: { 1: 111110, 2: 127776, 3: 144442 }, planned: 137.99808, eta: 138.99808 },
  { id: 'PSTEP-1', mode: 'PSTEP', params: { potentials: [0.1, -0.2, 0.3, 0.0], step_duration: 1 }, n: 11108, first: 0.10000000149011612, last: 0,
    steps: { 0: 2777, 1: 2777, 2: 2777, 3: 2777 }, planned: 3.99888, eta: 4.99888 },
  { id: 'CP-1', mode: 'CP', params: { current: 1e-3, duration: 2 }, n: 5555, first: 0.0010000000474974513, last: 0.0010000000474974513,
    galSteps: { count: 1, length: 5555 }, planned: 1.9998, eta: 2.9998 },
  { id: 'GS-1', mode: 'GS', params: { start: -1e-3, end: 1e-3, num_steps: 50, step_duration: 0.1 }, n: 13850, first: -0.0010000000474974513,
    last: 0.0010000000474974513, galSteps: { count: 50, length: 277 }, planned: 4.986, eta: 5.986 },
  { id: 'GCV-1', mode: 'GCV', params: { start: -1e-3, vertex1: 1e-3, vertex2: -1e-3, end: -1e-3, num_steps: 40, step_duration: 0.05, cycles: 2 }, n: 33120,
    first: -0.0010000000474974513, last: -0.0010000000474974513, cycles: { 1: 16560, 2: 16560 }, galSteps: { count: 240, length: 138 }, planned: 11.9232, eta: 12.9232 },
  { id: 'GCV-2', mode: 'GCV', params: { start: 0, vertex1: 1e-3, vertex2: -1e-3, end: 5e-4, num_steps: 5, step_duration: 0.1, cycles: 2 }, n: 9695,
    first: 0, last: 0.0005000000237487257, cycles: { 1: 4155, 2: 4155, 3: 1385 }, galSteps: { count: 35, length: 277 }, planned: 3.4902, eta: 4.4902 },
  { id: 'STEPSEQ-1', mode: 'STEPSEQ', params: { currents: [-1e-3, 0, 1e-3, 0], step_duration: 1 }, n: 11108, first: -0.0010000000474974513, last: 0,
    galSteps: { count: 4, length: 2777 }, planned: 3.99888, eta: 4.99888 },
  { id: 'OCP-1', mode: 'OCP', params: { duration: 10 }, n: 27777, first: null, last: null, planned: 9.99972, eta: 10.99972 },
  { id: 'CDL-1', mode: 'CDL', params: cdl({ scan_rates: [0.01, 0.02, 0.05, 0.1] }), n: 399992, first: 0.10000000149011612, last: 0.10000000149011612,
    cycles: { 1: 111110, 2: 111110, 3: 55554, 4: 55554, 5: 22222, 6: 22222, 7: 11110, 8: 11110 }, planned: 143.99712, eta: 144.99712 },
  { id: 'CDL-2', mode: 'CDL', params: cdl({ scan_rates: [0.05, 0.1], rest_time: 2.0 }), n: 77774, first: 0.10000000149011612, last: 0.10000000149011612,
    cycles: { 1: 22222, 2: 27777, 3: 11110, 4: 16665 }, planned: 27.99864, eta: 28.99864 },
  { id: 'CDL-3', mode: 'CDL', params: cdl({ scan_rates: [0.1], start: 0.2, end: 0.2 }), n: 22219, first: 0.20000000298023224, last: 0.20000000298023224,
    cycles: { 1: 8332, 2: 13887 }, planned: 7.99884, eta: 8.99884 },
];

/** EIS parameters of the worked plans: settling by cycles only and no rest, as the table of modes.md 7.7 computes them. */
export const eis = (p: Partial<ModeParamsMap['EIS']>): ModeParamsMap['EIS'] => ({
  start_freq: 100, end_freq: 10, points_per_decade: 5, cycles_per_freq: 3, spacing: 'log', amplitude: 0.01, dc_bias: 0, settling_cycles: 1,
  settling_time_s: 0, rest_s: 0, ...p,
});

/** modes.md 7.7. */
export const EIS_VECTORS = [
  { id: '1000→1 log 10/dec', params: eis({ start_freq: 1000, end_freq: 1, points_per_decade: 10 }), count: 25, firstFreq: 277.78, lastFreq: 1,
    pFirst: 10, pLast: 2778, n: 53012, planned: 19.08432, eta: 20.08432 },
  { id: '100→10 log 5/dec', params: eis({}), count: 6, freqs: [100, 63.10, 39.81, 25.12, 15.85, 10], ps: [28, 44, 70, 111, 175, 278],
    n: 2824, planned: 1.01664, eta: 2.01664 },
  { id: '100→10 log 6.5/dec (half-even)', params: eis({ points_per_decade: 6.5 }), count: 7, pFirst: 28, pLast: 278, n: 3252, planned: 1.17072, eta: 2.17072 },
  { id: '200→20 lin 2/dec 2 cycles', params: eis({ start_freq: 200, end_freq: 20, points_per_decade: 2, cycles_per_freq: 2, spacing: 'lin' }), count: 3,
    freqs: [200, 110, 20], ps: [14, 25, 139], n: 534, planned: 0.19224, eta: 1.19224 },
  { id: '5000→1000 both clamp', params: eis({ start_freq: 5000, end_freq: 1000 }), count: 1, freqs: [277.78], ps: [10], n: 40, planned: 0.0144, eta: 1.0144 },
] as const;
