/**
 * The simulated cell's small-signal impedance against the analytic circuit
 * (test/helpers/analytic-cell.ts, written without the simulator's code).
 *
 * What a host measures: one setpoint per tick, and per tick the pair (current, potential) the
 * firmware samples at the end of it. So the cell is driven one tick at a time with a sampled
 * sine, the pairs are demodulated by least squares (sine, cosine, offset, drift) over whole
 * periods after settling, and Z = V/I is compared with the analytic value.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from '../../../src/protocol/index.js';
import { DEFAULT_CELL_PARAMS, ElectrochemicalCell } from '../../../src/sim/cell.js';
import { analyticCellImpedance, magnitude, phaseDeg, VIRTUAL_CELL, type Complex } from '../../helpers/analytic-cell.js';
import { Harness } from './harness.js';

/** The firmware's nominal tick (0.36 ms): the EIS band ends at 1/(10 ticks) = 277.78 Hz. */
const NOMINAL_TICK_S = 360e-6;
const FREQUENCIES_HZ = [1, 3, 10, 30, 100, 1 / (10 * NOMINAL_TICK_S)];
/** Small enough that the Nernstian nonlinearity (amplitude² / 16 in nF/RT units) stays below 1e-4. */
const AMPLITUDE_V = 1e-3;
/** At the nominal tick the integrator reaches 0.06 % and 0.09° (the former implicit Euler: 8.1 % and 2.5°). */
const MAX_MAGNITUDE_ERROR = 0.0025;
const MAX_PHASE_ERROR_DEG = 0.15;
/** Other tick periods, at the top of their band (1/(10 ticks)): 0.16 % and 0.12° at 1 ms. */
const OTHER_TICK_MAX_MAGNITUDE_ERROR = 0.005;
const OTHER_TICK_MAX_PHASE_ERROR_DEG = 0.25;

interface Demodulated {
  /** Complex amplitude of sin(ωt) (re) and cos(ωt) (im) terms, as phasor of e^{jωt}. */
  phasor: Complex;
}

/** Least-squares fit of x_k ≈ a·sin ωt_k + b·cos ωt_k + c + d·t_k; returns the phasor b + ja... of e^{jωt}. */
function demodulate(x: ArrayLike<number>, omegaT: number): Demodulated {
  const n = x.length;
  const ata = Array.from({ length: 4 }, () => new Float64Array(4));
  const atb = new Float64Array(4);
  const row = new Float64Array(4);
  for (let k = 0; k < n; k++) {
    row[0] = Math.sin(omegaT * k);
    row[1] = Math.cos(omegaT * k);
    row[2] = 1;
    row[3] = k / n - 0.5;
    for (let r = 0; r < 4; r++) {
      atb[r]! += row[r]! * x[k]!;
      for (let s = 0; s < 4; s++) ata[r]![s]! += row[r]! * row[s]!;
    }
  }
  const sol = solve4(ata, atb);
  // a·sin + b·cos = Re[(b − j·a)·e^{jωt}]
  return { phasor: { re: sol[1]!, im: -sol[0]! } };
}

/** Gaussian elimination with partial pivoting on a small dense system. */
function solve4(a: Float64Array[], b: Float64Array): Float64Array {
  const n = b.length;
  const m = a.map((r) => Float64Array.from(r));
  const y = Float64Array.from(b);
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r]![col]!) > Math.abs(m[piv]![col]!)) piv = r;
    [m[col], m[piv]] = [m[piv]!, m[col]!];
    [y[col], y[piv]] = [y[piv]!, y[col]!];
    for (let r = col + 1; r < n; r++) {
      const f = m[r]![col]! / m[col]![col]!;
      for (let s = col; s < n; s++) m[r]![s]! -= f * m[col]![s]!;
      y[r]! -= f * y[col]!;
    }
  }
  const x = new Float64Array(n);
  for (let r = n - 1; r >= 0; r--) {
    let acc = y[r]!;
    for (let s = r + 1; s < n; s++) acc -= m[r]![s]! * x[s]!;
    x[r] = acc / m[r]![r]!;
  }
  return x;
}

function ratio(v: Complex, i: Complex): Complex {
  const d = i.re * i.re + i.im * i.im;
  return { re: (v.re * i.re + v.im * i.im) / d, im: (v.im * i.re - v.re * i.im) / d };
}

/** Drives a fresh cell, conditioned at the bias, with a sampled sine; returns the measured Z. */
function measureCellImpedance(freqHz: number, tickS: number, biasV: number, phaseRad = 0): Complex {
  const cell = new ElectrochemicalCell({}, { noise: 0 });
  // Condition at the bias: the diffusion layer needs δ²/D = 90 s to reach its steady profile.
  for (let k = 0; k < 400; k++) cell.step(1, biasV, true);
  for (let k = 0; k < Math.round(0.05 / tickS); k++) cell.step(tickS, biasV, true);
  const ticksPerPeriod = 1 / (freqHz * tickS);
  const settleTicks = Math.round(Math.ceil(Math.max(5, 0.5 * freqHz)) * ticksPerPeriod);
  const analysedTicks = Math.round(Math.max(5, Math.ceil(0.5 * freqHz)) * ticksPerPeriod);
  const omegaT = 2 * Math.PI * freqHz * tickS;
  const v = new Float64Array(analysedTicks);
  const i = new Float64Array(analysedTicks);
  for (let k = 1; k <= settleTicks + analysedTicks; k++) {
    cell.step(tickS, biasV + AMPLITUDE_V * Math.sin(omegaT * k + phaseRad), true);
    const at = k - settleTicks - 1;
    if (at >= 0) {
      v[at] = cell.potentialV;
      i[at] = cell.currentA;
    }
  }
  return ratio(demodulate(v, omegaT).phasor, demodulate(i, omegaT).phasor);
}

interface ErrorRow {
  freqHz: number;
  /** Phase of the sine at the first tick (rad): where the samples fall on the waveform. */
  startPhaseRad: number;
  measured: Complex;
  expected: Complex;
  magnitudeError: number;
  phaseErrorDeg: number;
}

function compare(freqHz: number, measured: Complex, biasV: number, startPhaseRad = 0): ErrorRow {
  const expected = analyticCellImpedance(freqHz, biasV).total;
  return {
    freqHz,
    startPhaseRad,
    measured,
    expected,
    magnitudeError: magnitude(measured) / magnitude(expected) - 1,
    phaseErrorDeg: phaseDeg(measured) - phaseDeg(expected),
  };
}

function table(rows: ErrorRow[]): string[] {
  const lines = ['   f (Hz)  sine phase   |Z| sim (Ω)  |Z| theory   |Z| err %   phase err °   Re Z sim   Re Z theory'];
  for (const r of rows) {
    lines.push(
      [
        r.freqHz.toFixed(2).padStart(9),
        r.startPhaseRad.toFixed(1).padStart(12),
        magnitude(r.measured).toFixed(3).padStart(12),
        magnitude(r.expected).toFixed(3).padStart(11),
        (100 * r.magnitudeError).toFixed(3).padStart(11),
        r.phaseErrorDeg.toFixed(3).padStart(13),
        r.measured.re.toFixed(3).padStart(10),
        r.expected.re.toFixed(3).padStart(13),
      ].join(''),
    );
  }
  return lines;
}

function assertWithin(rows: ErrorRow[], label: string, maxMagnitudeError = MAX_MAGNITUDE_ERROR, maxPhaseErrorDeg = MAX_PHASE_ERROR_DEG): void {
  for (const r of rows) {
    assert.ok(Math.abs(r.magnitudeError) < maxMagnitudeError, `${label} ${r.freqHz.toFixed(2)} Hz: |Z| off by ${(100 * r.magnitudeError).toFixed(3)} %`);
    assert.ok(Math.abs(r.phaseErrorDeg) < maxPhaseErrorDeg, `${label} ${r.freqHz.toFixed(2)} Hz: phase off by ${r.phaseErrorDeg.toFixed(3)}°`);
  }
}

describe('cell impedance against the analytic circuit', () => {
  it('the analytic helper uses the simulator default constants', () => {
    for (const [name, value] of Object.entries(VIRTUAL_CELL)) {
      assert.equal(value, DEFAULT_CELL_PARAMS[name as keyof typeof DEFAULT_CELL_PARAMS], `constant ${name}`);
    }
  });

  for (const biasV of [0, DEFAULT_CELL_PARAMS.formalPotentialV]) {
    it(`matches within ${100 * MAX_MAGNITUDE_ERROR} % and ${MAX_PHASE_ERROR_DEG}° from 1 Hz to 277.78 Hz at ${biasV} V (tick 0.36 ms)`, (t) => {
      const rows = FREQUENCIES_HZ.map((f) => compare(f, measureCellImpedance(f, NOMINAL_TICK_S, biasV), biasV));
      for (const line of table(rows)) t.diagnostic(line);
      assertWithin(rows, `bias ${biasV} V`);
      // At the top of the band the real part is Ru (plus the couple's small share), not Ru + T/(2·Cdl).
      const top = rows[rows.length - 1]!;
      assert.ok(Math.abs(top.measured.re - top.expected.re) < 0.5, `Re Z at ${top.freqHz.toFixed(2)} Hz = ${top.measured.re.toFixed(2)} Ω, theory ${top.expected.re.toFixed(2)} Ω`);
    });
  }

  for (const tickUs of [200, 500, 1000]) {
    it(`stays within ${100 * OTHER_TICK_MAX_MAGNITUDE_ERROR} % and ${OTHER_TICK_MAX_PHASE_ERROR_DEG}° at a ${tickUs} µs tick, up to 1/(10 ticks), whatever the sine's phase`, (t) => {
      const tickS = tickUs * 1e-6;
      const top = 1 / (10 * tickS);
      const rows = [1, 10, top / 3, top].flatMap((f) => [0, 1].map((phase) => compare(f, measureCellImpedance(f, tickS, 0, phase), 0, phase)));
      for (const line of table(rows)) t.diagnostic(line);
      assertWithin(rows, `tick ${tickUs} µs`, OTHER_TICK_MAX_MAGNITUDE_ERROR, OTHER_TICK_MAX_PHASE_ERROR_DEG);
    });
  }
});

describe('impedance as the firmware reports it (FIFO pairs, no smoothing)', () => {
  it('pairs of setpoint and sampled current give the analytic impedance at 100 Hz and 277.78 Hz', (t) => {
    const h = new Harness();
    h.okCommand(Command.SET_TIA_GAIN, 0);
    h.okCommand(Command.SET_SWITCH, 1);
    h.advanceUs(5_000_000); // hold 0 V with the counter electrode closed
    const ticksPerFreq = 3000;
    const freqs = [100, 1 / (10 * NOMINAL_TICK_S)];
    const setpoints = new Float32Array(freqs.length * ticksPerFreq);
    freqs.forEach((f, n) => {
      for (let k = 0; k < ticksPerFreq; k++) setpoints[n * ticksPerFreq + k] = 0.01 * Math.sin(2 * Math.PI * f * NOMINAL_TICK_S * k);
    });
    h.writeSetpoints(setpoints.subarray(0, 4000));
    h.okCommand(Command.FIFO_START, 1);
    let written = 4000;
    const current: number[] = [];
    const potential: number[] = [];
    for (let rounds = 0; h.device.status & 0x10; rounds++) {
      assert.ok(rounds < 1000, 'the FIFO run ends');
      h.ticks(60);
      const room = 4096 - h.device.dacPendingSetpoints;
      if (written < setpoints.length && room >= 61) {
        const n = Math.min(61, setpoints.length - written);
        h.writeSetpoints(setpoints.subarray(written, written + n));
        written += n;
        if (written === setpoints.length) h.okCommand(Command.TEST_STOP);
      }
      const got = h.drainPairs();
      current.push(...got.current);
      potential.push(...got.potential);
    }
    assert.equal(h.device.stats.underruns, 0);
    // Pair k + 1 carries setpoint k (pair 0 is sampled before the first setpoint applies).
    const rows = freqs.map((f, n) => {
      const from = 1 + n * ticksPerFreq + 1000; // after 1000 ticks of settling (0.36 s ≫ Ru·Cdl = 2 ms)
      const to = 1 + (n + 1) * ticksPerFreq;
      const period = 1 / (f * NOMINAL_TICK_S);
      const count = Math.round(Math.floor((to - from) / period) * period);
      const omegaT = 2 * Math.PI * f * NOMINAL_TICK_S;
      const z = ratio(demodulate(potential.slice(from, from + count), omegaT).phasor, demodulate(current.slice(from, from + count), omegaT).phasor);
      return compare(f, z, 0);
    });
    for (const line of table(rows)) t.diagnostic(line);
    assertWithin(rows, 'device');
  });
});
