/**
 * The Python client example (docs/examples/beepbox_client.py) against the built daemon with two
 * virtual potentiostats and an API key: it starts a CV, follows the SSE stream (or polls when the
 * daemon has no stream route), downloads the ZIP, loads the CSVs into pandas and prints the run's
 * point count, which must be GET /jobs/{run_id}'s. Skipped, saying why, only when no python3 with
 * requests and pandas is installed (.ci/setup installs python3-requests and python3-pandas).
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startSimulators, type SimulatorSet } from '../../src/sim/run-sim.js';
import { createCleanupScope, makeTempDir, startDaemon, type DaemonHandle, type JobStatusLike } from '../helpers/daemon.js';

const EXAMPLE = fileURLToPath(new URL('../../../docs/examples/beepbox_client.py', import.meta.url));

/** Debian's python3 first: its dist-packages hold python3-requests/python3-pandas even when a pyenv python3 is first on PATH. */
function findPython(): string | null {
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(candidate, ['-c', 'import requests, pandas'], { stdio: 'ignore', timeout: 30_000 });
      return candidate;
    } catch {
      // not installed, or without the modules: try the next
    }
  }
  return null;
}

const python = findPython();
const scope = createCleanupScope();
let sims: SimulatorSet;
let daemon: DaemonHandle;

before(async () => {
  if (python === null) return;
  sims = await startSimulators({ count: 2 });
  scope.defer(() => sims.close());
  daemon = await startDaemon(scope, { ports: sims.ports });
});
after(() => scope.run());

test('the Python example runs a job, follows it, loads the CSVs with pandas and prints the point count', {
  skip: python === null ? 'no python3 with the requests and pandas modules (Debian: apt install python3-requests python3-pandas)' : false,
}, async () => {
  const out = await makeTempDir(scope, 'beepbox-python-');
  const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) => {
    execFile(python!, [EXAMPLE, '--url', daemon.url, '--out', out], { env: { ...process.env, BOX_API_KEY: daemon.apiKey }, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
      else resolve({ stdout });
    });
  });
  const runId = /^run_id: (\S+)$/m.exec(stdout)?.[1];
  assert.ok(runId, stdout);
  const printed = Number(/^points: (\d+)$/m.exec(stdout)?.[1]);
  const csvRows = Number(/^csv rows: (\d+)$/m.exec(stdout)?.[1]);

  const job = (await daemon.get<JobStatusLike>(`/jobs/${runId}`)).json;
  assert.equal(job.status, 'done');
  const jobPoints = job.slots.reduce((sum, s) => sum + Number(s['points']), 0);
  assert.ok(jobPoints > 2 * 5000, `two slots of a ~2 s CV: ${jobPoints}`);
  assert.equal(printed, jobPoints, 'the printed point count is the job\'s');
  assert.equal(csvRows, jobPoints, 'pandas read every row of the CSVs');
  assert.match(stdout, /^status: done$/m);
  assert.match(stdout, new RegExp(`^zip: .*${runId}\\.zip \\(\\d+ bytes\\)$`, 'm'));

  // Followed live when the daemon has the stream route; polled only when it has not.
  const hasStream = (await daemon.get(`/runs/${runId}/stream`, { headers: { Accept: 'text/event-stream' } })).status === 200;
  if (hasStream) {
    assert.doesNotMatch(stdout, /no stream route/);
    assert.match(stdout, /slot01: CV started/);
    assert.match(stdout, /slot0[12]: +\d+\.\d %/);
  } else {
    assert.match(stdout, /no stream route on this daemon: polling/);
  }
});
