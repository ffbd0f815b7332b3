/**
 * Provenance travels with the data (#11): every run folder gets `run.json` (schema
 * schemas/files/run-metadata.schema.json), written when a job starts and completed when it ends,
 * listed with the run's files and inside its ZIP; adjustments (the EIS frequency clamp) are in
 * the POST /jobs answer, in GET /jobs/{id} and in run.json. Two jobs sharing one run folder (the
 * GUI's batches) each keep their own entry. Real HTTP against the built daemon, virtual
 * potentiostats on ptys.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { startSimulators, type SimulatorSet } from '../../src/sim/run-sim.js';
import runMetadataSchema from '../../schemas/files/run-metadata.schema.json' with { type: 'json' };
import { createCleanupScope, readZip, startDaemon, submitJob, waitForJob, type DaemonHandle, type JobStatusLike } from '../helpers/daemon.js';

interface RunJson {
  schema: string;
  box_id: string;
  software: Record<string, string>;
  jobs: Array<{
    run_id: string;
    status: string;
    request: unknown;
    adjustments: Array<{ mode: string; field: string; requested: unknown; applied: unknown }>;
    modes: Array<{ token: string; params: Record<string, unknown>; planned_points: number }>;
    slots: Array<{
      slot: string;
      serial_number: string | null;
      status: string;
      modes: Array<{ token: string; files: string[]; measured_sample_period_us: number | null; counters: { points: number; expected_points: number; lost: number } | null }>;
    }>;
  }>;
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
const validateRunJson = ajv.compile(runMetadataSchema);

const CLIENT_DATETIME = '2026-12-05T08:00:00Z';
const jobBody = (slot: string, modes: string[], params: Record<string, unknown>) => ({
  devices: [slot],
  modes,
  params_by_mode: params,
  experiment_name: 'Provenance',
  subdir: 'Batch',
  client_datetime: CLIENT_DATETIME,
  make_plot: false,
});
const CV = { start: 0, vertex1: 0.2, vertex2: -0.2, end: 0, scan_rate: 1, cycles: 1 };
const EIS = { start_freq: 1000, end_freq: 100, points_per_decade: 2, cycles_per_freq: 2 };

const scope = createCleanupScope();
let sims: SimulatorSet;
let daemon: DaemonHandle;

before(async () => {
  sims = await startSimulators({ count: 2 });
  scope.defer(() => sims.close());
  daemon = await startDaemon(scope, { ports: sims.ports });
});
after(() => scope.run());

async function readRunJson(runId: string): Promise<{ text: string; doc: RunJson }> {
  const res = await daemon.get(`/runs/${runId}/file?path=run.json`);
  assert.equal(res.status, 200, res.text);
  return { text: res.text, doc: JSON.parse(res.text) as RunJson };
}

describe('run.json', () => {
  let first: JobStatusLike;
  let second: JobStatusLike;
  const firstBody = jobBody('slot01', ['CV', 'EIS'], { CV, EIS });

  test('the POST /jobs answer and GET /jobs/{id} carry the EIS clamp', async () => {
    first = await submitJob(daemon, firstBody);
    const clamp = first.adjustments?.find((a) => a.field === 'start_freq');
    assert.ok(clamp, `adjustments: ${JSON.stringify(first.adjustments)}`);
    assert.equal(clamp.mode, 'EIS');
    assert.equal(clamp.requested, 1000);
    assert.ok(Math.abs((clamp.applied as number) - 277.78) < 0.01, String(clamp.applied));
    assert.ok(first.warnings?.some((w) => w.code === 'freq_clamped' && w.mode === 'EIS'));
    const done = await waitForJob(daemon, first.run_id);
    assert.equal(done.status, 'done');
    assert.deepEqual(done.adjustments, first.adjustments);
  });

  test('is listed with the run, valid against its schema, and says what ran where', async () => {
    const files = (await daemon.get<{ files: string[] }>(`/runs/${first.run_id}/files`)).json.files;
    assert.ok(files.includes('run.json'), files.join(', '));
    const { doc } = await readRunJson(first.run_id);
    assert.ok(validateRunJson(doc), ajv.errorsText(validateRunJson.errors));
    assert.equal(doc.schema, 'beepbox.run-metadata/1');
    assert.ok(doc.software.beepbox && doc.software.runtime?.startsWith('node v'));
    const job = doc.jobs.find((j) => j.run_id === first.run_id)!;
    assert.equal(job.status, 'done');
    assert.deepEqual(job.request, firstBody, 'the request as sent');
    assert.equal(job.adjustments[0]!.requested, 1000);
    assert.ok(Math.abs((job.modes[1]!.params.start_freq as number) - 277.78) < 0.01);
    const devices = (await daemon.get<{ devices: Array<{ slot: string; sn: string | null }> }>('/devices')).json.devices;
    const slot = job.slots[0]!;
    assert.equal(slot.serial_number, devices.find((d) => d.slot === 'slot01')!.sn);
    assert.equal(slot.status, 'done');
    assert.equal(slot.modes.length, 2);
    for (const [k, m] of slot.modes.entries()) {
      assert.equal(m.counters!.points, job.modes[k]!.planned_points, `${m.token} points`);
      assert.equal(m.counters!.lost, 0);
      assert.ok(m.measured_sample_period_us !== null && m.measured_sample_period_us > 150 && m.measured_sample_period_us < 1000, `${m.token} sample period ${m.measured_sample_period_us}`);
      assert.ok(m.files.some((f) => f.endsWith(`_${m.token}.csv`)), m.files.join(', '));
    }
    assert.ok(slot.modes[1]!.files.some((f) => f.endsWith('_spectrum.csv')));
  });

  test('the schema refuses a document that lost its jobs (the check can fail)', () => {
    assert.equal(validateRunJson({ schema: 'beepbox.run-metadata/1', box_id: 'x', software: {}, updated_at: 'now' }), false);
  });

  test('travels in the ZIP, byte for byte', async () => {
    const { text } = await readRunJson(first.run_id);
    const res = await daemon.get(`/runs/${first.run_id}/zip`);
    assert.equal(res.status, 200);
    const entry = readZip(res.body).find((e) => e.name.endsWith('run.json'));
    assert.ok(entry, 'run.json in the ZIP');
    assert.equal(entry.data.toString('utf8'), text);
  });

  test('a second job in the same run folder adds its own entry and keeps the first', async () => {
    const before = (await readRunJson(first.run_id)).doc.jobs.find((j) => j.run_id === first.run_id);
    second = await submitJob(daemon, jobBody('slot02', ['CA'], { CA: { potential: 0.1, duration: 0.3 } }));
    assert.deepEqual(second.adjustments, []);
    assert.equal((await waitForJob(daemon, second.run_id)).status, 'done');
    const { doc } = await readRunJson(second.run_id);
    assert.ok(validateRunJson(doc), ajv.errorsText(validateRunJson.errors));
    assert.deepEqual(doc.jobs.map((j) => j.run_id).sort(), [first.run_id, second.run_id].sort());
    assert.deepEqual(doc.jobs.find((j) => j.run_id === first.run_id), before, 'the first job entry is unchanged');
    const onDisk = JSON.parse(await readFile(path.join(daemon.runsRoot, 'Provenance', 'Batch', '2026-12-05T08-00-00Z', 'run.json'), 'utf8')) as RunJson;
    assert.equal(onDisk.jobs.length, 2);
  });
});
