/** Run index `_run_paths.json` and the storage.exists check on a real filesystem. */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { DaemonError } from '../../src/errors.js';
import { RunIndex } from '../../src/storage/run-index.js';
import { assertNoExistingFiles, computeRunLayout, findExistingFiles } from '../../src/storage/run-layout.js';

async function makeRoot(t: TestContext): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'beepbox-index-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  return root;
}

function isRunNotFound(err: unknown): boolean {
  return err instanceof DaemonError && err.code === 'runs.not_found' && err.message === 'Run not found';
}

test('add/remove write a sorted, pretty-printed index atomically and delete it when empty', async (t) => {
  const root = await makeRoot(t);
  const index = await RunIndex.load(root);
  await mkdir(join(root, 'Demo/BatchA/ts'), { recursive: true });
  await Promise.all([index.add('run_b', join(root, 'Demo/BatchA/ts')), index.add('run_a', join(root, 'Demo/BatchA/ts')), index.add('run_c', '/srv/outside/run')]);
  const text = await readFile(join(root, '_run_paths.json'), 'utf8');
  assert.equal(text, '{\n  "run_a": "Demo/BatchA/ts",\n  "run_b": "Demo/BatchA/ts",\n  "run_c": "/srv/outside/run"\n}\n');
  assert.deepEqual(await readdir(root), ['Demo', '_run_paths.json'], 'no temp file left behind');
  assert.deepEqual(index.runIdsForDir(join(root, 'Demo/BatchA/ts')), ['run_a', 'run_b']);
  await index.remove(['run_a', 'run_c']);
  assert.deepEqual(JSON.parse(await readFile(join(root, '_run_paths.json'), 'utf8')), { run_b: 'Demo/BatchA/ts' });
  assert.deepEqual(await index.removeDir(join(root, 'Demo/BatchA/ts')), ['run_b']);
  assert.deepEqual(await readdir(root), ['Demo'], 'index file deleted with its last entry');
  await index.remove('unknown');
});

test('a burst of concurrent changes ends with the latest state on disk and the file never torn', async (t) => {
  const root = await makeRoot(t);
  const index = await RunIndex.load(root);
  let reading = true;
  let reads = 0;
  const reader = (async () => {
    while (reading) {
      try {
        const text = await readFile(join(root, '_run_paths.json'), 'utf8');
        JSON.parse(text); // throws on a torn file
        reads++;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  })();
  const ops: Promise<void>[] = [];
  for (let i = 0; i < 300; i++) {
    ops.push(index.add(`run_${String(i).padStart(3, '0')}`, join(root, `E/t${i % 7}`)));
    if (i % 3 === 0) ops.push(index.remove(`run_${String(i).padStart(3, '0')}`));
  }
  await Promise.all(ops);
  reading = false;
  await reader;
  const onDisk = JSON.parse(await readFile(join(root, '_run_paths.json'), 'utf8')) as Record<string, string>;
  assert.equal(Object.keys(onDisk).length, 200);
  assert.equal(onDisk.run_001, 'E/t1');
  assert.equal(onDisk.run_000, undefined);
  assert.deepEqual(Object.keys(onDisk), Object.keys(onDisk).sort());
  assert.ok(reads > 0);
  assert.deepEqual(index.entries().size, 200);
});

test('start-up load: missing and corrupt files count as empty; non-string entries ignored; missing dirs not cached', async (t) => {
  const root = await makeRoot(t);
  assert.equal((await RunIndex.load(root)).entries().size, 0);
  await writeFile(join(root, '_run_paths.json'), '{"a": "x/y", "trunc');
  const corrupt = await RunIndex.load(root);
  assert.equal(corrupt.entries().size, 0);
  await assert.rejects(corrupt.resolve('a'), isRunNotFound);

  await mkdir(join(root, 'Exp/present'), { recursive: true });
  await writeFile(
    join(root, '_run_paths.json'),
    JSON.stringify({ present: 'Exp/present', gone: 'Exp/gone', num: 5, obj: { p: 'Exp/present' }, nul: null }),
  );
  const index = await RunIndex.load(root);
  assert.deepEqual([...index.entries().keys()].sort(), ['gone', 'present']);
  assert.equal(index.has('gone'), true, 'an index entry keeps its run_id taken even when its directory is missing');
  assert.equal(await index.resolve('present'), join(root, 'Exp/present'));
  await assert.rejects(index.resolve('gone'), isRunNotFound);
  await assert.rejects(index.resolve('num'), isRunNotFound);
  // The directory appears later: step 2 (the index file) finds it.
  await mkdir(join(root, 'Exp/gone'), { recursive: true });
  assert.equal(await index.resolve('gone'), join(root, 'Exp/gone'));
});

test('resolve: cache, then the index file, then the legacy RUNS_ROOT/<run_id> for valid ids only', async (t) => {
  const root = await makeRoot(t);
  const outside = await makeRoot(t);
  const index = await RunIndex.load(root);
  await mkdir(join(root, 'E/ts'), { recursive: true });
  await index.add('r1', join(root, 'E/ts'));
  assert.equal(await index.resolve('r1'), join(root, 'E/ts'));

  // Cached directory removed → falls through to the file (same entry, still missing) → 404.
  await rm(join(root, 'E/ts'), { recursive: true });
  await assert.rejects(index.resolve('r1'), isRunNotFound);

  // An entry written by another process (or an older daemon) is found through the file.
  await mkdir(join(root, 'F/ts'), { recursive: true });
  await writeFile(join(root, '_run_paths.json'), JSON.stringify({ r1: 'E/ts', ext: 'F/ts', abs: outside }));
  assert.equal(await index.resolve('ext'), join(root, 'F/ts'));
  assert.equal(await index.resolve('abs'), outside);

  // Legacy fallback.
  await mkdir(join(root, 'legacy_run-1'));
  assert.equal(await index.resolve('legacy_run-1'), join(root, 'legacy_run-1'));
  await writeFile(join(root, 'plainfile'), 'x');
  await assert.rejects(index.resolve('plainfile'), isRunNotFound, 'a file is not a run directory');

  // Pattern guard: `..` would be the parent of RUNS_ROOT, `.` RUNS_ROOT itself, `.jobs` the job store.
  await mkdir(join(root, '.jobs'));
  for (const bad of ['..', '.', '.jobs', '../' + outside.split('/').pop(), 'E/ts', '', 'x'.repeat(129)]) {
    assert.equal(await index.lookup(bad), null, JSON.stringify(bad));
    await assert.rejects(index.resolve(bad), isRunNotFound);
  }
  await assert.rejects(index.add('../evil', root), TypeError);
});

test('storage.exists: the first existing target file of a job is reported before anything is reserved', async (t) => {
  const root = await makeRoot(t);
  const request = { experiment_name: 'Demo', subdir: 'BatchA', client_datetime: '2025-11-03T10:15:31Z' };
  const layout = computeRunLayout(root, request, { slots: ['slot01', 'slot02'], modes: ['CV', 'EIS'] });
  assert.equal(await findExistingFiles(layout, ['slot01', 'slot02'], ['CV', 'EIS']), null);
  await assertNoExistingFiles(layout, ['slot01'], ['CV']);

  const eis2 = layout.modeFiles('slot02', 'EIS');
  await mkdir(eis2.dir, { recursive: true });
  await writeFile(eis2.bodePng as string, 'png');
  await writeFile(eis2.csv, 'csv');
  // Another well of the same batch (slot01) is free to start.
  assert.equal(await findExistingFiles(layout, ['slot01'], ['CV', 'EIS']), null);
  assert.equal(await findExistingFiles(layout, ['slot01', 'slot02'], ['CV', 'EIS']), 'Wells/slot02/EIS/Demo_BatchA_2025-11-03_10-15-31Z_slot02_EIS.csv');
  await assert.rejects(assertNoExistingFiles(layout, ['slot02'], ['EIS']), (err: unknown) => {
    assert.ok(err instanceof DaemonError);
    assert.equal(err.code, 'storage.exists');
    assert.equal(err.message, 'Run data already exists: Wells/slot02/EIS/Demo_BatchA_2025-11-03_10-15-31Z_slot02_EIS.csv');
    return true;
  });
});

test('prototype keys as run_ids (__proto__, constructor, toString, ...) are written, reloaded and resolved (#10)', async (t) => {
  const root = await makeRoot(t);
  const index = await RunIndex.load(root);
  const ids = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'prototype', 'normal'];
  for (const [i, id] of ids.entries()) {
    await mkdir(join(root, `E/t${i}`), { recursive: true });
    await index.add(id, join(root, `E/t${i}`));
  }
  const onDisk = JSON.parse(await readFile(join(root, '_run_paths.json'), 'utf8')) as object;
  assert.deepEqual(Object.keys(onDisk), [...ids].sort(), 'every key is in the file');
  const reloaded = await RunIndex.load(root);
  for (const [i, id] of ids.entries()) {
    assert.equal(reloaded.has(id), true, id);
    assert.equal(await reloaded.resolve(id), join(root, `E/t${i}`), id);
  }
  await reloaded.remove('__proto__');
  assert.deepEqual(Object.keys(JSON.parse(await readFile(join(root, '_run_paths.json'), 'utf8')) as object), ids.filter((i) => i !== '__proto__').sort());
  // Not in the index: a prototype key is not found (no inherited member taken for an entry).
  assert.equal(reloaded.has('__proto__'), false);
  assert.equal(await reloaded.lookup('__proto__'), null);
});

test('a symlink never leads a run lookup out of RUNS_ROOT: legacy symlinks, symlinked folders of index entries', async (t) => {
  const base = await makeRoot(t);
  const root = join(base, 'runs');
  const outside = join(base, 'outside');
  await mkdir(join(outside, 'Wells/slot01'), { recursive: true });
  await mkdir(root);
  const index = await RunIndex.load(root);

  // A symlink placed directly in RUNS_ROOT, named like a run_id: the legacy fallback does not follow it.
  await symlink(outside, join(root, 'legacy_link'));
  assert.equal(await index.lookup('legacy_link'), null);
  await assert.rejects(index.resolve('legacy_link'), isRunNotFound);
  // Not even when it points at a directory inside RUNS_ROOT (the legacy layout has no symlinks).
  await mkdir(join(root, 'real_run'));
  await symlink(join(root, 'real_run'), join(root, 'inner_link'));
  assert.equal(await index.lookup('inner_link'), null);
  assert.equal(await index.lookup('real_run'), join(root, 'real_run'));

  // An index entry whose experiment folder is a symlink out of RUNS_ROOT.
  await symlink(outside, join(root, 'Exp'));
  await writeFile(join(root, '_run_paths.json'), JSON.stringify({ via_link: 'Exp', via_link_below: 'Exp/Wells', root_itself: '.', parent: '..', up_and_in: '../runs/real_run', up_out: '../outside' }));
  for (const id of ['via_link', 'via_link_below', 'root_itself', 'parent', 'up_out']) assert.equal(await index.lookup(id), null, id);
  assert.equal(await index.lookup('up_and_in'), join(root, 'real_run'), 'a value that comes back inside RUNS_ROOT is inside');
  assert.equal(await index.leadsOutOfRoot(join(root, 'Exp/Wells')), true);
  assert.equal(await index.leadsOutOfRoot(join(root, 'real_run')), false);
  assert.equal(await index.leadsOutOfRoot(join(root, 'missing/dir')), false, 'nothing to follow');

  // A symlinked folder that stays inside RUNS_ROOT is fine for an index entry.
  await mkdir(join(root, 'Store/ts'), { recursive: true });
  await symlink(join(root, 'Store'), join(root, 'Alias'));
  await writeFile(join(root, '_run_paths.json'), JSON.stringify({ alias: 'Alias/ts' }));
  assert.equal(await index.lookup('alias'), join(root, 'Alias/ts'));

  // A cached entry whose folder was swapped for a symlink out is dropped.
  await mkdir(join(root, 'Swap/ts'), { recursive: true });
  await index.add('swapped', join(root, 'Swap/ts'));
  assert.equal(await index.lookup('swapped'), join(root, 'Swap/ts'));
  await rm(join(root, 'Swap'), { recursive: true });
  await symlink(outside, join(root, 'Swap'));
  await mkdir(join(outside, 'ts'));
  assert.equal(await index.lookup('swapped'), null);
});
