/**
 * The engine's memory stays bounded over weeks (#10): ended jobs are compact, at most
 * `recordsInMemory` full records stay in memory, older ones are read back from the job store
 * (here a fake one that counts the reads) and give the same views; walking every job (GET /jobs,
 * its filters, the metrics, retention) reads no record; a record not yet in its file stays.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { readConfig } from '../../../src/config.js';
import { admitJob } from '../../../src/jobs/admission.js';
import { JobEngine, type JobRecordStore, type JobRuntime } from '../../../src/jobs/engine.js';
import { countJobsByState } from '../../../src/jobs/job-state-counts.js';
import type { JobRecord } from '../../../src/jobs/job-record.js';
import { startingModeCounters } from '../../../src/jobs/mode-counters.js';
import { getJobStatus, getJobStatuses, listJobs } from '../../../src/jobs/status-views.js';
import { RunIndex } from '../../../src/storage/run-index.js';

/** A job store in memory: records as the JSON text a file would hold; loads counted. */
class FakeStore implements JobRecordStore {
  readonly files = new Map<string, string>();
  /** run_ids whose writes "fail" (kept out of their files, as on a full disk). */
  readonly failing = new Set<string>();
  loads = 0;
  deleted: string[] = [];

  save(runId: string, record: JobRecord): Promise<void> {
    if (!this.failing.has(runId)) this.files.set(runId, JSON.stringify(record));
    return Promise.resolve();
  }
  delete(runId: string): Promise<void> {
    this.files.delete(runId);
    this.deleted.push(runId);
    return Promise.resolve();
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  isPersisted(runId: string): boolean {
    return !this.failing.has(runId);
  }
  loadSync(runId: string): JobRecord {
    this.loads++;
    const text = this.files.get(runId);
    if (text === undefined) throw new Error(`no file for ${runId}`);
    return JSON.parse(text) as JobRecord;
  }
}

const logger = pino({ level: 'silent' });

/** A terminal job as recovery hands it over: two slots, two modes, a run folder per 10 jobs. */
function endedRecord(k: number, runsRoot: string): JobRecord {
  const at = new Date(Date.UTC(2026, 0, 1) + k * 60_000).toISOString();
  const result = (mode: string, points: number) => ({
    mode, ...startingModeCounters(points), points, events: [{ kind: 'underrun', index: k }] as never[], plot: null, warnings: [`w${k}`], error: null,
  });
  return {
    schema: 1,
    run_id: `job_${String(k).padStart(5, '0')}`,
    created_at: at,
    ended_at: at,
    status: k % 7 === 0 ? 'failed' : 'done',
    modes: ['CV', 'CA'],
    params_by_mode: { CV: { scan_rate: 1 }, CA: { e: 0.1 } },
    request_params_by_mode: {},
    mode_estimates: [{ points: 100, plannedS: 1 }, { points: 50, plannedS: 1 }],
    tia_gain: 0,
    sampling_interval: null,
    make_plot: false,
    experiment_name: 'Exp',
    subdir: null,
    client_datetime: at,
    group_label: k % 2 === 0 ? 'Even' : null,
    storage_subfolder: null,
    run_dir: path.join(runsRoot, `dir${Math.floor(k / 10)}`),
    run_dir_relative: `dir${Math.floor(k / 10)}`,
    versions: { beepbox: 'test', node: process.version, api: 'test' },
    warnings: [],
    adjustments: [],
    slots: ['slot01', 'slot02'].map((slot, i) => ({
      slot, port: `/dev/tty${i}`, sn: null, status: k % 7 === 0 && i === 1 ? 'failed' : 'done', started_at: at, ended_at: at,
      message: k % 7 === 0 && i === 1 ? 'device gone' : null, files: [`Wells/${slot}/CV.csv`], mode_index: 1, mode_started_at: at,
      results: [result('CV', 100), result('CA', 50)],
    })),
  } as JobRecord;
}

function newEngine(store: FakeStore, runIndex: RunIndex, recordsInMemory: number, acquire = (): Promise<never> => Promise.reject(new Error('no device here'))): JobEngine {
  return new JobEngine({
    slots: { acquire },
    jobStore: store,
    runIndex,
    logger,
    versions: { beepbox: 'test', node: process.version, api: 'test' },
    subscribers: [],
    recordsInMemory,
  });
}

/** A view as the client receives it (JSON). */
const asJson = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

test('2,000 ended jobs: N full records in memory, evicted views identical, listings and retention read no record', async (t) => {
  const runsRoot = await mkdtemp(path.join(os.tmpdir(), 'beepbox-jobmem-'));
  t.after(() => rm(runsRoot, { recursive: true, force: true }));
  const store = new FakeStore();
  const N = 50;
  const engine = newEngine(store, await RunIndex.load(runsRoot, { logger }), N);

  // The first job, viewed while its record is still in memory.
  const first = endedRecord(0, runsRoot);
  await store.save(first.run_id, first);
  engine.adopt(first);
  const before = asJson(getJobStatus(engine, first.run_id));
  const beforeMany = asJson(getJobStatuses(engine, [first.run_id]));
  const listedBefore = asJson(listJobs(engine, {}));

  for (let k = 1; k < 2000; k++) {
    const r = endedRecord(k, runsRoot);
    await store.save(r.run_id, r);
    engine.adopt(r);
  }
  assert.deepEqual(engine.memory, { jobs: 2000, live: 0, records: N }, 'only N full records stay');
  assert.equal(store.loads, 0, 'nothing read back yet');

  // GET /jobs and every filter, and the metrics, read no record.
  const all = listJobs(engine, {});
  assert.equal(all.length, 2000);
  assert.deepEqual(all.slice(0, 2).map((j) => j.run_id), ['job_01999', 'job_01998'], 'newest first');
  assert.deepEqual(asJson(all.at(-1)), (listedBefore as unknown[])[0], 'the first job listed as before');
  assert.equal(listJobs(engine, { state: 'completed' }).length, 2000);
  assert.equal(listJobs(engine, { state: 'incomplete' }).length, 0);
  assert.equal(listJobs(engine, { groupId: ' even ' }).length, 1000);
  assert.deepEqual(countJobsByState(engine), { queued: 0, running: 0, done: 1714, failed: 286, cancelled: 0 });
  assert.equal(engine.cancel(first.run_id).status, 'failed', 'cancel of an ended job answers from the compact entry');
  assert.equal(store.loads, 0, 'listing, filters, metrics and cancel read no record');

  // An evicted job's views are the ones it had in memory; one read, then the read-back cache.
  assert.deepEqual(asJson(getJobStatus(engine, first.run_id)), before);
  assert.deepEqual(asJson(getJobStatuses(engine, [first.run_id])), beforeMany);
  assert.equal(store.loads, 1);
  getJobStatus(engine, first.run_id);
  assert.equal(store.loads, 1, 'read back once, then cached');
  assert.equal(engine.job(first.run_id)?.plan, null);
  assert.deepEqual(engine.job(first.run_id)?.runs, []);
  assert.ok(engine.memory.records <= N + 16, `records ${engine.memory.records} within the bound plus the read-back cache`);
  assert.throws(() => getJobStatuses(engine, ['job_00001', 'nope']), /Unknown run_ids: nope/);

  // Retention deletes run folder dir0 (jobs 0–9, evicted): they are forgotten, without a read.
  const loads = store.loads;
  const forgotten = await engine.forgetRunDir(path.join(runsRoot, 'dir0'));
  assert.deepEqual(forgotten.sort(), Array.from({ length: 10 }, (_, k) => `job_0000${k}`));
  assert.deepEqual(store.deleted.sort(), forgotten);
  assert.equal(engine.job(first.run_id), undefined);
  assert.equal(listJobs(engine, {}).length, 1990);
  assert.equal(engine.memory.jobs, 1990);
  assert.equal(store.loads, loads, 'forgetRunDir reads no record');
  assert.equal(engine.isRunDirBusy(path.join(runsRoot, 'dir1')), false);
});

test('a record not yet in its file stays in memory (written ones leave first) until it is written', async (t) => {
  const runsRoot = await mkdtemp(path.join(os.tmpdir(), 'beepbox-jobmem-'));
  t.after(() => rm(runsRoot, { recursive: true, force: true }));
  const store = new FakeStore();
  const engine = newEngine(store, await RunIndex.load(runsRoot, { logger }), 3);
  const unsaved = endedRecord(0, runsRoot);
  store.failing.add(unsaved.run_id); // its write failed: only memory has it
  engine.adopt(unsaved);
  for (let k = 1; k <= 10; k++) {
    const r = endedRecord(k, runsRoot);
    await store.save(r.run_id, r);
    engine.adopt(r);
  }
  assert.equal(engine.memory.records, 3, 'the bound holds: the unsaved record and the two latest');
  assert.equal(getJobStatus(engine, unsaved.run_id).slots[1]!.message, 'device gone');
  getJobStatus(engine, 'job_00010');
  getJobStatus(engine, 'job_00009');
  assert.equal(store.loads, 0, 'served from memory');
  getJobStatus(engine, 'job_00008');
  assert.equal(store.loads, 1, 'job 8 was read back');
  // Written at last: the next trim drops it.
  store.failing.delete(unsaved.run_id);
  await store.save(unsaved.run_id, unsaved);
  const r = endedRecord(11, runsRoot);
  await store.save(r.run_id, r);
  engine.adopt(r);
  assert.equal(engine.memory.records, 3 + 1, 'jobs 9, 10, 11 and job 8 read back');
  assert.equal(getJobStatus(engine, unsaved.run_id).slots[1]!.message, 'device gone');
  assert.equal(store.loads, 2, 'the unsaved record, once written, left memory');
});

test('jobs run by the engine become compact when their runners end: plan and runners dropped, N records kept', async (t) => {
  const runsRoot = await mkdtemp(path.join(os.tmpdir(), 'beepbox-jobmem-'));
  t.after(() => rm(runsRoot, { recursive: true, force: true }));
  const store = new FakeStore();
  const N = 4;
  const engine = newEngine(store, await RunIndex.load(runsRoot, { logger }), N);
  const devices = [{ slot: 'slot01', port: '/dev/null', sn: null }, { slot: 'slot02', port: '/dev/null', sn: null }];
  const started: JobRuntime[] = [];
  let firstView: unknown = null;
  for (let k = 0; k < 30; k++) {
    const plan = await admitJob(
      {
        devices: 'all', modes: ['CA'], params_by_mode: { CA: { potential: 0.1, duration: 0.01 } }, experiment_name: `Mem${k}`, run_name: `mem_${k}`,
        client_datetime: new Date(Date.UTC(2026, 0, 1, 0, k)).toISOString(), make_plot: false,
      },
      { runsRoot, devices, minFreeBytes: 0 },
    );
    const job = await engine.start(plan);
    assert.equal(engine.memory.live, 1, 'live while its runners run');
    await Promise.all(job.runs.map((r) => r.runner));
    started.push(job);
    if (k === 0) firstView = asJson(getJobStatus(engine, 'mem_0'));
  }
  assert.deepEqual(engine.memory, { jobs: 30, live: 0, records: N });
  assert.equal(started[0]!.record.status, 'failed', 'no device: the slots failed');
  const compact = engine.job('mem_29')!;
  assert.equal(compact.plan, null, 'plan dropped');
  assert.deepEqual(compact.runs, [], 'runners, abort controllers and live progress dropped');
  assert.equal(store.loads, 0);
  assert.deepEqual(asJson(getJobStatus(engine, 'mem_0')), firstView, 'the evicted job reads back as it was');
  assert.equal(store.loads, 1);
  const listed = listJobs(engine, {});
  assert.deepEqual(listed.map((j) => j.run_id).slice(0, 3), ['mem_29', 'mem_28', 'mem_27']);
  assert.equal(listed[0]!.status, 'failed');
  assert.equal(store.loads, 1, 'GET /jobs read no record');
  assert.deepEqual(engine.busySlots, []);
});

test('BOX_JOBS_IN_MEMORY: default 500, an integer 0..1000000', () => {
  const base = { BOX_BUILD: 'test' };
  assert.equal(readConfig(base).jobsInMemory, 500);
  assert.equal(readConfig({ ...base, BOX_JOBS_IN_MEMORY: '0' }).jobsInMemory, 0);
  assert.equal(readConfig({ ...base, BOX_JOBS_IN_MEMORY: ' 2000 ' }).jobsInMemory, 2000);
  assert.throws(() => readConfig({ ...base, BOX_JOBS_IN_MEMORY: '-1' }), /BOX_JOBS_IN_MEMORY/);
  assert.throws(() => readConfig({ ...base, BOX_JOBS_IN_MEMORY: 'lots' }), /BOX_JOBS_IN_MEMORY/);
});
