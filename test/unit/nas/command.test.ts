import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeAbnormalEnd, scrubSecret, trimOutput, type CommandResult } from '../../../src/nas/command.js';
import { decideMountSupport, type MountSupportFacts } from '../../../src/nas/transport.js';
import { describeVerifyMismatch } from '../../../src/nas/local-files.js';

describe('subprocess text helpers', () => {
  it('scrubs every whole occurrence of the secret', () => {
    assert.equal(scrubSecret('a s3cr3t b s3cr3t', 's3cr3t'), 'a *** b ***');
    assert.equal(scrubSecret('nothing', null), 'nothing');
    assert.equal(scrubSecret('nothing', ''), 'nothing');
    assert.equal(scrubSecret('x .*+? y', '.*+?'), 'x *** y', 'no regex semantics');
    assert.equal(scrubSecret('password=.* next', '.*'), 'password=*** next', 'no regex semantics (short secret in context)');
  });

  it('a one-character password never mangles a message and is masked where it stands as a credential', () => {
    const msg = 'probe error: smbclient rc=1, err=tree connect failed: NT_STATUS_BAD_NETWORK_NAME; the share does not exist';
    assert.equal(scrubSecret(msg, 'e'), msg, 'no single characters are masked');
    assert.equal(scrubSecret('problem error', 'e'), 'problem error');
    assert.equal(scrubSecret(msg, 'a'), msg);
    assert.equal(scrubSecret('Could not open a file', 'a'), 'Could not open a file', 'a word equal to a short password stays');
    assert.equal(scrubSecret('username=u password=e', 'e'), 'username=u password=***');
    assert.equal(scrubSecret('Password: "a"', 'a'), 'Password: "***"');
    assert.equal(scrubSecret('-U beep%e failed', 'e'), '-U beep%*** failed');
    assert.equal(scrubSecret('smb://beep:a@nas/share', 'a'), 'smb://beep:***@nas/share');
    assert.equal(scrubSecret('password=ab', 'a'), 'password=ab', 'only the whole value');
    // No oracle: whatever the password's characters, a text without the whole password is unchanged.
    for (const pw of ['e', 'a', 'r', 'o', ' ', ':', '%']) assert.equal(scrubSecret(msg, pw), msg, JSON.stringify(pw));
  });

  it('a short password is masked only as a word of its own', () => {
    assert.equal(scrubSecret('err: abcd rejected; abcdef; xabcd', 'abcd'), 'err: *** rejected; abcdef; xabcd');
  });

  it('a long password is masked wherever it occurs, in every encoded form, and nothing else changes', () => {
    const pw = 'C0rrect horse/battery"staple%';
    const text = [
      `stderr: logon with ${pw} failed`,
      `url smb://beep:${encodeURIComponent(pw)}@nas/share`,
      `json {"password":${JSON.stringify(pw)}}`,
      `inside x${pw}y`,
    ].join('\n');
    const out = scrubSecret(text, pw);
    assert.equal(
      out,
      ['stderr: logon with *** failed', 'url smb://beep:***@nas/share', 'json {"password":"***"}', 'inside x***y'].join('\n'),
    );
    assert.ok(!out.includes('C0rrect'));
    assert.ok(!out.includes('staple'));
  });

  it('a password that appears in a path: the occurrence is masked, the rest of the path stays', () => {
    assert.equal(
      scrubSecret('rsync: open "/opt/box/runs/Lab-2024/Wells/slot01/CV/x.csv" failed', 'Lab-2024'),
      'rsync: open "/opt/box/runs/***/Wells/slot01/CV/x.csv" failed',
    );
    assert.equal(scrubSecret('cannot stat /mnt/nas_box/CV/x.csv', 'CV'), 'cannot stat /mnt/nas_box/CV/x.csv', 'short: paths untouched');
    assert.equal(scrubSecret('cannot stat /runs/runs2/runs', 'runs'), 'cannot stat /***/runs2/***');
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
    assert.equal(describeAbnormalEnd({ ...base, signal: 'SIGPIPE' }, 'smbclient'), 'smbclient killed by SIGPIPE (connection lost)');
    assert.equal(describeAbnormalEnd({ ...base, signal: 'SIGKILL' }, 'rsync'), 'rsync killed by SIGKILL');
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
