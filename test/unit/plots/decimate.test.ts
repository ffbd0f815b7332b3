import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EnvelopeReducer, computeBounds, decimateByPixelColumn, type XYSeries } from '../../../src/plots/decimate.js';

function makeRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function series(xs: number[], ys: number[]): XYSeries {
  return { xs: Float64Array.from(xs), ys: Float64Array.from(ys) };
}

/** Per pixel column: first, last, min, max of y for a monotonic x. */
function columnEnvelope(s: XYSeries, xMin: number, xMax: number, width: number) {
  const env = new Map<number, { first: number; last: number; min: number; max: number }>();
  for (let i = 0; i < s.xs.length; i++) {
    const col = Math.min(width - 1, Math.max(0, Math.floor(((s.xs[i]! - xMin) * width) / (xMax - xMin))));
    const y = s.ys[i]!;
    const e = env.get(col);
    if (!e) env.set(col, { first: y, last: y, min: y, max: y });
    else {
      e.last = y;
      e.min = Math.min(e.min, y);
      e.max = Math.max(e.max, y);
    }
  }
  return env;
}

/** Is `sub` a subsequence of (x, y) pairs of `full`, in order? */
function isOrderedSubsequence(sub: XYSeries, full: XYSeries): boolean {
  let j = 0;
  for (let i = 0; i < full.xs.length && j < sub.xs.length; i++) {
    if (full.xs[i] === sub.xs[j] && full.ys[i] === sub.ys[j]) j++;
  }
  return j === sub.xs.length;
}

describe('decimateByPixelColumn', () => {
  test('monotonic x: the per-column first/last/min/max are exactly those of the input, at most 4 points per column', () => {
    const rnd = makeRandom(7);
    const n = 200_000;
    const xs = Array.from({ length: n }, (_, i) => i * 0.00036);
    const ys = xs.map((t) => Math.exp(-t) + (rnd() - 0.5) * 0.1 + (rnd() < 0.0005 ? 3 : 0));
    const input = series(xs, ys);
    const width = 800;
    const b = computeBounds([input])!;
    const out = decimateByPixelColumn(input, b.xMin, b.xMax, width);
    assert.ok(out.xs.length <= 4 * width, `${out.xs.length} points`);
    assert.ok(out.xs.length >= 2 * width, `${out.xs.length} points: too few`);
    assert.deepEqual(columnEnvelope(out, b.xMin, b.xMax, width), columnEnvelope(input, b.xMin, b.xMax, width));
    assert.ok(isOrderedSubsequence(out, input), 'output keeps input order');
  });

  test('back-and-forth x (CV sweeps): each sweep keeps its own envelope and the sweeps stay in order', () => {
    const xs: number[] = [];
    const ys: number[] = [];
    const perSweep = 50_000;
    for (let sweep = 0; sweep < 4; sweep++) {
      for (let i = 0; i < perSweep; i++) {
        const u = i / (perSweep - 1);
        const x = sweep % 2 === 0 ? -0.5 + u : 0.5 - u;
        xs.push(x);
        ys.push((sweep % 2 === 0 ? 1 : -1) * (x + 0.5) ** 2 + sweep * 0.01);
      }
    }
    const input = series(xs, ys);
    const out = decimateByPixelColumn(input, -0.5, 0.5, 800);
    assert.ok(out.xs.length < 4 * 6 * 800 && out.xs.length > 4 * 800, `${out.xs.length} points`);
    assert.ok(isOrderedSubsequence(out, input));
    // The turning points (sweep ends) survive.
    for (let s = 0; s < 4; s++) {
      const endIdx = (s + 1) * perSweep - 1;
      assert.ok(out.xs.some((x, i) => x === xs[endIdx] && out.ys[i] === ys[endIdx]), `end of sweep ${s}`);
    }
    // Upper and lower branches are both present across the whole range.
    const upper = Array.from(out.ys).filter((y) => y > 0.5).length;
    const lower = Array.from(out.ys).filter((y) => y < -0.5).length;
    assert.ok(upper > 100 && lower > 100);
  });

  test('drops non-finite points and handles tiny and flat inputs', () => {
    const out = decimateByPixelColumn(series([0, 1, NaN, 2, 3], [1, Infinity, 2, 3, 4]), 0, 3, 10);
    assert.deepEqual(Array.from(out.xs), [0, 2, 3]);
    const flat = decimateByPixelColumn(series([5, 5, 5, 5, 5], [1, 2, 3, 2, 1]), 5, 5, 100);
    assert.deepEqual(Array.from(flat.ys), [1, 3, 1]);
    const two = decimateByPixelColumn(series([0, 1], [0, 1]), 0, 1, 10);
    assert.deepEqual(Array.from(two.xs), [0, 1]);
  });
});

describe('EnvelopeReducer', () => {
  test('keeps every point while fewer than 2·capacity arrived', () => {
    const r = new EnvelopeReducer(8);
    for (let i = 0; i < 15; i++) r.add(i, i * i);
    const out = r.finish();
    assert.deepEqual(Array.from(out.xs), Array.from({ length: 15 }, (_, i) => i));
    assert.equal(r.chunkSize, 1);
  });

  test('bounded output for any length; global extremes, first and last survive; order is kept', () => {
    const rnd = makeRandom(3);
    const r = new EnvelopeReducer(64);
    const xs: number[] = [];
    const ys: number[] = [];
    for (let i = 0; i < 100_000; i++) {
      const x = Math.sin(i / 5000) + (rnd() - 0.5) * 0.01;
      const y = Math.cos(i / 3000) * (1 + rnd());
      xs.push(x);
      ys.push(y);
      r.add(x, y);
    }
    const out = r.finish();
    assert.ok(out.xs.length <= 6 * 2 * 64 + 6, `${out.xs.length} points`);
    assert.ok(r.chunkSize > 1);
    const input = series(xs, ys);
    assert.ok(isOrderedSubsequence(out, input));
    assert.equal(out.xs[0], xs[0]);
    assert.equal(out.xs[out.xs.length - 1], xs[xs.length - 1]);
    const b = computeBounds([input])!;
    assert.deepEqual(computeBounds([out]), b);
    assert.deepEqual(r.bounds(), b);
    assert.equal(r.count, 100_000);
  });

  test('equals a direct per-chunk envelope of the same chunk size', () => {
    const rnd = makeRandom(11);
    const cap = 16;
    const n = 5000;
    const xs = Array.from({ length: n }, () => rnd());
    const ys = Array.from({ length: n }, () => rnd());
    const r = new EnvelopeReducer(cap);
    r.addMany(xs, ys, 0, n);
    const out = r.finish();
    const k = r.chunkSize;
    // Brute force: chunks of k consecutive points, keep first/last/argmin/argmax of x and y (earliest on ties).
    const wantX: number[] = [];
    for (let c = 0; c < n; c += k) {
      const idx = Array.from({ length: Math.min(k, n - c) }, (_, i) => c + i);
      const arg = (vals: number[], better: (a: number, b: number) => boolean) => idx.reduce((best, i) => (better(vals[i]!, vals[best]!) ? i : best), idx[0]!);
      const picks = new Set([idx[0]!, idx[idx.length - 1]!, arg(xs, (a, b) => a < b), arg(xs, (a, b) => a > b), arg(ys, (a, b) => a < b), arg(ys, (a, b) => a > b)]);
      for (const i of [...picks].sort((a, b) => a - b)) wantX.push(xs[i]!);
    }
    assert.deepEqual(Array.from(out.xs), wantX);
  });

  test('ignores non-finite points', () => {
    const r = new EnvelopeReducer(4);
    r.add(NaN, 1);
    r.add(1, Infinity);
    r.add(2, 3);
    assert.equal(r.count, 1);
    assert.deepEqual(Array.from(r.finish().ys), [3]);
    assert.throws(() => new EnvelopeReducer(0), RangeError);
  });
});
