/**
 * Device limits at submit over real HTTP (#11): a job beyond the device's range is refused with
 * 422 in the error envelope, the field and the limit in the message, and nothing is created (no
 * job, no run folder); the same job within the limits runs, and its status holds the gain and the
 * charge limit each mode runs with.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startSimulators, type SimulatorSet } from '../../src/sim/run-sim.js';
import { assertEnvelope, createCleanupScope, startDaemon, waitForJob, type DaemonHandle } from '../helpers/daemon.js';

const scope = createCleanupScope();
let sims: SimulatorSet;
let daemon: DaemonHandle;

before(async () => {
  sims = await startSimulators({ count: 1 });
  scope.defer(() => sims.close());
  daemon = await startDaemon(scope, { ports: sims.ports });
});

after(() => scope.run());

let second = 0;
function job(modes: string[], params: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  second += 1;
  return {
    devices: ['slot01'], modes, params_by_mode: params, experiment_name: 'Limits',
    client_datetime: `2025-11-06T10:00:${String(second).padStart(2, '0')}Z`, make_plot: false, ...extra,
  };
}

/** Run folders below RUNS_ROOT (the daemon's bookkeeping aside). */
async function runTree(): Promise<string[]> {
  const entries = await readdir(daemon.runsRoot, { recursive: true }).catch(() => [] as string[]);
  return entries.filter((e) => !/^(\.jobs|\.sim|\.slots\.json|_run_paths\.json)/.test(e)).sort();
}

async function jobIds(): Promise<string[]> {
  const res = await daemon.get<Array<{ run_id: string }>>('/jobs');
  return res.json.map((j) => j.run_id).sort();
}

interface Issue { mode: string; field: string; code: string; message: string }

test('refused at submit: 422 with the field and the limit, nothing created', async () => {
  const jobsBefore = await jobIds();
  const treeBefore = await runTree();
  const cases: Array<[string, Record<string, unknown>, RegExp, Record<string, unknown>?]> = [
    ['CA at 6 V', job(['CA'], { CA: { potential: 6, duration: 0.2 } }), /^Invalid parameters for CA: potential must be at most 4\.95 \(the device's potential range is ±4\.95 V\)$/],
    ['CP at 10 mA, gain 0', job(['CP'], { CP: { current: 0.01, duration: 0.2 } }, { tia_gain: 0 }), /^Invalid parameters for CP: current 10 mA exceeds .*±4\.95 mA.*; no gain allows it$/],
    ['CP at 50 mA, own gain 0', job(['CP'], { CP: { current: 0.05, duration: 0.2, tia_gain: 0 } }), /current 50 mA exceeds the current full scale ±4\.95 mA of tia_gain 0/],
    ['CP at 3 mA, job gain 1', job(['CP'], { CP: { current: 3e-3, duration: 0.2 } }, { tia_gain: 1 }), /current 3 mA exceeds the current full scale ±495 µA of the job's tia_gain 1 .*tia_gain 0 \(±4\.95 mA\) allows it/],
    ['mode tia_gain 4', job(['CA'], { CA: { potential: 0.1, duration: 0.2, tia_gain: 4 } }), /tia_gain must be at most 3 \(the firmware treats 4 and 5 as 3 = 1 MΩ\)/],
    ['mode charge_cutoff_c 0', job(['CA'], { CA: { potential: 0.1, duration: 0.2, charge_cutoff_c: 0 } }), /charge_cutoff_c must be greater than zero/],
    ['GS cut-offs out of order', job(['GS'], { GS: { start: 0, end: 1e-4, num_steps: 2, step_duration: 0.1, potential_cutoff_min: 1, potential_cutoff_max: 0.5 } }), /potential_cutoff_min \(1 V\) must be below potential_cutoff_max \(0\.5 V\)/],
  ];
  for (const [what, body, message] of cases) {
    const res = await daemon.post('/jobs', body);
    const env = assertEnvelope(res, 422, 'jobs.invalid_params');
    assert.match(String(env.message), message, what);
  }
  // Job-level options are refused by the request schema, naming the field.
  for (const [field, value, msg] of [['tia_gain', 4, /less than or equal to 3 \(the firmware treats 4 and 5 as 3/], ['charge_cutoff_c', 0, /greater than 0/], ['charge_cutoff_c', -1, /greater than 0/]] as const) {
    const res = await daemon.post('/jobs', job(['CA'], { CA: { potential: 0.1, duration: 0.2 } }, { [field]: value }));
    assertEnvelope(res, 422, 'request.validation_error');
    const errors = (res.json as { errors: Array<{ loc: unknown[]; msg: string }> }).errors;
    assert.deepEqual(errors.map((e) => e.loc), [['body', field]], `${field}=${value}`);
    assert.match(errors[0]!.msg, msg);
  }
  assert.deepEqual(await jobIds(), jobsBefore, 'no job was created');
  assert.deepEqual(await runTree(), treeBefore, 'no run folder was created');
  // /validate says the same for the mode alone.
  const v = await daemon.post<{ ok: boolean; errors: Issue[] }>('/modes/CA/validate', { potential: 6, duration: 1 });
  assert.equal(v.json.ok, false);
  assert.deepEqual(v.json.errors.map((e) => [e.field, e.code]), [['potential', 'max_value']]);
});

test('within the limits it runs, and each mode\'s params hold the gain and the charge limit it runs with', async () => {
  const res = await daemon.post<{ run_id: string }>('/jobs', job(['CA', 'CP'], {
    CA: { potential: 4.95, duration: 0.2 },
    CP: { current: 3e-3, duration: 0.2, charge_cutoff_c: 5 },
  }, { tia_gain: 0, charge_cutoff_c: 10 }));
  assert.equal(res.status, 200, res.text);
  const done = await waitForJob(daemon, res.json.run_id);
  assert.equal(done.status, 'done', JSON.stringify(done));
  const params = await daemon.get<Record<string, string>>('/modes/CP/params');
  assert.equal(params.status, 200);
  assert.deepEqual(Object.entries(params.json).slice(-6), [
    ['tia_gain', 'Optional[int]'], ['rest_s', 'float'], ['charge_cutoff_c', 'Optional[float]'],
    ['potential_cutoff_max', 'Optional[float]'], ['potential_cutoff_min', 'Optional[float]'], ['potential_cutoff_action', 'str'],
  ]);
  // The job record keeps the resolved params: the job's gain, the job's charge limit unless the mode set its own.
  const record = JSON.parse(await readFile(path.join(daemon.runsRoot, '.jobs', `${res.json.run_id}.json`), 'utf8')) as { params_by_mode: Record<string, Record<string, unknown>> };
  assert.deepEqual([record.params_by_mode.CA!.tia_gain, record.params_by_mode.CA!.charge_cutoff_c], [0, 10]);
  assert.deepEqual([record.params_by_mode.CP!.tia_gain, record.params_by_mode.CP!.charge_cutoff_c], [0, 5]);
});
