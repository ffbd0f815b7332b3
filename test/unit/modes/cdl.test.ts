import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  analyseCdl, encodeCdlCsv, buildPlan, computeMedian, computeGradient, POINT_INTERVAL_S, type CdlParams, type PotPlan,
} from '../../../src/modes/index.js';

const C_DL_F = 2e-3;

/** Ideal double layer: I = C_dl · dE/dt of the applied waveform (central differences), 0 during rests. */
function synthesise(plan: PotPlan): { potential: Float64Array; current: Float64Array } {
  const potential = Float64Array.from(plan.setpoints);
  const grad = computeGradient(potential, POINT_INTERVAL_S);
  const current = grad.map((g) => C_DL_F * g);
  for (const b of plan.cdlBlocks!) current.fill(0, b.endIndex - b.restLength, b.endIndex);
  return { potential, current };
}

test('numpy-style helpers: median and gradient', () => {
  assert.equal(computeMedian([3, 1, 2]), 2);
  assert.equal(computeMedian([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(computeMedian([])));
  assert.deepEqual([...computeGradient(Float64Array.of(1, 2, 4, 7), 1)], [1, 1.5, 2.5, 3]);
});

test('recovers C_dl with E* from the real vertices (defect a) and rest points excluded (defect b)', () => {
  // Rest held at start = E* = 0.2 V with zero current: inside the ±0.01 V window, gradient 0 (anodic).
  // If rest points entered the analysis the anodic median would collapse towards 0.
  const params: CdlParams = { vertex_a: 0.1, vertex_b: 0.3, scan_rates: [0.05, 0.1, 0.2], rest_time: 1.0, start: 0.2, end: 0.2 };
  const plan = buildPlan('CDL', params);
  const { potential, current } = synthesise(plan);
  const res = analyseCdl({ params, potentialV: potential, currentA: current, count: plan.n });
  assert.deepEqual(res.warnings, []);
  assert.equal(res.eStarV, 0.2);
  assert.deepEqual(res.rows.map((r) => r.cycle), [2, 4, 6]);
  res.rows.forEach((r, k) => {
    const v = params.scan_rates[k]!;
    assert.ok(Math.abs(r.scanRateVPerS - v) / v < 1e-3, `rate ${r.scanRateVPerS} vs ${v}`);
    assert.ok(Math.abs(r.icapA - C_DL_F * r.scanRateVPerS) / (C_DL_F * v) < 1e-3, `Icap ${r.icapA}`);
    assert.equal(r.nCycles, 1);
  });
  assert.ok(Math.abs(res.capacitanceF! - C_DL_F) / C_DL_F < 1e-3, `C_dl ${res.capacitanceF}`);
  assert.ok(res.r2! > 0.999999);
});

test('down-sampled rows (defect c): cycles come from the layout, not from averaged labels', () => {
  const params: CdlParams = { vertex_a: 0.1, vertex_b: 0.3, scan_rates: [0.05, 0.1], rest_time: 0.5, start: 0.1, end: 0.1 };
  const plan = buildPlan('CDL', params);
  const { potential, current } = synthesise(plan);
  const R = 5;
  const rows = Math.ceil(plan.n / R);
  const ep = new Float64Array(rows);
  const ic = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const to = Math.min(plan.n, (r + 1) * R);
    let se = 0, si = 0;
    for (let j = r * R; j < to; j++) { se += potential[j]!; si += current[j]!; }
    ep[r] = se / (to - r * R);
    ic[r] = si / (to - r * R);
  }
  const res = analyseCdl({ params, potentialV: ep, currentA: ic, count: rows, rowStride: R });
  assert.equal(res.rows.length, 2);
  assert.ok(Math.abs(res.capacitanceF! - C_DL_F) / C_DL_F < 5e-3, `C_dl ${res.capacitanceF}`);
});

test('single block: no R²; stopped early: incomplete cycle skipped with a warning', () => {
  const params: CdlParams = { vertex_a: 0.1, vertex_b: 0.3, scan_rates: [0.1, 0.2], rest_time: 0, start: 0.1, end: 0.1 };
  const plan = buildPlan('CDL', params);
  const { potential, current } = synthesise(plan);
  const stop = plan.cdlBlocks![1]!.firstIndex + plan.cdlBlocks![1]!.firstCycleLength + 10;
  const res = analyseCdl({ params, potentialV: potential, currentA: current, count: stop });
  assert.equal(res.rows.length, 1);
  assert.equal(res.r2, null);
  assert.ok(res.capacitanceF !== null);
  assert.match(res.warnings[0]!, /cycle 4: incomplete/);
  const none = analyseCdl({ params, potentialV: potential, currentA: current, count: 0 });
  assert.deepEqual([none.rows, none.capacitanceF, none.r2], [[], null, null]);
});

test('window that misses the sweep is reported, not thrown', () => {
  // E* = 0.2 V but the data never goes near it (measured potential stuck at 0).
  const params: CdlParams = { vertex_a: 0.1, vertex_b: 0.3, scan_rates: [0.2], rest_time: 0, start: 0.1, end: 0.1 };
  const plan = buildPlan('CDL', params);
  const res = analyseCdl({ params, potentialV: new Float64Array(plan.n), currentA: new Float64Array(plan.n), count: plan.n });
  assert.equal(res.rows.length, 0);
  assert.match(res.warnings[0]!, /no (anodic|cathodic) rows within ±0.01 V of E\* = 0.2 V/);
});

test('_cdl.csv encoding', () => {
  assert.equal(encodeCdlCsv([{ block: 1, cycle: 2, requestedScanRate: 0.1, scanRateVPerS: 0.1, icapA: 2e-5, nCycles: 1 }]),
    'scan_rate_V_per_s,Icap_A,n_cycles\r\n0.1,2e-05,1\r\n');
  assert.equal(encodeCdlCsv([]), 'scan_rate_V_per_s,Icap_A,n_cycles\r\n');
});
