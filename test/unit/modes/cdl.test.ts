import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  analyseCdl, encodeCdlCsv, buildPlan, computeMedian, computeGradient, POINT_INTERVAL_S, type CdlParams, type PotPlan,
} from '../../../src/modes/index.js';
import { encodeCdlJson } from '../../../src/modes/cdl.js';
import { averagingSamplesFor, averagingTimeConstantS, CDL_MIN_AVERAGING } from '../../../src/modes/device-settings.js';

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
  assert.equal(res.e_star_v, 0.2);
  assert.ok(Math.abs(res.window_v[0] - 0.19) < 1e-12 && Math.abs(res.window_v[1] - 0.21) < 1e-12, `window ${res.window_v}`);
  assert.deepEqual(res.rates.map((r) => r.cycle), [2, 4, 6]);
  res.rates.forEach((r, k) => {
    const v = params.scan_rates[k]!;
    assert.ok(Math.abs(r.scan_rate_v_per_s - v) / v < 1e-3, `rate ${r.scan_rate_v_per_s} vs ${v}`);
    assert.ok(Math.abs(r.icap_a - C_DL_F * r.scan_rate_v_per_s) / (C_DL_F * v) < 1e-3, `Icap ${r.icap_a}`);
    assert.ok(Math.abs(r.anodic_a + r.cathodic_a) < 1e-3 * r.icap_a, 'symmetric branches');
    assert.ok(r.window_slope_ratio < 0.01, `flat: ${r.window_slope_ratio}`);
    assert.deepEqual(r.flags, []);
  });
  assert.ok(Math.abs(res.capacitance_f! - C_DL_F) / C_DL_F < 1e-3, `C_dl ${res.capacitance_f}`);
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
  assert.equal(res.rates.length, 2);
  assert.ok(Math.abs(res.capacitance_f! - C_DL_F) / C_DL_F < 5e-3, `C_dl ${res.capacitance_f}`);
});

test('single block: no R²; stopped early: incomplete cycle skipped with a warning', () => {
  const params: CdlParams = { vertex_a: 0.1, vertex_b: 0.3, scan_rates: [0.1, 0.2], rest_time: 0, start: 0.1, end: 0.1 };
  const plan = buildPlan('CDL', params);
  const { potential, current } = synthesise(plan);
  const stop = plan.cdlBlocks![1]!.firstIndex + plan.cdlBlocks![1]!.firstCycleLength + 10;
  const res = analyseCdl({ params, potentialV: potential, currentA: current, count: stop });
  assert.equal(res.rates.length, 1);
  assert.equal(res.r2, null);
  assert.ok(res.capacitance_f !== null);
  assert.deepEqual(res.warnings.map((w) => w.code), ['rate_skipped', 'too_few_rates']);
  assert.match(res.warnings[0]!.message, /cycle 4 \(0.2 V\/s\): incomplete/);
  const none = analyseCdl({ params, potentialV: potential, currentA: current, count: 0 });
  assert.deepEqual([none.rates, none.capacitance_f, none.r2], [[], null, null]);
});

test('window that misses the sweep is reported, not thrown', () => {
  // E* = 0.2 V but the data never goes near it (measured potential stuck at 0).
  const params: CdlParams = { vertex_a: 0.1, vertex_b: 0.3, scan_rates: [0.2], rest_time: 0, start: 0.1, end: 0.1 };
  const plan = buildPlan('CDL', params);
  const res = analyseCdl({ params, potentialV: new Float64Array(plan.n), currentA: new Float64Array(plan.n), count: plan.n });
  assert.equal(res.rates.length, 0);
  assert.equal(res.warnings[0]!.code, 'rate_skipped');
  assert.match(res.warnings[0]!.message, /no (anodic|cathodic) rows within ±0.01 V of E\* = 0.2 V/);
});

/**
 * The device's smoothing as the firmware does it: mean := (mean·(N−1) + new)/N per conversion,
 * `perPoint` conversions per plan point, over an ideal double-layer current.
 */
function smooth(current: Float64Array, samples: number, perPoint = 2): Float64Array {
  const out = new Float64Array(current.length);
  let m = 0;
  for (let k = 0; k < current.length; k++) {
    for (let c = 0; c < perPoint; c++) m = (m * (samples - 1) + current[k]!) / samples;
    out[k] = m;
  }
  return out;
}

test('too fast for the smoothing: flagged per rate, with the fastest settled rate named', () => {
  const params: CdlParams = { vertex_a: -0.35, vertex_b: -0.25, scan_rates: [0.05, 0.2, 2, 5], rest_time: 0, start: -0.35, end: -0.35 };
  const plan = buildPlan('CDL', params);
  const { potential, current } = synthesise(plan);
  const res = analyseCdl({ params, potentialV: potential, currentA: smooth(current, 100), count: plan.n, averagingSamples: 100 });
  assert.equal(res.averaging_samples, 100);
  assert.equal(res.smoothing_time_constant_s, averagingTimeConstantS(100));
  // (0.05 − 0.01) V / (τ·ln 100) with τ = 20 ms.
  assert.ok(Math.abs(res.max_settled_scan_rate_v_per_s - 0.04 / (0.02 * Math.log(100))) < 1e-9);
  assert.deepEqual(res.rates.map((r) => r.flags.includes('scan_rate_too_fast')), [false, false, true, true]);
  const fast = res.warnings.find((w) => w.code === 'scan_rate_too_fast')!;
  assert.deepEqual(fast.scan_rates, [2, 5]);
  assert.match(fast.message, /2\.0 V\/s, 5\.0 V\/s too fast for the device smoothing.*\(100 averaging samples, time constant 20\.0 ms\).* up to 0\.43 V\/s/);
  // The settled rates still read right; the fast ones read low (what the warning is for).
  for (const r of res.rates.slice(0, 2)) assert.ok(Math.abs(r.icap_a / (C_DL_F * r.scan_rate_v_per_s) - 1) < 0.01, `Icap ${r.icap_a}`);
  assert.ok(res.rates[3]!.icap_a < 0.8 * C_DL_F * res.rates[3]!.scan_rate_v_per_s);
  // Unsettled rates are not also called faradaic: the flatness test skips them.
  assert.ok(!res.warnings.some((w) => w.code === 'faradaic_window'));
  // With little averaging the same rates settle.
  const light = analyseCdl({ params, potentialV: potential, currentA: smooth(current, 5), count: plan.n, averagingSamples: 5 });
  assert.ok(!light.warnings.some((w) => w.code === 'scan_rate_too_fast'), JSON.stringify(light.warnings));
});

test('a redox couple in the window: current not flat across it, and a poor fit', () => {
  // Double layer plus a Nernstian-like wave centred on E*: i_F = ±k·v^0.5·sech²((E − E*)/2b) on each branch.
  const params: CdlParams = { vertex_a: 0.1, vertex_b: 0.3, scan_rates: [0.05, 0.1, 0.2], rest_time: 0, start: 0.1, end: 0.1 };
  const plan = buildPlan('CDL', params);
  const { potential, current } = synthesise(plan);
  const grad = computeGradient(potential, POINT_INTERVAL_S);
  const faradaic = current.map((c, k) => {
    const v = Math.abs(grad[k]!);
    const x = (potential[k]! - 0.2 + (grad[k]! >= 0 ? -0.03 : 0.03)) / 0.026;
    return c + Math.sign(grad[k]!) * 2e-3 * Math.sqrt(v) / Math.cosh(x) ** 2;
  });
  const res = analyseCdl({ params, potentialV: potential, currentA: faradaic, count: plan.n });
  assert.deepEqual(res.warnings.map((w) => w.code), ['faradaic_window', 'poor_fit']);
  for (const r of res.rates) {
    assert.ok(r.window_slope_ratio > 0.2, `slope ${r.window_slope_ratio}`);
    assert.deepEqual(r.flags, ['faradaic_window', 'poor_fit']);
  }
  assert.ok(res.r2! < 0.99, `R² ${res.r2}`);
  assert.match(res.warnings[0]!.message, /not flat across E\* ± 0.01 V = 0.2 V .* redox couple/);
});

test('_cdl.csv keeps the reference columns first; _cdl.json holds the whole analysis', () => {
  const params: CdlParams = { vertex_a: 0.1, vertex_b: 0.3, scan_rates: [0.1, 0.2], rest_time: 0, start: 0.1, end: 0.1 };
  const plan = buildPlan('CDL', params);
  const { potential, current } = synthesise(plan);
  const res = analyseCdl({ params, potentialV: potential, currentA: current, count: plan.n });
  const lines = encodeCdlCsv(res.rates).split('\r\n');
  assert.equal(lines[0], 'scan_rate_V_per_s,Icap_A,n_cycles,requested_scan_rate_V_per_s,Ianodic_A,Icathodic_A,cycle,window_slope_ratio,settle_time_s,flags');
  assert.equal(lines.length, 4);
  assert.match(lines[1]!, /^0\.1\d*,0\.0002\d*,1,0\.1,0\.0002\d*,-0\.0002\d*,2,[^,]+,0\.(9|89)\d*,$/);
  assert.equal(encodeCdlCsv([]), 'scan_rate_V_per_s,Icap_A,n_cycles,requested_scan_rate_V_per_s,Ianodic_A,Icathodic_A,cycle,window_slope_ratio,settle_time_s,flags\r\n');
  const json = JSON.parse(encodeCdlJson(res)) as Record<string, unknown>;
  assert.equal(json.kind, 'cdl');
  assert.equal(json.capacitance_f, res.capacitance_f);
  assert.deepEqual(json.thresholds, { settle_residual: 0.02, max_window_slope_ratio: 0.2, min_r2: 0.99 });
  assert.equal((json.rates as unknown[]).length, 2);
});

test('CDL averaging: the sweep rule, never below CDL_MIN_AVERAGING nor above the firmware default', () => {
  const cdl = (rates: number[]): CdlParams => ({ vertex_a: -0.35, vertex_b: -0.25, scan_rates: rates, rest_time: 0, start: -0.35, end: -0.35 });
  // 0.1 V at 0.2 V/s: 0.5 s crossing, τ ≤ 5 ms → 25 samples (24 after rounding 0.1 V in binary).
  assert.ok([24, 25].includes(averagingSamplesFor('CDL', cdl([0.02, 0.2]))!));
  assert.equal(averagingSamplesFor('CDL', cdl([0.5, 5])), CDL_MIN_AVERAGING);
  assert.equal(averagingSamplesFor('CDL', cdl([0.001])), 100);
});
