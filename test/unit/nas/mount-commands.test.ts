import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CommandResult } from '../../../src/nas/command.js';
import { buildMountCommand, buildRsyncCommand, buildUmountCommand, isMountUnavailable } from '../../../src/nas/mount-transport.js';

const config = { host: 'nas.local', share: 'experiments', cred_path: '/opt/box/.smbcredentials_nas', cifs_vers: '3.0', port: 445 };

function result(code: number, stderr: string, error: NodeJS.ErrnoException | null = null): CommandResult {
  return { code, signal: null, stdout: '', stderr, timedOut: false, aborted: false, error };
}

describe('mount transport command lines', () => {
  it('mounts read-only for health with every contract option', () => {
    assert.deepEqual(buildMountCommand(config, '/mnt/nas_box/health', { uid: 1000, gid: 1001 }, true), {
      file: 'mount',
      args: [
        '-t',
        'cifs',
        '//nas.local/experiments',
        '/mnt/nas_box/health',
        '-o',
        'credentials=/opt/box/.smbcredentials_nas,vers=3.0,iocharset=utf8,uid=1000,gid=1001,file_mode=0644,dir_mode=0755,noserverino,port=445,ro',
      ],
    });
  });

  it('mounts read-write for setup and uploads, with a non-standard port', () => {
    const cmd = buildMountCommand({ ...config, port: 4455 }, '/mnt/nas_box/upload', { uid: 0, gid: 0 }, false);
    assert.equal(cmd.args[5], 'credentials=/opt/box/.smbcredentials_nas,vers=3.0,iocharset=utf8,uid=0,gid=0,file_mode=0644,dir_mode=0755,noserverino,port=4455,rw');
  });

  it('never carries a password or username', () => {
    const cmd = buildMountCommand(config, '/mnt/x', { uid: 0, gid: 0 }, false);
    assert.ok(!cmd.args.some((a) => /(^|,)(password|pass|username|user)=/.test(a)));
  });

  it('unmounts lazily', () => {
    assert.deepEqual(buildUmountCommand('/mnt/nas_box/upload'), { file: 'umount', args: ['-l', '/mnt/nas_box/upload'] });
  });

  it('rsyncs directory contents with --partial, excluding the top-level markers', () => {
    assert.deepEqual(buildRsyncCommand('/opt/box/runs/Demo/2025-11-03T10-15-31Z/', '/mnt/nas_box/upload/Box01/Demo/2025-11-03T10-15-31Z'), {
      file: 'rsync',
      args: [
        '-a',
        '--partial',
        '--exclude=/UPLOAD_DONE',
        '--exclude=/upload_failed',
        '/opt/box/runs/Demo/2025-11-03T10-15-31Z/',
        '/mnt/nas_box/upload/Box01/Demo/2025-11-03T10-15-31Z/',
      ],
    });
  });
});

describe('mount failures that make auto fall back to smbclient', () => {
  const enoent = Object.assign(new Error('spawn mount ENOENT'), { code: 'ENOENT' });
  const cases: Array<[string, CommandResult, boolean]> = [
    ['EPERM', result(32, 'mount error(1): Operation not permitted'), true],
    ['ENODEV', result(32, 'mount error(19): No such device'), true],
    ['unknown fs', result(32, 'mount: /mnt/x: unknown filesystem type \'cifs\'.'), true],
    ['not root', result(1, 'mount.cifs: permission denied or not superuser and mount.cifs not installed SUID'), true],
    ['mount missing', result(-1, '', enoent), true],
    ['bad password', result(32, 'mount error(13): Permission denied'), false],
    ['host down', result(32, 'mount error(113): could not connect to 10.0.0.9Unable to find suitable address.'), false],
  ];
  for (const [name, r, expected] of cases) {
    it(`${name} → ${expected ? 'fallback' : 'report'}`, () => assert.equal(isMountUnavailable(r), expected));
  }
});
