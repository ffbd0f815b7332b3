/**
 * Issue #10: 100 POST /jobs racing for the same slots over real HTTP, each on its own connection,
 * all sent at once, three rounds. Per round: exactly one winner per slot (the winners' slots are
 * disjoint and cover every slot), every loser 409 in the envelope, no run folder, run index entry
 * or job record of a loser left behind, and the winners' data complete (every planned point in
 * the CSV, nothing lost).
 */
import assert from 'node:assert/strict';
import { readFile, readdir, stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSimulators, type SimulatorSet } from '../../src/sim/run-sim.js';
import { JOBS_DIR } from '../../src/storage/job-store.js';
import { RUN_INDEX_FILE } from '../../src/storage/run-index.js';
import {
  assertEnvelope,
  createCleanupScope,
  splitCsv,
  startDaemon,
  waitForJob,
  type DaemonHandle,
  type DaemonResponse,
  type JobStatusLike,
} from '../helpers/daemon.js';

const SLOTS = ['slot01', 'slot02', 'slot03', 'slot04'];
const REQUESTS = 100;
const ROUNDS = 3;
const DURATION_S = 2;
const DT = 0.00036;

const scope = createCleanupScope();
let sims: SimulatorSet;
let daemon: DaemonHandle;

before(async () => {
  sims = await startSimulators({ count: SLOTS.length });
  scope.defer(() => sims.close());
  daemon = await startDaemon(scope, { ports: sims.ports });
});

after(() => scope.run());

/** POST /jobs on a connection of its own (no agent: every request really is in flight at once). */
function postOwnConnection(body: unknown): Promise<DaemonResponse> {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: daemon.port,
        method: 'POST',
        path: '/jobs',
        agent: false,
        headers: { 'Content-Type': 'application/json', 'Content-Length': String(payload.length), 'X-API-Key': daemon.apiKey },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const buf = Buffer.concat(chunks);
          const text = buf.toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: buf, text, json: JSON.parse(text) as unknown });
        });
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('no answer')));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Every directory below RUNS_ROOT that holds a `Wells` folder (a run folder), absolute. */
async function findRunFolders(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.name === 'Wells') out.push(dir);
    else out.push(...(await findRunFolders(p)));
  }
  return out;
}

describe('100 concurrent POST /jobs for the same slots', { timeout: 180_000 }, () => {
  test(`${ROUNDS} rounds of ${REQUESTS}: one winner per slot, every loser 409, nothing orphaned, winners complete`, async () => {
    const allWinners: JobStatusLike[] = [];
    const codes = new Map<string, number>();
    for (let round = 0; round < ROUNDS; round++) {
      // 96 single-slot requests (24 per slot) and 4 for all slots, shuffled; three run folders per
      // round shared by many requests (a GUI batch), every run_name distinct.
      const bodies = Array.from({ length: REQUESTS }, (_, k) => ({
        devices: k % 25 === 24 ? 'all' : [SLOTS[k % SLOTS.length]!],
        modes: ['CA'],
        params_by_mode: { CA: { potential: 0.1, duration: DURATION_S } },
        experiment_name: 'Race',
        subdir: `Round${round}`,
        client_datetime: `2026-04-0${round + 1}T10:0${k % 3}:00Z`,
        run_name: `race_${round}_${String(k).padStart(3, '0')}`,
        make_plot: false,
      }));
      bodies.sort(() => Math.random() - 0.5);
      const responses = await Promise.all(bodies.map((b) => postOwnConnection(b)));

      const winners: JobStatusLike[] = [];
      for (const [k, res] of responses.entries()) {
        if (res.status === 200) {
          winners.push(res.json as JobStatusLike);
          continue;
        }
        const body = assertEnvelope(res, 409, String((res.json as { code?: unknown }).code));
        assert.ok(['jobs.slots_busy', 'storage.exists'].includes(String(body.code)), `loser ${bodies[k]!.run_name}: ${res.text}`);
        codes.set(String(body.code), (codes.get(String(body.code)) ?? 0) + 1);
        assert.equal((await daemon.get(`/jobs/${bodies[k]!.run_name}`)).status, 404, 'a loser is not a job');
      }
      const taken = winners.flatMap((w) => w.slots.map((s) => s.slot)).sort();
      assert.deepEqual(taken, SLOTS, `round ${round}: exactly one winner per slot (winners: ${winners.map((w) => w.run_id).join(', ')})`);
      assert.equal(responses.filter((r) => r.status !== 200).length, REQUESTS - winners.length);

      const ended = await Promise.all(winners.map((w) => waitForJob(daemon, w.run_id, undefined, 60_000)));
      for (const job of ended) {
        assert.equal(job.status, 'done', JSON.stringify(job));
        for (const s of job.slots) {
          assert.equal(s['points'], Math.trunc(DURATION_S / DT), `${job.run_id} ${s.slot}`);
          assert.equal(s['lost'], 0);
          const csvPath = s.files.find((f) => f.endsWith('_CA.csv'))!;
          const csv = await daemon.get(`/runs/${job.run_id}/file?path=${encodeURIComponent(csvPath)}`);
          assert.equal(csv.status, 200);
          assert.equal(splitCsv(csv.text).rows.length, Math.trunc(DURATION_S / DT), 'every planned row in the CSV');
        }
      }
      allWinners.push(...ended);
    }

    // Nothing orphaned: run folders, index entries and job records are exactly the winners'.
    const records = (await readdir(path.join(daemon.runsRoot, JOBS_DIR))).filter((n) => n.endsWith('.json')).sort();
    assert.deepEqual(records, allWinners.map((w) => `${w.run_id}.json`).sort());
    const index = JSON.parse(await readFile(path.join(daemon.runsRoot, RUN_INDEX_FILE), 'utf8')) as Record<string, string>;
    assert.deepEqual(Object.keys(index).sort(), allWinners.map((w) => w.run_id).sort());
    const winnerDirs = new Set(Object.values(index).map((rel) => path.join(daemon.runsRoot, ...rel.split('/'))));
    const folders = await findRunFolders(daemon.runsRoot);
    assert.deepEqual(folders.sort(), [...winnerDirs].sort(), 'every run folder belongs to a winner');
    // No empty folder of a loser anywhere (the three shared per-round folders hold winners' files).
    for (const round of Array.from({ length: ROUNDS }, (_, r) => r)) {
      for (const name of await readdir(path.join(daemon.runsRoot, 'Race', `Round${round}`))) {
        const dir = path.join(daemon.runsRoot, 'Race', `Round${round}`, name);
        assert.ok((await stat(dir)).isDirectory());
        assert.ok(winnerDirs.has(dir), `${dir} belongs to a winner`);
      }
    }
    process.stdout.write(`# race: ${ROUNDS * REQUESTS} requests, ${allWinners.length} winners, losers by code ${JSON.stringify(Object.fromEntries(codes))}\n`);
  });
});
