/**
 * Bounded job memory over real HTTP (#10): with BOX_JOBS_IN_MEMORY=1 the daemon keeps one ended
 * job's full record in memory; every other job is still listed by GET /jobs and answered by
 * GET /jobs/{id}, POST /jobs/status and the files route from its record file, exactly as it was
 * answered while in memory, also after a restart.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startSimulators, type SimulatorSet } from '../../src/sim/run-sim.js';
import { createCleanupScope, makeTempDir, startDaemon, submitJob, waitForJob, type DaemonHandle } from '../helpers/daemon.js';

const scope = createCleanupScope();
let sims: SimulatorSet;
let runsRoot: string;

before(async () => {
  sims = await startSimulators({ count: 1 });
  scope.defer(() => sims.close());
  runsRoot = path.join(await makeTempDir(scope, 'beepbox-e2e-jobmem-'), 'runs');
});

after(() => scope.run());

const start = (): Promise<DaemonHandle> => startDaemon(scope, { ports: sims.ports, runsRoot, env: { BOX_JOBS_IN_MEMORY: '1' } });

async function recordsInMemory(daemon: DaemonHandle): Promise<number> {
  const text = (await daemon.get('/metrics')).text;
  const m = /^beepbox_job_records_in_memory (\d+)$/m.exec(text);
  assert.ok(m, 'beepbox_job_records_in_memory is exported');
  return Number(m[1]);
}

test('BOX_JOBS_IN_MEMORY=1: ended jobs read back from their files answer as they did in memory, before and after a restart', async () => {
  const daemon = await start();
  const ids = ['mem-a', 'mem-b', 'mem-c', 'mem-d'];
  const seen = new Map<string, unknown>();
  const files = new Map<string, unknown>();
  for (const [k, runId] of ids.entries()) {
    await submitJob(daemon, {
      devices: ['slot01'], modes: ['CA'], params_by_mode: { CA: { potential: 0.1, duration: 0.05 } }, experiment_name: 'Memory',
      client_datetime: `2025-11-08T08:0${k}:00Z`, run_name: runId, group_id: k % 2 === 0 ? 'Even' : 'Odd', make_plot: false,
    });
    await waitForJob(daemon, runId, (j) => j.status === 'done');
    seen.set(runId, (await daemon.get(`/jobs/${runId}`)).json);
    files.set(runId, (await daemon.get(`/runs/${runId}/files`)).json);
  }
  const read = async (d: DaemonHandle) => {
    for (const runId of ids) {
      assert.deepEqual((await d.get(`/jobs/${runId}`)).json, seen.get(runId), `GET /jobs/${runId}`);
      assert.deepEqual((await d.get(`/runs/${runId}/files`)).json, files.get(runId), `files of ${runId}`);
    }
    assert.deepEqual((await d.post('/jobs/status', { run_ids: ids })).json, ids.map((id) => seen.get(id)));
    const listed = (await d.get<Array<{ run_id: string; status: string }>>('/jobs')).json;
    assert.deepEqual(listed.map((j) => [j.run_id, j.status]), [...ids].reverse().map((id) => [id, 'done']));
    assert.deepEqual((await d.get<Array<{ run_id: string }>>('/jobs?group_id=even')).json.map((j) => j.run_id), ['mem-c', 'mem-a']);
    // One kept, plus the read-back cache (at most 16): never one per job run.
    assert.ok((await recordsInMemory(d)) <= 1 + ids.length, 'records in memory within the bound and the read-back cache');
  };
  await read(daemon);
  await daemon.stop();

  const second = await start();
  assert.equal(await recordsInMemory(second), 1, 'after a restart only the bound is loaded');
  await read(second);
  await second.stop();
});
