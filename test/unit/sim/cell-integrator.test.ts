/** The pieces of the cell's time integration: the diffusion layer's modes and the applied waveform. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppliedWaveform } from '../../../src/sim/applied-waveform.js';
import { DiffusionLayer, symmetricEigen } from '../../../src/sim/diffusion-layer.js';

describe('diffusion layer', () => {
  it('diagonalises a symmetric matrix (A·v = λ·v, orthonormal vectors)', () => {
    const n = 6;
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      a[i * n + i] = 2 + i;
      if (i + 1 < n) a[i * n + i + 1] = a[(i + 1) * n + i] = -1 - 0.1 * i;
    }
    const { values, vectors } = symmetricEigen(a, n);
    for (let k = 0; k < n; k++) {
      for (let i = 0; i < n; i++) {
        let av = 0;
        for (let j = 0; j < n; j++) av += a[i * n + j]! * vectors[j * n + k]!;
        assert.ok(Math.abs(av - values[k]! * vectors[i * n + k]!) < 1e-12, `residual of mode ${k}`);
      }
      for (let m = 0; m < n; m++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += vectors[i * n + k]! * vectors[i * n + m]!;
        assert.ok(Math.abs(dot - (k === m ? 1 : 0)) < 1e-12);
      }
    }
  });

  it('is exact in time: one long step passes the same charge as many short ones', () => {
    const chargeOver = (steps: number): number => {
      const layer = new DiffusionLayer(1e-5, 0.03, 1e-3);
      let q = 0;
      // Surface ramps from the bulk value to 0.5 over 1 s, then holds for 1 s.
      for (let k = 1; k <= steps; k++) {
        layer.beginStep(1 / steps);
        const s = 1e-3 + ((0.5 - 1e-3) * k) / steps;
        q += layer.chargeOffset + layer.chargeSlope * s;
        layer.endStep(s);
      }
      for (let k = 1; k <= steps; k++) {
        layer.beginStep(1 / steps);
        q += layer.chargeOffset + layer.chargeSlope * 0.5;
        layer.endStep(0.5);
      }
      return q;
    };
    const coarse = chargeOver(1);
    const fine = chargeOver(2000);
    assert.ok(Math.abs(coarse / fine - 1) < 1e-9, `1 step ${coarse} vs 2000 steps ${fine}`);
    // Cottrell-like order of magnitude: ∫ sqrt(D/πt) over ~1.5 s ≈ 2.5e-3 cm per unit change.
    assert.ok(fine > 5e-4 && fine < 5e-3, `charge ${fine}`);
  });
});

describe('applied waveform between setpoints', () => {
  const T = 360e-6;
  const sampleStep = (w: AppliedWaveform): number[] => [0, 0.25, 0.5, 0.75, 1].map((x) => w.at(-T + x * T));

  it('passes through the setpoints and follows a sampled sine between them (cubic)', () => {
    const w = new AppliedWaveform();
    const omega = 2 * Math.PI * 277.78;
    for (let k = 0; k < 20; k++) w.push(T, Math.sin(omega * k * T), k > 0);
    const inside = sampleStep(w);
    inside.forEach((v, i) => {
      const exact = Math.sin(omega * (19 - 1 + i / 4) * T);
      assert.ok(Math.abs(v - exact) < 0.01, `at ${i / 4} of the step: ${v} vs ${exact}`);
    });
    assert.equal(inside[4], Math.sin(omega * 19 * T));
  });

  it('ramps straight through a step of the setpoints: no overshoot', () => {
    const w = new AppliedWaveform();
    const values = [0, 0, 0, 0, 1, 1, 1, 1];
    for (const [k, v] of values.entries()) {
      w.push(T, v, k > 0);
      const start = k > 0 ? values[k - 1]! : v;
      for (const x of sampleStep(w)) assert.ok(x >= Math.min(start, v) - 1e-12 && x <= Math.max(start, v) + 1e-12, `step ${k}: ${x} outside [${start}, ${v}]`);
    }
  });

  it('holds the setpoint when the history is broken (counter electrode just connected)', () => {
    const w = new AppliedWaveform();
    w.push(T, 0.3, true);
    w.push(T, 0.5, false);
    for (const x of sampleStep(w)) assert.equal(x, 0.5);
  });
});
