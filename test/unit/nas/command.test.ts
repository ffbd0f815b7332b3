import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeAbnormalEnd, scrubSecret, trimOutput, type CommandResult } from '../../../src/nas/command.js';
import { decideMountSupport, type MountSupportFacts } from '../../../src/nas/transport.js';
import { describeVerifyMismatch } from '../../../src/nas/local-files.js';

describe('subprocess text helpers', () => {
  it('scrubs every occurrence of the secret', () => {
    assert.equal(scrubSecret('a s3cr3t b s3cr3t', 's3cr3t'), 'a *** b ***');
    assert.equal(scrubSecret('nothing', null), 'nothing');
    assert.equal(scrubSecret('nothing', ''), 'nothing');
    assert.equal(scrubSecret('x.*y', '.*'), 'x***y', 'no regex semantics');
  });

  it('trims output into one line with a length cap', () => {
    assert.equal(trimOutput('  first \n\n second\r\n'), 'first; second');
    assert.equal(trimOutput('x'.repeat(600)).length, 501);
  });

  it('describes timeouts, aborts and missing programs', () => {
    const base: CommandResult = { code: null, signal: 'SIGTERM', stdout: '', stderr: '', timedOut: false, aborted: false, error: null };
    assert.equal(describeAbnormalEnd({ ...base, timedOut: true }, 'mount'), 'timeout');
    assert.equal(describeAbnormalEnd({ ...base, aborted: true }, 'mount'), 'aborted');
    assert.equal(describeAbnormalEnd({ ...base, error: Object.assign(new Error('x'), { code: 'ENOENT' }) }, 'smbclient'), 'smbclient not found');
    assert.equal(describeAbnormalEnd({ ...base, code: 1, signal: null }, 'rsync'), null);
  });
});

describe('verification text', () => {
  it('counts missing and different files and names the first', () => {
    const local = [
      { rel: 'Wells/a.csv', size: 10 },
      { rel: 'Wells/b.csv', size: 20 },
      { rel: 'Wells/c.csv', size: 0 },
    ];
    assert.equal(describeVerifyMismatch(local, new Map([['Wells/a.csv', 10], ['Wells/b.csv', 20], ['Wells/c.csv', 0]])), null);
    assert.equal(
      describeVerifyMismatch(local, new Map([['Wells/a.csv', 10], ['Wells/b.csv', 19]])),
      'verify mismatch: 2 files missing or different, first: Wells/b.csv',
    );
  });
});

describe('auto transport decision', () => {
  const facts: MountSupportFacts = {
    platform: 'linux',
    uid: 0,
    procFilesystems: 'nodev\tsysfs\nnodev\tcifs\n\text4\n',
    cifsModuleAvailable: false,
    mountCifsAvailable: true,
    rsyncAvailable: true,
  };
  it('mount only when root, kernel CIFS, mount.cifs and rsync are all there', () => {
    assert.equal(decideMountSupport(facts).supported, true);
    assert.equal(decideMountSupport({ ...facts, procFilesystems: 'nodev\tsysfs\n', cifsModuleAvailable: true }).supported, true);
    assert.deepEqual(decideMountSupport({ ...facts, uid: 1000 }), { supported: false, reason: 'not running as root' });
    assert.equal(decideMountSupport({ ...facts, procFilesystems: 'nodev\tsysfs\n' }).supported, false);
    assert.equal(decideMountSupport({ ...facts, procFilesystems: null }).supported, false);
    assert.equal(decideMountSupport({ ...facts, mountCifsAvailable: false }).supported, false);
    assert.equal(decideMountSupport({ ...facts, rsyncAvailable: false }).supported, false);
    assert.equal(decideMountSupport({ ...facts, platform: 'darwin' }).supported, false);
  });
});
