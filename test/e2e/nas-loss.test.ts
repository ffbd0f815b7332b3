/**
 * Issue #10: the NAS goes away in the middle of an upload. The real daemon uploads a run (its CSV
 * plus a 256 MiB file, so the transfer takes a moment) to a real Samba server on loopback; smbd is
 * stopped as soon as the big file has started to arrive on the share. The upload must end in the
 * documented state — `failed` with the reason, `attempts` 1, a retry scheduled (backoff from 30 s),
 * an `upload_failed` marker and no `UPLOAD_DONE` — reported by GET /runs/{id}/upload, with the
 * daemon serving on. Once smbd is back, a manual POST /runs/{id}/upload retries at once and ends
 * `done`, every file verified on the share, and only then is `UPLOAD_DONE` written.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UPLOAD_DONE_MARKER, UPLOAD_FAILED_MARKER } from '../../src/nas/local-files.js';
import { startSimulators, type SimulatorSet } from '../../src/sim/run-sim.js';
import { cleanupOf, makeTempDir, sleep, startDaemon, submitJob, waitForJob, waitUntil, type HealthLike } from '../helpers/daemon.js';
import { ensureSmbUser, run, SHARE, SMB_USER, smbSkipReason, startSmbd, type Smbd } from '../helpers/smbd.js';

const BIG_BYTES = 256 * 1024 * 1024;

interface UploadStateLike {
  run_id: string;
  state: string;
  message: string | null;
  attempts: number;
  next_retry_at: string | null;
  uploaded_at: string | null;
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

describe('NAS lost in the middle of an upload', { skip: smbSkipReason, timeout: 180_000 }, () => {
  let sims: SimulatorSet;
  let smbd: Smbd;
  let root = '';
  let createdUser = false;
  const password = `Pw-${randomBytes(9).toString('hex')}`;

  before(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'beepbox-e2e-nasloss-'));
    createdUser = await ensureSmbUser();
    smbd = await startSmbd(path.join(root, 'smbd'), password);
    sims = await startSimulators({ count: 1, firstIndex: 61 });
  });
  after(async () => {
    await sims?.close();
    await smbd?.stop();
    if (createdUser) await run('userdel', [SMB_USER]);
    await fs.rm(root, { recursive: true, force: true });
  });

  it('fails with the reason and a scheduled retry, no UPLOAD_DONE; after smbd is back a retry ends done, every file verified', async (t) => {
    const scope = cleanupOf(t);
    const nasDir = await makeTempDir(scope, 'beepbox-nasloss-cfg-');
    const daemon = await startDaemon(scope, {
      ports: [sims.ports[0]!],
      env: { NAS_CONFIG_PATH: path.join(nasDir, 'nas_smb.json'), NAS_CREDENTIALS_PATH: path.join(nasDir, 'cred'), NAS_MOUNT_ROOT: path.join(nasDir, 'mnt') },
    });

    // A finished run, NAS not configured yet (so nothing uploads it before it is large).
    const job = await submitJob(daemon, {
      devices: ['slot01'],
      modes: ['CA'],
      params_by_mode: { CA: { potential: 0.1, duration: 0.5 } },
      experiment_name: 'NasLoss',
      client_datetime: '2026-06-01T10:00:00Z',
      run_name: 'nas_loss',
      make_plot: false,
    });
    const done = await waitForJob(daemon, job.run_id);
    assert.equal(done.status, 'done');
    const runDir = path.join(daemon.runsRoot, 'NasLoss', '2026-06-01T10-00-00Z');
    // Sorted first, so it is the first file put: sparse locally, 256 MiB on the wire.
    const bigRel = 'Wells/slot01/AAA_big.bin';
    const big = await fs.open(path.join(runDir, ...bigRel.split('/')), 'wx');
    await big.truncate(BIG_BYTES);
    await big.write(randomBytes(4096), 0, 4096, BIG_BYTES - 4096);
    await big.close();

    const setup = await daemon.post('/nas/setup', { host: '127.0.0.1', share: SHARE, username: SMB_USER, password, base_subdir: 'Box01', retention_days: 7, port: smbd.port, transport: 'smbclient' });
    assert.deepEqual(setup.json, { ok: true, message: 'ok' }, setup.text);

    const remoteRun = path.join(smbd.shareDir, 'Box01', 'NasLoss', '2026-06-01T10-00-00Z');
    const remoteBig = path.join(remoteRun, ...bigRel.split('/'));
    assert.equal((await daemon.post<{ enqueued: boolean }>(`/runs/${job.run_id}/upload`)).json.enqueued, true);

    // Stop smbd once the big file has started to arrive (and is not complete).
    const seen = await waitUntil('the big file arriving on the share', async () => {
      const st = await fs.stat(remoteBig).catch(() => null);
      return st !== null && st.size >= 1024 * 1024 ? st.size : undefined;
    }, 30_000, 2);
    await smbd.stop();
    const partial = (await fs.stat(remoteBig).catch(() => null))?.size ?? 0;
    assert.ok(partial < BIG_BYTES, `smbd was stopped mid-transfer (${seen} → ${partial} of ${BIG_BYTES} bytes)`);

    // The documented state: failed, the reason, one attempt, a retry scheduled with backoff.
    const failed = await waitUntil('upload failed', async () => {
      const r = await daemon.get<UploadStateLike>(`/runs/${job.run_id}/upload`);
      assert.equal(r.status, 200, r.text);
      return r.json.state === 'failed' ? r.json : undefined;
    }, 60_000, 50);
    assert.equal(failed.run_id, job.run_id);
    assert.equal(failed.attempts, 1);
    assert.ok(failed.message !== null && failed.message.length > 0, 'the reason is reported');
    assert.ok(!failed.message.includes(password));
    const retryInMs = Date.parse(String(failed.next_retry_at)) - Date.now();
    assert.ok(retryInMs > 20_000 && retryInMs <= 30_000, `first retry ~30 s later (in ${retryInMs} ms)`);
    assert.equal(failed.uploaded_at, null);
    process.stdout.write(`# NAS loss: smbd stopped at ${partial} of ${BIG_BYTES} bytes; upload failed: ${failed.message}\n`);
    await assert.rejects(fs.access(path.join(runDir, UPLOAD_DONE_MARKER)), 'no UPLOAD_DONE after a broken upload');
    assert.equal(await fs.readFile(path.join(runDir, UPLOAD_FAILED_MARKER), 'utf8'), failed.message);
    const listed = (await daemon.get<{ files: string[] }>(`/runs/${job.run_id}/files`)).json.files;
    assert.ok(listed.includes(UPLOAD_FAILED_MARKER) && !listed.includes(UPLOAD_DONE_MARKER));

    // The daemon stays up: it answers, and a new job runs.
    assert.equal(daemon.running(), true);
    assert.equal((await daemon.get<HealthLike>('/health')).json.ok, true);
    assert.equal((await daemon.get<{ ok: boolean }>('/nas/health')).json.ok, false, 'NAS health says the share is gone');

    // smbd comes back: a manual request retries at once and ends done, every file verified.
    await smbd.start();
    const again = await daemon.post<{ enqueued: boolean }>(`/runs/${job.run_id}/upload`);
    assert.equal(again.json.enqueued, true);
    const ok = await waitUntil('upload done', async () => {
      const r = await daemon.get<UploadStateLike>(`/runs/${job.run_id}/upload`);
      return r.json.state === 'done' ? r.json : r.json.state === 'failed' && r.json.attempts >= 2 ? assert.fail(`retry failed: ${r.json.message}`) : undefined;
    }, 60_000, 100);
    assert.equal(ok.attempts, 2);
    assert.equal(ok.next_retry_at, null);
    assert.equal(await fs.readFile(path.join(runDir, UPLOAD_DONE_MARKER), 'utf8'), ok.uploaded_at);
    await assert.rejects(fs.access(path.join(runDir, UPLOAD_FAILED_MARKER)), 'the failure marker is gone');
    for (const rel of [bigRel, ...done.slots[0]!.files]) {
      const local = path.join(runDir, ...rel.split('/'));
      const remote = path.join(remoteRun, ...rel.split('/'));
      assert.equal((await fs.stat(remote)).size, (await fs.stat(local)).size, rel);
      assert.equal(await sha256(remote), await sha256(local), `${rel}: same bytes on the share`);
    }
    await sleep(100);
    await daemon.stop();
  });
});
