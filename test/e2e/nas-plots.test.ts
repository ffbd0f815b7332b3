/**
 * The daemon with its neighbours: plots in real Chromium (and what happens without it), and
 * the automatic NAS upload of a finished run to a real Samba server on loopback.
 */
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { startSimulators, type SimulatorSet } from '../../src/sim/run-sim.js';
import { cleanupOf, makeTempDir, startDaemon, submitJob, waitForJob, waitUntil, type HealthLike, type NasHealthLike } from '../helpers/daemon.js';
import { ensureSmbUser, run, SHARE, SMB_USER, smbPrograms, smbSkipReason, startSmbd, type Smbd } from '../helpers/smbd.js';

const cvJob = (extra: Record<string, unknown> = {}) => ({
  devices: ['slot01'],
  modes: ['CV'],
  params_by_mode: { CV: { start: 0, vertex1: 0.3, vertex2: -0.3, end: 0, scan_rate: '2', cycles: '2' } },
  experiment_name: 'E2E',
  client_datetime: new Date().toISOString(),
  ...extra,
});

describe('plots', () => {
  let sims: SimulatorSet;
  before(async () => {
    sims = await startSimulators({ count: 2, firstIndex: 41 });
  });
  after(() => sims.close());

  it('renders a PNG beside the CSV in Chromium', async (t) => {
    const daemon = await startDaemon(cleanupOf(t), { ports: [sims.ports[0]!], apiKey: '' });
    const job = await submitJob(daemon, cvJob());
    const done = await waitForJob(daemon, job.run_id);
    assert.equal(done.status, 'done');
    const png = done.slots[0]!.files.find((f) => f.endsWith('.png'));
    assert.ok(png, `files: ${done.slots[0]!.files.join(', ')}`);
    const res = await daemon.get(`/runs/${job.run_id}/file?path=${encodeURIComponent(png)}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'image/png');
    assert.deepEqual([...res.body.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.equal(res.body.readUInt32BE(16), 800, 'CV plot is 800 px wide');
    assert.equal(done.slots[0]!.message, null);
    await daemon.stop();
  });

  it('without Chromium the run still ends done, the slot says why the plot was skipped, /health says plotting is unavailable', async (t) => {
    const daemon = await startDaemon(cleanupOf(t), { ports: [sims.ports[1]!], apiKey: '', env: { CHROMIUM_PATH: '/nonexistent/chromium' } });
    const job = await submitJob(daemon, cvJob());
    const done = await waitForJob(daemon, job.run_id);
    assert.equal(done.status, 'done');
    assert.match(done.slots[0]!.message ?? '', /plot skipped: .*Chromium/i);
    assert.ok(done.slots[0]!.files.some((f) => f.endsWith('.csv')));
    assert.ok(!done.slots[0]!.files.some((f) => f.endsWith('.png')));
    const health = await daemon.get<HealthLike>('/health');
    assert.equal(health.json.ok, true);
    assert.equal(health.json.plotting?.available, false);
    assert.match(health.json.plotting?.reason ?? '', /Chromium/);
    await daemon.stop();
  });
});

describe('NAS upload of finished runs', { skip: smbSkipReason, timeout: 180_000 }, () => {
  let sims: SimulatorSet;
  let smbd: Smbd;
  let root = '';
  let createdUser = false;
  const password = `Pw-${randomBytes(9).toString('hex')}`;

  before(async () => {
    root = await fs.mkdtemp(path.join((await import('node:os')).tmpdir(), 'beepbox-e2e-nas-'));
    createdUser = await ensureSmbUser();
    smbd = await startSmbd(path.join(root, 'smbd'), password);
    sims = await startSimulators({ count: 1, firstIndex: 51 });
  });
  after(async () => {
    await sims?.close();
    await smbd?.stop();
    if (createdUser) await run('userdel', [SMB_USER]);
    await fs.rm(root, { recursive: true, force: true });
  });

  it('a job that ends done is uploaded automatically, verified, marked, and never leaks the password', async (t) => {
    const scope = cleanupOf(t);
    const nasDir = await makeTempDir(scope, 'beepbox-nas-cfg-');
    const daemon = await startDaemon(scope, {
      ports: [sims.ports[0]!],
      env: { NAS_CONFIG_PATH: path.join(nasDir, 'nas_smb.json'), NAS_CREDENTIALS_PATH: path.join(nasDir, 'cred'), NAS_MOUNT_ROOT: path.join(nasDir, 'mnt'), LOG_LEVEL: 'debug' },
    });
    const setup = await daemon.post('/nas/setup', { host: '127.0.0.1', share: SHARE, username: SMB_USER, password, base_subdir: 'Box01', retention_days: 7, port: smbd.port, transport: 'smbclient' });
    assert.equal(setup.status, 200, setup.text);
    assert.deepEqual(setup.json, { ok: true, message: 'ok' });
    assert.equal((await fs.stat(path.join(nasDir, 'cred'))).mode & 0o777, 0o600);
    const health = await daemon.get<NasHealthLike>('/nas/health');
    assert.equal(health.json.ok, true, health.text);
    assert.equal(health.json.transport, 'smbclient');

    const job = await submitJob(daemon, cvJob({ make_plot: false, subdir: 'Upload' }));
    assert.equal((await waitForJob(daemon, job.run_id)).status, 'done');
    const state = await waitUntil('upload done', async () => {
      const r = await daemon.get<{ state: string; run_id: string } | undefined>(`/runs/${job.run_id}/upload`);
      return r.json?.state === 'done' ? r.json : undefined;
    }, 60_000);
    assert.equal(state.run_id, job.run_id);

    // Every local file is on the share with the same bytes; UPLOAD_DONE marks the run.
    const files = (await daemon.get<{ files: string[] }>(`/runs/${job.run_id}/files`)).json.files;
    assert.ok(files.includes('UPLOAD_DONE'));
    assert.ok(files.includes('run.json'), 'the provenance file travels with the run');
    const runDir = path.join(daemon.runsRoot, 'E2E', 'Upload');
    const [stamp] = await fs.readdir(runDir);
    for (const rel of files.filter((f) => f !== 'UPLOAD_DONE')) {
      const local = await fs.readFile(path.join(runDir, stamp!, ...rel.split('/')));
      const remote = await fs.readFile(path.join(smbd.shareDir, 'Box01', 'E2E', 'Upload', stamp!, ...rel.split('/')));
      assert.ok(local.equals(remote), `${rel} differs on the share`);
    }
    // A second request while done: accepted, uploads again (idempotent), never two at once.
    const again = await daemon.post<{ ok: boolean }>(`/runs/${job.run_id}/upload`);
    assert.equal(again.status, 200);
    assert.equal(again.json.ok, true);
    await daemon.stop();
    assert.ok(smbPrograms.smbclient);
    assert.ok(!daemon.logLines().some((l) => l.includes(password)), 'the password never reaches the log');
  });
});
