import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildPlan, countPlanPoints, computePlannedDurationS, computeEtaS, computeTimeS, computeEisFrequencies, computeCdlLayout,
  fillLinspaceF32, POINT_INTERVAL_S, EIS_MAX_FREQ_HZ, type ModePlan,
} from '../../../src/modes/index.js';
import { PLAN_VECTORS, EIS_VECTORS } from './vectors.js';

function labelCounts(labels: Int32Array | null): Record<number, number> {
  const out: Record<number, number> = {};
  if (labels === null) return out;
  for (const v of labels) out[v] = (out[v] ?? 0) + 1;
  return out;
}

/** Durations in modes.md are printed without double noise (4.986 for 4.986000000000001). */
function assertClose(actual: number, expected: number, what: string, tol = 1e-9): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} ≠ ${expected}`);
}

for (const v of PLAN_VECTORS) {
  test(`section 8 vector ${v.id}`, () => {
    const plan: ModePlan = buildPlan(v.mode, v.params);
    assert.equal(plan.n, v.n, 'N');
    assert.equal(countPlanPoints(v.mode, v.params), v.n, 'closed-form N');
    if (v.first === null) {
      assert.equal(plan.family, 'ocp');
      assert.equal(plan.applied, null);
    } else {
      assert.ok(plan.applied !== null && plan.applied.length === v.n);
      assert.equal(plan.applied[0], v.first, 'first applied (exact double of the float32)');
      assert.equal(plan.applied[v.n - 1], v.last, 'last applied');
    }
    if (v.cycles) assert.deepEqual(labelCounts(plan.cycle), v.cycles, 'cycle label counts');
    else if (plan.mode !== 'EIS') assert.equal(plan.cycle, null);
    if (v.steps) assert.deepEqual(labelCounts(plan.step), v.steps, 'step label counts');
    else assert.equal(plan.step, null);
    if (v.galSteps) {
      assert.equal(plan.family, 'gal');
      if (plan.family !== 'gal') return;
      assert.equal(plan.steps.length.length, v.galSteps.count);
      assert.ok(plan.steps.length.every((l) => l === v.galSteps!.length));
      assert.equal(plan.steps.length.reduce((a, b) => a + b, 0), v.n, 'N = sum of length_steps');
      assert.equal(plan.steps.current.length, v.galSteps.count);
      assert.equal(plan.steps.durationS.length, v.galSteps.count);
    }
    assert.equal(plan.plannedDurationS, v.n * POINT_INTERVAL_S, 'planned = N × Δt exactly');
    assertClose(plan.plannedDurationS, v.planned, 'planned');
    assertClose(plan.etaS, v.eta, 'eta');
    assert.equal(computePlannedDurationS(v.mode, v.params), plan.plannedDurationS);
    assert.equal(computeEtaS(v.mode, v.params), plan.plannedDurationS + 1);
  });
}

test('CV-1 spot checks and the worked example of 2.3', () => {
  const v = PLAN_VECTORS.find((x) => x.id === 'CV-1')!;
  const plan = buildPlan('CV', v.params as never);
  assert.equal(plan.family, 'pot');
  const a = plan.setpoints;
  assert.equal(a, plan.applied);
  assert.equal(a[0], 0);
  assert.equal(a[1], 1.800115205696784e-5);
  assert.equal(a[1], Math.fround(1.800115207e-5));
  assert.equal(a[27776], 0.5);
  assert.equal(a[27777], 0.5, 'vertex repeats');
  assert.equal(a[27777 + 55554], -0.5);
  assert.equal(a[27777 + 55555], -0.5);
  assert.equal(a[a.length - 1], 0);
  assertClose(computeTimeS(plan.n - 1), 119.99808, 'time of last point');
  // segment table: 27777 | 55555 | 55555 + 55555 | 55555 + 55555 | 27777
  const cyc = plan.cycle!;
  assert.equal(cyc[27777 + 55555 - 1], 1);
  assert.equal(cyc[27777 + 55555], 2);
  assert.equal(cyc[27777 + 3 * 55555], 3);
  assert.equal(cyc[plan.n - 1], 3, 'final segment keeps the last cycle number');
});

test('setpoints reproduce float32(linspace) bit for bit', () => {
  // LSV-2: value_i = f32(a + i·s), last = f32(b)
  const plan = buildPlan('LSV', { start: 0.2, end: -0.3, scan_rate: 0.025 });
  const L = plan.n;
  const s = (-0.3 - 0.2) / (L - 1);
  for (const i of [0, 1, 2, 17, 12345, 27777, L - 3, L - 2]) assert.equal(plan.setpoints[i], Math.fround(0.2 + i * s), `i=${i}`);
  assert.equal(plan.setpoints[L - 1], Math.fround(-0.3));
  // L = 1 gives only the start, L = 0 nothing
  const one = new Float32Array(3);
  assert.equal(fillLinspaceF32(one, 1, 0.1, 0.2, 1), 2);
  assert.deepEqual([...one], [0, Math.fround(0.1), 0]);
  assert.equal(fillLinspaceF32(one, 0, 0.1, 0.2, 0), 0);
});

test('LSV spot checks: 0 → 0.0005 V at 1 V/s is one point, 0 → 0.001 V two points', () => {
  const p1 = buildPlan('LSV', { start: 0, end: 0.0005, scan_rate: 1 });
  assert.deepEqual([...p1.setpoints], [0]);
  const p2 = buildPlan('LSV', { start: 0, end: 0.001, scan_rate: 1 });
  assert.deepEqual([...p2.setpoints], [0, Math.fround(0.001)]);
  assert.equal(countPlanPoints('LSV', { start: 0.3, end: 0.3, scan_rate: 1 }), 0);
});

test('2-cycle CV of ±0.01 V at 10 V/s: 19 points, labels 7 × 1 then 12 × 2', () => {
  const params = { start: 0, vertex1: 0.01, vertex2: -0.01, end: 0, scan_rate: 10, cycles: 2 };
  const plan = buildPlan('CV', params);
  assert.equal(plan.n, 19);
  assert.equal(countPlanPoints('CV', params), 19);
  assert.deepEqual([...plan.cycle!], [...Array<number>(7).fill(1), ...Array<number>(12).fill(2)]);
});

test('GCV worked example of 2.6: step currents, labels and totals', () => {
  const plan = buildPlan('GCV', { start: 0, vertex1: 1e-3, vertex2: -1e-3, end: 5e-4, num_steps: 5, step_duration: 0.1, cycles: 2 });
  const mA = [0, 0.25, 0.5, 0.75, 1, 1, 0.5, 0, -0.5, -1, -1, -0.75, -0.5, -0.25, 0];
  const expected = [...mA, ...mA, 0, 0.125, 0.25, 0.375, 0.5];
  assert.equal(plan.steps.current.length, 35);
  expected.forEach((x, k) => {
    const want = Math.fround(x * 1e-3);
    assert.ok(Math.abs(plan.steps.current[k]! - want) <= 1e-12, `step ${k}: ${plan.steps.current[k]} vs ${want}`);
  });
  assert.ok(plan.steps.length.every((l) => l === 277));
  assert.ok(plan.steps.durationS.every((d) => d === Math.fround(0.1)));
  assert.equal(plan.steps.durationS[0], 0.10000000149011612);
  assert.equal(plan.n, 9695);
  // per-point applied current = each step's current repeated 277 times
  assert.equal(plan.applied[277 * 3 + 5], plan.steps.current[3]);
  assert.equal(plan.cycle![277 * 15], 2);
  assert.equal(plan.cycle![277 * 30], 3);
  assertClose(plan.plannedDurationS, 3.4902, 'planned');
  // end = start: no final ramp, 240 steps × 138 points
  const sample = buildPlan('GCV', { start: -1e-3, vertex1: 1e-3, vertex2: -1e-3, end: -1e-3, num_steps: 40, step_duration: 0.05, cycles: 2 });
  assert.equal(sample.steps.current.length, 240);
  assert.equal(sample.n, 33120);
});

test('GS-1 step 1 and num_steps = 1 gives only start', () => {
  const plan = buildPlan('GS', { start: -1e-3, end: 1e-3, num_steps: 50, step_duration: 0.1 });
  assert.equal(plan.steps.current[1], -0.0009591836715117097);
  const single = buildPlan('GS', { start: 2e-3, end: 5e-3, num_steps: 1, step_duration: 0.1 });
  assert.deepEqual([...single.steps.current], [Math.fround(2e-3)]);
});

test('CDL layout: labels 2j−1/2j, rest held at start and labelled 2j', () => {
  const params = { vertex_a: 0.1, vertex_b: 0.3, scan_rates: [0.05, 0.1], rest_time: 2.0, start: 0.15, end: null };
  const plan = buildPlan('CDL', params);
  const layout = computeCdlLayout(params);
  assert.deepEqual(plan.cdlBlocks, layout);
  assert.equal(layout.length, 2);
  const b1 = layout[0]!;
  assert.equal(b1.restLength, 5555);
  const restStart = b1.endIndex - b1.restLength;
  assert.equal(plan.setpoints[restStart], Math.fround(0.15), 'rest at start, not vertex_a');
  assert.equal(plan.cycle![restStart], 2);
  assert.equal(plan.cycle![b1.endIndex], 3);
  assert.equal(layout[1]!.firstIndex, b1.endIndex);
  assert.equal(layout[1]!.endIndex, plan.n);
  assert.equal(countPlanPoints('CDL', params), plan.n);
  // empty scan_rates gives N = 0
  assert.equal(countPlanPoints('CDL', { ...params, scan_rates: [] }), 0);
});

for (const v of EIS_VECTORS) {
  test(`EIS table 7.7: ${v.id}`, () => {
    const plan = buildPlan('EIS', v.params);
    const blocks = plan.eisBlocks!;
    assert.equal(blocks.length, v.count);
    assert.equal(plan.n, v.n);
    assert.equal(countPlanPoints('EIS', v.params), v.n);
    assertClose(plan.plannedDurationS, v.planned, 'planned');
    assertClose(plan.etaS, v.eta, 'eta');
    if ('freqs' in v) v.freqs.forEach((f, k) => assertClose(blocks[k]!.requestedFreqHz, f, `f${k}`, 0.006));
    if ('ps' in v) assert.deepEqual(blocks.map((b) => b.pointsPerPeriod), [...v.ps]);
    if ('pFirst' in v) {
      assert.equal(blocks[0]!.pointsPerPeriod, v.pFirst);
      assert.equal(blocks[blocks.length - 1]!.pointsPerPeriod, v.pLast);
    }
    if ('firstFreq' in v) {
      assertClose(blocks[0]!.requestedFreqHz, v.firstFreq, 'first frequency', 0.005);
      assert.equal(blocks[blocks.length - 1]!.requestedFreqHz, v.lastFreq);
    }
    blocks.forEach((b) => {
      assert.equal(b.actualFreqHz, 1 / (b.pointsPerPeriod * POINT_INTERVAL_S));
      assert.equal(b.length, (b.settlingCycles + b.analysedCycles) * b.pointsPerPeriod);
    });
  });
}

test('EIS waveform: phase 0 at each block start, labels, joins at dc_bias', () => {
  const params = { start_freq: 100, end_freq: 10, points_per_decade: 5, cycles_per_freq: 3, spacing: 'log' as const, amplitude: 0.02, dc_bias: 0.3, settling_cycles: 2, settling_time_s: 0 };
  const plan = buildPlan('EIS', params);
  for (const b of plan.eisBlocks!) {
    const P = b.pointsPerPeriod;
    assert.equal(plan.setpoints[b.firstIndex], Math.fround(0.3));
    assert.equal(plan.setpoints[b.firstIndex + 5], Math.fround(0.3 + 0.02 * Math.sin((2 * Math.PI * 5) / P)));
    assert.equal(plan.step![b.firstIndex], b.index);
    assert.equal(plan.cycle![b.firstIndex], 0);
    assert.equal(plan.cycle![b.firstIndex + 2 * P - 1], 0, 'settling periods are cycle 0');
    assert.equal(plan.cycle![b.firstIndex + 2 * P], 1);
    assert.equal(plan.cycle![b.firstIndex + b.length - 1], 3);
    assert.equal(b.analysedFirstIndex, b.firstIndex + 2 * P);
  }
  assert.equal(plan.columns.join(), 'time,potential,current,cycle,step,exp,applied_potential');
});

test('EIS frequency list: half-even count, direction, clamping, single frequency', () => {
  assert.equal(computeEisFrequencies({ start_freq: 100, end_freq: 10, points_per_decade: 6.5, spacing: 'log' }).length, 7);
  const up = computeEisFrequencies({ start_freq: 10, end_freq: 100, points_per_decade: 1, spacing: 'log' });
  assert.deepEqual(up, [10, 100]);
  assert.deepEqual(computeEisFrequencies({ start_freq: 50, end_freq: 50 * (1 + 1e-12), points_per_decade: 10, spacing: 'lin' }), [50]);
  assert.deepEqual(computeEisFrequencies({ start_freq: 5000, end_freq: 1000, points_per_decade: 10, spacing: 'log' }), [EIS_MAX_FREQ_HZ]);
  // n never below 2 when the ends differ
  assert.equal(computeEisFrequencies({ start_freq: 10, end_freq: 11, points_per_decade: 0.1, spacing: 'log' }).length, 2);
});

test('OCP plan holds only N; CSV columns per family', () => {
  const ocp = buildPlan('OCP', { duration: 10 });
  assert.equal(ocp.family, 'ocp');
  assert.equal(ocp.n, 27777);
  assert.deepEqual(ocp.columns, ['time', 'potential', 'current', 'exp']);
  assert.deepEqual(buildPlan('STEPSEQ', { currents: [1e-3], step_duration: 1 }).columns, ['time', 'potential', 'current', 'exp', 'applied_current']);
  assert.deepEqual(buildPlan('PSTEP', { potentials: [0.1], step_duration: 1 }).columns, ['time', 'potential', 'current', 'step', 'exp', 'applied_potential']);
});

test('countPlanPoints matches buildPlan on varied parameters', () => {
  const cases: Array<Parameters<typeof countPlanPoints>> = [
    ['CV', { start: 0.13, vertex1: -0.77, vertex2: 0.91, end: 0.5, scan_rate: 0.37, cycles: 4 }],
    ['CV', { start: 0.5, vertex1: 0.5, vertex2: -0.5, end: -0.5, scan_rate: 0.2, cycles: 1 }],
    ['LSV', { start: -1.1, end: 0.7, scan_rate: 0.013 }],
    ['PSTEP', { potentials: [0.3, 0.1, -0.2], step_duration: 0.0123 }],
    ['GS', { start: 1e-3, end: -2e-3, num_steps: 7, step_duration: 0.0333 }],
    ['GCV', { start: 1e-4, vertex1: 1e-3, vertex2: -1e-3, end: 2e-4, num_steps: 3, step_duration: 0.011, cycles: 3 }],
    ['CDL', { vertex_a: -0.2, vertex_b: 0.45, scan_rates: [0.3, 0.07, 1.3], rest_time: 0.77, start: 0.1, end: 0.4 }],
    ['EIS', { start_freq: 3, end_freq: 270, points_per_decade: 7, cycles_per_freq: 2, spacing: 'lin', amplitude: 0.01, dc_bias: 0, settling_cycles: 0, settling_time_s: 0 }],
    ['EIS', { start_freq: 1000, end_freq: 1, points_per_decade: 10, cycles_per_freq: 3, spacing: 'log', amplitude: 0.01, dc_bias: 0, settling_cycles: 1, settling_time_s: 0.2 }],
  ];
  for (const [mode, params] of cases) assert.equal(countPlanPoints(mode, params), buildPlan(mode, params).n, mode);
});

test('a 10 M point plan is cheap to count and to build', () => {
  const params = { start: 0, vertex1: 1, vertex2: -1, end: 0, scan_rate: 0.05, cycles: 46 };
  const n = countPlanPoints('CV', params);
  assert.ok(n > 10_000_000, `n=${n}`);
  const t0 = performance.now();
  const plan = buildPlan('CV', params);
  const ms = performance.now() - t0;
  assert.equal(plan.n, n);
  assert.ok(ms < 5000, `build took ${ms} ms`);
});
