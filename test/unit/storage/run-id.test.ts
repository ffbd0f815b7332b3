import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { RUN_ID_PATTERN_SOURCE, isValidRunId } from '../../../src/storage/run-id.js';

test('run_id pattern of rest-api 4.1', () => {
  assert.equal(RUN_ID_PATTERN_SOURCE, '^[A-Za-z0-9_-]{1,128}$');
  for (const ok of ['20251103T091531_3fa9c2', 'a', 'A-b_C', 'x'.repeat(128), '0']) assert.equal(isValidRunId(ok), true, ok);
  for (const bad of ['', '..', '.', 'a.b', 'a/b', 'a\\b', 'x'.repeat(129), 'a\u0000', 'café', ' a', 'a ', 'a\n', '%2E%2E', 'a:b']) {
    assert.equal(isValidRunId(bad), false, JSON.stringify(bad));
  }
});

test('the job request schema documents the same run_name pattern', () => {
  const schema = JSON.parse(readFileSync(new URL('../../../../schemas/api/job-request.schema.json', import.meta.url), 'utf8')) as { properties: { run_name: { description: string } } };
  assert.ok(schema.properties.run_name.description.includes(RUN_ID_PATTERN_SOURCE));
});
