/** Pure parts of run resolution and file-path safety (no fs). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { indexPathToDir, legacyRunDir, parseRunIndex } from '../../../src/storage/run-index.js';
import { isValidRunId } from '../../../src/storage/run-id.js';
import { compareCodePoints, normaliseRunFilePath } from '../../../src/storage/run-files.js';
import { formatJson } from '../../../src/storage/atomic-file.js';

const ROOT = '/opt/box/runs';

test('run_id pattern of rest-api 4.1', () => {
  for (const ok of ['20251103T091531_3fa9c2', 'a', 'A-b_c', 'x'.repeat(128)]) assert.equal(isValidRunId(ok), true, ok);
  for (const bad of ['', '..', '.', '../x', 'a/b', 'a\\b', '.jobs', 'a b', 'x'.repeat(129), 'ä', 'a\0', '%2e%2e']) {
    assert.equal(isValidRunId(bad), false, JSON.stringify(bad));
  }
});

test('legacy fallback is only computed for valid run_ids (no `..` to the parent of RUNS_ROOT)', () => {
  assert.equal(legacyRunDir(ROOT, '20251103T091531_3fa9c2'), '/opt/box/runs/20251103T091531_3fa9c2');
  assert.equal(legacyRunDir(ROOT, '..'), null);
  assert.equal(legacyRunDir(ROOT, '../box'), null);
  assert.equal(legacyRunDir(ROOT, '.'), null);
  assert.equal(legacyRunDir(ROOT, ''), null);
  assert.equal(legacyRunDir(ROOT, '/etc'), null);
});

test('index values: relative with / joined onto RUNS_ROOT, absolute kept', () => {
  assert.equal(indexPathToDir(ROOT, 'Demo/BatchA/ts'), '/opt/box/runs/Demo/BatchA/ts');
  assert.equal(indexPathToDir(ROOT, '/srv/run'), '/srv/run');
});

test('index parsing: not an object or unparsable = empty; non-string entries ignored', () => {
  assert.equal(parseRunIndex('').size, 0);
  assert.equal(parseRunIndex('{not json').size, 0);
  assert.equal(parseRunIndex('[1,2]').size, 0);
  assert.equal(parseRunIndex('null').size, 0);
  assert.equal(parseRunIndex('"x"').size, 0);
  const parsed = parseRunIndex(JSON.stringify({ a: 'A/b/c', b: 3, c: null, d: { x: 1 }, e: ['x'], f: '/abs', g: '' }));
  assert.deepEqual([...parsed], [['a', 'A/b/c'], ['f', '/abs']]);
});

test('download path normalisation (rest-api 6.6)', () => {
  const slots = ['slot01'];
  const ok: Array<[string, string]> = [
    ['Wells/slot01/CV/a.csv', 'Wells/slot01/CV/a.csv'],
    ['./Wells/slot01/CV/a.csv', 'Wells/slot01/CV/a.csv'],
    ['Wells/slot01/CV/../CV/a.csv', 'Wells/slot01/CV/a.csv'],
    ['Wells//slot01/CV/a.csv', 'Wells/slot01/CV/a.csv'],
    ['Wells/slot01/x', 'Wells/slot01/x'],
    ['UPLOAD_DONE', 'UPLOAD_DONE'],
    ['upload_failed', 'upload_failed'],
    ['Wells/slot01/..%2f..%2fx', 'Wells/slot01/..%2f..%2fx'], // literal name, stays inside
  ];
  for (const [input, expected] of ok) assert.equal(normaliseRunFilePath(input, slots), expected, input);
  const refused = [
    '',
    '.',
    '..',
    '../x',
    '../../etc/passwd',
    'Wells/../../x',
    'Wells/slot01/../../../x',
    '/etc/passwd',
    '//etc/passwd',
    'C:\\Windows\\win.ini',
    '\\\\server\\share',
    'Wells/slot01/a\0.csv',
    '\0',
    'Wells/slot02/CV/a.csv', // another run's slot in a shared directory
    'Wells/slot01/../slot02/CV/a.csv',
    'Wells/slot01', // directory
    'Wells/slot01/',
    'Wells',
    'other.txt',
    '.jobs/x.json',
    '_run_paths.json',
    'wells/slot01/CV/a.csv',
  ];
  for (const input of refused) assert.equal(normaliseRunFilePath(input, slots), null, JSON.stringify(input));
});

test('code-point order differs from UTF-16 order above the BMP', () => {
  const items = ['b', 'a', 'Z', '\u{1F600}', '\uFF5E', 'a/b', 'a-b', 'a_b'];
  const sorted = [...items].sort(compareCodePoints);
  assert.deepEqual(sorted, ['Z', 'a', 'a-b', 'a/b', 'a_b', 'b', '\uFF5E', '\u{1F600}']);
  // UTF-16 order would put the emoji (surrogate 0xD83D) before U+FF5E.
  assert.deepEqual([...items].sort().slice(-2), ['\u{1F600}', '\uFF5E']);
});

test('formatJson: pretty-printed, sorted keys at every level', () => {
  assert.equal(formatJson({ b: 1, a: { d: 2, c: [3, { f: 1, e: 0 }] } }, true), '{\n  "a": {\n    "c": [\n      3,\n      {\n        "e": 0,\n        "f": 1\n      }\n    ],\n    "d": 2\n  },\n  "b": 1\n}\n');
});

test('run index: every prototype key is an ordinary run_id when read and when formatted (#10)', () => {
  const keys = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__', 'isPrototypeOf', 'prototype'];
  const text = `{${keys.map((k, i) => `"${k}": "E/t${i}"`).join(', ')}, "plain": "E/p"}`;
  const parsed = parseRunIndex(text);
  assert.deepEqual([...parsed.keys()], [...keys, 'plain']);
  keys.forEach((k, i) => assert.equal(parsed.get(k), `E/t${i}`, k));

  // What RunIndex writes: a prototype-less object, keys sorted (formatJson with sortKeys).
  const obj = Object.create(null) as Record<string, string>;
  for (const k of [...parsed.keys()].sort()) obj[k] = parsed.get(k)!;
  const written = formatJson(obj, true);
  assert.deepEqual(parseRunIndex(written), new Map([...parsed].sort((a, b) => (a[0] < b[0] ? -1 : 1))));
  assert.match(written, /"__proto__": "E\/t0"/);
  // sortKeys re-creates every object: a plain object's `__proto__` key survives that too.
  assert.equal(formatJson(JSON.parse('{"b": 1, "__proto__": {"x": 2}}'), true), '{\n  "__proto__": {\n    "x": 2\n  },\n  "b": 1\n}\n');
  // Values that are no strings, or keys that are not even run_ids, do not break the rest.
  assert.deepEqual([...parseRunIndex('{"__proto__": 5, "constructor": "E/c"}')], [['constructor', 'E/c']]);
});
