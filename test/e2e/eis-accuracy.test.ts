/**
 * EIS right by default (#11): the seed's example job — CV then EIS on two slots, EIS from 1000 Hz
 * to 1 Hz, 10 points per decade, 3 cycles per frequency, everything else at its defaults — over
 * real HTTP against the built daemon with virtual potentiostats on ptys. The spectrum must match
 * the cell's analytic impedance within 5 % in |Z| and 3° in phase at every reported frequency;
 * the clamp of 1000 Hz to 277.78 Hz is reported, and the spectrum's `Requested frequency` says 1000.
 *
 * The analytic impedance comes from test/helpers/analytic-cell.ts, written from the circuit (not
 * from the simulator's code): Ru in series with C_dl ∥ a reversible couple with finite-length
 * diffusion ∥ the leak and solvent-window background, at the steady state of the dc bias.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSimulators, type SimulatorSet } from '../../src/sim/run-sim.js';
import { analyticCellImpedance, magnitude, phaseDeg } from '../helpers/analytic-cell.js';
import { createCleanupScope, splitCsv, startDaemon, submitJob, waitForJob, type DaemonHandle, type JobStatusLike } from '../helpers/daemon.js';

const MAX_ABS_ERROR_REL = 0.05;
const MAX_PHASE_ERROR_DEG = 3;

/** The seed's example, as a GUI sends it. */
const CV = { start: 0, vertex1: 0.5, vertex2: -0.5, end: 0, scan_rate: 0.5, cycles: 2 };
const EIS = { start_freq: 1000, end_freq: 1, points_per_decade: 10, cycles_per_freq: 3 };
/** The EIS default dc_bias. */
const EIS_DC_BIAS_V = 0;

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
        const z = analyticCellImpedance(r.frequencyHz, EIS_DC_BIAS_V).total;
        const trueAbs = magnitude(z);
        const truePhase = phaseDeg(z);
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
