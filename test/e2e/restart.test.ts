/**
 * E2E journey 7: the daemon dies (SIGKILL) in the middle of a measurement and a new daemon on the
 * same RUNS_ROOT and ptys reports the run as interrupted, with its partial CSV; a graceful SIGTERM
 * during a measurement instead marks the slot failed with a shutdown message and leaves the device
 * switched off. Real daemons, virtual potentiostats on ptys owned by the test process.
 */
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSimulators, type SimulatorSet } from '../../src/sim/run-sim.js';
import {
  ISO_UTC,
  assertEnvelope,
  assertNothingLeftBehind,
  createCleanupScope,
  makeTempDir,
  readZip,
  splitCsv,
  startDaemon,
  submitJob,
  waitForJob,
  waitUntil,
  type DaemonHandle,
  type JobStatusLike,
} from '../helpers/daemon.js';

const DT = 0.00036;
const CELL_OR_RUN = 0x110;
const INTERRUPTED = 'interrupted by server restart';

const scope = createCleanupScope();
let sims: SimulatorSet;
let runsRoot: string;
const daemons: DaemonHandle[] = [];

before(async () => {
  sims = await startSimulators({ count: 2 });
  scope.defer(() => sims.close());
  runsRoot = path.join(await makeTempDir(scope, 'beepbox-e2e-restart-'), 'runs');
});

after(() => scope.run());

async function start(): Promise<DaemonHandle> {
  const d = await startDaemon(scope, { ports: sims.ports, runsRoot });
  daemons.push(d);
  return d;
}

const longJob = (slot: string, runName: string, clientDatetime: string) => ({
  devices: [slot],
  modes: ['CA'],
  params_by_mode: { CA: { potential: 0.25, duration: 30 } },
  experiment_name: 'Restart',
  client_datetime: clientDatetime,
  run_name: runName,
  group_id: 'Restart-Group',
  make_plot: false,
});

const csvOf = (slot: string, stamp: string) => `Wells/${slot}/CA/Restart_${stamp.replace('T', '_')}_${slot}_CA.csv`;

/** Waits until the slot runs and its CSV on disk holds at least `minBytes`. */
async function waitForData(d: DaemonHandle, runId: string, csvAbs: string, minBytes: number): Promise<JobStatusLike> {
  const running = await waitForJob(d, runId, (j) => j.slots[0]!.status === 'running' && j.progress_pct > 0, 15_000);
  await waitUntil(`${minBytes} bytes in ${csvAbs}`, async () => ((await stat(csvAbs).catch(() => null))?.size ?? 0) >= minBytes ? true : undefined, 10_000, 50);
  return running;
}

async function assertPartialCsv(d: DaemonHandle, runId: string, rel: string, runDir: string): Promise<number> {
  const dl = await d.get(`/runs/${runId}/file?path=${rel}`);
  assert.equal(dl.status, 200, dl.text);
  assert.equal(dl.headers['content-type'], 'text/csv; charset=utf-8');
  assert.ok(dl.body.equals(await readFile(path.join(runDir, ...rel.split('/')))), 'download equals the file on disk');
  const csv = splitCsv(dl.body.toString('utf8'));
  assert.equal(csv.header, 'Time (s),Potential (V),Current (A),Exp,Applied potential (V)');
  assert.ok(csv.rows.length > 0 && csv.rows.length < Math.trunc(30 / DT), `partial: ${csv.rows.length} rows`);
  assert.ok(csv.rows.every((r) => r.split(',').length === 5 && r.endsWith(',1.0,0.25')), 'complete rows');
  return csv.rows.length;
}

describe('restart', () => {
  const killedStamp = '2025-11-07T08-00-00Z';
  const killedRunDir = () => path.join(runsRoot, 'Restart', killedStamp);
  let killedBefore: JobStatusLike;
  let second: DaemonHandle;

  test('SIGKILL mid-run: the new daemon reports the run failed "interrupted by server restart" with its partial CSV', async () => {
    const first = await start();
    await submitJob(first, longJob('slot01', 'restart-killed', '2025-11-07T08:00:00Z'));
    const csvAbs = path.join(killedRunDir(), ...csvOf('slot01', killedStamp).split('/'));
    killedBefore = await waitForData(first, 'restart-killed', csvAbs, 20_000);
    await first.kill();
    assert.ok((sims.devices[0]!.status & CELL_OR_RUN) !== 0, 'the killed daemon could not switch the cell off');

    second = await start();
    const t0 = Date.now();
    const res = await second.get('/jobs/restart-killed');
    assert.equal(res.status, 200, res.text);
    const job = res.json as JobStatusLike;
    assert.equal(job.status, 'failed');
    assert.match(job.ended_at ?? '', ISO_UTC);
    assert.ok(Math.abs(Date.parse(job.ended_at!) - t0) < 30_000, 'ended_at = startup time of the new daemon');
    assert.equal(job.started_at, killedBefore.started_at);
    assert.equal(job.progress_pct, 100);
    assert.equal(job.remaining_s, 0);
    assert.equal(job.current_mode, null);
    assert.deepEqual(job.remaining_modes, []);
    assert.equal(job.group_id, 'Restart-Group');
    const s = job.slots[0]!;
    assert.equal(s.status, 'failed');
    assert.equal(s.message, INTERRUPTED);
    assert.match(s.ended_at ?? '', ISO_UTC);
    assert.equal(s.started_at, killedBefore.slots[0]!.started_at);
    assert.deepEqual(s.files, [csvOf('slot01', killedStamp)], 'the partial CSV is listed in the slot files');

    // Listed, filterable, pollable.
    const overview = ((await second.get('/jobs')).json as Array<Record<string, unknown>>).find((j) => j['run_id'] === 'restart-killed');
    assert.deepEqual(overview, {
      run_id: 'restart-killed', mode: 'CA', status: 'failed', started_at: job.started_at, ended_at: job.ended_at, devices: ['slot01'], group_id: 'Restart-Group',
    });
    assert.ok((await second.get<Array<{ run_id: string }>>('/jobs?state=completed')).json.some((j) => j.run_id === 'restart-killed'));
    assert.deepEqual((await second.get('/jobs?state=incomplete')).json, []);
    assert.deepEqual((await second.get<Array<{ run_id: string }>>('/jobs?group_id=restart-group')).json.map((j) => j.run_id), ['restart-killed']);
    const polled = await second.post('/jobs/status', { run_ids: ['restart-killed'] });
    assert.equal(polled.status, 200);
    assert.deepEqual(polled.json, [job]);
    assert.deepEqual((await second.get<Array<{ status: string }>>('/devices/status')).json.map((e) => e.status), ['idle', 'idle'], 'no slot is reserved after a restart');

    // Files: listed, downloadable, zipped; run.json now says what the record says.
    assert.deepEqual((await second.get('/runs/restart-killed/files')).json, { files: [csvOf('slot01', killedStamp), 'run.json'] });
    await assertPartialCsv(second, 'restart-killed', csvOf('slot01', killedStamp), killedRunDir());
    const zip = readZip((await second.get('/runs/restart-killed/zip')).body);
    assert.deepEqual(zip.map((e) => e.name), [csvOf('slot01', killedStamp), 'run.json']);
    const provenance = JSON.parse(zip[1]!.data.toString('utf8')) as { jobs: Array<{ run_id: string; status: string; slots: Array<{ status: string; message: string }> }> };
    const entry = provenance.jobs.find((j) => j.run_id === 'restart-killed')!;
    assert.equal(entry.status, 'failed');
    assert.deepEqual(entry.slots.map((x) => [x.status, x.message]), [['failed', INTERRUPTED]]);

    // The run id and the data are still protected after the restart.
    assertEnvelope(await second.post('/jobs', longJob('slot02', 'restart-killed', '2025-11-07T08:30:00Z')), 409, 'jobs.run_id_conflict');
    assertEnvelope(await second.post('/jobs', { ...longJob('slot01', 'restart-other', '2025-11-07T08:00:00Z') }), 409, 'storage.exists');

    // The device the killed daemon left running measures again.
    const next = await submitJob(second, { ...longJob('slot01', 'restart-after', '2025-11-07T08:45:00Z'), params_by_mode: { CA: { potential: 0.25, duration: 0.5 } } });
    const done = await waitForJob(second, next.run_id, undefined, 20_000);
    assert.equal(done.status, 'done', JSON.stringify(done));
    assert.equal(done.slots[0]!['points'], Math.trunc(0.5 / DT));
    assert.equal(done.slots[0]!['lost'], 0);
  });

  test('SIGTERM mid-run: the slot is failed with a shutdown message, the CSV flushed, the device switched off', async () => {
    assert.ok(second?.running(), 'the second daemon runs');
    const stamp = '2025-11-07T09-00-00Z';
    const runDir = path.join(runsRoot, 'Restart', stamp);
    await submitJob(second, longJob('slot02', 'restart-term', '2025-11-07T09:00:00Z'));
    await waitForData(second, 'restart-term', path.join(runDir, ...csvOf('slot02', stamp).split('/')), 20_000);
    assert.ok((sims.devices[1]!.status & CELL_OR_RUN) !== 0, 'the cell is on while measuring');

    const stopped = await second.stop();
    assert.ok(stopped.elapsedMs < 5000, `graceful stop took ${Math.round(stopped.elapsedMs)} ms`);
    await assertNothingLeftBehind(second);
    for (const [i, dev] of sims.devices.entries()) assert.equal(dev.status & CELL_OR_RUN, 0, `device ${i + 1} is switched off (status 0x${dev.status.toString(16)})`);
    const record = JSON.parse(await readFile(path.join(runsRoot, '.jobs', 'restart-term.json'), 'utf8')) as { status: string };
    assert.equal(record.status, 'failed', 'the record was marked before the exit');

    const third = await start();
    const job = (await third.get('/jobs/restart-term')).json as JobStatusLike;
    assert.equal(job.status, 'failed');
    assert.match(job.ended_at ?? '', ISO_UTC);
    const s = job.slots[0]!;
    assert.equal(s.status, 'failed');
    assert.match(s.message ?? '', /shut ?down/i);
    assert.notEqual(s.message, INTERRUPTED);
    assert.ok(Date.parse(s.ended_at!) <= Date.now() && Date.parse(s.ended_at!) < Date.parse(job.ended_at!) + 1, 'ended before the restart');
    assert.deepEqual(s.files, [csvOf('slot02', stamp)]);
    await assertPartialCsv(third, 'restart-term', csvOf('slot02', stamp), runDir);
    // The interrupted run of the first test keeps its state across further restarts.
    const killed = (await third.get('/jobs/restart-killed')).json as JobStatusLike;
    assert.equal(killed.slots[0]!.message, INTERRUPTED);
    assert.equal(killed.status, 'failed');
    // And the switched-off devices measure again.
    const next = await submitJob(third, { ...longJob('slot02', 'restart-after-term', '2025-11-07T09:30:00Z'), params_by_mode: { CA: { potential: 0.25, duration: 0.5 } } });
    assert.equal((await waitForJob(third, next.run_id, undefined, 20_000)).status, 'done');
    await third.stop();
    await assertNothingLeftBehind(third);
  });

  test('a SIGTERM right after "beepbox listening" is a graceful stop too (exit 0)', async () => {
    // Several at once: the daemons compete for the CPU, as on a busy box.
    const fresh = await Promise.all([0, 1, 2, 3].map(() => startDaemon(scope, {})));
    daemons.push(...fresh);
    const stops = await Promise.all(fresh.map((d) => d.stop()));
    for (const s of stops) assert.deepEqual([s.code, s.signal], [0, null]);
    for (const d of fresh) await assertNothingLeftBehind(d);
  });

  test('no log line of any daemon contains the API key', () => {
    assert.ok(daemons.length > 0);
    for (const d of daemons) for (const line of d.logLines()) assert.ok(!line.includes(d.apiKey), line);
  });
});
