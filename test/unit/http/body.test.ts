import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { exceedsJsonDepth, parseJsonBody } from '../../../src/http/body.js';
import { MAX_JSON_DEPTH } from '../../../src/http/limits.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('parseJsonBody', () => {
  test('JSON of any type, with or without BOM', () => {
    assert.deepEqual(parseJsonBody(bytes('{"a":1}')), { kind: 'json', value: { a: 1 } });
    assert.deepEqual(parseJsonBody(bytes('[1]')), { kind: 'json', value: [1] });
    assert.deepEqual(parseJsonBody(bytes('"s"')), { kind: 'json', value: 's' });
    assert.deepEqual(parseJsonBody(bytes('null')), { kind: 'json', value: null });
    assert.deepEqual(parseJsonBody(bytes('\uFEFF{"a":1}')), { kind: 'json', value: { a: 1 } });
  });

  test('empty or whitespace = absent; malformed or invalid UTF-8 = invalid', () => {
    assert.deepEqual(parseJsonBody(bytes('')), { kind: 'absent' });
    assert.deepEqual(parseJsonBody(bytes(' \r\n\t')), { kind: 'absent' });
    assert.deepEqual(parseJsonBody(bytes('{"a":')), { kind: 'invalid' });
    assert.deepEqual(parseJsonBody(bytes("{'a':1}")), { kind: 'invalid' });
    assert.deepEqual(parseJsonBody(new Uint8Array([0x7b, 0xff, 0x7d])), { kind: 'invalid' });
  });
});

describe('JSON depth limit', () => {
  const nested = (depth: number, open = '[', close = ']'): string => open.repeat(depth) + close.repeat(depth);

  test('up to the limit parses; one level more is too_deep, before parsing', () => {
    assert.equal(parseJsonBody(bytes(nested(MAX_JSON_DEPTH))).kind, 'json');
    assert.deepEqual(parseJsonBody(bytes(nested(MAX_JSON_DEPTH + 1))), { kind: 'too_deep' });
    assert.deepEqual(parseJsonBody(bytes(`{"a":${nested(10_000)}}`)), { kind: 'too_deep' });
    assert.deepEqual(parseJsonBody(bytes('{"a":'.repeat(100_000))), { kind: 'too_deep' }, 'even when it would not parse');
    assert.equal(parseJsonBody(bytes(nested(3)), 2).kind, 'too_deep');
  });

  test('brackets inside strings do not count; escapes are respected; siblings do not add up', () => {
    assert.equal(exceedsJsonDepth(JSON.stringify({ a: '['.repeat(1000), b: '{'.repeat(1000) }), 4), false);
    assert.equal(exceedsJsonDepth(JSON.stringify({ a: 'x\\"[[[[', b: '\u0022[[[[' }), 2), false);
    assert.equal(exceedsJsonDepth(`[${'[1],'.repeat(10_000)}[1]]`, 2), false);
    assert.equal(exceedsJsonDepth('{"a":{"b":{"c":[]}}}', 4), false);
    assert.equal(exceedsJsonDepth('{"a":{"b":{"c":[]}}}', 3), true);
    assert.equal(exceedsJsonDepth(']]]]' + nested(3), 3), false);
    assert.equal(exceedsJsonDepth(']]]]' + nested(4), 3), true, 'stray closers do not buy extra depth');
  });
});
