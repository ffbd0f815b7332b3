import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPlan, analyseEis, EisAnalyser, encodeEisSpectrumCsv, EIS_SPECTRUM_HEADERS, formatPyFloat, type PotPlan } from '../../../src/modes/index.js';
import { eis } from './vectors.js';

const R_OHM = 100;
const C_F = 10e-6;
const AMP_V = 0.01;

/** Single-frequency EIS plan whose requested frequency maps to P points per period. */
function planForP(P: number, extra: Partial<Parameters<typeof eis>[0]> = {}): PotPlan {
  const f = 1 / (P * 0.00036);
  return buildPlan('EIS', eis({ start_freq: f, end_freq: f, amplitude: AMP_V, cycles_per_freq: 3, ...extra }));
}

/** Measured potential = the float32 setpoints; current = analytic steady state of a series RC for the ideal sine. */
function feedSeriesRc(plan: PotPlan): { current: Float64Array; potential: Float64Array } {
  const current = new Float64Array(plan.n);
  const potential = new Float64Array(plan.n);
  for (const b of plan.eisBlocks!) {
    const w = 2 * Math.PI * b.actualFreqHz;
    const zr = R_OHM;
    const zi = -1 / (w * C_F);
    const zAbs = Math.hypot(zr, zi);
    const phase = Math.atan2(zi, zr);
    for (let n = 0; n < b.length; n++) {
      const j = b.firstIndex + n;
      potential[j] = plan.setpoints[j]!;
      current[j] = (AMP_V / zAbs) * Math.sin((2 * Math.PI * n) / b.pointsPerPeriod - phase);
    }
  }
  return { current, potential };
}

test('verification table of 7.5: series RC, R = 100 Ω, C = 10 µF, 0.01 V, 3 cycles', () => {
  const table: Array<{ P: number; fa: number; zr: number; zi: number; abs: number; phase: number }> = [
    { P: 10, fa: 277.7778, zr: 100, zi: -57.2958, abs: 115.2511, phase: -29.8109 },
    { P: 28, fa: 99.2063, zr: 100, zi: -160.4282, abs: 189.0429, phase: -58.0634 },
    { P: 278, fa: 9.9920, zr: 100, zi: -1592.8227, abs: 1595.9587, phase: -86.4076 },
  ];
  for (const row of table) {
    const plan = planForP(row.P);
    const b = plan.eisBlocks![0]!;
    assert.equal(b.pointsPerPeriod, row.P);
    const { current, potential } = feedSeriesRc(plan);
    const { rows, warnings } = analyseEis(plan, current, potential, plan.n);
    assert.deepEqual(warnings, []);
    assert.equal(rows.length, 1);
    const r = rows[0]!;
    const exactZi = -1 / (2 * Math.PI * b.actualFreqHz * C_F);
    assert.ok(Math.abs(r.zRealOhm - R_OHM) < 1e-4, `P=${row.P} Re ${r.zRealOhm}`);
    assert.ok(Math.abs(r.zImagOhm - exactZi) < 1e-4, `P=${row.P} Im ${r.zImagOhm} vs ${exactZi}`);
    assert.ok(Math.abs(r.frequencyHz - row.fa) < 5e-5);
    assert.ok(Math.abs(r.zImagOhm - row.zi) < 1e-4);
    assert.ok(Math.abs(r.zAbsOhm - row.abs) < 1e-4);
    assert.ok(Math.abs(r.phaseDeg - row.phase) < 1e-4);
    assert.ok(Math.abs(r.eAmpV - AMP_V) < 1e-8, 'E_amp = 2|Ẽ|/M');
    assert.ok(Math.abs(r.iAmpA - AMP_V / row.abs) < 1e-9, 'I_amp = 2|Ĩ|/M');
    assert.equal(r.cyclesUsed, 3);
  }
});

test('multi-frequency run: streaming in uneven blocks equals one-shot; DC offsets and settling are ignored', () => {
  const plan = buildPlan('EIS', eis({ start_freq: 200, end_freq: 20, points_per_decade: 3, dc_bias: 0.4, settling_cycles: 2 }));
  const { current, potential } = feedSeriesRc(plan);
  // Corrupt the settling periods and add a DC offset to the current: neither may change the result.
  for (const b of plan.eisBlocks!) {
    for (let j = b.firstIndex; j < b.analysedFirstIndex; j++) current[j] = 1;
    for (let j = b.analysedFirstIndex; j < b.firstIndex + b.length; j++) current[j]! += 2e-3;
  }
  const oneShot = analyseEis(plan, current, potential, plan.n);
  assert.equal(oneShot.rows.length, plan.eisBlocks!.length);
  for (const r of oneShot.rows) {
    const exactZi = -1 / (2 * Math.PI * r.frequencyHz * C_F);
    assert.ok(Math.abs(r.zRealOhm - R_OHM) < 1e-4, `${r.frequencyHz}: ${r.zRealOhm}`);
    assert.ok(Math.abs(r.zImagOhm - exactZi) < 1e-4);
  }
  const a = new EisAnalyser(plan);
  let at = 0;
  for (const size of [1, 29, 30, 31, 7, 1000]) {
    const n = Math.min(size, plan.n - at);
    a.push(at, current.subarray(at, at + n), potential.subarray(at, at + n), n);
    at += n;
  }
  a.push(at, current.subarray(at), potential.subarray(at), plan.n - at);
  const streamed = a.finish();
  streamed.rows.forEach((r, k) => {
    assert.ok(Math.abs(r.zRealOhm - oneShot.rows[k]!.zRealOhm) < 1e-9);
    assert.ok(Math.abs(r.zImagOhm - oneShot.rows[k]!.zImagOhm) < 1e-9);
  });
});

test('stopped early: incomplete block gets nan and a warning, unreached blocks are omitted', () => {
  const plan = buildPlan('EIS', eis({}));
  const blocks = plan.eisBlocks!;
  const { current, potential } = feedSeriesRc(plan);
  const stop = blocks[1]!.analysedFirstIndex + 5;
  const { rows, warnings } = analyseEis(plan, current, potential, stop);
  assert.equal(rows.length, 2);
  assert.ok(Number.isFinite(rows[0]!.zRealOhm));
  assert.equal(rows[0]!.quality, 'ok');
  assert.ok(Number.isNaN(rows[1]!.zRealOhm) && Number.isNaN(rows[1]!.phaseDeg));
  assert.equal(rows[1]!.cyclesUsed, 0);
  assert.equal(rows[1]!.quality, 'low_quality: incomplete block');
  assert.equal(warnings.length, 3);
  assert.match(warnings[0]!, /only 5 of 132 analysed rows/);
  assert.match(warnings[1]!, /4 EIS frequencies were not reached/);
  assert.match(warnings[2]!, /1 of 2 spectrum points are flagged low_quality/);
});

test('zero current: Z is nan with a warning', () => {
  const plan = planForP(10);
  const { potential } = feedSeriesRc(plan);
  const { rows, warnings } = analyseEis(plan, new Float64Array(plan.n), potential, plan.n);
  assert.ok(Number.isNaN(rows[0]!.zAbsOhm));
  assert.equal(rows[0]!.iAmpA, 0);
  assert.match(warnings[0]!, /current amplitude is 0/);
});

test('spectrum CSV of 7.6 plus the quality columns: header, CRLF, integers without .0, nan, flags', () => {
  const quality = { driftRel: 0.01, harmonicsRel: 0.002, residualRel: 0.05, uncertaintyRel: 0.001, quality: 'ok' };
  const text = encodeEisSpectrumCsv([
    { index: 0, frequencyHz: 1 / (28 * 0.00036), requestedFreqHz: 100, pointsPerPeriod: 28, cyclesUsed: 3, zRealOhm: 100, zImagOhm: -160.5,
      zAbsOhm: 189.0, phaseDeg: -58.06, eAmpV: 0.01, iAmpA: 5.3e-5, ...quality },
    { index: 1, frequencyHz: 10, requestedFreqHz: 10, pointsPerPeriod: 278, cyclesUsed: 1, zRealOhm: NaN, zImagOhm: NaN,
      zAbsOhm: NaN, phaseDeg: NaN, eAmpV: NaN, iAmpA: NaN, driftRel: NaN, harmonicsRel: NaN, residualRel: NaN, uncertaintyRel: NaN,
      quality: 'low_quality: incomplete block' },
  ]);
  assert.equal(text,
    'Frequency (Hz),Z_real (Ohm),Z_imag (Ohm),|Z| (Ohm),Phase (deg),Points per period,Cycles used,Requested frequency (Hz),E_amp (V),I_amp (A),' +
    'Drift (rel),Harmonics (rel),Residual (rel),Uncertainty (rel),Low quality,Quality\r\n' +
    `${formatPyFloat(1 / (28 * 0.00036))},100.0,-160.5,189.0,-58.06,28,3,100.0,0.01,5.3e-05,0.01,0.002,0.05,0.001,0,ok\r\n` +
    '10.0,nan,nan,nan,nan,278,1,10.0,nan,nan,nan,nan,nan,nan,1,low_quality: incomplete block\r\n');
  assert.deepEqual([...EIS_SPECTRUM_HEADERS].slice(0, 10), text.split('\r\n')[0]!.split(',').slice(0, 10), 'the columns of 7.6 come first, unchanged');
});
