/**
 * CDL on the virtual potentiostat over real HTTP (cell: Ru = 100 Ω in series with C_dl = 20 µF,
 * in parallel with a reversible couple at E0' = +0.2 V; src/sim/cell.ts). Three jobs at once, one
 * per slot, each read back from its result files and from GET /jobs/{id}:
 *
 * - a non-faradaic window (−0.35…−0.25 V, half a volt below the couple) at 0.02–0.2 V/s recovers
 *   C_dl within 5 %, with R² ≈ 1 and no warning;
 * - the same window at 0.5–5 V/s warns that the fastest rates are too fast for the smoothing;
 * - a window centred on the couple (0.1…0.3 V) warns that the current is not flat across the
 *   window (redox couple) and that the fit is poor.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CdlModeAnalysis } from '../../src/modes/analysis-types.js';
import { averagingSamplesFor, restSettingFor } from '../../src/modes/device-settings.js';
import type { CdlParams } from '../../src/modes/types.js';
import { startSimulators, type SimulatorSet } from '../../src/sim/run-sim.js';
import {
  createCleanupScope, findProcessesMentioning, splitCsv, waitUntil, submitJob, waitForJob, type DaemonHandle, type HealthLike, type JobStatusLike, startDaemon,
} from '../helpers/daemon.js';

const TRUE_CDL_F = 20e-6;
const WINDOW = { vertex_a: -0.35, vertex_b: -0.25 };
const CASES = {
  good: { slot: 'slot01', params: { ...WINDOW, scan_rates: [0.02, 0.05, 0.1, 0.2] } },
  fast: { slot: 'slot02', params: { ...WINDOW, scan_rates: [0.5, 1, 2, 5] } },
  redox: { slot: 'slot03', params: { vertex_a: 0.1, vertex_b: 0.3, scan_rates: [0.05, 0.1, 0.2] } },
} as const;
type CaseName = keyof typeof CASES;

interface SlotResultLike { mode: string; warnings: string[]; analysis: CdlModeAnalysis | null }
interface Outcome { job: JobStatusLike; analysis: CdlModeAnalysis; json: CdlModeAnalysis & { thresholds: Record<string, number> }; csv: { header: string; rows: string[] }; files: string[] }

const scope = createCleanupScope();
let sims: SimulatorSet;
let daemon: DaemonHandle;
const outcomes = new Map<CaseName, Outcome>();

async function readRunFile(runId: string, file: string): Promise<string> {
  const res = await daemon.get(`/runs/${runId}/file?path=${encodeURIComponent(file)}`);
  assert.equal(res.status, 200, `${file}: ${res.text}`);
  return res.text;
}

before(async () => {
  sims = await startSimulators({ count: 3, noise: 1, smoothing: true });
  scope.defer(() => sims.close());
  daemon = await startDaemon(scope, { ports: sims.ports });
  // All three at once: each job reserves its own slot.
  const jobs = await Promise.all((Object.keys(CASES) as CaseName[]).map(async (name) => {
    const c = CASES[name];
    const job = await submitJob(daemon, {
      devices: [c.slot], modes: ['CDL'], params_by_mode: { CDL: c.params }, tia_gain: 1, make_plot: name === 'good',
      experiment_name: `CDL ${name}`, client_datetime: '2025-11-03T10:15:31Z',
    });
    return { name, job };
  }));
  for (const { name, job } of jobs) {
    const done = await waitForJob(daemon, job.run_id, undefined, 180_000);
    assert.equal(done.status, 'done', JSON.stringify(done));
    const slot = done.slots[0]!;
    const result = (slot['results'] as SlotResultLike[])[0]!;
    assert.equal(result.mode, 'CDL');
    assert.ok(result.analysis, 'GET /jobs/{id} carries the CDL analysis');
    const jsonFile = slot.files.find((f) => f.endsWith('_CDL_cdl.json'));
    const csvFile = slot.files.find((f) => f.endsWith('_CDL_cdl.csv'));
    assert.ok(jsonFile && csvFile, `result files listed: ${slot.files.join(', ')}`);
    outcomes.set(name, {
      job: done, analysis: result.analysis, files: slot.files,
      json: JSON.parse(await readRunFile(done.run_id, jsonFile)) as Outcome['json'],
      csv: splitCsv(await readRunFile(done.run_id, csvFile)),
    });
  }
});

after(async () => {
  // A clean stop closes the plot service's browsers before the temporary folders go.
  if (daemon?.running()) await daemon.stop();
  // Browsers the plots started may outlive the daemon for a moment, still writing their profiles.
  if (daemon) await waitUntil('plot browsers gone', async () => ((await findProcessesMentioning(daemon.tmpDir)).length === 0 ? true : undefined), 10_000, 100);
  await scope.run();
});

function report(t: { diagnostic(msg: string): void }, name: CaseName): Outcome {
  const o = outcomes.get(name)!;
  const a = o.analysis;
  t.diagnostic(`${name}: C_dl = ${((a.capacitance_f ?? NaN) * 1e6).toFixed(3)} µF, R² = ${a.r2?.toFixed(5)}, averaging ${a.averaging_samples} (τ ${(a.smoothing_time_constant_s * 1e3).toFixed(1)} ms), window ${a.window_v.map((v) => v.toFixed(3)).join('…')} V`);
  for (const r of a.rates) {
    t.diagnostic(`  ${r.requested_scan_rate_v_per_s} V/s (measured ${r.scan_rate_v_per_s.toFixed(4)}): I_cap ${(r.icap_a * 1e6).toFixed(4)} µA, anodic ${(r.anodic_a * 1e6).toFixed(4)}, cathodic ${(r.cathodic_a * 1e6).toFixed(4)}, slope ${r.window_slope_ratio.toFixed(3)}, flags [${r.flags.join(' ')}]`);
  }
  for (const w of a.warnings) t.diagnostic(`  warning ${w.code}: ${w.message}`);
  return o;
}

/** The file and the status say the same thing. */
function assertFileMatchesStatus(o: Outcome): void {
  const { thresholds, window_half_width_v: half, ...rest } = o.json as Outcome['json'] & { window_half_width_v: number };
  assert.deepEqual(rest, o.analysis);
  assert.equal(half, 0.01);
  assert.deepEqual(thresholds, { settle_residual: 0.02, max_window_slope_ratio: 0.2, min_r2: 0.99 });
  assert.ok(o.csv.header.startsWith('scan_rate_V_per_s,Icap_A,n_cycles,'), o.csv.header);
  assert.equal(o.csv.rows.length, o.analysis.rates.length);
  o.csv.rows.forEach((row, k) => {
    const [v, icap] = row.split(',').map(Number);
    assert.equal(v, o.analysis.rates[k]!.scan_rate_v_per_s);
    assert.equal(icap, o.analysis.rates[k]!.icap_a);
  });
}

describe('CDL on the virtual cell', () => {
  test('non-faradaic window at 0.02–0.2 V/s: C_dl within 5 % of 20 µF, R² ≈ 1, no warning', async (t) => {
    const o = report(t, 'good');
    const a = o.analysis;
    assert.ok(Math.abs(a.capacitance_f! / TRUE_CDL_F - 1) < 0.05, `C_dl ${a.capacitance_f}`);
    assert.ok(a.r2! > 0.999, `R² ${a.r2}`);
    assert.deepEqual(a.warnings, []);
    assert.equal(a.rates.length, 4);
    for (const r of a.rates) {
      assert.ok(Math.abs(r.icap_a / (TRUE_CDL_F * r.scan_rate_v_per_s) - 1) < 0.05, `I_cap at ${r.requested_scan_rate_v_per_s} V/s: ${r.icap_a}`);
      assert.ok(r.anodic_a > 0 && r.cathodic_a < 0);
      assert.deepEqual(r.flags, []);
    }
    assert.ok(Math.abs(a.e_star_v + 0.3) < 1e-12 && Math.abs(a.window_v[0] + 0.31) < 1e-12 && Math.abs(a.window_v[1] + 0.29) < 1e-12);
    // The averaging the analysis assumed is the one chosen for the mode.
    const runJson = JSON.parse(await readRunFile(o.job.run_id, 'run.json')) as { jobs: Array<{ modes: Array<{ params: Record<string, unknown> }> }> };
    const params = runJson.jobs[0]!.modes[0]!.params as unknown as CdlParams;
    assert.equal(a.averaging_samples, averagingSamplesFor('CDL', params));
    // The 2 s rest at `start` before the first block is CDL's default (the slot worker reads it so).
    assert.equal(restSettingFor('CDL', 'pot', params).seconds, 2);
    assertFileMatchesStatus(o);
    const health = await daemon.get<HealthLike>('/health');
    if (health.json.plotting?.available) {
      for (const suffix of ['_CDL.png', '_CDL_cdl.png']) assert.ok(o.files.some((f) => f.endsWith(suffix)), `${suffix} in ${o.files.join(', ')}`);
    } else {
      t.diagnostic(`plots not checked: ${health.json.plotting?.reason}`);
    }
  });

  test('0.5–5 V/s: warns that the fastest rates are too fast for the smoothing', (t) => {
    const o = report(t, 'fast');
    const a = o.analysis;
    const fast = a.warnings.find((w) => w.code === 'scan_rate_too_fast');
    assert.ok(fast, `scan_rate_too_fast among ${a.warnings.map((w) => w.code).join(', ')}`);
    assert.ok(fast.scan_rates.includes(5), `5 V/s flagged: ${fast.scan_rates.join(', ')}`);
    assert.ok(a.rates.find((r) => r.requested_scan_rate_v_per_s === 5)!.flags.includes('scan_rate_too_fast'));
    assert.match(fast.message, /too fast for the device smoothing/);
    assert.ok(a.max_settled_scan_rate_v_per_s < 5);
    // The warning reaches the job status too, not only the files.
    const result = (o.job.slots[0]!['results'] as SlotResultLike[])[0]!;
    assert.ok(result.warnings.some((w) => /too fast for the device smoothing/.test(w)), result.warnings.join(' | '));
    assertFileMatchesStatus(o);
  });

  test('window on the redox couple: warns that the current is not flat (faradaic) and the fit is poor', (t) => {
    const o = report(t, 'redox');
    const a = o.analysis;
    const codes = a.warnings.map((w) => w.code);
    assert.ok(codes.includes('faradaic_window'), codes.join(', '));
    assert.ok(codes.includes('poor_fit'), codes.join(', '));
    for (const r of a.rates) assert.ok(r.flags.includes('faradaic_window'), `${r.requested_scan_rate_v_per_s} V/s flagged`);
    assert.ok(a.capacitance_f! > 2 * TRUE_CDL_F, 'the faradaic current inflates the apparent C_dl (hence the warning)');
    assertFileMatchesStatus(o);
  });
});
