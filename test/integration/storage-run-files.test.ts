/** Listing and single-file download safety (rest-api 6.5, 6.6) on a real filesystem. */
import assert from 'node:assert/strict';
import { link, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { test, type TestContext } from 'node:test';
import { DaemonError } from '../../src/errors.js';
import { listRunFiles, openRunFile, resolveRunFile } from '../../src/storage/run-files.js';
import { computeRunLayout } from '../../src/storage/run-layout.js';

interface Fixture {
  root: string;
  outside: string;
  runDir: string;
  prefix: string;
}

/** Two runs of one GUI batch sharing a run directory: run A owns slot01, run B owns slot02 and slot03. */
async function makeSharedRun(t: TestContext): Promise<Fixture> {
  const root = await mkdtemp(join(tmpdir(), 'beepbox-files-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const outside = join(root, 'outside');
  await mkdir(outside);
  await writeFile(join(outside, 'secret.txt'), 'secret');
  const runsRoot = join(root, 'runs');
  const layout = computeRunLayout(runsRoot, { experiment_name: 'Demo', subdir: 'BatchA', client_datetime: '2025-11-03T10:15:31Z' });
  for (const [slot, modes] of [['slot01', ['CV', 'EIS']], ['slot02', ['CV']], ['slot03', []]] as const) {
    for (const mode of modes) {
      const files = layout.modeFiles(slot, mode);
      await mkdir(files.dir, { recursive: true });
      await writeFile(files.csv, `csv ${slot} ${mode}\r\n`);
      await writeFile(files.png, `png ${slot} ${mode}`);
    }
  }
  await mkdir(join(layout.runDir, 'Wells/slot03'), { recursive: true });
  await writeFile(join(layout.runDir, 'UPLOAD_DONE'), '2025-11-03T10:20:00Z');
  await writeFile(join(layout.runDir, 'notes.txt'), 'not owned by any run');
  return { root, outside, runDir: layout.runDir, prefix: layout.names.prefix };
}

function isFileNotFound(err: unknown): boolean {
  return err instanceof DaemonError && err.code === 'runs.file_not_found' && err.message === 'File not found';
}

test('two runs sharing one directory list only their own slots (plus markers), sorted', async (t) => {
  const f = await makeSharedRun(t);
  const p = f.prefix;
  assert.deepEqual(await listRunFiles(f.runDir, ['slot01']), [
    'UPLOAD_DONE',
    `Wells/slot01/CV/${p}_slot01_CV.csv`,
    `Wells/slot01/CV/${p}_slot01_CV.png`,
    `Wells/slot01/EIS/${p}_slot01_EIS.csv`,
    `Wells/slot01/EIS/${p}_slot01_EIS.png`,
  ]);
  assert.deepEqual(await listRunFiles(f.runDir, ['slot02', 'slot03']), ['UPLOAD_DONE', `Wells/slot02/CV/${p}_slot02_CV.csv`, `Wells/slot02/CV/${p}_slot02_CV.png`]);
  assert.deepEqual(await listRunFiles(f.runDir, ['slot09']), ['UPLOAD_DONE']);
  // Unusable slot names own nothing (and never reach outside Wells/).
  assert.deepEqual(await listRunFiles(f.runDir, ['..', '.', '', 'a/b', '///']), ['UPLOAD_DONE']);
  assert.deepEqual(await listRunFiles(join(f.root, 'missing'), ['slot01']), []);
});

test('legacy runs: folder names found on disk are used as they are', async (t) => {
  const f = await makeSharedRun(t);
  await mkdir(join(f.runDir, 'Wells/well A1'), { recursive: true });
  await writeFile(join(f.runDir, 'Wells/well A1/data.csv'), 'x');
  assert.deepEqual(await listRunFiles(f.runDir, ['well A1']), ['UPLOAD_DONE', 'Wells/well A1/data.csv']);
  const file = await resolveRunFile(f.runDir, ['well A1'], 'Wells/well A1/data.csv');
  assert.equal(file.size, 1);
});

test('listing does not follow or list symlinks, and lists nested regular files', async (t) => {
  const f = await makeSharedRun(t);
  const cv = join(f.runDir, 'Wells/slot01/CV');
  await symlink(join(f.outside, 'secret.txt'), join(cv, 'escape.csv'));
  await symlink(f.outside, join(cv, 'escape_dir'));
  await symlink(join(cv, `${f.prefix}_slot01_CV.csv`), join(cv, 'inside_link.csv'));
  await mkdir(join(cv, 'deep/er'), { recursive: true });
  await writeFile(join(cv, 'deep/er/x.bin'), 'x');
  await writeFile(join(f.runDir, 'upload_failed'), 'rsync rc=1');
  // A slot folder that is itself a symlink is not walked.
  await symlink(join(f.runDir, 'Wells/slot01'), join(f.runDir, 'Wells/slot07'));
  const files = await listRunFiles(f.runDir, ['slot01', 'slot07']);
  assert.ok(files.includes('Wells/slot01/CV/deep/er/x.bin'));
  assert.ok(files.includes('upload_failed'));
  assert.equal(files.some((x) => x.includes('escape') || x.includes('inside_link') || x.startsWith('Wells/slot07')), false);
  assert.deepEqual(files, [...files].sort());
});

test('download: traversal, absolute, NUL, other slots, directories, missing and escaping symlinks are all runs.file_not_found', async (t) => {
  const f = await makeSharedRun(t);
  const cv = join(f.runDir, 'Wells/slot01/CV');
  await symlink(join(f.outside, 'secret.txt'), join(cv, 'escape.csv'));
  await symlink('../../../../../../../outside/secret.txt', join(cv, 'escape_relative.csv'));
  await symlink(f.outside, join(f.runDir, 'Wells/slot01/linkdir'));
  await symlink(join(f.runDir, 'Wells/slot01/nowhere'), join(cv, 'dangling.csv'));
  // Make sure the relative escape really resolves to the outside file (not a dangling link).
  assert.equal(await readFile(join(cv, 'escape_relative.csv'), 'utf8'), 'secret');
  const slots = ['slot01'];
  const refused = [
    '',
    '../x',
    '../outside/secret.txt',
    '../../outside/secret.txt',
    '../../../outside/secret.txt',
    'Wells/../../../../outside/secret.txt',
    '%2e%2e/%2e%2e/outside/secret.txt', // already-decoded form arrives literally: no such file
    '..%2f..%2foutside%2fsecret.txt',
    'Wells/slot01/..%2f..%2f..%2foutside%2fsecret.txt',
    '....//....//outside/secret.txt',
    join(f.outside, 'secret.txt'), // absolute
    '/etc/passwd',
    `Wells/slot01/CV/${f.prefix}_slot01_CV.csv\0.png`,
    'Wells/slot01/CV/\0',
    `Wells/slot02/CV/${f.prefix}_slot02_CV.csv`, // another run's well
    `Wells/slot01/../slot02/CV/${f.prefix}_slot02_CV.csv`,
    'notes.txt', // in the shared directory, but owned by no run
    'Wells/slot01/CV', // directory
    'Wells/slot01/CV/',
    'Wells/slot01',
    'Wells/slot01/CV/missing.csv',
    'Wells/slot01/CV/escape.csv', // symlink to outside (absolute target)
    'Wells/slot01/CV/escape_relative.csv', // symlink to outside (relative target)
    'Wells/slot01/linkdir/secret.txt', // through a symlinked directory
    'Wells/slot01/CV/dangling.csv',
  ];
  for (const path of refused) {
    await assert.rejects(resolveRunFile(f.runDir, slots, path), isFileNotFound, JSON.stringify(path));
    await assert.rejects(openRunFile(f.runDir, slots, path), isFileNotFound, JSON.stringify(path));
  }
});

test('download: own files, markers and symlinks whose target stays inside are served', async (t) => {
  const f = await makeSharedRun(t);
  const cv = join(f.runDir, 'Wells/slot01/CV');
  const csvName = `${f.prefix}_slot01_CV.csv`;
  await symlink(csvName, join(cv, 'alias.csv'));
  await symlink(join(f.runDir, 'notes.txt'), join(cv, 'notes_link.txt'));

  const csv = await resolveRunFile(f.runDir, ['slot01'], `Wells/slot01/CV/${csvName}`);
  assert.equal(csv.size, Buffer.byteLength('csv slot01 CV\r\n'));
  assert.equal(csv.name, csvName);
  assert.equal(csv.absPath, join(cv, csvName));

  const png = await openRunFile(f.runDir, ['slot01'], `./Wells/slot01/EIS/../CV/${f.prefix}_slot01_CV.png`);
  assert.equal(await text(png.stream), 'png slot01 CV');

  const alias = await openRunFile(f.runDir, ['slot01'], 'Wells/slot01/CV/alias.csv');
  assert.equal(alias.name, 'alias.csv');
  assert.equal(alias.absPath, join(cv, csvName));
  assert.equal(await text(alias.stream), 'csv slot01 CV\r\n');

  // Real target inside the run directory (rest-api 6.6), even though outside the run's own wells.
  const notes = await openRunFile(f.runDir, ['slot01'], 'Wells/slot01/CV/notes_link.txt');
  assert.equal(await text(notes.stream), 'not owned by any run');

  const marker = await openRunFile(f.runDir, ['slot01'], 'UPLOAD_DONE');
  assert.equal(await text(marker.stream), '2025-11-03T10:20:00Z');

  await writeFile(join(cv, 'empty.csv'), '');
  const empty = await openRunFile(f.runDir, ['slot01'], 'Wells/slot01/CV/empty.csv');
  assert.equal(empty.size, 0);
  assert.equal(await text(empty.stream), '');
});

test('a download stream is bounded by the size at open time (a CSV still growing)', async (t) => {
  const f = await makeSharedRun(t);
  const path = `Wells/slot01/CV/${f.prefix}_slot01_CV.csv`;
  const opened = await openRunFile(f.runDir, ['slot01'], path);
  await writeFile(join(f.runDir, path), 'csv slot01 CV\r\nmore rows appended later\r\n');
  const body = await text(opened.stream);
  assert.equal(Buffer.byteLength(body), opened.size);
});

test('hardlinks are neither listed nor served, wherever the other name is; a FIFO is not served', async (t) => {
  const f = await makeSharedRun(t);
  const cv = join(f.runDir, 'Wells/slot01/CV');
  await link(join(f.outside, 'secret.txt'), join(cv, 'hardlink_out.csv')); // other name outside the run
  await link(join(f.runDir, 'notes.txt'), join(cv, 'hardlink_in.txt')); // other name inside the run
  await link(join(f.outside, 'secret.txt'), join(f.runDir, 'upload_failed')); // a marker that is a hardlink
  const { execFileSync } = await import('node:child_process');
  execFileSync('mkfifo', [join(cv, 'fifo.csv')]);
  const listed = await listRunFiles(f.runDir, ['slot01']);
  for (const name of ['hardlink_out.csv', 'hardlink_in.txt', 'fifo.csv']) assert.ok(!listed.some((p) => p.endsWith(name)), name);
  assert.ok(!listed.includes('upload_failed'));
  assert.ok(listed.includes('UPLOAD_DONE'));
  for (const path of ['Wells/slot01/CV/hardlink_out.csv', 'Wells/slot01/CV/hardlink_in.txt', 'upload_failed', 'Wells/slot01/CV/fifo.csv']) {
    await assert.rejects(openRunFile(f.runDir, ['slot01'], path), isFileNotFound, path);
  }
  // Once the other name is gone the file has one name again, and is the run's.
  await rm(join(f.runDir, 'notes.txt'));
  assert.equal(await text((await openRunFile(f.runDir, ['slot01'], 'Wells/slot01/CV/hardlink_in.txt')).stream), 'not owned by any run');
});
