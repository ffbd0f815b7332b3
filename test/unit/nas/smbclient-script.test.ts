import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildListScript,
  buildProbeScript,
  buildSmbclientArgv,
  buildUploadScript,
  findStatusErrors,
  parsePwd,
  parseSmbclientListing,
  quoteSmbArg,
  sameSharePath,
  toSharePath,
} from '../../../src/nas/smbclient-script.js';

/** One `ls` line exactly as smbclient prints it: "  %-30s%7s %8.0f  %s". */
function lsLine(name: string, attrs: string, size: number, date = 'Tue Nov  4 04:51:09 2026'): string {
  return `  ${name.padEnd(30)}${attrs.padStart(7)} ${String(size).padStart(8)}  ${date}`;
}

describe('smbclient argv', () => {
  it('passes credentials only as an auth file, with port, SMB3 and a timeout', () => {
    const argv = buildSmbclientArgv({ host: 'nas.local', share: 'experiments', cred_path: '/opt/box/.smbcredentials_nas', port: 4455 }, 29);
    assert.deepEqual(argv, ['//nas.local/experiments', '-A', '/opt/box/.smbcredentials_nas', '-p', '4455', '-m', 'SMB3', '-t', '29']);
    assert.ok(!argv.some((a) => /password|%/.test(a)), 'no -U user%password form');
  });
});

describe('smbclient scripts', () => {
  it('probe with ensure_base creates the base folder recursively, then proves it with pwd', () => {
    assert.equal(buildProbeScript('\\Box01\\in', true), 'recurse ON\nmkdir "\\Box01\\in"\nrecurse OFF\ncd "\\Box01\\in"\npwd\n');
    assert.equal(buildProbeScript('\\Box01\\in', false), 'cd "\\Box01\\in"\npwd\n');
    assert.equal(buildProbeScript('\\', true), 'cd "\\"\npwd\n');
  });

  it('upload creates directories first and puts by absolute paths', () => {
    const script = buildUploadScript(['\\B\\run', '\\B\\run\\Wells'], [{ localPath: '/r/run/Wells/a;b.csv', remotePath: '\\B\\run\\Wells\\a;b.csv' }]);
    assert.equal(script, 'recurse ON\nmkdir "\\B\\run"\nmkdir "\\B\\run\\Wells"\nrecurse OFF\nput "/r/run/Wells/a;b.csv" "\\B\\run\\Wells\\a;b.csv"\n');
  });

  it('list script changes into the folder, prints it, lists recursively', () => {
    assert.equal(buildListScript('\\B\\run'), 'cd "\\B\\run"\npwd\nrecurse ON\nls\n');
  });

  it('refuses names that cannot be quoted', () => {
    assert.throws(() => quoteSmbArg('a"b'), /unsupported character/);
    assert.throws(() => quoteSmbArg('a\nb'), /unsupported character/);
    assert.equal(quoteSmbArg('with space;semi'), '"with space;semi"');
  });

  it('toSharePath joins parts with backslashes from the share root', () => {
    assert.equal(toSharePath(''), '\\');
    assert.equal(toSharePath('Box01/in', 'Demo/2025', 'Wells/x.csv'), '\\Box01\\in\\Demo\\2025\\Wells\\x.csv');
    assert.equal(toSharePath('/a//b/', '\\c'), '\\a\\b\\c');
    assert.ok(sameSharePath('\\BOX01\\In', 'box01/in'));
    assert.ok(!sameSharePath('\\box01', '\\box01\\in'));
  });
});

describe('smbclient output parsing', () => {
  it('parses a recursive listing relative to the listed folder', () => {
    const out = [
      'Try "help" to get a list of possible commands.',
      'Current directory is \\\\127.0.0.1\\beep\\Box01\\run\\',
      lsLine('.', 'D', 0),
      lsLine('..', 'D', 0),
      lsLine('Wells', 'D', 0),
      lsLine('top.txt', 'A', 12, 'Mon Dec 15 23:01:02 2025'),
      '',
      '\\Box01\\run\\Wells',
      lsLine('.', 'D', 0),
      lsLine('..', 'D', 0),
      lsLine('a_very_long_file_name_exceeding_thirty_columns.csv', 'A', 123_456_789),
      lsLine('ENDS WITH CAPS', 'N', 5),
      lsLine('x'.repeat(30), 'A', 1),
      lsLine('notes with spaces;semi.txt', 'A', 1234),
      lsLine('HIDDEN', 'AH', 0),
      lsLine('sub dir', 'D', 0),
      '',
      '\\box01\\RUN\\Wells\\sub dir',
      lsLine('.', 'D', 0),
      lsLine('..', 'D', 0),
      lsLine('deep.csv', 'A', 42),
      '',
      '\t\t264212084 blocks of size 1024. 82840996 blocks available',
    ].join('\n');
    const listing = parseSmbclientListing(out, '\\Box01\\run');
    assert.deepEqual(listing.errors, []);
    assert.deepEqual(listing.foreignDirs, []);
    assert.deepEqual(
      listing.entries.map((e) => [e.path, e.size, e.isDir, e.attrs]),
      [
        ['Wells', 0, true, 'D'],
        ['top.txt', 12, false, 'A'],
        ['Wells/a_very_long_file_name_exceeding_thirty_columns.csv', 123_456_789, false, 'A'],
        ['Wells/ENDS WITH CAPS', 5, false, 'N'],
        ['Wells/' + 'x'.repeat(30), 1, false, 'A'],
        ['Wells/notes with spaces;semi.txt', 1234, false, 'A'],
        ['Wells/HIDDEN', 0, false, 'AH'],
        ['Wells/sub dir', 0, true, 'D'],
        ['Wells/sub dir/deep.csv', 42, false, 'A'],
      ],
    );
  });

  it('reports NT_STATUS lines and blocks outside the listed folder (a failed cd)', () => {
    const out = [
      'cd \\Box01\\missing\\: NT_STATUS_OBJECT_NAME_NOT_FOUND',
      lsLine('.', 'D', 0),
      lsLine('elsewhere.csv', 'A', 3),
      '',
      '\\Other',
      lsLine('other.csv', 'A', 4),
    ].join('\n');
    const listing = parseSmbclientListing(out, '\\Box01\\missing');
    assert.deepEqual(listing.errors, ['cd \\Box01\\missing\\: NT_STATUS_OBJECT_NAME_NOT_FOUND']);
    assert.deepEqual(listing.foreignDirs, ['\\Other']);
    // The first block still parses (its entries are only trustworthy without errors).
    assert.deepEqual(listing.entries.map((e) => e.path), ['elsewhere.csv']);
  });

  it('lists the share root', () => {
    const out = [lsLine('a', 'D', 0), '', '\\a', lsLine('b.csv', 'A', 9)].join('\n');
    assert.deepEqual(
      parseSmbclientListing(out, '\\').entries.map((e) => [e.path, e.size]),
      [
        ['a', 0],
        ['a/b.csv', 9],
      ],
    );
  });

  it('finds NT_STATUS errors and the working directory', () => {
    const out = 'putting file x as \\x\nNT_STATUS_ACCESS_DENIED opening remote file \\x\nsession setup failed: NT_STATUS_LOGON_FAILURE\n';
    assert.deepEqual(findStatusErrors(out), ['NT_STATUS_ACCESS_DENIED opening remote file \\x', 'session setup failed: NT_STATUS_LOGON_FAILURE']);
    assert.equal(parsePwd('Current directory is \\\\127.0.0.1\\beep\\Box01\\x y\\\n'), '\\Box01\\x y');
    assert.equal(parsePwd('Current directory is \\\\127.0.0.1\\beep\\\n'), '\\');
    assert.equal(parsePwd('nothing here'), null);
  });
});
