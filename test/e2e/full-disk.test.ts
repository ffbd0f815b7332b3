/**
 * Issue #10, "never hides a fault": the real daemon with RUNS_ROOT on a small tmpfs of its own
 * (a loop device where tmpfs cannot be mounted; skipped with the reason when neither works).
 *
 * (a) below the free-space floor POST /jobs answers 507 storage.insufficient_space and creates
 *     nothing; (b) a running CV that fills the disk fails its slot within 1 s of the disk filling
 *     (statfs polled every 5 ms), the message names the cause, the job record on disk says
 *     `failed`, the daemon stays up and keeps serving; (c) once space is freed the next job runs
 *     `done` and the job store's reserve is back.
 */
import assert from 'node:assert/strict';
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSimulators, type SimulatorSet } from '../../src/sim/run-sim.js';
import { JOB_STORE_RESERVE_FILE, JOBS_DIR } from '../../src/storage/job-store.js';
import { availableBytes, mountSmallFs, smallFsSkipReason, type SmallFs } from '../helpers/small-fs.js';
import {
  assertEnvelope,
  createCleanupScope,
  readZip,
  sleep,
  startDaemon,
  submitJob,
  waitForJob,
  waitUntil,
  type DaemonHandle,
  type HealthLike,
  type JobStatusLike,
} from '../helpers/daemon.js';

const skip = await smallFsSkipReason();
const MB = 1_000_000;
const FLOOR_MB = 4;

const scope = createCleanupScope();
let sims: SimulatorSet;
let fs: SmallFs;
let daemon: DaemonHandle;

/** Everything below RUNS_ROOT, relative, sorted (dot-files of the daemon included). */
async function listTree(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel === '' ? e.name : `${rel}/${e.name}`;
    out.push(r);
    if (e.isDirectory()) out.push(...(await listTree(dir, r)));
  }
  return out.sort();
}

const longCv = (slot: string, runName: string, clientDatetime: string) => ({
  devices: [slot],
  modes: ['CV'],
  // ~200 s at full rate, ~44 MB of CSV: far more than the disk holds.
  params_by_mode: { CV: { start: 0, vertex1: 0.5, vertex2: -0.5, end: 0, scan_rate: 0.01, cycles: 1 } },
  experiment_name: 'FullDisk',
  client_datetime: clientDatetime,
  run_name: runName,
  make_plot: false,
});

const shortCa = (devices: string[] | 'all', runName: string, clientDatetime: string) => ({
  devices,
  modes: ['CA'],
  params_by_mode: { CA: { potential: 0.1, duration: 0.5 } },
  experiment_name: 'FullDisk',
  client_datetime: clientDatetime,
  run_name: runName,
  make_plot: false,
});

describe('RUNS_ROOT on a full file system', { skip, timeout: 120_000 }, () => {
  before(async () => {
    fs = await mountSmallFs(32 * 1024 * 1024);
    scope.defer(() => fs.close());
    sims = await startSimulators({ count: 2 });
    scope.defer(() => sims.close());
    daemon = await startDaemon(scope, { ports: sims.ports, runsRoot: fs.dir, env: { BOX_MIN_FREE_MB: String(FLOOR_MB) } });
  });

  after(() => scope.run());

  test('(a) below the free-space floor POST /jobs answers 507 storage.insufficient_space and creates nothing', async () => {
    const reserve = path.join(fs.dir, JOBS_DIR, JOB_STORE_RESERVE_FILE);
    assert.equal((await stat(reserve)).size, 1024 * 1024, 'the job store keeps its reserve');
    const filler = await fs.fill(2 * MB, 'filler-a.bin');
    try {
      const before = await listTree(fs.dir);
      const res = await daemon.post('/jobs', shortCa('all', 'refused_a', '2026-03-01T10:00:00Z'));
      const body = assertEnvelope(res, 507, 'storage.insufficient_space', /Not enough free space for run data: .* MB free, at least 4\.0 MB required \(BOX_MIN_FREE_MB\)/);
      assert.match(String(body.hint), /BOX_MIN_FREE_MB/);
      assert.deepEqual(await listTree(fs.dir), before, 'no run folder, index entry or job record was created');
      assert.equal((await daemon.get('/jobs/refused_a')).status, 404);
      assert.deepEqual(((await daemon.get<{ slot: string; status: string }[]>('/devices/status')).json).map((s) => s.status), ['idle', 'idle']);
    } finally {
      await rm(filler);
    }
  });

  test('(b) a CV that fills the disk fails within 1 s with the cause; record on disk failed; the daemon keeps serving; (c) after freeing space the next job runs done', async () => {
    // A finished run to download while the disk is full.
    const earlier = await submitJob(daemon, shortCa(['slot02'], 'earlier', '2026-03-01T10:05:00Z'));
    assert.equal((await waitForJob(daemon, earlier.run_id)).status, 'done');

    // Admitted with room above the floor; then the disk is filled almost completely behind its back.
    const job = await submitJob(daemon, longCv('slot01', 'fill_b', '2026-03-01T10:10:00Z'));
    await waitForJob(daemon, job.run_id, (j) => j.slots[0]!.status === 'running', 20_000);
    const filler = await fs.fill(400 * 1024, 'filler-b.bin');

    // The moment the disk is full, by statfs.
    let fullAt = 0;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if ((await availableBytes(fs.dir)) === 0) {
        fullAt = Date.now();
        break;
      }
      await sleep(5);
    }
    assert.ok(fullAt > 0, 'the CV filled the disk');

    const failed = await waitForJob(daemon, job.run_id, (j) => j.slots[0]!.status !== 'running', 10_000);
    const seenAt = Date.now();
    const slot = failed.slots[0]!;
    assert.equal(slot.status, 'failed', JSON.stringify(failed));
    assert.equal(failed.status, 'failed');
    assert.match(String(slot.message), /writing CV data failed: .*(ENOSPC|no space left)/i, 'the message names the cause');
    const endedAt = Date.parse(String(slot.ended_at));
    const failMs = endedAt - fullAt;
    assert.ok(failMs < 1000, `slot failed ${failMs} ms after the disk filled (seen by the client after ${seenAt - fullAt} ms)`);
    process.stdout.write(`# full disk: slot failed ${failMs} ms after statfs showed 0 bytes free\n`);

    // The job record on disk says so too, within a second (the reserve makes room for it).
    type RecordOnDisk = { status: string; slots: Array<{ status: string; message: string; files: string[] }> };
    const recordPath = path.join(fs.dir, JOBS_DIR, `${job.run_id}.json`);
    const onDisk = await waitUntil('the record on disk says failed', async () => {
      const r = JSON.parse(await readFile(recordPath, 'utf8')) as RecordOnDisk;
      return r.status === 'failed' ? r : undefined;
    }, 1000, 20);
    assert.equal(onDisk.slots[0]!.status, 'failed');
    assert.match(onDisk.slots[0]!.message, /ENOSPC|no space left/i);

    // Once its device is stopped the slot is free, and its partial CSV is listed and downloadable.
    const stopped = await waitForJob(daemon, job.run_id, (j) => j.slots[0]!.files.length > 0, 10_000);
    await waitUntil('slot01 free', async () => ((await daemon.get<{ status: string }[]>('/devices/status')).json[0]!.status === 'idle' ? true : undefined), 10_000);
    const csvPath = stopped.slots[0]!.files.find((f) => f.endsWith('_CV.csv'));
    assert.ok(csvPath !== undefined, JSON.stringify(stopped.slots[0]!.files));
    assert.equal(stopped.slots[0]!.status, 'failed');
    assert.equal(stopped.slots[0]!.message, slot.message, 'the reason stays');
    assert.equal((JSON.parse(await readFile(recordPath, 'utf8')) as RecordOnDisk).slots[0]!.files.length > 0, true, 'the final record (with its files) reached the disk');
    const csv = await daemon.get(`/runs/${job.run_id}/file?path=${encodeURIComponent(csvPath)}`);
    assert.equal(csv.status, 200);
    assert.ok(csv.body.length > 100_000, 'the rows written before the disk filled are there');

    // The daemon stays up and other work goes on while the disk is full.
    assert.equal(daemon.running(), true);
    assert.equal((await daemon.get<HealthLike>('/health')).json.ok, true);
    assert.equal((await daemon.get('/jobs')).status, 200);
    const zip = await daemon.get(`/runs/${earlier.run_id}/zip`);
    assert.equal(zip.status, 200);
    assert.ok(readZip(zip.body).some((e) => e.name.endsWith('_CA.csv')));
    assertEnvelope(await daemon.post('/jobs', shortCa(['slot02'], 'while_full', '2026-03-01T10:15:00Z')), 507, 'storage.insufficient_space');
    assert.equal((await daemon.get('/devices/status')).status, 200);

    // (c) Space returns: the next job on both slots runs done, and the reserve is back.
    await rm(filler);
    const next = await submitJob(daemon, shortCa('all', 'after_c', '2026-03-01T10:20:00Z'));
    const done = await waitForJob(daemon, next.run_id, undefined, 30_000);
    assert.equal(done.status, 'done', JSON.stringify(done));
    for (const s of done.slots) assert.equal(s['points'], Math.trunc(0.5 / 0.00036));
    await waitUntil('the reserve re-created', async () => ((await stat(path.join(fs.dir, JOBS_DIR, JOB_STORE_RESERVE_FILE)).catch(() => null))?.size === 1024 * 1024 ? true : undefined), 15_000);
    const record = JSON.parse(await readFile(path.join(fs.dir, JOBS_DIR, `${next.run_id}.json`), 'utf8')) as JobStatusLike;
    assert.equal(record.status, 'done');
    await daemon.stop();
  });
});
