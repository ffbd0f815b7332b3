/**
 * EIS conditioning and quality (#11): settling by time as well as by cycles, drift removal before
 * the single-bin DFT, quality figures and flags per point, the requested frequency before
 * clamping, and the measured sample period on the frequency axis.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import modeAnalysisSchema from '../../../schemas/api/mode-analysis.schema.json' with { type: 'json' };
import {
  buildPlan, countPlanPoints, describeModeParams, listModes, parseModeParams, POINT_INTERVAL_S, validateModeParams, type PotPlan,
} from '../../../src/modes/index.js';
import { analyseEis, chooseSampleInterval, summariseEisAnalysis } from '../../../src/modes/eis.js';
import {
  EIS_MAX_DRIFT_REL, EIS_MAX_HARMONICS_REL, EIS_MAX_UNCERTAINTY_REL,
} from '../../../src/modes/eis-quality.js';
import { computePointsPerPeriod, computeSettlingCycles, requestedEisEnds } from '../../../src/modes/plan-eis.js';
import { eis } from './vectors.js';

const R_OHM = 100;
const C_F = 20e-6;
const AMP_V = 0.01;

/** Deterministic standard normal numbers (Box–Muller over a 32-bit LCG). */
function normalSource(seed: number): () => number {
  let state = seed >>> 0;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 2 ** 32;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

interface Signal {
  /** Extra current at plan index j, t = j Δt (drift, noise, distortion). */
  current?: (j: number, n: number, P: number) => number;
  potentialNoiseV?: number;
  /** Scale of the measured potential's sine (1 = follows the setpoints). */
  potentialGain?: number;
  seed?: number;
}

/** Series RC driven by the plan's sine: measured potential = the setpoints, current = the analytic steady state, plus extras. */
function feed(plan: PotPlan, signal: Signal = {}): { current: Float64Array; potential: Float64Array } {
  const current = new Float64Array(plan.n);
  const potential = new Float64Array(plan.n);
  const noise = normalSource(signal.seed ?? 7);
  for (const b of plan.eisBlocks!) {
    const P = b.pointsPerPeriod;
    const w = 2 * Math.PI * b.actualFreqHz;
    const zAbs = Math.hypot(R_OHM, 1 / (w * C_F));
    const phase = Math.atan2(-1 / (w * C_F), R_OHM);
    for (let n = 0; n < b.length; n++) {
      const j = b.firstIndex + n;
      const dc = plan.setpoints[j]! - AMP_V * Math.sin((2 * Math.PI * n) / P);
      potential[j] = dc + (signal.potentialGain ?? 1) * (plan.setpoints[j]! - dc) + (signal.potentialNoiseV ?? 0) * noise();
      current[j] = (AMP_V / zAbs) * Math.sin((2 * Math.PI * n) / P - phase) + (signal.current?.(j, n, P) ?? 0);
    }
  }
  return { current, potential };
}

const exactZ = (fHz: number) => ({ re: R_OHM, im: -1 / (2 * Math.PI * fHz * C_F) });

/** The plain single-bin DFT of modes.md 7.5 (no drift removal), for comparison. */
function plainDftZ(plan: PotPlan, k: number, current: Float64Array, potential: Float64Array): { re: number; im: number } {
  const b = plan.eisBlocks![k]!;
  const dft = (x: Float64Array) => {
    let re = 0;
    let im = 0;
    for (let m = 0; m < b.analysedCycles * b.pointsPerPeriod; m++) {
      const th = (2 * Math.PI * m) / b.pointsPerPeriod;
      re += x[b.analysedFirstIndex + m]! * Math.cos(th);
      im -= x[b.analysedFirstIndex + m]! * Math.sin(th);
    }
    return { re, im };
  };
  const e = dft(potential);
  const i = dft(current);
  const den = i.re * i.re + i.im * i.im;
  return { re: (e.re * i.re + e.im * i.im) / den, im: (e.im * i.re - e.re * i.im) / den };
}

test('settling by time: at least settling_cycles periods and at least settling_time_s, in whole periods', () => {
  assert.equal(computeSettlingCycles({ settling_cycles: 1, settling_time_s: 0.2 }, 10), 56, '0.2 s at 3.6 ms per period');
  assert.equal(computeSettlingCycles({ settling_cycles: 1, settling_time_s: 0.2 }, 2778), 1, 'one period of 1 s is already longer');
  assert.equal(computeSettlingCycles({ settling_cycles: 80, settling_time_s: 0.2 }, 10), 80, 'cycles win when longer');
  assert.equal(computeSettlingCycles({ settling_cycles: 0, settling_time_s: 0.0036 }, 10), 1, 'an exact multiple gains no period');
  assert.equal(computeSettlingCycles({ settling_cycles: 2, settling_time_s: 0 }, 10), 2);
  assert.equal(computeSettlingCycles({ settling_cycles: 2 }, 10), 2, 'absent = by cycles only');

  // The seed's example with every default: N grows by the time-based settling of the fast blocks.
  const params = parseModeParams('EIS', { start_freq: 1000, end_freq: 1, points_per_decade: 10, cycles_per_freq: 3 });
  assert.equal(params.settling_time_s, 0.2);
  assert.equal(params.rest_s, 2);
  const plan = buildPlan('EIS', params);
  let expected = 0;
  for (const b of plan.eisBlocks!) {
    const periodS = b.pointsPerPeriod * POINT_INTERVAL_S;
    assert.ok(b.settlingCycles * periodS >= 0.2 - 1e-12 && b.settlingCycles >= 1, `block ${b.index}`);
    assert.ok(b.settlingCycles === 1 || (b.settlingCycles - 1) * periodS < 0.2, `block ${b.index} is not longer than needed`);
    assert.equal(b.analysedFirstIndex, b.firstIndex + b.settlingCycles * b.pointsPerPeriod);
    assert.equal(plan.cycle![b.analysedFirstIndex - 1], 0);
    assert.equal(plan.cycle![b.analysedFirstIndex], 1);
    expected += (b.settlingCycles + 3) * b.pointsPerPeriod;
  }
  assert.equal(plan.eisBlocks![0]!.settlingCycles, 56);
  assert.equal(plan.n, expected);
  assert.equal(countPlanPoints('EIS', params), plan.n);
  assert.ok(plan.n > 53012, `N ${plan.n} > 53012 (cycles-only settling)`);
});

test('a linear drift no longer leaks into the impedance; the plain DFT would be off by percent', () => {
  const plan = buildPlan('EIS', eis({ start_freq: 100, end_freq: 1, points_per_decade: 2 }));
  // A relaxation drift of 2 µA/s: at 1 Hz (|Z| ≈ 8 kΩ, I ≈ 1.26 µA) it moves the current by 6 µA over the 3 analysed periods.
  const slope = 2e-6;
  const { current, potential } = feed(plan, { current: (j) => 3e-6 - slope * j * POINT_INTERVAL_S });
  const { rows, warnings } = analyseEis(plan, current, potential, plan.n);
  for (const r of rows) {
    const z = exactZ(r.frequencyHz);
    const zAbs = Math.hypot(z.re, z.im);
    assert.ok(Math.abs(r.zAbsOhm / zAbs - 1) < 1e-6, `${r.frequencyHz} Hz: |Z| ${r.zAbsOhm} vs ${zAbs}`);
    assert.ok(Math.abs(r.phaseDeg - (Math.atan2(z.im, z.re) * 180) / Math.PI) < 1e-4, `${r.frequencyHz} Hz phase`);
    assert.ok(r.residualRel < 1e-6, `line + sine leave no residual: ${r.residualRel}`);
  }
  const last = rows.at(-1)!;
  const lastBlock = plan.eisBlocks!.at(-1)!;
  const expectedDrift = (slope * lastBlock.analysedCycles * lastBlock.pointsPerPeriod * POINT_INTERVAL_S) / last.iAmpA;
  assert.ok(Math.abs(last.driftRel / expectedDrift - 1) < 1e-6, `drift figure ${last.driftRel} vs ${expectedDrift}`);
  assert.match(last.quality, /^low_quality: I drift \d+\.\d % of the amplitude > 50\.0 % \(not settled\)$/);
  const plain = plainDftZ(plan, plan.eisBlocks!.length - 1, current, potential);
  const z = exactZ(last.frequencyHz);
  assert.ok(Math.abs(Math.hypot(plain.re, plain.im) / Math.hypot(z.re, z.im) - 1) > 0.05, 'without drift removal the 1 Hz point is > 5 % off');
  assert.ok(warnings.some((w) => /spectrum points are flagged low_quality/.test(w)));
});

test('noise: the uncertainty figure predicts the actual scatter, and small signals are flagged', () => {
  const plan = buildPlan('EIS', eis({ start_freq: 50, end_freq: 50, cycles_per_freq: 20 }));
  const b = plan.eisBlocks![0]!;
  const M = b.analysedCycles * b.pointsPerPeriod;
  const iAmp = AMP_V / Math.hypot(R_OHM, 1 / (2 * Math.PI * b.actualFreqHz * C_F));
  // Current noise 10 % of the amplitude per sample: predicted relative uncertainty 0.1 · √(2/M).
  const sigmaI = 0.1 * iAmp;
  const errors: number[] = [];
  let predicted = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const noise = normalSource(seed);
    const { current, potential } = feed(plan, { current: () => sigmaI * noise() });
    const r = analyseEis(plan, current, potential, plan.n).rows[0]!;
    const z = exactZ(r.frequencyHz);
    errors.push(r.zAbsOhm / Math.hypot(z.re, z.im) - 1);
    predicted += r.uncertaintyRel / 40;
    assert.ok(r.residualRel > 0.1 * Math.SQRT2 * 0.8 && r.residualRel < 0.1 * Math.SQRT2 * 1.2, `residual ${r.residualRel}`);
  }
  const rms = Math.sqrt(errors.reduce((a, e) => a + e * e, 0) / errors.length);
  const theory = 0.1 * Math.sqrt(2 / M);
  assert.ok(Math.abs(predicted / theory - 1) < 0.1, `mean uncertainty ${predicted} vs σ√(2/M)/A ${theory}`);
  assert.ok(rms > 0.5 * theory && rms < 1.6 * theory, `|Z| scatter ${rms} vs ${theory}`);

  // Noise 3× the amplitude per sample: 3 · √(2/M) is above the threshold, flagged.
  const loud = normalSource(3);
  const small = feed(plan, { current: () => 3 * iAmp * loud() });
  const r = analyseEis(plan, small.current, small.potential, plan.n).rows[0]!;
  assert.ok(r.uncertaintyRel > EIS_MAX_UNCERTAINTY_REL, `uncertainty ${r.uncertaintyRel}`);
  assert.match(r.quality, /^low_quality: uncertainty \d+\.\d % > 2\.0 % \(signal too small for the noise\)/);
});

test('harmonics at 2f and 3f and a potential that does not follow are flagged with their reason', () => {
  const plan = buildPlan('EIS', eis({ start_freq: 20, end_freq: 20 }));
  const b = plan.eisBlocks![0]!;
  const iAmp = AMP_V / Math.hypot(R_OHM, 1 / (2 * Math.PI * b.actualFreqHz * C_F));
  // 6 % at 2f and 8 % at 3f: √(0.06² + 0.08²) = 10 %.
  const distorted = feed(plan, { current: (_j, n, P) => iAmp * (0.06 * Math.cos((4 * Math.PI * n) / P) + 0.08 * Math.sin((6 * Math.PI * n) / P)) });
  const r = analyseEis(plan, distorted.current, distorted.potential, plan.n).rows[0]!;
  assert.ok(Math.abs(r.harmonicsRel - 0.1) < 1e-6, `harmonics ${r.harmonicsRel}`);
  assert.ok(r.harmonicsRel > EIS_MAX_HARMONICS_REL);
  assert.equal(r.quality, 'low_quality: I harmonics 10.0 % > 5.0 % (non-linear or clipped)');
  const z = exactZ(r.frequencyHz);
  assert.ok(Math.abs(r.zAbsOhm / Math.hypot(z.re, z.im) - 1) < 1e-9, 'harmonics do not bias the fundamental');

  const lazy = feed(plan, { potentialGain: 0.3 });
  const q = analyseEis(plan, lazy.current, lazy.potential, plan.n, { amplitudeV: AMP_V }).rows[0]!;
  assert.equal(q.quality, 'low_quality: E amplitude 30.0 % of the applied one');
  const clean = feed(plan);
  const ok = analyseEis(plan, clean.current, clean.potential, plan.n, { amplitudeV: AMP_V }).rows[0]!;
  assert.equal(ok.quality, 'ok');
  assert.ok(ok.driftRel < 1e-6 && ok.harmonicsRel < 1e-6 && ok.uncertaintyRel < 1e-6, JSON.stringify(ok));
  assert.ok(EIS_MAX_DRIFT_REL > 0);
});

test('requested frequency: a clamped end reports what the user asked for; the others the list value', () => {
  assert.deepEqual(requestedEisEnds({ start_freq: '1000', end_freq: 1 }), { startHz: 1000, endHz: 1 });
  assert.equal(requestedEisEnds({ start_freq: 'x', end_freq: 1 }), undefined);
  assert.equal(requestedEisEnds(null), undefined);
  const params = parseModeParams('EIS', { start_freq: 1000, end_freq: 1, points_per_decade: 2, settling_time_s: 0, rest_s: 0 });
  const plan = buildPlan('EIS', params);
  const { current, potential } = feed(plan);
  const { rows } = analyseEis(plan, current, potential, plan.n, { requested: { startHz: 1000, endHz: 1 } });
  assert.equal(rows[0]!.requestedFreqHz, 1000);
  assert.ok(Math.abs(rows[0]!.frequencyHz - 277.7778) < 1e-4);
  assert.equal(rows[1]!.requestedFreqHz, plan.eisBlocks![1]!.requestedFreqHz);
  assert.equal(rows.at(-1)!.requestedFreqHz, 1);
  // Both ends above the maximum: the single point reports the start asked for.
  const both = buildPlan('EIS', parseModeParams('EIS', { start_freq: 5000, end_freq: 1000, points_per_decade: 2 }));
  const f = feed(both);
  assert.equal(analyseEis(both, f.current, f.potential, both.n, { requested: { startHz: 5000, endHz: 1000 } }).rows[0]!.requestedFreqHz, 5000);
});

test('measured sample period: used for the frequency axis when plausible, else the nominal one with a warning', () => {
  assert.deepEqual(chooseSampleInterval(null), { intervalS: POINT_INTERVAL_S, source: 'nominal' });
  assert.deepEqual(chooseSampleInterval(361.5e-6), { intervalS: 361.5e-6, source: 'measured' });
  assert.deepEqual(chooseSampleInterval(500e-6), { intervalS: POINT_INTERVAL_S, source: 'nominal' });
  const plan = buildPlan('EIS', eis({}));
  const { current, potential } = feed(plan);
  const measured = analyseEis(plan, current, potential, plan.n, { measuredIntervalS: 361.5e-6 });
  measured.rows.forEach((r) => assert.equal(r.frequencyHz, 1 / (r.pointsPerPeriod * 361.5e-6)));
  assert.equal(measured.sampleIntervalSource, 'measured');
  assert.deepEqual(measured.warnings, []);
  const summary = summariseEisAnalysis(measured);
  assert.equal(summary.kind, 'eis');
  assert.equal(summary.points, 6);
  assert.equal(summary.flagged, 0);
  assert.equal(summary.sample_period_source, 'measured');
  assert.ok(Math.abs(summary.sample_period_us - 361.5) < 1e-9);
  assert.deepEqual(summary.frequency_range_hz, [1 / (278 * 361.5e-6), 1 / (computePointsPerPeriod(100) * 361.5e-6)]);
  const implausible = analyseEis(plan, current, potential, plan.n, { measuredIntervalS: 500e-6 });
  assert.equal(implausible.sampleIntervalSource, 'nominal');
  assert.equal(implausible.rows[0]!.frequencyHz, 1 / (28 * POINT_INTERVAL_S));
  assert.match(implausible.warnings[0]!, /measured sample period 500\.00 µs is more than 5 % from the nominal 360 µs/);
});

test('EIS parameters: settling_time_s and the EIS rest default are declared in the schema; the summary matches its API schema', () => {
  const types = describeModeParams('EIS');
  assert.equal(types.settling_time_s, 'float');
  assert.equal(types.rest_s, 'float');
  const declared = listModes().find((m) => m.mode === 'EIS')!.params;
  assert.equal(declared.find((p) => p.name === 'settling_time_s')!.default, 0.2);
  assert.equal(declared.find((p) => p.name === 'rest_s')!.default, 2);
  assert.deepEqual(codesOf(validateModeParams('EIS', { start_freq: 10, end_freq: 1, points_per_decade: 1, settling_time_s: -1 })), ['settling_time_s:min_value']);
  assert.deepEqual(codesOf(validateModeParams('EIS', { start_freq: 10, end_freq: 1, points_per_decade: 1, settling_time_s: 601 })), ['settling_time_s:max_value']);

  const ajv = new Ajv2020({ strict: true });
  const validate = ajv.compile(modeAnalysisSchema);
  const plan = buildPlan('EIS', eis({}));
  const { current, potential } = feed(plan);
  const summary = summariseEisAnalysis(analyseEis(plan, current, potential, plan.n));
  assert.ok(validate(summary), ajv.errorsText(validate.errors));
  const none = summariseEisAnalysis(analyseEis(plan, current, potential, 0));
  assert.deepEqual([none.points, none.frequency_range_hz, none.max_uncertainty_rel, none.sample_period_source], [0, null, null, 'nominal']);
  assert.ok(validate(none), ajv.errorsText(validate.errors));
  assert.equal(validate({ ...summary, flagged: -1 }), false, 'the schema can refuse');
});

function codesOf(r: { errors: Array<{ field: string; code: string }> }): string[] {
  return r.errors.map((e) => `${e.field}:${e.code}`);
}
