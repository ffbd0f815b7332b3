/**
 * NasService against a real Samba server: a throw-away `smbd` on a loopback port with its own
 * config, state and user (tdbsam). Skips only when smbd/smbclient are not installed or the test
 * cannot create the unix user smbd needs.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { runCommand, type RunCommand } from '../../src/nas/command.js';
import { freePort, portAccepts, run, SHARE, Smbd, SMB_USER, smbPrograms, smbSkipReason } from '../helpers/smbd.js';
import { NasService, type NasServiceOptions } from '../../src/nas/nas-service.js';
import { UPLOAD_DONE_MARKER, UPLOAD_FAILED_MARKER } from '../../src/nas/local-files.js';

const BASE_SUBDIR = 'Box01/incoming';

// ---- helpers -----------------------------------------------------------------------------

interface LogCapture {
  lines: string[];
  stream: Writable;
}

function captureLogs(): LogCapture {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l !== '') lines.push(l);
      cb();
    },
  });
  return { lines, stream };
}

function parsedLogs(cap: LogCapture): Array<Record<string, unknown>> {
  return cap.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function writeRun(runDir: string, sizes: Record<string, number>): Promise<Record<string, Buffer>> {
  const written: Record<string, Buffer> = {};
  for (const [rel, size] of Object.entries(sizes)) {
    const file = path.join(runDir, ...rel.split('/'));
    await fs.mkdir(path.dirname(file), { recursive: true });
    const data = randomBytes(size);
    await fs.writeFile(file, data);
    written[rel] = data;
  }
  return written;
}

async function walkFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walkFiles(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

// ---- suite -------------------------------------------------------------------------------

const programs = smbPrograms;
const skipReason = smbSkipReason;

describe('NasService against a real smbd', { skip: skipReason, timeout: 180_000 }, () => {
  let root = '';
  let smbd: Smbd;
  let createdUser = false;
  const password = `Pw-${randomBytes(9).toString('hex')}`;
  const wrongPassword = `Wrong-${randomBytes(9).toString('hex')}`;
  const logs = captureLogs();
  const logger = pino({ level: 'debug' }, logs.stream);
  const argvSeen: string[][] = [];
  const recordingRun: RunCommand = (file, args, options) => {
    argvSeen.push([file, ...args]);
    return runCommand(file, args, options);
  };
  const services: NasService[] = [];
  let runsRoot = '';
  let svc: NasService;
  const busy = new Set<string>();
  const deletedDirs: string[] = [];

  const makeService = (name: string, extra: Partial<NasServiceOptions> = {}): NasService => {
    const s = new NasService({
      logger,
      runsRoot,
      configPath: path.join(root, name, 'nas_smb.json'),
      credentialsPath: path.join(root, name, '.smbcredentials_nas'),
      mountRoot: path.join(root, name, 'mnt'),
      retryBaseDelayMs: 200,
      retryMaxDelayMs: 1000,
      busyRecheckIntervalMs: 100,
      commandTimeoutMs: 15_000,
      runCommand: recordingRun,
      isRunDirBusy: (dir) => busy.has(dir),
      onRunDirDeleted: (dir) => {
        deletedDirs.push(dir);
      },
      ...extra,
    });
    services.push(s);
    return s;
  };

  const setupBody = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
    host: '127.0.0.1',
    share: SHARE,
    username: SMB_USER,
    password,
    base_subdir: `/${BASE_SUBDIR}/`,
    retention_days: 2,
    port: smbd.port,
    transport: 'smbclient',
    ...overrides,
  });

  /** List a remote folder with a separate smbclient call (not the code under test). */
  const listRemote = async (remoteDir: string): Promise<string> => {
    const auth = path.join(root, 'test-authfile');
    await fs.writeFile(auth, `username=${SMB_USER}\npassword=${password}\n`, { mode: 0o600 });
    const r = await run(
      programs.smbclient as string,
      [`//127.0.0.1/${SHARE}`, '-A', auth, '-p', String(smbd.port), '-m', 'SMB3', '-c', `cd "${remoteDir}"; recurse ON; ls`],
    );
    assert.equal(r.code, 0, r.out);
    return r.out;
  };

  before(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'beepbox-nas-smb-'));
    runsRoot = path.join(root, 'runs');
    await fs.mkdir(runsRoot, { recursive: true });
    const idCheck = await run('id', ['-u', SMB_USER]);
    if (idCheck.code !== 0) {
      const add = await run('useradd', ['-M', '-s', '/usr/sbin/nologin', SMB_USER]);
      assert.equal(add.code, 0, `useradd failed: ${add.out}`);
      createdUser = true;
    }
    smbd = new Smbd(path.join(root, 'smbd'), 4455 + Math.floor(Math.random() * 1000), programs.smbd as string);
    // A random high port may be taken; fall back to one the OS says is free.
    if (await portAccepts(smbd.port)) smbd = new Smbd(path.join(root, 'smbd'), await freePort(), programs.smbd as string);
    await smbd.writeConfig();
    const pw = await run(programs.smbpasswd as string, ['-c', smbd.confPath, '-a', '-s', SMB_USER], `${password}\n${password}\n`);
    assert.equal(pw.code, 0, `smbpasswd failed: ${pw.out}`);
    await smbd.start();
    svc = makeService('box');
    await svc.start();
  });

  after(async () => {
    for (const s of services) await s.close();
    await smbd?.stop();
    if (createdUser) await run('userdel', [SMB_USER]);
    if (root) await fs.rm(root, { recursive: true, force: true });
  });

  it('setup writes 0600 credentials and config, creates the base folder; health is ok via smbclient', async () => {
    const oldUmask = process.umask(0); // the file modes must not depend on the umask
    let result;
    try {
      result = await svc.setup(setupBody());
    } finally {
      process.umask(oldUmask);
    }
    assert.deepEqual(result, { ok: true, message: 'ok' });

    const credPath = path.join(root, 'box', '.smbcredentials_nas');
    const cfgPath = path.join(root, 'box', 'nas_smb.json');
    assert.equal((await fs.stat(credPath)).mode & 0o777, 0o600);
    assert.equal((await fs.stat(cfgPath)).mode & 0o777, 0o600);
    assert.equal(await fs.readFile(credPath, 'utf8'), `username=${SMB_USER}\npassword=${password}\n`);
    const cfgText = await fs.readFile(cfgPath, 'utf8');
    const cfg = JSON.parse(cfgText) as Record<string, unknown>;
    assert.deepEqual(Object.keys(cfg), [...Object.keys(cfg)].sort());
    assert.deepEqual(cfg, {
      base_subdir: BASE_SUBDIR,
      cifs_vers: '3.0',
      cred_path: credPath,
      domain: null,
      host: '127.0.0.1',
      mount_root: path.join(root, 'box', 'mnt'),
      port: smbd.port,
      retention_days: 2,
      share: SHARE,
      transport: 'smbclient',
      username: SMB_USER,
    });
    assert.ok(!cfgText.includes(password));
    // No temp files left next to them.
    assert.deepEqual((await fs.readdir(path.join(root, 'box'))).sort(), ['.smbcredentials_nas', 'nas_smb.json']);
    assert.ok((await fs.stat(path.join(smbd.shareDir, ...BASE_SUBDIR.split('/')))).isDirectory());

    const health = await svc.health();
    assert.equal(health.ok, true, health.message);
    assert.equal(health.message, 'ok');
    assert.equal(health.transport, 'smbclient');
    assert.ok(Math.abs(Date.parse(health.last_checked) - Date.now()) < 60_000);
    assert.match(health.last_checked, /Z$/);
  });

  it('auto transport probes successfully and reports the transport it used', async () => {
    const s = makeService('box-auto');
    await s.start();
    const res = await s.setup(setupBody({ transport: 'auto', base_subdir: 'auto-probe' }));
    assert.equal(res.ok, true, res.message);
    const health = await s.health();
    assert.equal(health.ok, true, health.message);
    assert.ok(health.transport === 'smbclient' || health.transport === 'mount');
    await s.close();
  });

  it('uploads a finished run; every file is on the share with identical bytes; UPLOAD_DONE written', async () => {
    const rel = 'Demo/BatchA/2025-11-03T10-15-31Z';
    const runDir = path.join(runsRoot, ...rel.split('/'));
    const files = await writeRun(runDir, {
      'Wells/slot01/CV/Demo_BatchA_2025-11-03_10-15-31Z_slot01_CV.csv': 300_000,
      'Wells/slot01/CV/Demo_BatchA_2025-11-03_10-15-31Z_slot01_CV.png': 2_500_000,
      'Wells/slot02/EIS/Demo_BatchA_2025-11-03_10-15-31Z_slot02_EIS.csv': 4_096,
      'Wells/slot02/EIS/empty.csv': 0,
      'Wells/slot02/EIS/notes with spaces;and semicolon.txt': 1_234,
    });
    await fs.writeFile(path.join(runDir, UPLOAD_FAILED_MARKER), 'stale failure');

    assert.deepEqual(svc.enqueueUpload('run_a', runDir), { enqueued: true });
    const state = await waitFor('upload done', async () => {
      const s = await svc.uploadState(runDir);
      return s.state === 'done' || s.state === 'failed' ? s : null;
    });
    assert.equal(state.state, 'done', state.message ?? '');
    assert.equal(state.attempts, 1);
    assert.equal(state.next_retry_at, null);

    const marker = await fs.readFile(path.join(runDir, UPLOAD_DONE_MARKER), 'utf8');
    assert.match(marker, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    assert.equal(marker, state.uploaded_at);
    await assert.rejects(fs.access(path.join(runDir, UPLOAD_FAILED_MARKER)), 'stale upload_failed removed');

    // Byte-for-byte in the share's backing directory, markers not uploaded.
    const remoteRoot = path.join(smbd.shareDir, ...BASE_SUBDIR.split('/'), ...rel.split('/'));
    for (const [f, data] of Object.entries(files)) {
      const remote = await fs.readFile(path.join(remoteRoot, ...f.split('/')));
      assert.ok(remote.equals(data), `bytes of ${f}`);
    }
    const remoteFiles = (await walkFiles(remoteRoot)).map((p) => path.relative(remoteRoot, p).split(path.sep).join('/')).sort();
    assert.deepEqual(remoteFiles, Object.keys(files).sort());

    // And through a separate smbclient listing: every file with its size.
    const listing = await listRemote(`${BASE_SUBDIR}/${rel}`);
    for (const [f, data] of Object.entries(files)) {
      const name = path.posix.basename(f).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      assert.match(listing, new RegExp(`^  ${name}\\s+[A-Z]+\\s+${data.length}  `, 'm'), `listing shows ${f} with ${data.length} bytes`);
    }
  });

  it('concurrent upload requests for one run upload it once', async () => {
    const runDir = path.join(runsRoot, 'Demo', '2025-11-04T08-00-00Z');
    await writeRun(runDir, { 'Wells/slot01/OCP/a.csv': 50_000, 'Wells/slot03/OCP/b.csv': 70_000 });
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => Promise.resolve().then(() => svc.enqueueUpload(i % 2 === 0 ? 'run_b1' : 'run_b2', runDir))),
    );
    assert.equal(results.filter((r) => r.enqueued).length, 1);
    const state = await waitFor('upload done', async () => {
      const s = await svc.uploadState(runDir);
      return s.state === 'done' || s.state === 'failed' ? s : null;
    });
    assert.equal(state.state, 'done', state.message ?? '');
    await svc.whenUploadsIdle();
    const starts = parsedLogs(logs).filter((l) => l['msg'] === 'upload started' && l['dir'] === runDir);
    assert.equal(starts.length, 1);
  });

  it('a run directory with non-terminal jobs waits, then uploads once the jobs end', async () => {
    const runDir = path.join(runsRoot, 'Busy', '2025-11-05T08-00-00Z');
    await writeRun(runDir, { 'Wells/slot01/CA/c.csv': 10_000 });
    busy.add(runDir);
    assert.deepEqual(svc.enqueueUpload('run_c', runDir), { enqueued: true });
    await sleep(500);
    const waiting = await svc.uploadState(runDir);
    assert.equal(waiting.state, 'pending');
    assert.match(waiting.message ?? '', /waiting for running jobs/);
    assert.deepEqual(svc.enqueueUpload('run_c', runDir), { enqueued: false }, 'already pending');
    await assert.rejects(fs.access(path.join(runDir, UPLOAD_DONE_MARKER)));
    busy.delete(runDir);
    svc.notifyRunDirsChanged();
    const state = await waitFor('upload done', async () => {
      const s = await svc.uploadState(runDir);
      return s.state === 'done' ? s : null;
    });
    assert.equal(state.attempts, 1);
  });

  it('wrong password: health and setup say so, the upload fails with upload_failed and is retried', async () => {
    const bad = makeService('box-bad');
    await bad.start();
    const res = await bad.setup(setupBody({ password: wrongPassword }));
    assert.equal(res.ok, false);
    assert.match(res.message, /^probe error: .*NT_STATUS_LOGON_FAILURE/);
    const health = await bad.health();
    assert.equal(health.ok, false);
    assert.equal(health.transport, 'smbclient');
    assert.match(health.message, /^probe error: .*NT_STATUS_LOGON_FAILURE/);

    const runDir = path.join(runsRoot, 'Bad', '2025-11-06T08-00-00Z');
    await writeRun(runDir, { 'Wells/slot01/CV/x.csv': 1000 });
    assert.deepEqual(bad.enqueueUpload('run_d', runDir), { enqueued: true });
    const state = await waitFor('second failed attempt', async () => {
      const s = await bad.uploadState(runDir);
      return s.attempts >= 2 && s.state === 'failed' ? s : null;
    });
    assert.match(state.message ?? '', /NT_STATUS_LOGON_FAILURE/);
    assert.ok(state.next_retry_at !== null && Date.parse(state.next_retry_at) > Date.now() - 1000);
    const marker = await fs.readFile(path.join(runDir, UPLOAD_FAILED_MARKER), 'utf8');
    assert.match(marker, /^smbclient rc=1, err=.*NT_STATUS_LOGON_FAILURE/);
    await assert.rejects(fs.access(path.join(runDir, UPLOAD_DONE_MARKER)));
    await bad.close();
  });

  it('stopped server: uploads fail and retry with backoff, then succeed once the server is back', async () => {
    await smbd.stop();
    const health = await svc.health();
    assert.equal(health.ok, false);
    assert.match(health.message, /^probe error: .*NT_STATUS_CONNECTION_REFUSED/);

    const runDir = path.join(runsRoot, 'Outage', '2025-11-07T08-00-00Z');
    const files = await writeRun(runDir, { 'Wells/slot01/CV/y.csv': 20_000, 'Wells/slot02/CV/z.csv': 30_000 });
    const logStart = logs.lines.length;
    assert.deepEqual(svc.enqueueUpload('run_e', runDir), { enqueued: true });
    const failed = await waitFor('three failed attempts', async () => {
      const s = await svc.uploadState(runDir);
      return s.attempts >= 3 && s.state === 'failed' ? s : null;
    });
    assert.match(failed.message ?? '', /NT_STATUS_CONNECTION_REFUSED/);
    assert.match(await fs.readFile(path.join(runDir, UPLOAD_FAILED_MARKER), 'utf8'), /NT_STATUS_CONNECTION_REFUSED/);
    const delays = logs.lines
      .slice(logStart)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l['msg'] === 'upload retry scheduled' && l['dir'] === runDir)
      .map((l) => l['delayMs']);
    assert.deepEqual(delays.slice(0, 3), [200, 400, 800]);

    await smbd.start();
    const state = await waitFor('upload done after restart', async () => {
      const s = await svc.uploadState(runDir);
      return s.state === 'done' ? s : null;
    });
    assert.ok(state.attempts >= 4);
    await assert.rejects(fs.access(path.join(runDir, UPLOAD_FAILED_MARKER)));
    const remoteRoot = path.join(smbd.shareDir, ...BASE_SUBDIR.split('/'), 'Outage', '2025-11-07T08-00-00Z');
    for (const [f, data] of Object.entries(files)) {
      assert.ok((await fs.readFile(path.join(remoteRoot, ...f.split('/')))).equals(data), f);
    }
    assert.equal((await svc.health()).ok, true);
  });

  it('a manual request retries a failed upload at once', async () => {
    // Own RUNS_ROOT, so this second service's start-up work leaves the other tests' runs alone.
    const manualRoot = path.join(root, 'runs-manual');
    const runDir = path.join(manualRoot, 'Manual', '2025-11-08T08-00-00Z');
    await writeRun(runDir, { 'Wells/slot01/CV/m.csv': 5000 });
    const slow = makeService('box', { runsRoot: manualRoot, retryBaseDelayMs: 60_000, retryMaxDelayMs: 60_000 });
    await slow.start();
    await smbd.stop();
    slow.enqueueUpload('run_m', runDir);
    const failed = await waitFor('failure', async () => {
      const s = await slow.uploadState(runDir);
      return s.state === 'failed' ? s : null;
    });
    assert.ok(failed.next_retry_at !== null && Date.parse(failed.next_retry_at) - Date.now() > 30_000);
    await smbd.start();
    assert.deepEqual(slow.enqueueUpload('run_m', runDir), { enqueued: true });
    const state = await waitFor('done', async () => {
      const s = await slow.uploadState(runDir);
      return s.state === 'done' ? s : null;
    }, 10_000);
    assert.equal(state.attempts, 2);
    assert.equal(state.next_retry_at, null);
    await slow.close();
  });

  it('retention deletes exactly the uploaded runs past their age', async () => {
    const day = 24 * 60 * 60 * 1000;
    const setAge = async (p: string, ageMs: number): Promise<void> => {
      const t = new Date(Date.now() - ageMs);
      await fs.utimes(p, t, t);
    };
    const mk = async (rel: string, marker: string | null, ageMs: number): Promise<string> => {
      const dir = path.join(runsRoot, ...rel.split('/'));
      await writeRun(dir, { 'Wells/slot01/CV/r.csv': 100 });
      if (marker) {
        await fs.writeFile(path.join(dir, marker), new Date(Date.now() - ageMs).toISOString());
        await setAge(path.join(dir, marker), ageMs);
      }
      await setAge(dir, ageMs);
      return dir;
    };
    const oldDone = await mk('Ret/old-done', UPLOAD_DONE_MARKER, 3 * day);
    const oldDone2 = await mk('Ret/Sub/old-done-2', UPLOAD_DONE_MARKER, 2 * day + 60_000);
    const freshDone = await mk('Ret/fresh-done', UPLOAD_DONE_MARKER, 1 * day);
    const oldFailed = await mk('Ret/old-failed', UPLOAD_FAILED_MARKER, 30 * day);
    const oldUnmarked = await mk('Ret/old-unmarked', null, 30 * day);
    const oldBusy = await mk('Ret/old-busy', UPLOAD_DONE_MARKER, 30 * day);
    const jobsDir = await mk('.jobs/looks-like-a-run', UPLOAD_DONE_MARKER, 30 * day);
    // A run directory nested inside an old uploaded one must not be deleted with it.
    const outer = await mk('Ret/outer', UPLOAD_DONE_MARKER, 30 * day);
    const inner = path.join(outer, 'inner-run');
    await writeRun(inner, { 'Wells/slot02/CV/i.csv': 10 });
    busy.add(oldBusy);
    deletedDirs.length = 0;
    try {
      const result = await svc.runRetentionPass();
      assert.deepEqual([...result.deleted].sort(), [oldDone, oldDone2].sort());
      assert.deepEqual([...deletedDirs].sort(), [oldDone, oldDone2].sort());
      assert.deepEqual([...result.kept].sort(), [oldBusy, outer].sort());
      assert.equal(result.failures, 0);
    } finally {
      busy.delete(oldBusy);
    }
    for (const gone of [oldDone, oldDone2]) await assert.rejects(fs.access(gone));
    for (const kept of [freshDone, oldFailed, oldUnmarked, oldBusy, jobsDir, outer, inner, path.join(runsRoot, 'Ret', 'Sub')]) {
      await fs.access(kept);
    }
    // Runs uploaded by the earlier tests are recent and stay.
    await fs.access(path.join(runsRoot, 'Demo', 'BatchA', '2025-11-03T10-15-31Z', UPLOAD_DONE_MARKER));

    // Without a NAS configuration nothing is deleted.
    const unconfigured = makeService('box-none');
    await unconfigured.start();
    assert.deepEqual(await unconfigured.runRetentionPass(), { deleted: [], kept: [], failures: 0 });
    await fs.access(oldBusy);
    await unconfigured.close();
  });

  it('the password appears in no log line, command line, config, marker, share or run file', async () => {
    await svc.whenUploadsIdle();
    assert.ok(logs.lines.length > 20, 'logs were captured');
    assert.ok(parsedLogs(logs).some((l) => l['msg'] === 'nas command'), 'debug command lines were logged');
    for (const secret of [password, wrongPassword]) {
      for (const line of logs.lines) assert.ok(!line.includes(secret), `log line leaks password: ${line.slice(0, 200)}`);
      for (const argv of argvSeen) assert.ok(!argv.some((a) => a.includes(secret)), `argv leaks password: ${argv.join(' ')}`);
    }
    const credentialFiles = new Set([
      path.join(root, 'box', '.smbcredentials_nas'),
      path.join(root, 'box-bad', '.smbcredentials_nas'),
      path.join(root, 'box-auto', '.smbcredentials_nas'),
      path.join(root, 'test-authfile'),
    ]);
    const smbdPrivate = [path.join(root, 'smbd', 'private'), path.join(root, 'smbd', 'lock'), path.join(root, 'smbd', 'state'), path.join(root, 'smbd', 'cache')];
    const files = (await walkFiles(root)).filter((f) => !credentialFiles.has(f) && !smbdPrivate.some((d) => f.startsWith(`${d}${path.sep}`)));
    assert.ok(files.some((f) => f.endsWith('nas_smb.json')));
    assert.ok(files.some((f) => f.endsWith(UPLOAD_DONE_MARKER)));
    assert.ok(files.some((f) => f.endsWith(UPLOAD_FAILED_MARKER)));
    for (const f of files) {
      const content = await fs.readFile(f);
      for (const secret of [password, wrongPassword]) {
        assert.equal(content.includes(Buffer.from(secret)), false, `${f} contains the password`);
      }
    }
  });
});
