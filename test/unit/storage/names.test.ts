import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DaemonError } from '../../../src/errors.js';
import {
  MAX_NAME_BYTES,
  buildFileName,
  buildPrefix,
  listModeSuffixes,
  resolveStorageNames,
  resolveSubfolder,
  sanitizeClientDatetime,
  sanitizeSegment,
  toTimestampName,
} from '../../../src/storage/names.js';

function assertInvalidName(fn: () => unknown, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DaemonError, `expected DaemonError, got ${String(err)}`);
    assert.equal(err.code, 'storage.invalid_name');
    assert.equal(err.message, message);
    return true;
  });
}

test('segment sanitiser: examples of rest-api 6.3', () => {
  assert.equal(sanitizeSegment('My Experiment (v2)', 'experiment_name'), 'My_Experiment_v2');
  assert.equal(sanitizeSegment('Größe', 'experiment_name'), 'Gr_e');
  assertInvalidName(() => sanitizeSegment('  ', 'experiment_name'), 'experiment_name must not be empty');
  assert.equal(resolveSubfolder({ subdir: '  ' }), null);
});

test('segment sanitiser: edge cases', () => {
  const cases: Array<[string, string]> = [
    ['Demo', 'Demo'],
    ['  Demo  ', 'Demo'],
    ['a__b', 'a_b'],
    ['a--b', 'a-b'],
    ['a-_-b', 'a-_-b'],
    ['a - b', 'a_-_b'],
    ['__a__', 'a'],
    ['-_-a-_-', 'a'],
    ['a/b\\c', 'a_b_c'],
    ['../etc', 'etc'],
    ['..', null as unknown as string],
    ['a.b.c', 'a_b_c'],
    ['résumé 2', 'r_sum_2'],
    ['日本語x', 'x'],
    ['x😀y', 'x_y'],
    ['tab\there', 'tab_here'],
    ['a\u0000b', 'a_b'],
    ['slot01', 'slot01'],
    ['CV', 'CV'],
    ['0', '0'],
  ];
  for (const [input, expected] of cases) {
    if (expected === null) {
      assertInvalidName(() => sanitizeSegment(input, 'experiment_name'), 'experiment_name is invalid');
    } else {
      assert.equal(sanitizeSegment(input, 'experiment_name'), expected, JSON.stringify(input));
    }
  }
  assertInvalidName(() => sanitizeSegment('!!!', 'subdir'), 'subdir is invalid');
  assertInvalidName(() => sanitizeSegment('', 'experiment_name'), 'experiment_name must not be empty');
  assertInvalidName(() => sanitizeSegment('\t\n', 'subdir'), 'subdir must not be empty');
  assertInvalidName(() => sanitizeSegment('äöü', 'experiment_name'), 'experiment_name is invalid');
});

test('client_datetime sanitiser: examples of rest-api 6.3', () => {
  assert.equal(sanitizeClientDatetime('2025-11-03T10:15:31Z'), '2025-11-03T10-15-31Z');
  assert.equal(sanitizeClientDatetime('2025-11-03 10:15:31.123+01:00'), '2025-11-03_10-15-31-123-01-00');
});

test('client_datetime sanitiser: edge cases', () => {
  const cases: Array<[string, string]> = [
    ['2025-11-03T10-15-31', '2025-11-03T10-15-31'],
    ['  2025-11-03T09:15:31Z  ', '2025-11-03T09-15-31Z'],
    ['2025/11/03 10:15', '2025-11-03_10-15'],
    ['2025\\11\\03', '2025-11-03'],
    ['2025-11-03T10:15:31.412Z', '2025-11-03T10-15-31-412Z'],
    ['a  b', 'a_b'],
    ['a::b', 'a-b'],
    ['a_:_b', 'a_-_b'],
    ['::x::', 'x'],
    ['x+y', 'x-y'],
    ['x++y', 'x-y'],
    ['x+-y', 'x-y'],
    ['Zeit: 10 Uhr ü', 'Zeit-_10_Uhr'],
    ['2025-11-03T10:15:31+05:30', '2025-11-03T10-15-31-05-30'],
  ];
  for (const [input, expected] of cases) assert.equal(sanitizeClientDatetime(input), expected, JSON.stringify(input));
  assertInvalidName(() => sanitizeClientDatetime(''), 'client_datetime must not be empty');
  assertInvalidName(() => sanitizeClientDatetime('   '), 'client_datetime must not be empty');
  assertInvalidName(() => sanitizeClientDatetime('::..//'), 'client_datetime is invalid');
  assertInvalidName(() => sanitizeClientDatetime('ÄÖÜ'), 'client_datetime is invalid');
});

test('subfolder: subdir, else folder_name, blank = absent, messages name subdir', () => {
  assert.equal(resolveSubfolder({}), null);
  assert.equal(resolveSubfolder({ subdir: null, folder_name: null }), null);
  assert.equal(resolveSubfolder({ subdir: 'Batch A' }), 'Batch_A');
  assert.equal(resolveSubfolder({ subdir: 'A', folder_name: 'B' }), 'A');
  assert.equal(resolveSubfolder({ subdir: '  ', folder_name: 'B' }), 'B');
  assert.equal(resolveSubfolder({ subdir: '', folder_name: '  ' }), null);
  assertInvalidName(() => resolveSubfolder({ subdir: '???' }), 'subdir is invalid');
  assertInvalidName(() => resolveSubfolder({ folder_name: '###' }), 'subdir is invalid');
});

test('timestamp_name, prefix and file names (rest-api 6.1 example)', () => {
  const names = resolveStorageNames({ experiment_name: 'Demo', subdir: 'BatchA', client_datetime: '2025-11-03T10:15:31Z' });
  assert.deepEqual(names, {
    experiment: 'Demo',
    subfolder: 'BatchA',
    timestampDir: '2025-11-03T10-15-31Z',
    timestampName: '2025-11-03_10-15-31Z',
    prefix: 'Demo_BatchA_2025-11-03_10-15-31Z',
  });
  assert.equal(buildFileName(names.prefix, 'slot01', 'CV'), 'Demo_BatchA_2025-11-03_10-15-31Z_slot01_CV.csv');
  assert.equal(buildFileName(names.prefix, 'slot01', 'CV', '.png'), 'Demo_BatchA_2025-11-03_10-15-31Z_slot01_CV.png');
  assert.equal(toTimestampName('20251103T1015T'), '20251103_1015_');
  assert.equal(buildPrefix('E', null, 'ts'), 'E_ts');
  assert.deepEqual(listModeSuffixes('CV'), ['.csv', '.png']);
  assert.deepEqual(listModeSuffixes('EIS'), ['.csv', '.png', '_spectrum.csv', '_bode.png']);
  assert.deepEqual(listModeSuffixes('CDL'), ['.csv', '.png', '_cdl.csv', '_cdl.json', '_cdl.png']);
});

test('naming order: experiment_name is checked before subdir before client_datetime', () => {
  assertInvalidName(() => resolveStorageNames({ experiment_name: ' ', subdir: '!', client_datetime: '' }), 'experiment_name must not be empty');
  assertInvalidName(() => resolveStorageNames({ experiment_name: 'E', subdir: '!', client_datetime: '' }), 'subdir is invalid');
  assertInvalidName(() => resolveStorageNames({ experiment_name: 'E', client_datetime: '' }), 'client_datetime must not be empty');
});

test('a directory name above 255 bytes is refused with "names too long"', () => {
  const ok = 'e'.repeat(MAX_NAME_BYTES);
  assert.equal(resolveStorageNames({ experiment_name: ok, client_datetime: 'x' }).experiment, ok);
  assertInvalidName(() => resolveStorageNames({ experiment_name: 'e'.repeat(MAX_NAME_BYTES + 1), client_datetime: 'x' }), 'names too long');
  assertInvalidName(() => resolveStorageNames({ experiment_name: 'e', subdir: 's'.repeat(256), client_datetime: 'x' }), 'names too long');
  assertInvalidName(() => resolveStorageNames({ experiment_name: 'e', client_datetime: '1'.repeat(256) }), 'names too long');
});
