/** The dashboard's in-page schema checker, against the real mode schemas of the OpenAPI document. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { JsonSchema } from '../../../web/src/api.js';
import { checkSchema } from '../../../web/src/schema-check.js';

const openapi = JSON.parse(readFileSync(new URL('../../../../schemas/openapi.json', import.meta.url), 'utf8')) as {
  components: { schemas: Record<string, JsonSchema> };
};
const schema = (name: string): JsonSchema => openapi.components.schemas[name]!;
const cv = { start: 0, vertex1: 0.5, vertex2: -0.5, end: 0, scan_rate: 0.1, cycles: 2 };

describe('dashboard schema check', () => {
  test('a valid CV has no issues', () => {
    assert.deepEqual(checkSchema(schema('ModeParams_CV'), cv), []);
  });

  test('required, minimum/maximum, exclusiveMinimum and integer are reported by field', () => {
    const issues = checkSchema(schema('ModeParams_CV'), { ...cv, vertex1: 7, scan_rate: 0, cycles: 1.5, end: undefined });
    const byField = Object.fromEntries(issues.map((i) => [i.field, i.message]));
    assert.equal(byField['vertex1'], 'must be ≤ 4.95');
    assert.equal(byField['scan_rate'], 'must be > 0');
    assert.equal(byField['cycles'], 'must be a whole number');
    assert.equal(byField['end'], 'is required');
    assert.equal(issues.length, 4);
  });

  test('anyOf with null: null and in-range values pass, out-of-range values report the numeric branch', () => {
    const s = schema('ModeParams_CV');
    assert.deepEqual(checkSchema(s, { ...cv, tia_gain: null }), []);
    assert.deepEqual(checkSchema(s, { ...cv, tia_gain: 3 }), []);
    assert.deepEqual(checkSchema(s, { ...cv, tia_gain: 4 }), [{ field: 'tia_gain', message: 'must be ≤ 3' }]);
  });

  test('enum, arrays with minItems and item types', () => {
    assert.deepEqual(checkSchema({ type: 'string', enum: ['log', 'lin'] }, 'cubic'), [{ field: '', message: 'must be one of log, lin' }]);
    const list: JsonSchema = { type: 'array', minItems: 1, items: { type: 'number' } };
    assert.deepEqual(checkSchema(list, []), [{ field: '', message: 'needs at least 1 value' }]);
    assert.deepEqual(checkSchema(list, [1, 'x']), [{ field: '[1]', message: 'must be a number' }]);
  });

  test('type arrays (JobRequest tia_gain: integer or null)', () => {
    const s = schema('JobRequest').properties!['tia_gain']!;
    assert.deepEqual(checkSchema(s, null), []);
    assert.deepEqual(checkSchema(s, 'two'), [{ field: '', message: 'must be a whole number or empty' }]);
  });
});
