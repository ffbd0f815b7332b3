/**
 * The mount transport's rsync + verify + marker path, with a local directory standing in for the
 * mounted share: `mount`/`umount` are replaced by no-ops that only record their argv; rsync runs
 * for real. Also the `auto` fallback when the mount is refused.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { runCommand, type CommandResult, type RunCommand } from '../../src/nas/command.js';
import { UPLOAD_DONE_MARKER, UPLOAD_FAILED_MARKER } from '../../src/nas/local-files.js';
import { NasService, type NasServiceOptions, type UploadState } from '../../src/nas/nas-service.js';

const rsyncMissing = await fs
  .access('/usr/bin/rsync')
  .then(() => false)
  .catch(() => 'rsync not installed (Debian package "rsync")');

function ok(stdout = ''): CommandResult {
  return { code: 0, signal: null, stdout, stderr: '', timedOut: false, aborted: false, error: null };
}

interface Harness {
  root: string;
  runsRoot: string;
  mountRoot: string;
  svc: NasService;
  calls: string[][];
  logs: string[];
  password: string;
}

/**
 * A service whose `mount` and `umount` are no-ops over a plain directory (recorded in `calls`).
 * `rsyncHook` may replace or post-process the real rsync.
 */
async function makeHarness(
  t: TestContext,
  options: {
    rsyncHook?: (args: readonly string[], real: () => Promise<CommandResult>) => Promise<CommandResult>;
    mountResult?: CommandResult;
    extra?: Partial<NasServiceOptions>;
  } = {},
): Promise<Harness> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'beepbox-nas-mount-'));
  const runsRoot = path.join(root, 'runs');
  const mountRoot = path.join(root, 'mnt');
  await fs.mkdir(runsRoot);
  const calls: string[][] = [];
  const mounted = new Set<string>();
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _e, cb) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const fakeRun: RunCommand = async (file, args, opts) => {
    calls.push([file, ...args]);
    if (file === 'mount') {
      const result = options.mountResult ?? ok();
      if (result.code === 0) mounted.add(args[3] as string);
      return result;
    }
    if (file === 'umount') {
      mounted.delete(args[1] as string);
      return ok();
    }
    if (file === 'rsync' && options.rsyncHook) return options.rsyncHook(args, () => runCommand(file, args, opts));
    return runCommand(file, args, opts);
  };
  const svc = new NasService({
    logger: pino({ level: 'debug' }, stream),
    runsRoot,
    configPath: path.join(root, 'box', 'nas_smb.json'),
    credentialsPath: path.join(root, 'box', '.smbcredentials_nas'),
    mountRoot,
    retryBaseDelayMs: 60_000,
    runCommand: fakeRun,
    isMountPoint: async (dir) => mounted.has(dir),
    ...options.extra,
  });
  await svc.start();
  t.after(async () => {
    await svc.close();
    await fs.rm(root, { recursive: true, force: true });
  });
  return { root, runsRoot, mountRoot, svc, calls, logs, password: `Sekret-${randomBytes(6).toString('hex')}` };
}

async function writeRun(runDir: string, sizes: Record<string, number>): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {};
  for (const [rel, size] of Object.entries(sizes)) {
    const file = path.join(runDir, ...rel.split('/'));
    await fs.mkdir(path.dirname(file), { recursive: true });
    out[rel] = randomBytes(size);
    await fs.writeFile(file, out[rel]);
  }
  return out;
}

async function waitForSettled(svc: NasService, runDir: string): Promise<UploadState> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const s = await svc.uploadState(runDir);
    if (s.state === 'done' || s.state === 'failed') return s;
    if (Date.now() > deadline) throw new Error(`upload did not settle: ${JSON.stringify(s)}`);
    await sleep(20);
  }
}

const setupBody = (password: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  host: 'nas.local',
  share: 'experiments',
  username: 'lab',
  password,
  base_subdir: 'Box01',
  transport: 'mount',
  ...extra,
});

describe('mount transport over a stand-in mount point', { skip: rsyncMissing }, () => {
  it('setup mounts read-write, health read-only, always unmounted; no password on any command line', async (t) => {
    const h = await makeHarness(t);
    assert.deepEqual(await h.svc.setup(setupBody(h.password)), { ok: true, message: 'ok' });
    const health = await h.svc.health();
    assert.equal(health.ok, true, health.message);
    assert.equal(health.transport, 'mount');

    const mp = path.join(h.mountRoot, 'health');
    const cred = path.join(h.root, 'box', '.smbcredentials_nas');
    const opts = (mode: string): string =>
      `credentials=${cred},vers=3.0,iocharset=utf8,uid=${process.getuid?.() ?? 0},gid=${process.getgid?.() ?? 0},file_mode=0644,dir_mode=0755,noserverino,port=445,${mode}`;
    assert.deepEqual(h.calls, [
      ['mount', '-t', 'cifs', '//nas.local/experiments', mp, '-o', opts('rw')],
      ['umount', '-l', mp],
      ['mount', '-t', 'cifs', '//nas.local/experiments', mp, '-o', opts('ro')],
      ['umount', '-l', mp],
    ]);
    assert.ok((await fs.stat(path.join(mp, 'Box01'))).isDirectory(), 'setup created the base folder');
    for (const argv of h.calls) assert.ok(!argv.some((a) => a.includes(h.password)));
    for (const line of h.logs) assert.ok(!line.includes(h.password));
  });

  it('health reports a missing base folder', async (t) => {
    const h = await makeHarness(t);
    await h.svc.setup(setupBody(h.password));
    await fs.rm(path.join(h.mountRoot, 'health', 'Box01'), { recursive: true });
    const health = await h.svc.health();
    assert.equal(health.ok, false);
    assert.equal(health.message, `base path not present: ${path.join(h.mountRoot, 'health', 'Box01')}`);
  });

  it('rsyncs the run, verifies it, writes UPLOAD_DONE and unmounts', async (t) => {
    const h = await makeHarness(t);
    await h.svc.setup(setupBody(h.password));
    const rel = 'Demo/BatchA/2025-11-03T10-15-31Z';
    const runDir = path.join(h.runsRoot, ...rel.split('/'));
    const files = await writeRun(runDir, {
      'Wells/slot01/CV/Demo_BatchA_2025-11-03_10-15-31Z_slot01_CV.csv': 200_000,
      'Wells/slot01/CV/Demo_BatchA_2025-11-03_10-15-31Z_slot01_CV.png': 1_200_000,
      'Wells/slot02/EIS/e.csv': 0,
    });
    await fs.writeFile(path.join(runDir, UPLOAD_FAILED_MARKER), 'stale');
    h.calls.length = 0;

    assert.deepEqual(h.svc.enqueueUpload('run_1', runDir), { enqueued: true });
    const state = await waitForSettled(h.svc, runDir);
    assert.equal(state.state, 'done', state.message ?? '');

    const mp = path.join(h.mountRoot, 'upload');
    const dest = path.join(mp, 'Box01', ...rel.split('/'));
    assert.deepEqual(
      h.calls.map((c) => c[0]),
      ['mount', 'rsync', 'umount'],
    );
    assert.equal(h.calls[0]?.[4], mp);
    assert.match(h.calls[0]?.[6] ?? '', /,rw$/);
    assert.deepEqual(h.calls[1], ['rsync', '-a', '--partial', '--exclude=/UPLOAD_DONE', '--exclude=/upload_failed', `${runDir}/`, `${dest}/`]);
    assert.deepEqual(h.calls[2], ['umount', '-l', mp]);

    for (const [f, data] of Object.entries(files)) {
      assert.ok((await fs.readFile(path.join(dest, ...f.split('/')))).equals(data), f);
    }
    await assert.rejects(fs.access(path.join(dest, UPLOAD_FAILED_MARKER)), 'markers are not uploaded');
    await assert.rejects(fs.access(path.join(runDir, UPLOAD_FAILED_MARKER)), 'stale failure marker removed');
    const marker = await fs.readFile(path.join(runDir, UPLOAD_DONE_MARKER), 'utf8');
    assert.match(marker, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it('a file that did not arrive complete fails verification: upload_failed, no UPLOAD_DONE', async (t) => {
    const h = await makeHarness(t, {
      rsyncHook: async (args, real) => {
        const result = await real();
        // Simulate a truncated remote copy that rsync did not report.
        const dest = (args.at(-1) as string).replace(/\/$/, '');
        await fs.truncate(path.join(dest, 'Wells', 'slot01', 'CV', 'b.csv'), 10);
        return result;
      },
    });
    await h.svc.setup(setupBody(h.password));
    const runDir = path.join(h.runsRoot, 'V', '2025-11-03T10-15-31Z');
    await writeRun(runDir, { 'Wells/slot01/CV/a.csv': 100, 'Wells/slot01/CV/b.csv': 5000 });
    h.svc.enqueueUpload('run_v', runDir);
    const state = await waitForSettled(h.svc, runDir);
    assert.equal(state.state, 'failed');
    assert.equal(state.message, 'verify mismatch: 1 files missing or different, first: Wells/slot01/CV/b.csv');
    assert.equal(await fs.readFile(path.join(runDir, UPLOAD_FAILED_MARKER), 'utf8'), state.message);
    await assert.rejects(fs.access(path.join(runDir, UPLOAD_DONE_MARKER)));
    assert.ok(state.next_retry_at !== null, 'a retry is scheduled');
    assert.deepEqual(
      h.calls.filter((c) => c[0] === 'mount' || c[0] === 'umount').map((c) => c[0]).slice(-2),
      ['mount', 'umount'],
      'unmounted after the failure',
    );
  });

  it('rsync failure: reason carries rc and trimmed stderr with the password scrubbed', async (t) => {
    let password = '';
    const h = await makeHarness(t, {
      rsyncHook: async () => ({
        code: 23,
        signal: null,
        stdout: '',
        stderr: `  rsync: some files could not be transferred (secret ${password})\n\n`,
        timedOut: false,
        aborted: false,
        error: null,
      }),
    });
    password = h.password;
    await h.svc.setup(setupBody(h.password));
    const runDir = path.join(h.runsRoot, 'R', '2025-11-03T10-15-31Z');
    await writeRun(runDir, { 'Wells/slot01/CV/a.csv': 100 });
    h.svc.enqueueUpload('run_r', runDir);
    const state = await waitForSettled(h.svc, runDir);
    assert.equal(state.message, 'rsync rc=23, err=rsync: some files could not be transferred (secret ***)');
    const marker = await fs.readFile(path.join(runDir, UPLOAD_FAILED_MARKER), 'utf8');
    assert.ok(!marker.includes(h.password));
    for (const line of h.logs) assert.ok(!line.includes(h.password), line);
  });

  it('auto falls back to smbclient when the mount is not permitted', async (t) => {
    const h = await makeHarness(t, {
      mountResult: {
        code: 32,
        signal: null,
        stdout: '',
        stderr: 'mount error(1): Operation not permitted\n',
        timedOut: false,
        aborted: false,
        error: null,
      },
      extra: {
        collectMountSupport: async () => ({
          platform: 'linux',
          uid: 0,
          procFilesystems: 'nodev\tcifs\n',
          cifsModuleAvailable: true,
          mountCifsAvailable: true,
          rsyncAvailable: true,
        }),
        // Nothing listens here: the smbclient probe fails, but it must be smbclient that ran.
        commandTimeoutMs: 10_000,
      },
    });
    const res = await h.svc.setup(setupBody(h.password, { transport: 'auto', host: '127.0.0.1', port: 1 }));
    assert.equal(res.ok, false);
    assert.match(res.message, /^probe error: /);
    assert.deepEqual(
      h.calls.map((c) => c[0]),
      ['mount', 'smbclient'],
    );
    const health = await h.svc.health();
    assert.equal(health.transport, 'smbclient');
    assert.deepEqual(h.calls.at(-1)?.slice(0, 2), ['smbclient', '//127.0.0.1/experiments']);
  });

  it('a login refused by mount (EACCES) is reported, not worked around', async (t) => {
    const h = await makeHarness(t, {
      mountResult: {
        code: 32,
        signal: null,
        stdout: '',
        stderr: 'mount error(13): Permission denied\nRefer to the mount.cifs(8) manual page\n',
        timedOut: false,
        aborted: false,
        error: null,
      },
      extra: {
        collectMountSupport: async () => ({
          platform: 'linux',
          uid: 0,
          procFilesystems: 'nodev\tcifs\n',
          cifsModuleAvailable: true,
          mountCifsAvailable: true,
          rsyncAvailable: true,
        }),
      },
    });
    const res = await h.svc.setup(setupBody(h.password, { transport: 'auto' }));
    assert.deepEqual(res, {
      ok: false,
      message: 'probe error: mount failed rc=32 err=mount error(13): Permission denied; Refer to the mount.cifs(8) manual page',
    });
    assert.equal((await h.svc.health()).transport, 'mount');
  });
});
