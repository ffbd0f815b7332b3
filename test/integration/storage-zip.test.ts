/**
 * Streamed run ZIP through the real worker pool (`workers/zip.task.ts`): contents checked with
 * Info-ZIP `unzip` and with our own central-directory parser; flow control, transfer and
 * client disconnects checked from the main thread.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, mkdir, mkdtemp, open, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { createWorkerPool, type WorkerPool } from '../../src/pool/worker-pool.js';
import { listRunFiles } from '../../src/storage/run-files.js';
import { openZipStream, type ZipStream } from '../../src/storage/zip-stream.js';

interface CentralEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  crc: number;
}

/** Parses the end-of-central-directory record (ZIP64 locator aware) and every central header. */
function parseCentralDirectory(zip: Buffer): CentralEntry[] {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  assert.ok(eocd >= 0 && eocd >= zip.length - 22 - 0xffff, 'end of central directory record present');
  let count = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  if (offset === 0xffffffff || count === 0xffff) {
    const loc = eocd - 20;
    assert.equal(zip.readUInt32LE(loc), 0x07064b50, 'ZIP64 locator');
    const z64 = Number(zip.readBigUInt64LE(loc + 8));
    count = Number(zip.readBigUInt64LE(z64 + 32));
    offset = Number(zip.readBigUInt64LE(z64 + 48));
  }
  const entries: CentralEntry[] = [];
  for (let i = 0; i < count; i++) {
    assert.equal(zip.readUInt32LE(offset), 0x02014b50, 'central file header signature');
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    entries.push({
      method: zip.readUInt16LE(offset + 10),
      crc: zip.readUInt32LE(offset + 16),
      compressedSize: zip.readUInt32LE(offset + 20),
      size: zip.readUInt32LE(offset + 24),
      name: zip.subarray(offset + 46, offset + 46 + nameLength).toString('utf8'),
    });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** Paths of files inside `dir` that this process (any thread) holds open. */
async function openFilesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const fd of await readdir('/proc/self/fd')) {
    try {
      const target = await readlink(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir)) out.push(target);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

describe('streamed run ZIP', () => {
  let pool: WorkerPool;
  let root: string;
  let runDir: string;
  const contents = new Map<string, Buffer>();

  before(async () => {
    pool = createWorkerPool({ size: 2, idleTimeoutMs: 2000, logger: pino({ level: 'silent' }) });
    root = await mkdtemp(join(tmpdir(), 'beepbox-zip-'));
    runDir = join(root, 'runs/Demo/BatchA/2025-11-03T10-15-31Z');
    const files: Array<[string, Buffer]> = [
      ['Wells/slot01/CV/Demo_BatchA_2025-11-03_10-15-31Z_slot01_CV.csv', Buffer.from('Time (s),Potential (V)\r\n0.0,0.1\r\n'.repeat(20000))],
      ['Wells/slot01/CV/Demo_BatchA_2025-11-03_10-15-31Z_slot01_CV.png', randomBytes(3 * 1024 * 1024 + 17)],
      ['Wells/slot01/EIS/Demo_BatchA_2025-11-03_10-15-31Z_slot01_EIS.csv', Buffer.alloc(0)],
      ['Wells/slot01/EIS/nested/deeper/ü-name.bin', randomBytes(1000)],
      ['Wells/slot02/CV/Demo_BatchA_2025-11-03_10-15-31Z_slot02_CV.csv', Buffer.from('other well\r\n')],
      ['UPLOAD_DONE', Buffer.from('2025-11-03T10:20:00Z')],
    ];
    for (const [rel, data] of files) {
      await mkdir(join(runDir, rel, '..'), { recursive: true });
      await writeFile(join(runDir, rel), data);
      contents.set(rel, data);
    }
    await writeFile(join(root, 'outside.txt'), 'outside');
    await symlink(join(root, 'outside.txt'), join(runDir, 'Wells/slot01/CV/link.csv'));
  });

  after(async () => {
    await pool.destroy();
    await rm(root, { recursive: true, force: true });
  });

  test('ZIP of one run: its own slots and markers only, sorted, DEFLATE, bytes identical (unzip)', async () => {
    const files = await listRunFiles(runDir, ['slot01']);
    assert.deepEqual(files, [
      'UPLOAD_DONE',
      'Wells/slot01/CV/Demo_BatchA_2025-11-03_10-15-31Z_slot01_CV.csv',
      'Wells/slot01/CV/Demo_BatchA_2025-11-03_10-15-31Z_slot01_CV.png',
      'Wells/slot01/EIS/Demo_BatchA_2025-11-03_10-15-31Z_slot01_EIS.csv',
      'Wells/slot01/EIS/nested/deeper/ü-name.bin',
    ]);
    const stream = await openZipStream(pool, runDir, files);
    const zip = await buffer(stream);
    const result = await stream.result;
    assert.equal(result.entries, files.length);
    assert.equal(result.bytes, zip.length);
    assert.deepEqual(result.skipped, []);
    assert.equal(result.transferredChunks, result.chunks, 'every chunk buffer was transferred, not copied');
    assert.ok(result.chunks > 1);

    const entries = parseCentralDirectory(zip);
    assert.deepEqual(entries.map((e) => e.name), files, 'entry names = relative / paths, in sorted order');
    for (const e of entries) {
      // archiver (like Info-ZIP) stores empty files; everything with content is deflated.
      assert.equal(e.method, e.size === 0 ? 0 : 8, `${e.name} is DEFLATE`);
      assert.equal(e.size, contents.get(e.name)?.length);
    }
    const csv = entries[1] as CentralEntry;
    assert.ok(csv.compressedSize < csv.size / 10, 'CSV text is compressed');

    const zipPath = join(root, 'one.zip');
    await writeFile(zipPath, zip);
    execFileSync('unzip', ['-tq', zipPath]);
    const listed = execFileSync('unzip', ['-Z1', zipPath], { encoding: 'utf8' }).trim().split('\n');
    assert.deepEqual(listed, files);
    for (const name of files) {
      const extracted = execFileSync('unzip', ['-p', zipPath, name], { maxBuffer: 64 * 1024 * 1024 });
      assert.ok(extracted.equals(contents.get(name) as Buffer), `${name} byte-identical`);
    }
  });

  test('an empty run gives a valid empty ZIP', async () => {
    const empty = join(root, 'runs/Empty/ts');
    await mkdir(empty, { recursive: true });
    const files = await listRunFiles(empty, ['slot01']);
    assert.deepEqual(files, []);
    const stream = await openZipStream(pool, empty, files);
    const zip = await buffer(stream);
    assert.equal(zip.length, 22);
    assert.equal(zip.readUInt32LE(0), 0x06054b50);
    assert.deepEqual(parseCentralDirectory(zip), []);
    const zipPath = join(root, 'empty.zip');
    await writeFile(zipPath, zip);
    // Info-ZIP reads it as an empty archive (and exits 1 with a warning for that reason only).
    const info = spawnSync('zipinfo', ['-h', zipPath], { encoding: 'utf8' });
    assert.match(info.stdout, /Zip file size: 22 bytes, number of entries: 0/);
    assert.match(info.stdout + info.stderr, /Empty zipfile/);
    assert.doesNotMatch(info.stdout + info.stderr, /error|cannot find/i);
  });

  test('files that vanished before their turn are skipped, the archive stays valid', async () => {
    const files = ['UPLOAD_DONE', 'Wells/slot01/CV/gone.csv', 'Wells/slot02/CV/Demo_BatchA_2025-11-03_10-15-31Z_slot02_CV.csv'];
    const stream = await openZipStream(pool, runDir, files);
    const zip = await buffer(stream);
    assert.deepEqual((await stream.result).skipped, ['Wells/slot01/CV/gone.csv']);
    assert.deepEqual(parseCentralDirectory(zip).map((e) => e.name), [files[0], files[2]]);
  });

  test('symlinks and hardlinks handed to the task (or swapped in after listing) are skipped, never read', async () => {
    const cv = join(runDir, 'Wells/slot01/CV');
    await mkdir(join(root, 'outdir'), { recursive: true });
    await writeFile(join(root, 'outdir/secret.csv'), 'outside secret');
    await link(join(root, 'outside.txt'), join(cv, 'hard.csv'));
    await symlink(join(root, 'outdir'), join(runDir, 'Wells/slot01/linkdir'));
    const files = [
      'Wells/slot01/CV/link.csv', // symlink to a file outside
      'Wells/slot01/CV/hard.csv', // hardlink to a file outside
      'Wells/slot01/linkdir/secret.csv', // through a symlinked directory
      'Wells/slot02/CV/Demo_BatchA_2025-11-03_10-15-31Z_slot02_CV.csv',
    ];
    const stream = await openZipStream(pool, runDir, files);
    const zip = await buffer(stream);
    assert.deepEqual((await stream.result).skipped, files.slice(0, 3));
    assert.deepEqual(parseCentralDirectory(zip).map((e) => e.name), [files[3]]);
    assert.ok(!zip.includes(Buffer.from('outside')), 'no byte of an outside file');
    await rm(join(cv, 'hard.csv'));
    await rm(join(runDir, 'Wells/slot01/linkdir'));
  });

  test('a slow reader keeps at most the credit window in flight', async () => {
    const files = await listRunFiles(runDir, ['slot01']);
    const stream = await openZipStream(pool, runDir, files, { chunkBytes: 64 * 1024, windowChunks: 3, highWaterMark: 64 * 1024 });
    let total = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      total += chunk.length;
      await new Promise((r) => setTimeout(r, 15));
    }
    const result = await stream.result;
    assert.equal(total, result.bytes);
    assert.ok(result.chunks > 20, `many chunks (${result.chunks})`);
    assert.ok(result.maxInFlightChunks <= 3, `in flight ${result.maxInFlightChunks} ≤ window 3`);
    assert.equal(result.maxInFlightChunks, 3, 'the window was actually exhausted (the reader was the bottleneck)');
  });

  test('destroying the stream mid-way (client disconnect) stops the task and closes its file handles', async () => {
    const bigDir = join(root, 'runs/Big/ts');
    const big = 'Wells/slot01/CV/big.bin';
    await mkdir(join(bigDir, 'Wells/slot01/CV'), { recursive: true });
    await writeFile(join(bigDir, big), randomBytes(48 * 1024 * 1024));
    const stream: ZipStream = await openZipStream(pool, bigDir, [big], { chunkBytes: 64 * 1024, windowChunks: 2, highWaterMark: 64 * 1024 });
    const first = await new Promise<Buffer>((r) => stream.once('data', r));
    stream.pause();
    assert.equal(first.readUInt32LE(0), 0x04034b50, 'local file header first');
    assert.deepEqual(await openFilesUnder(bigDir), [join(bigDir, big)], 'the worker holds the file open while streaming');
    stream.destroy();
    const result = await stream.result;
    assert.equal(result.aborted, true);
    assert.ok(result.bytes < 16 * 1024 * 1024, `stopped early (${result.bytes} bytes of ~48 MiB)`);
    assert.ok(await waitFor(async () => (await openFilesUnder(bigDir)).length === 0, 2000), 'no file handle left open');
    // The pool thread is still usable afterwards.
    const again = await openZipStream(pool, runDir, ['UPLOAD_DONE']);
    assert.equal(parseCentralDirectory(await buffer(again)).length, 1);
  });

  test('a failure before the first byte rejects instead of producing a stream', async () => {
    const failing = { run: () => Promise.reject(new Error('pool is gone')) };
    await assert.rejects(openZipStream(failing, runDir, ['UPLOAD_DONE']), /pool is gone/);
    const missingTask = createWorkerPool({ size: 1, idleTimeoutMs: 100, logger: pino({ level: 'silent' }), workersDir: new URL(`file://${root}/`) });
    try {
      await assert.rejects(openZipStream(missingTask, runDir, ['UPLOAD_DONE']));
    } finally {
      await missingTask.destroy();
    }
  });

  // ~25 s of deflating zeros: opt-in with STORAGE_ZIP64=1.
  test('ZIP64: an entry above 4 GiB (sparse file)', { skip: process.env.STORAGE_ZIP64 !== '1' }, async () => {
    const dir = join(root, 'runs/Zip64/ts');
    await mkdir(join(dir, 'Wells/slot01/CV'), { recursive: true });
    const size = 4500 * 1024 * 1024;
    await writeFile(join(dir, 'Wells/slot01/CV/small.csv'), 'small\r\n');
    const handle = await open(join(dir, 'Wells/slot01/CV/big.csv'), 'w');
    await handle.truncate(size);
    await handle.close();
    const files = await listRunFiles(dir, ['slot01']);
    const zipPath = join(root, 'zip64.zip');
    const stream = await openZipStream(pool, dir, files);
    await pipeline(stream, createWriteStream(zipPath));
    execFileSync('unzip', ['-tq', zipPath]);
    const listing = execFileSync('unzip', ['-Zl', zipPath], { encoding: 'utf8' });
    assert.match(listing, new RegExp(`\\b${size}\\b.*defN.*Wells/slot01/CV/big\\.csv`));
    assert.equal(execFileSync('unzip', ['-p', zipPath, 'Wells/slot01/CV/small.csv'], { encoding: 'utf8' }), 'small\r\n');
    await rm(zipPath);
  });

  test('a file read while it grows is archived at its size when its turn came', async () => {
    const dir = join(root, 'runs/Growing/ts');
    const rel = 'Wells/slot01/CV/g.csv';
    await mkdir(join(dir, 'Wells/slot01/CV'), { recursive: true });
    await writeFile(join(dir, rel), 'a\r\n'.repeat(1000));
    const stream = await openZipStream(pool, dir, [rel]);
    const zip = await buffer(stream);
    const [entry] = parseCentralDirectory(zip);
    assert.equal(entry?.size, 3000);
    assert.equal((await readFile(join(dir, rel))).length, 3000);
  });
});
