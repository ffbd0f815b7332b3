/** run.json writer: one document per run folder, one entry per job, others' entries kept, memory released. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { RunMetadataFiles } from '../../../src/storage/run-metadata-file.js';

interface Entry {
  run_id: string;
  created_at: string;
  status: string;
}

const dirs: string[] = [];
after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'beepbox-runjson-'));
  dirs.push(d);
  return d;
}

const read = async (dir: string) => JSON.parse(await readFile(path.join(dir, 'run.json'), 'utf8')) as { schema: string; jobs: Entry[] };

test('jobs sharing a folder each keep their entry; entries of an earlier daemon are kept', async () => {
  const dir = await tempDir();
  await writeFile(path.join(dir, 'run.json'), JSON.stringify({ schema: 's', jobs: [{ run_id: 'old', created_at: '2026-01-01T00:00:00Z', status: 'done' }] }));
  const files = new RunMetadataFiles<Entry>(() => ({ schema: 's' }));
  const a: Entry = { run_id: 'a', created_at: '2026-02-01T00:00:00Z', status: 'running' };
  const b: Entry = { run_id: 'b', created_at: '2026-02-01T00:00:01Z', status: 'running' };
  await Promise.all([files.update(dir, a), files.update(dir, b)]);
  assert.deepEqual((await read(dir)).jobs.map((j) => j.run_id), ['old', 'a', 'b']);
  a.status = 'done';
  await files.update(dir, a);
  await files.release(dir, 'a');
  const doc = await read(dir);
  assert.deepEqual(doc.jobs.map((j) => `${j.run_id}:${j.status}`), ['old:done', 'a:done', 'b:running']);
  assert.equal(doc.schema, 's');
  // No temp file left behind by the atomic writes.
  assert.deepEqual((await readdir(dir)).sort(), ['run.json']);
});

test('updates while a write is in flight are coalesced and none is lost', async () => {
  const dir = await tempDir();
  const files = new RunMetadataFiles<Entry>(() => ({ schema: 's' }));
  const e: Entry = { run_id: 'x', created_at: '2026-03-01T00:00:00Z', status: 's0' };
  const writes: Promise<void>[] = [];
  for (let k = 1; k <= 50; k++) {
    e.status = `s${k}`;
    writes.push(files.update(dir, e));
  }
  await Promise.all(writes);
  assert.equal((await read(dir)).jobs[0]!.status, 's50');
});

test('a folder with no live job is forgotten: the next job there reads the file again', async () => {
  const dir = await tempDir();
  const files = new RunMetadataFiles<Entry>(() => ({ schema: 's' }));
  await files.update(dir, { run_id: 'a', created_at: '1', status: 'done' });
  await files.release(dir, 'a');
  // Another writer (an earlier daemon, a restore) changed the file meanwhile.
  await writeFile(path.join(dir, 'run.json'), JSON.stringify({ jobs: [{ run_id: 'a', created_at: '1', status: 'edited' }] }));
  await files.update(dir, { run_id: 'b', created_at: '2', status: 'running' });
  assert.deepEqual((await read(dir)).jobs.map((j) => `${j.run_id}:${j.status}`), ['a:edited', 'b:running']);
});

test('a failed write reaches its caller and later writes still happen', async () => {
  const dir = path.join(await tempDir(), 'missing');
  const files = new RunMetadataFiles<Entry>(() => ({ schema: 's' }));
  await assert.rejects(files.update(dir, { run_id: 'a', created_at: '1', status: 'x' }), /ENOENT/);
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir);
  await files.update(dir, { run_id: 'a', created_at: '1', status: 'y' });
  assert.equal((await read(dir)).jobs[0]!.status, 'y');
});
