/**
 * A job whose start fails after the engine created things (run folder, run index entry, job
 * record) takes back exactly what it created (#10): new folders are removed, a run folder shared
 * with another job stays, no index entry or record remains, the slots are free again. Units for
 * createRunFolder/removeCreatedFolders on a real file system.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createRunFolder, removeCreatedFolders } from '../../src/storage/run-folder.js';
import { RUN_INDEX_TMP_FILE } from '../../src/storage/run-index.js';
import { settled, startEngineHarness, type EngineHarness } from '../helpers/engine-harness.js';

const CV = { start: 0, vertex1: 0.05, vertex2: -0.05, end: 0, scan_rate: 1, cycles: 1 };

let h: EngineHarness;
before(async () => {
  h = await startEngineHarness({ slots: 2 });
});
after(async () => {
  await h.close();
});

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

test('createRunFolder reports the folders it made; removeCreatedFolders removes only those, only while empty', async (t) => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'beepbox-runfolder-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(path.join(root, 'Exp'));
  const created = await createRunFolder(path.join(root, 'Exp/Sub/ts'));
  assert.deepEqual(created, [path.join(root, 'Exp/Sub'), path.join(root, 'Exp/Sub/ts')]);
  assert.deepEqual(await createRunFolder(path.join(root, 'Exp/Sub/ts')), [], 'nothing new');
  // Something else wrote into the outer one meanwhile: the inner one goes, the outer one stays.
  await writeFile(path.join(root, 'Exp/Sub/other.txt'), 'x');
  await removeCreatedFolders(created);
  assert.equal(await exists(path.join(root, 'Exp/Sub/ts')), false);
  assert.equal(await exists(path.join(root, 'Exp/Sub/other.txt')), true);
  // Paths that cannot be made create nothing.
  await writeFile(path.join(root, 'Exp/file'), 'x');
  await assert.rejects(createRunFolder(path.join(root, 'Exp/file/x')), (err: NodeJS.ErrnoException) => err.code === 'ENOTDIR');
  await assert.rejects(createRunFolder(path.join(root, 'Exp/A/B', 'c'.repeat(300))), (err: NodeJS.ErrnoException) => err.code === 'ENAMETOOLONG');
  assert.equal(await exists(path.join(root, 'Exp/A')), false);
});

test('a start that fails after creating the run folder removes the new folders, the index entry and the record; the slots are free', async () => {
  const jobsDir = path.join(h.runsRoot, '.jobs');
  const before = new Set(await readdir(h.runsRoot));
  // The run index cannot be written: its temp file's name is taken by a directory.
  await mkdir(path.join(h.runsRoot, RUN_INDEX_TMP_FILE));
  try {
    await assert.rejects(
      h.submit({ modes: ['CV'], params_by_mode: { CV }, experiment_name: 'Refused', subdir: 'Deep', run_name: 'refused_1' }),
      (err: NodeJS.ErrnoException) => err.code === 'EISDIR',
    );
    assert.deepEqual((await readdir(h.runsRoot)).filter((n) => !before.has(n)), [RUN_INDEX_TMP_FILE], 'no run folder left behind');
    assert.equal(await exists(path.join(jobsDir, 'refused_1.json')), false, 'no job record');
    assert.equal(h.engine.job('refused_1'), undefined);
    assert.deepEqual(h.engine.busySlots, []);

    // A second job of an existing batch folder: the shared folder and its files stay.
    await rm(path.join(h.runsRoot, RUN_INDEX_TMP_FILE), { recursive: true });
    const first = await h.submit({ modes: ['CV'], params_by_mode: { CV }, devices: ['slot01'], experiment_name: 'Batch', client_datetime: '2026-02-02T00:00:00Z', run_name: 'batch_1' });
    await settled(first);
    assert.equal(first.record.status, 'done');
    await mkdir(path.join(h.runsRoot, RUN_INDEX_TMP_FILE));
    await assert.rejects(
      h.submit({ modes: ['CV'], params_by_mode: { CV }, devices: ['slot02'], experiment_name: 'Batch', client_datetime: '2026-02-02T00:00:00Z', run_name: 'batch_2' }),
      (err: NodeJS.ErrnoException) => err.code === 'EISDIR',
    );
    assert.equal(await exists(first.record.run_dir), true, 'the shared run folder stays');
    const files = first.record.slots[0]!.files;
    assert.ok(files.length > 0);
    for (const f of files) assert.equal(await exists(path.join(first.record.run_dir, f)), true, f);
    assert.equal(await exists(path.join(jobsDir, 'batch_2.json')), false);
    assert.equal(await exists(path.join(jobsDir, 'batch_1.json')), true);
    assert.deepEqual(h.engine.busySlots, []);
  } finally {
    await rm(path.join(h.runsRoot, RUN_INDEX_TMP_FILE), { recursive: true, force: true });
  }
  // Nothing was left reserved or half-made: the same names start now.
  const again = await h.submit({ modes: ['CV'], params_by_mode: { CV }, experiment_name: 'Refused', subdir: 'Deep', run_name: 'refused_1' });
  await settled(again);
  assert.equal(again.record.status, 'done');
});
