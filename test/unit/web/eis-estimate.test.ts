/**
 * The dashboard's live impedance estimate from decimated stream points: a synthetic R + C series
 * cell sampled as the EIS plan does (P samples per period, settling periods with cycle 0), then
 * thinned like a display feed, comes out within a few per cent of the analytic impedance.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EisLiveEstimator, SAMPLE_INTERVAL_S, estimatePeriod, parseSpectrumCsv } from '../../../web/src/eis-estimate.js';

const R = 100;
const C = 20e-6;
const AMPLITUDE = 0.01;

/** One step's rows: settling then analysed periods, every `stride`-th sample kept. */
function stepRows(step: number, P: number, settling: number, cycles: number, t0: number, stride: number) {
  const w = (2 * Math.PI) / (P * SAMPLE_INTERVAL_S);
  const z = { re: R, im: -1 / (w * C) };
  const mag = Math.hypot(z.re, z.im);
  const phase = Math.atan2(z.im, z.re);
  const rows = { t: [] as number[], e: [] as number[], i: [] as number[], cycle: [] as number[], step: [] as number[] };
  const n = (settling + cycles) * P;
  for (let k = 0; k < n; k += stride) {
    const t = t0 + k * SAMPLE_INTERVAL_S;
    const local = k * SAMPLE_INTERVAL_S;
    rows.t.push(t);
    rows.e.push(0.2 + AMPLITUDE * Math.sin(w * local));
    rows.i.push((AMPLITUDE / mag) * Math.sin(w * local - phase) + 1e-7 * local); // plus a slow drift
    rows.cycle.push(Math.max(0, Math.floor(k / P) - settling + 1));
    rows.step.push(step);
  }
  return { rows, z, end: t0 + n * SAMPLE_INTERVAL_S };
}

describe('dashboard EIS live estimate', () => {
  test('R + C series cell: |Z| and phase within 3 % / 2° from points thinned 1 in 5', () => {
    const est = new EisLiveEstimator();
    const steps = [20, 37, 120, 500];
    const expected: Array<{ re: number; im: number }> = [];
    let t = 0;
    steps.forEach((P, k) => {
      const { rows, z, end } = stepRows(k, P, 2, 3, t, 5);
      expected.push(z);
      est.add(rows.t, rows.e, rows.i, rows.cycle, rows.step);
      t = end;
    });
    const before = est.estimate();
    assert.equal(before.length, steps.length - 1, 'the step still running is not estimated');
    const all = est.estimate(true);
    assert.equal(all.length, steps.length);
    all.forEach((p, k) => {
      const z = expected[k]!;
      assert.ok(Math.abs(p.freqHz - 1 / (steps[k]! * SAMPLE_INTERVAL_S)) < 1e-9, `frequency of step ${k}: ${p.freqHz}`);
      const relMag = Math.abs(Math.hypot(p.zRe, p.zIm) / Math.hypot(z.re, z.im) - 1);
      const dPhase = Math.abs(Math.atan2(p.zIm, p.zRe) - Math.atan2(z.im, z.re)) * (180 / Math.PI);
      assert.ok(relMag < 0.03, `|Z| of step ${k} off by ${(relMag * 100).toFixed(2)} %`);
      assert.ok(dPhase < 2, `phase of step ${k} off by ${dPhase.toFixed(2)}°`);
    });
  });

  test('the period snaps to whole samples', () => {
    const ts = Array.from({ length: 30 }, (_v, k) => k * 4 * SAMPLE_INTERVAL_S); // 3 periods of P = 40, every 4th sample
    assert.ok(Math.abs(estimatePeriod(ts, 3)! - 40 * SAMPLE_INTERVAL_S) < 1e-12);
  });

  test('spectrum CSV rows are read by their headers', () => {
    const csv = 'Frequency (Hz),Z_real (Ohm),Z_imag (Ohm),|Z| (Ohm),Phase (deg)\n100,101.5,-79.2,128.7,-38\n10,103,-790,796.7,-82.6\n';
    assert.deepEqual(parseSpectrumCsv(csv), [
      { step: 0, freqHz: 100, zRe: 101.5, zIm: -79.2 },
      { step: 1, freqHz: 10, zRe: 103, zIm: -790 },
    ]);
  });
});
