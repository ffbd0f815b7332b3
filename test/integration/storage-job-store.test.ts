/** Job store `.jobs/<run_id>.json` on a real filesystem, including a writer killed mid-burst. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { mountSmallFs, smallFsSkipReason } from '../helpers/small-fs.js';
import { JOB_STORE_RESERVE_FILE, JOB_STORE_UNSAVED_FILE, JobStore } from '../../src/storage/job-store.js';

interface Rec {
  state: number;
  padding: string;
  slots: Array<{ slot: string; status: string }>;
}

async function makeRoot(t: TestContext): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'beepbox-jobs-'));
  // Runs before the tests' own store.close() hooks (after hooks run in registration order), so a
  // note or reserve write still landing can leave a file behind rm's listing: ENOTEMPTY, retried.
  t.after(() => rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));
  return root;
}

function makeRecord(state: number): Rec {
  // Sizes vary a lot between states so a torn or interleaved write could not parse as the right state.
  return { state, padding: 'x'.repeat((state * 7919) % 20000), slots: [{ slot: 'slot01', status: state % 2 ? 'running' : 'queued' }] };
}

function captureLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

test('a burst of saves: last state wins, readers never see a torn file, saves resolve in order', async (t) => {
  const root = await makeRoot(t);
  const store = new JobStore<Rec>(root);
  await store.init();
  let reading = true;
  let reads = 0;
  const reader = (async () => {
    while (reading) {
      try {
        const rec = JSON.parse(await readFile(store.pathOf('run_1'), 'utf8')) as Rec;
        assert.equal(rec.padding.length, (rec.state * 7919) % 20000);
        reads++;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  })();
  const record = makeRecord(0);
  const saves: Promise<void>[] = [];
  const settledOrder: number[] = [];
  for (let i = 1; i <= 500; i++) {
    // The same object mutated between saves: each save must capture its state at call time.
    Object.assign(record, makeRecord(i));
    saves.push(store.save('run_1', record).then(() => void settledOrder.push(i)));
    saves.push(store.save('run_2', makeRecord(1000 + i)));
    if (i % 50 === 0) await new Promise((r) => setImmediate(r));
  }
  record.state = -1; // mutation after the last save must not reach the disk
  await Promise.all(saves);
  reading = false;
  await reader;
  assert.equal((JSON.parse(await readFile(store.pathOf('run_1'), 'utf8')) as Rec).state, 500);
  assert.equal((JSON.parse(await readFile(store.pathOf('run_2'), 'utf8')) as Rec).state, 1500);
  assert.deepEqual(settledOrder, [...settledOrder].sort((a, b) => a - b));
  assert.ok(reads > 0, 'the reader ran concurrently');
  assert.deepEqual((await readdir(store.dir)).sort(), [JOB_STORE_RESERVE_FILE, JOB_STORE_UNSAVED_FILE, 'run_1.json', 'run_2.json'], 'no temp files left');
});

test('delete after pending saves removes the record; later saves recreate it', async (t) => {
  const root = await makeRoot(t);
  const store = new JobStore<Rec>(root);
  // `.jobs` is created on demand when init() was not called.
  await store.save('run_first', makeRecord(1));
  assert.deepEqual(await readdir(store.dir), ['run_first.json']);
  const pending = [store.save('run_x', makeRecord(1)), store.save('run_x', makeRecord(2)), store.delete('run_x')];
  await Promise.all(pending);
  assert.deepEqual(await readdir(store.dir), ['run_first.json']);
  await store.delete('run_x'); // absent: no error
  await store.save('run_x', makeRecord(3));
  assert.equal((JSON.parse(await readFile(store.pathOf('run_x'), 'utf8')) as Rec).state, 3);
  await assert.rejects(store.save('../escape', makeRecord(1)), TypeError);
  await assert.rejects(store.delete('a/b'), TypeError);
});

test('loadAll skips corrupt, non-object and foreign files (logged) and removes stale temp files', async (t) => {
  const root = await makeRoot(t);
  const { logger, lines } = captureLogger();
  const store = new JobStore<Rec>(root, {
    logger,
    isRecord: (v: unknown): v is Rec => typeof v === 'object' && v !== null && typeof (v as Rec).state === 'number',
  });
  assert.deepEqual(await store.loadAll(), [], 'missing .jobs is empty');
  await store.init();
  await store.save('b_good', makeRecord(2));
  await store.save('a_good', makeRecord(1));
  await writeFile(join(store.dir, 'torn.json'), '{"state": 3, "padd');
  await writeFile(join(store.dir, 'array.json'), '[1,2]');
  await writeFile(join(store.dir, 'nostate.json'), '{"x": 1}');
  await writeFile(join(store.dir, 'not a run id.json'), '{"state": 4}');
  await writeFile(join(store.dir, '.c_good.json.123-abcd.tmp'), '{"state": 9');
  await writeFile(join(store.dir, 'README'), 'ignored');
  await mkdir(join(store.dir, 'sub.json'));

  const loaded = await store.loadAll();
  assert.deepEqual(loaded.map((j) => [j.runId, j.record.state]), [['a_good', 1], ['b_good', 2]]);
  const warned = lines.filter((l) => l.level === 40).map((l) => String(l.runId ?? l.file));
  assert.deepEqual(warned.sort(), ['array', 'nostate', 'not a run id.json', 'sub', 'torn']);
  assert.equal((await readdir(store.dir)).includes('.c_good.json.123-abcd.tmp'), false);
});

const CHILD = `
import { JobStore } from ${JSON.stringify(new URL('../../src/storage/job-store.js', import.meta.url).href)};
const store = new JobStore(process.argv[2]);
await store.init();
let i = 0;
for (;;) {
  i++;
  const rec = { state: i, padding: 'x'.repeat((i * 7919) % 20000), slots: [{ slot: 'slot01', status: 'running' }] };
  const p = store.save('run_kill', rec);
  if (i === 1) { await p; process.stdout.write('ready\\n'); }
  if (i % 8 === 0) await p;
}
`;

test('a writer killed with SIGKILL mid-burst never leaves a partial record', async (t) => {
  const root = await makeRoot(t);
  const script = join(root, 'writer.mjs');
  await writeFile(script, CHILD);
  const store = new JobStore<Rec>(root);
  for (let round = 0; round < 6; round++) {
    const child = spawn(process.execPath, [script, root], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => child.kill('SIGKILL'));
    await new Promise<void>((resolveReady, rejectReady) => {
      child.stdout.once('data', () => resolveReady());
      child.once('exit', (code) => rejectReady(new Error(`writer exited early (${code})`)));
    });
    await new Promise((r) => setTimeout(r, 20 + round * 37));
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    const text = await readFile(store.pathOf('run_kill'), 'utf8');
    const rec = JSON.parse(text) as Rec; // a torn file would throw here
    assert.ok(rec.state >= 1);
    assert.equal(rec.padding.length, (rec.state * 7919) % 20000);
    const loaded = await store.loadAll();
    assert.deepEqual(loaded.map((j) => j.runId), ['run_kill']);
    assert.deepEqual((await readdir(store.dir)).filter((n) => n.endsWith('.tmp')), [], 'stale temp files cleaned at load');
  }
});

const fullDiskSkip = await smallFsSkipReason();

test('full disk: the reserve is released for a record; if even that is not enough the record is noted, survives a restart and is written once space returns', { skip: fullDiskSkip, timeout: 30_000 }, async (t) => {
  const fs = await mountSmallFs(4 * 1024 * 1024);
  t.after(() => fs.close());
  const root = join(fs.dir, 'runs');
  const { logger, lines } = captureLogger();
  const options = { logger, reserveBytes: 256 * 1024, unsavedNoteBytes: 64 * 1024, retryIntervalMs: 100 };
  const store = new JobStore<Rec>(root, options);
  t.after(() => store.close());
  await store.init();
  assert.equal(store.hasReserve, true);
  assert.equal((await stat(store.reservePath)).size, 256 * 1024);
  assert.equal((await stat(store.unsavedPath)).size, 64 * 1024);

  const running = { state: 1, padding: '', slots: [{ slot: 'slot01', status: 'running' }] };
  await store.save('run_full', running);
  const filler = await fs.fill(0);
  assert.equal(await fs.available(), 0, 'the file system is full');

  // 1. The reserve makes room: the failed state reaches the disk.
  const failed = { state: 2, padding: 'x'.repeat(20_000), slots: [{ slot: 'slot01', status: 'failed' }] };
  await store.save('run_full', failed);
  assert.equal(store.hasReserve, false);
  assert.deepEqual(JSON.parse(await readFile(store.pathOf('run_full'), 'utf8')), failed);
  assert.ok(lines.some((l) => l.msg === 'file system full: released the job store reserve to write a job record'));

  // 2. Full again, no reserve left: the save fails, is logged, noted in `.unsaved`, and retried.
  const filler2 = await fs.fill(0, 'filler2.bin');
  const later = { state: 3, padding: 'y'.repeat(30_000), slots: [{ slot: 'slot01', status: 'failed' }] };
  await assert.rejects(store.save('run_full', later), (err: NodeJS.ErrnoException) => err.code === 'ENOSPC');
  assert.deepEqual(store.unsavedRunIds, ['run_full']);
  await store.flush();
  const errorLine = lines.find((l) => l.msg === 'job record could not be written; kept in memory and retried');
  assert.match(String(errorLine?.err), /ENOSPC/);
  assert.equal((JSON.parse(await readFile(store.pathOf('run_full'), 'utf8')) as Rec).state, 2, 'the file still holds the older state');
  const note = JSON.parse(await readFile(store.unsavedPath, 'utf8')) as { records: Record<string, { error: string; text: string }> };
  assert.match(note.records['run_full']!.error, /ENOSPC/);
  assert.equal((JSON.parse(note.records['run_full']!.text) as Rec).state, 3);
  assert.equal((await stat(store.unsavedPath)).size, 64 * 1024, 'the note was overwritten in place');
  store.close();

  // 3. "Restart" on the still full disk: the noted state is what the store loads.
  const restarted = new JobStore<Rec>(root, options);
  t.after(() => restarted.close());
  await restarted.init();
  const loaded = await restarted.loadAll();
  assert.deepEqual(loaded.map((j) => [j.runId, j.record.state]), [['run_full', 3]]);
  assert.ok(lines.some((l) => String(l.msg).startsWith('job store: record restored from the unsaved-records note')));

  // 4. Space returns: the record reaches its own file, the note empties, the reserve comes back.
  await rm(filler);
  await rm(filler2);
  const deadline = Date.now() + 5000;
  while ((restarted.unsavedRunIds.length > 0 || !restarted.hasReserve) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await restarted.flush();
  assert.deepEqual(restarted.unsavedRunIds, []);
  assert.equal((JSON.parse(await readFile(restarted.pathOf('run_full'), 'utf8')) as Rec).state, 3);
  assert.deepEqual((JSON.parse(await readFile(restarted.unsavedPath, 'utf8')) as { records: object }).records, {});
  assert.equal(restarted.hasReserve, true);
  assert.equal((await stat(restarted.reservePath)).size, 256 * 1024);
});

test('isPersisted is false while a write is queued or failed; loadSync reads the file back; loadEach yields one record at a time', async (t) => {
  const root = await makeRoot(t);
  const store = new JobStore<Rec>(root, { isRecord: (v): v is Rec => typeof (v as Rec | null)?.state === 'number', retryIntervalMs: 60_000 });
  await store.init();
  t.after(() => store.close());
  const saved = store.save('run_a', makeRecord(3));
  assert.equal(store.isPersisted('run_a'), false, 'its write is on its way');
  await saved;
  assert.equal(store.isPersisted('run_a'), true);
  assert.deepEqual(store.loadSync('run_a'), makeRecord(3));
  assert.throws(() => store.loadSync('run_missing'), /ENOENT/);
  await writeFile(store.pathOf('run_bad'), JSON.stringify({ state: 'no' }));
  assert.throws(() => store.loadSync('run_bad'), /rejected/);

  // A write that fails (its path is taken by a directory) leaves the record unpersisted.
  await mkdir(store.pathOf('run_dir'));
  await assert.rejects(store.save('run_dir', makeRecord(1)));
  assert.equal(store.isPersisted('run_dir'), false, 'failed: the record must stay in memory');

  await store.save('run_b', makeRecord(4));
  const seen: string[] = [];
  for await (const { runId } of store.loadEach()) seen.push(runId);
  assert.deepEqual(seen, ['run_a', 'run_b', 'run_dir'], 'files in run_id order, the failed one from the unsaved-records note');
});
