import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import { DaemonError, ValidationError } from '../../../src/errors.js';
import { NasError } from '../../../src/nas/errors.js';
import { NasService, readNasPathsFromEnv } from '../../../src/nas/nas-service.js';

function makeService(platform: NodeJS.Platform): { svc: NasService; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _e, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  // Paths that must never be touched: these tests exercise only the guards before any I/O.
  const svc = new NasService({
    logger: pino({ level: 'debug' }, stream),
    runsRoot: '/nonexistent/runs',
    configPath: '/nonexistent/box/nas_smb.json',
    credentialsPath: '/nonexistent/box/.smbcredentials_nas',
    mountRoot: '/nonexistent/mnt',
    platform,
  });
  return { svc, lines };
}

const isCode = (code: string) => (err: unknown) => err instanceof NasError && err instanceof DaemonError && err.code === code;

describe('NasService guards', () => {
  it('Windows: setup and upload are unsupported, health says so (7.8)', async () => {
    const { svc } = makeService('win32');
    assert.equal(svc.supported, false);
    await assert.rejects(svc.setup({ host: 'h', share: 's', username: 'u', password: 'p' }), isCode('nas.unsupported_platform'));
    assert.throws(() => svc.enqueueUpload('run1', 'C:\\runs\\x'), isCode('nas.unsupported_platform'));
    const health = await svc.health();
    assert.equal(health.ok, false);
    assert.equal(health.message, 'NAS/SMB is not supported on this platform');
    assert.equal(health.transport, null);
    assert.match(health.last_checked, /^\d{4}-\d{2}-\d{2}T.*Z$/);
    assert.deepEqual(await svc.runRetentionPass(), { deleted: [], kept: [], failures: 0 });
    await svc.close();
  });

  it('setup validation comes first and never echoes the password', async () => {
    const { svc, lines } = makeService('linux');
    const secret = 'TopSecret-123';
    await assert.rejects(svc.setup({ host: '', share: 's', username: 'u', password: secret }), (err: unknown) => {
      assert.ok(isCode('nas.invalid_config')(err));
      assert.equal((err as Error).message, 'host/share/username/password required');
      assert.ok(!JSON.stringify((err as DaemonError).toJSON()).includes(secret));
      return true;
    });
    await assert.rejects(svc.setup({ host: 'h', share: 's', username: 'u', password: secret, retention_days: 0 }), isCode('nas.invalid_config'));
    for (const l of lines) assert.ok(!l.includes(secret));
    await svc.close();
  });

  it('upload without configuration is nas.not_configured; bad run ids are rejected', async () => {
    const { svc } = makeService('linux');
    assert.throws(() => svc.enqueueUpload('run1', '/nonexistent/runs/x'), isCode('nas.not_configured'));
    assert.throws(() => svc.enqueueUpload('../x', '/nonexistent/runs/x'), ValidationError);
    await svc.close();
  });

  it('a credentials path with a comma is refused at construction (it would split mount options)', () => {
    assert.throws(
      () =>
        new NasService({
          logger: pino({ level: 'silent' }),
          runsRoot: '/r',
          credentialsPath: '/opt/box/a,b',
        }),
      ValidationError,
    );
  });

  it('paths come from the environment with the contract defaults', () => {
    assert.deepEqual(readNasPathsFromEnv({}), {
      configPath: '/opt/box/nas_smb.json',
      credentialsPath: '/opt/box/.smbcredentials_nas',
      mountRoot: '/mnt/nas_box',
    });
    assert.deepEqual(readNasPathsFromEnv({ NAS_CONFIG_PATH: '/c.json', NAS_CREDENTIALS_PATH: '/cred', NAS_MOUNT_ROOT: '/m' }), {
      configPath: '/c.json',
      credentialsPath: '/cred',
      mountRoot: '/m',
    });
  });
});
