/**
 * EIS right by default (#11): the seed's example job — CV then EIS on two slots, EIS from 1000 Hz
 * to 1 Hz, 10 points per decade, 3 cycles per frequency, everything else at its defaults — over
 * real HTTP against the built daemon with virtual potentiostats on ptys. The spectrum must match
 * the cell's analytic impedance within 5 % in |Z| and 3° in phase at every reported frequency;
 * the clamp of 1000 Hz to 277.78 Hz is reported, and the spectrum's `Requested frequency` says 1000.
 *
 * The analytic impedance is computed here from the circuit (not from the simulator's code): Ru in
 * series with C_dl ∥ a reversible couple with finite-length diffusion ∥ a leak resistance.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSimulators, type SimulatorSet } from '../../src/sim/run-sim.js';
import { createCleanupScope, splitCsv, startDaemon, submitJob, waitForJob, type DaemonHandle, type JobStatusLike } from '../helpers/daemon.js';

const MAX_ABS_ERROR_REL = 0.05;
const MAX_PHASE_ERROR_DEG = 3;

/** The seed's example, as a GUI sends it. */
const CV = { start: 0, vertex1: 0.5, vertex2: -0.5, end: 0, scan_rate: 0.5, cycles: 2 };
const EIS = { start_freq: 1000, end_freq: 1, points_per_decade: 10, cycles_per_freq: 3 };

// ---- the analytic cell ------------------------------------------------------------------------
// Written from the circuit, with the virtual cell's documented values (3 mm disc in 1 mM of a
// one-electron couple at E0' = +0.2 V, 0.1 % oxidised in the bulk, D = 1e-5 cm²/s, a 300 µm
// Nernst layer, 25 °C): Z = Ru + 1 / (jωC_dl + Y_F + 1/R_leak), with the Faradaic admittance of a
// Nernstian couple with finite-length (transmissive) diffusion linearised at the dc potential:
// Y_F = (nF/RT)·s(1−s) · nFA·c·D·k·coth(kδ), k = √(jω/D), s the surface oxidised fraction.

const CELL = {
  ruOhm: 100, cdlF: 20e-6, leakOhm: 1e8, e0V: 0.2, n: 1, areaCm2: 0.0707, concMolPerCm3: 1e-6, dCm2PerS: 1e-5, deltaCm: 0.03, tempK: 298.15,
};

interface Complex { re: number; im: number }
const cAdd = (a: Complex, b: Complex): Complex => ({ re: a.re + b.re, im: a.im + b.im });
const cMul = (a: Complex, b: Complex): Complex => ({ re: a.re * b.re - a.im * b.im, im: a.re * b.im + a.im * b.re });
const cDiv = (a: Complex, b: Complex): Complex => {
  const d = b.re * b.re + b.im * b.im;
  return { re: (a.re * b.re + a.im * b.im) / d, im: (a.im * b.re - a.re * b.im) / d };
};
const cSqrt = (a: Complex): Complex => {
  const r = Math.hypot(a.re, a.im);
  const re = Math.sqrt((r + a.re) / 2);
  return { re, im: Math.sign(a.im) * Math.sqrt((r - a.re) / 2) };
};
/** coth z = (1 + e^{−2z}) / (1 − e^{−2z}) (Re z > 0). */
const cCoth = (z: Complex): Complex => {
  const m = Math.exp(-2 * z.re);
  const e = { re: m * Math.cos(-2 * z.im), im: m * Math.sin(-2 * z.im) };
  return cDiv({ re: 1 + e.re, im: e.im }, { re: 1 - e.re, im: -e.im });
};

/** The cell's small-signal impedance at frequency f and dc interface potential eDc (V vs RE). */
function analyticCellImpedance(fHz: number, eDc: number): Complex {
  const F = 96485.33212;
  const nf = (CELL.n * F) / (8.314462618 * CELL.tempK);
  const w = 2 * Math.PI * fHz;
  const s = 1 / (1 + Math.exp(-nf * (eDc - CELL.e0V)));
  const k = cSqrt({ re: 0, im: w / CELL.dCm2PerS });
  const kd = { re: k.re * CELL.deltaCm, im: k.im * CELL.deltaCm };
  const yF = cMul({ re: nf * s * (1 - s) * CELL.n * F * CELL.areaCm2 * CELL.concMolPerCm3 * CELL.dCm2PerS, im: 0 }, cMul(k, cCoth(kd)));
  const y = cAdd({ re: 1 / CELL.leakOhm, im: w * CELL.cdlF }, yF);
  return cAdd({ re: CELL.ruOhm, im: 0 }, cDiv({ re: 1, im: 0 }, y));
}

// ---------------------------------------------------------------------------------------------

const scope = createCleanupScope();
let sims: SimulatorSet;
let daemon: DaemonHandle;

before(async () => {
  // Realistic devices: noise and the firmware's moving average on (EIS must switch it off).
  sims = await startSimulators({ count: 2, noise: 1, smoothing: true });
  scope.defer(() => sims.close());
  daemon = await startDaemon(scope, { ports: sims.ports });
});
after(() => scope.run());

interface SpectrumRow {
  frequencyHz: number;
  requestedHz: number;
  zAbs: number;
  phaseDeg: number;
  quality: string;
}

function parseSpectrum(text: string): SpectrumRow[] {
  const { header, rows } = splitCsv(text);
  const cols = header.split(',');
  const at = (name: string) => {
    const k = cols.indexOf(name);
    assert.ok(k >= 0, `spectrum column ${name} in ${header}`);
    return k;
  };
  const f = at('Frequency (Hz)');
  const req = at('Requested frequency (Hz)');
  const abs = at('|Z| (Ohm)');
  const ph = at('Phase (deg)');
  const q = at('Quality');
  return rows.map((line) => {
    const v = line.split(',');
    return { frequencyHz: Number(v[f]), requestedHz: Number(v[req]), zAbs: Number(v[abs]), phaseDeg: Number(v[ph]), quality: v[q]! };
  });
}

describe('the seed example: CV then EIS 1000 → 1 Hz on two slots, EIS defaults', () => {
  let created: JobStatusLike;
  let done: JobStatusLike;

  test('the job ends done and reports the clamp in POST /jobs and GET /jobs/{id}', async () => {
    created = await submitJob(daemon, {
      devices: ['slot01', 'slot02'],
      modes: ['CV', 'EIS'],
      params_by_mode: { CV, EIS },
      experiment_name: 'EIS accuracy',
      client_datetime: '2026-12-05T09:00:00Z',
      make_plot: true,
    });
    const clampOf = (job: JobStatusLike) => job.warnings?.find((w) => w.mode === 'EIS' && w.field === 'start_freq' && w.code === 'freq_clamped');
    assert.ok(clampOf(created), `POST /jobs warnings: ${JSON.stringify(created.warnings)}`);
    assert.match(clampOf(created)!.message, /start_freq 1000 Hz exceeds the usable maximum 277\.78 Hz/);
    const adjustment = created.adjustments?.find((a) => a.mode === 'EIS' && a.field === 'start_freq');
    assert.ok(adjustment, `POST /jobs adjustments: ${JSON.stringify(created.adjustments)}`);
    assert.equal(adjustment.requested, 1000);
    done = await waitForJob(daemon, created.run_id, undefined, 180_000);
    assert.equal(done.status, 'done', JSON.stringify(done));
    assert.ok(clampOf(done), `GET /jobs/{id} warnings: ${JSON.stringify(done.warnings)}`);
    assert.deepEqual(done.adjustments, created.adjustments);
  });

  for (const slot of ['slot01', 'slot02']) {
    test(`${slot}: the spectrum matches the analytic impedance within 5 % and 3° at every frequency`, async (t) => {
      assert.equal(done?.status, 'done', 'the job ran');
      const files = (await daemon.get<{ files: string[] }>(`/runs/${created.run_id}/files`)).json.files;
      const spectrumPath = files.find((f) => f.endsWith(`_${slot}_EIS_spectrum.csv`));
      assert.ok(spectrumPath, files.join(', '));
      const res = await daemon.get(`/runs/${created.run_id}/file?path=${encodeURIComponent(spectrumPath)}`);
      assert.equal(res.status, 200, res.text);
      const rows = parseSpectrum(res.text);
      assert.equal(rows.length, 25, '25 frequencies from 277.78 Hz to 1 Hz');
      assert.equal(rows[0]!.requestedHz, 1000, 'the first row says what the user asked for');
      assert.ok(Math.abs(rows[0]!.frequencyHz - 277.78) < 277.78 * 0.02, `first applied frequency ${rows[0]!.frequencyHz}`);
      assert.equal(rows.at(-1)!.requestedHz, 1);

      const lines = ['   f (Hz) | |Z| meas (Ω) | |Z| true (Ω) | |Z| err % | phase meas (°) | phase true (°) | phase err ° | quality'];
      let worstAbs = 0;
      let worstPhase = 0;
      const failures: string[] = [];
      for (const r of rows) {
        const z = analyticCellImpedance(r.frequencyHz, 0);
        const trueAbs = Math.hypot(z.re, z.im);
        const truePhase = (Math.atan2(z.im, z.re) * 180) / Math.PI;
        const absErr = r.zAbs / trueAbs - 1;
        const phaseErr = r.phaseDeg - truePhase;
        worstAbs = Math.max(worstAbs, Math.abs(absErr));
        worstPhase = Math.max(worstPhase, Math.abs(phaseErr));
        lines.push(`${r.frequencyHz.toFixed(3).padStart(9)} | ${r.zAbs.toFixed(2).padStart(12)} | ${trueAbs.toFixed(2).padStart(12)} | ${(100 * absErr).toFixed(2).padStart(9)} | `
          + `${r.phaseDeg.toFixed(2).padStart(14)} | ${truePhase.toFixed(2).padStart(14)} | ${phaseErr.toFixed(2).padStart(11)} | ${r.quality}`);
        if (!(Math.abs(absErr) <= MAX_ABS_ERROR_REL) || !(Math.abs(phaseErr) <= MAX_PHASE_ERROR_DEG)) {
          failures.push(`${r.frequencyHz.toFixed(3)} Hz: |Z| ${(100 * absErr).toFixed(2)} %, phase ${phaseErr.toFixed(2)}°`);
        }
      }
      lines.push(`worst: |Z| ${(100 * worstAbs).toFixed(2)} %, phase ${worstPhase.toFixed(2)}°`);
      for (const line of lines) t.diagnostic(`${slot} ${line}`);
      assert.deepEqual(failures, [], `every frequency within ${100 * MAX_ABS_ERROR_REL} % and ${MAX_PHASE_ERROR_DEG}°`);
      // Within the accuracy target a point should not be flagged; the flags are what tell a user otherwise.
      assert.deepEqual(rows.filter((r) => r.quality !== 'ok').map((r) => `${r.frequencyHz}: ${r.quality}`), []);
    });
  }

  test('the job record carries the EIS summary when the analysis travels to GET /jobs/{id}', async (t) => {
    const res = await daemon.get<{ slots: Array<{ slot: string; results?: Array<{ mode: string; analysis?: Record<string, unknown> | null }> }> }>(`/jobs/${created.run_id}`);
    assert.equal(res.status, 200);
    const analyses = res.json.slots.flatMap((s) => (s.results ?? []).filter((r) => r.mode === 'EIS').map((r) => r.analysis));
    if (analyses.every((a) => a === undefined)) {
      t.diagnostic('GET /jobs/{id} has no slots[].results[].analysis yet; skipped');
      return;
    }
    for (const a of analyses) {
      assert.equal(a?.kind, 'eis');
      assert.equal(a?.points, 25);
      assert.equal(a?.flagged, 0);
      t.diagnostic(`EIS summary: ${JSON.stringify(a)}`);
    }
  });
});
