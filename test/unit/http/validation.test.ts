import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ErrorObject } from 'ajv';
import { API_SCHEMAS } from '../../../src/http/schemas.js';
import { TIA_GAIN_INDEX_MAX_ACCEPTED, TIA_GAIN_INDEX_MAX_EFFECTIVE } from '../../../src/protocol/constants.js';
import { MAX_REPORTED_ISSUES, bodyMissingIssue, createRequestValidator, jsonInvalidIssue, limitIssues, mapAjvErrors } from '../../../src/http/validation.js';

const validator = createRequestValidator();
const VALID_JOB = { devices: ['slot01'], modes: ['CV'], experiment_name: 'Demo', client_datetime: '2025-11-03T09:15:31Z' };
const SECRET = 'do-not-echo-7f3a';

function checkJob(patch: Record<string, unknown>): { loc: (string | number)[]; msg: string; type: string }[] {
  return validator.check(API_SCHEMAS.JobRequest, 'body', { ...VALID_JOB, ...patch });
}

describe('request schemas through ajv → 1.5 issues', () => {
  test('a valid job request (with nulls, defaults absent and unknown fields) passes', () => {
    assert.deepEqual(checkJob({}), []);
    assert.deepEqual(
      checkJob({ devices: 'all', tia_gain: null, sampling_interval: null, subdir: null, run_name: null, folder_name: null, group_id: null, extra: { x: 1 } }),
      [],
    );
    assert.deepEqual(checkJob({ tia_gain: 3, sampling_interval: 0.5, make_plot: false, params_by_mode: { CV: { cycles: 'x' } } }), []);
    assert.deepEqual(checkJob({ modes: [], devices: [] }), [], 'emptiness is the job service business (jobs.invalid_request / invalid_devices)');
  });

  test('tia_gain: the indices that take distinct effect (0..TIA_GAIN_INDEX_MAX_EFFECTIVE) or null; sampling_interval: (0, 3600] s or null', () => {
    for (const tia_gain of [0, 1, 3, null]) assert.deepEqual(checkJob({ tia_gain }), [], String(tia_gain));
    // #11: 4 and 5 are refused (the firmware accepts them but runs them as 3), and the message says why.
    for (const tia_gain of [4, TIA_GAIN_INDEX_MAX_ACCEPTED]) {
      assert.deepEqual(checkJob({ tia_gain }), [
        { loc: ['body', 'tia_gain'], msg: 'Input should be less than or equal to 3 (the firmware treats 4 and 5 as 3 = 1 MΩ)', type: 'less_than_equal' },
      ], String(tia_gain));
    }
    assert.equal(TIA_GAIN_INDEX_MAX_EFFECTIVE, 3);
    for (const tia_gain of [-1, TIA_GAIN_INDEX_MAX_ACCEPTED + 1, 99, 1.2e29]) {
      assert.deepEqual(checkJob({ tia_gain }).map((i) => [i.loc.join('.'), i.type]), [['body.tia_gain', tia_gain < 0 ? 'greater_than_equal' : 'less_than_equal']], String(tia_gain));
    }
    assert.deepEqual(checkJob({ tia_gain: 1.5 }).map((i) => i.type), ['int_type']);
    for (const sampling_interval of [1e-9, 0.00036, 0.5, 3600, null]) assert.deepEqual(checkJob({ sampling_interval }), [], String(sampling_interval));
    for (const sampling_interval of [0, -1, 3600.000001, 1e308]) {
      assert.deepEqual(checkJob({ sampling_interval }).map((i) => [i.loc.join('.'), i.type]), [['body.sampling_interval', sampling_interval <= 0 ? 'greater_than' : 'less_than_equal']], String(sampling_interval));
    }
  });

  test('missing', () => {
    assert.deepEqual(validator.check(API_SCHEMAS.JobRequest, 'body', {}), [
      { loc: ['body', 'devices'], msg: 'Field required', type: 'missing' },
      { loc: ['body', 'modes'], msg: 'Field required', type: 'missing' },
      { loc: ['body', 'experiment_name'], msg: 'Field required', type: 'missing' },
      { loc: ['body', 'client_datetime'], msg: 'Field required', type: 'missing' },
    ]);
    assert.deepEqual(validator.check(API_SCHEMAS.RunFileQuery, 'query', {}), [{ loc: ['query', 'path'], msg: 'Field required', type: 'missing' }]);
  });

  test('string_type, int_type, float_type, bool_type, list_type, dict_type', () => {
    assert.deepEqual(checkJob({ experiment_name: 1 }), [{ loc: ['body', 'experiment_name'], msg: 'Input should be a valid string', type: 'string_type' }]);
    assert.deepEqual(checkJob({ subdir: 1 }), [{ loc: ['body', 'subdir'], msg: 'Input should be a valid string or null', type: 'string_type' }]);
    assert.deepEqual(checkJob({ tia_gain: 1.5 }), [{ loc: ['body', 'tia_gain'], msg: 'Input should be a valid integer or null', type: 'int_type' }]);
    assert.deepEqual(checkJob({ tia_gain: '1' }).map((e) => e.type), ['int_type'], 'no coercion in the envelope');
    assert.deepEqual(checkJob({ sampling_interval: '0.1' }), [
      { loc: ['body', 'sampling_interval'], msg: 'Input should be a valid number or null', type: 'float_type' },
    ]);
    assert.deepEqual(checkJob({ make_plot: 'true' }), [{ loc: ['body', 'make_plot'], msg: 'Input should be a valid boolean', type: 'bool_type' }]);
    assert.deepEqual(checkJob({ modes: 'CV' }), [{ loc: ['body', 'modes'], msg: 'Input should be a valid list', type: 'list_type' }]);
    assert.deepEqual(checkJob({ params_by_mode: [] }), [{ loc: ['body', 'params_by_mode'], msg: 'Input should be a valid dictionary', type: 'dict_type' }]);
    assert.deepEqual(validator.check(API_SCHEMAS.JobRequest, 'body', [VALID_JOB]), [{ loc: ['body'], msg: 'Input should be a valid dictionary', type: 'dict_type' }]);
  });

  test('array indexes are numbers in loc', () => {
    assert.deepEqual(checkJob({ devices: ['slot01', 2, 'slot03', null] }), [
      { loc: ['body', 'devices', 1], msg: 'Input should be a valid string', type: 'string_type' },
      { loc: ['body', 'devices', 3], msg: 'Input should be a valid string', type: 'string_type' },
    ]);
    assert.deepEqual(checkJob({ modes: ['CV', 7] }), [{ loc: ['body', 'modes', 1], msg: 'Input should be a valid string', type: 'string_type' }]);
  });

  test('enum (query state, devices other than "all") and too_short', () => {
    assert.deepEqual(validator.check(API_SCHEMAS.JobsQuery, 'query', { state: 'running' }), [
      { loc: ['query', 'state'], msg: "Input should be 'incomplete' or 'completed'", type: 'enum' },
    ]);
    assert.deepEqual(validator.check(API_SCHEMAS.JobsQuery, 'query', { state: 'completed', group_id: 'g', other: 'x' }), []);
    assert.deepEqual(checkJob({ devices: 'ALL' }), [{ loc: ['body', 'devices'], msg: "Input should be 'all'", type: 'enum' }]);
    assert.deepEqual(checkJob({ devices: 3 }), [{ loc: ['body', 'devices'], msg: 'Input should be a valid list or a valid string', type: 'list_type' }]);
    assert.deepEqual(validator.check(API_SCHEMAS.JobStatusRequest, 'body', { run_ids: [] }), [
      { loc: ['body', 'run_ids'], msg: 'List should have at least 1 item', type: 'too_short' },
    ]);
  });

  test('every problem is listed at once (allErrors)', () => {
    const issues = validator.check(API_SCHEMAS.SMBSetupRequest, 'body', { host: 1, share: [], password: {}, port: 'x', retention_days: 1.5 });
    assert.deepEqual(
      issues.map((e) => [e.loc.join('.'), e.type]),
      [
        ['body.username', 'missing'],
        ['body.host', 'string_type'],
        ['body.share', 'string_type'],
        ['body.password', 'string_type'],
        ['body.retention_days', 'int_type'],
        ['body.port', 'int_type'],
      ],
    );
  });

  test('no issue ever contains the input value', () => {
    const bodies: unknown[] = [
      { ...VALID_JOB, experiment_name: { SECRET }, devices: SECRET, modes: [SECRET, { SECRET }], tia_gain: SECRET, make_plot: [SECRET] },
      { host: SECRET, share: 1, username: [SECRET], password: { SECRET } },
    ];
    const issues = [...validator.check(API_SCHEMAS.JobRequest, 'body', bodies[0]), ...validator.check(API_SCHEMAS.SMBSetupRequest, 'body', bodies[1])];
    assert.ok(issues.length >= 6);
    assert.ok(!JSON.stringify(issues).includes(SECRET));
    assert.deepEqual(validator.check(API_SCHEMAS.JobsQuery, 'query', { state: SECRET }).map((e) => e.msg), ["Input should be 'incomplete' or 'completed'"]);
  });
});

describe('mapAjvErrors for keywords the API schemas do not use (yet)', () => {
  const error = (keyword: string, params: Record<string, unknown>, instancePath = '/x'): ErrorObject => ({
    keyword,
    params,
    instancePath,
    schemaPath: `#/properties/x/${keyword}`,
  });
  const data = { x: SECRET, list: [[0, 1]] };

  test('bounds, lengths, pattern, uniqueness, extra fields, fallbacks', () => {
    const cases: [ErrorObject, string, string][] = [
      [error('minimum', { limit: 1, comparison: '>=' }), 'greater_than_equal', 'Input should be greater than or equal to 1'],
      [error('maximum', { limit: 10, comparison: '<=' }), 'less_than_equal', 'Input should be less than or equal to 10'],
      [error('exclusiveMinimum', { limit: 0, comparison: '>' }), 'greater_than', 'Input should be greater than 0'],
      [error('exclusiveMaximum', { limit: 5, comparison: '<' }), 'less_than', 'Input should be less than 5'],
      [error('minLength', { limit: 1 }), 'string_too_short', 'String should have at least 1 character'],
      [error('maxLength', { limit: 3 }), 'string_too_long', 'String should have at most 3 characters'],
      [error('maxItems', { limit: 2 }), 'too_long', 'List should have at most 2 items'],
      [error('minItems', { limit: 2 }), 'too_short', 'List should have at least 2 items'],
      [error('pattern', { pattern: '^[a-z]+$' }), 'string_pattern_mismatch', "String should match pattern '^[a-z]+$'"],
      [error('multipleOf', { multipleOf: 2 }), 'multiple_of', 'Input should be a multiple of 2'],
      [error('uniqueItems', { i: 1, j: 0 }), 'unique_items', 'List items should be unique'],
      [error('enum', { allowedValues: ['a', 'b', 'c'] }), 'enum', "Input should be 'a', 'b' or 'c'"],
      [error('anyOf', {}), 'value_error', 'Input is invalid'],
    ];
    for (const [err, type, msg] of cases) {
      assert.deepEqual(mapAjvErrors([err], 'body', data), [{ loc: ['body', 'x'], msg, type }], err.keyword);
    }
    assert.deepEqual(mapAjvErrors([error('additionalProperties', { additionalProperty: 'y' }, '')], 'body', data), [
      { loc: ['body', 'y'], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' },
    ]);
  });

  test('`if` errors are dropped, duplicates merged, JSON-pointer escapes decoded, nested indexes numeric', () => {
    const errors: ErrorObject[] = [
      error('if', { failingKeyword: 'then' }),
      error('const', { allowedValue: 'all' }),
      error('const', { allowedValue: 'all' }),
      error('type', { type: 'string' }, '/a~1b~0c'),
      error('type', { type: 'string' }, '/list/0/1'),
    ];
    assert.deepEqual(mapAjvErrors(errors, 'body', data), [
      { loc: ['body', 'x'], msg: "Input should be 'all'", type: 'enum' },
      { loc: ['body', 'a/b~c'], msg: 'Input should be a valid string', type: 'string_type' },
      { loc: ['body', 'list', 0, 1], msg: 'Input should be a valid string', type: 'string_type' },
    ]);
  });

  test('parser issues', () => {
    assert.deepEqual(jsonInvalidIssue(), { loc: ['body'], msg: 'JSON decode error', type: 'json_invalid' });
    assert.deepEqual(bodyMissingIssue(), { loc: ['body'], msg: 'Field required', type: 'missing' });
  });
});

describe('huge inputs', () => {
  test('340 000 wrong items: 100 issues and one counting the rest, quickly', () => {
    const t0 = performance.now();
    const issues = limitIssues(validator.check(API_SCHEMAS.JobStatusRequest, 'body', { run_ids: new Array(340_000).fill(1) }));
    const ms = performance.now() - t0;
    assert.equal(issues.length, MAX_REPORTED_ISSUES + 1);
    assert.deepEqual(issues[0], { loc: ['body', 'run_ids', 0], msg: 'Input should be a valid string', type: 'string_type' });
    assert.deepEqual(issues[MAX_REPORTED_ISSUES], { loc: ['body'], msg: '339900 more problems not listed', type: 'too_many_errors' });
    assert.equal(JSON.stringify(issues[MAX_REPORTED_ISSUES]), '{"loc":["body"],"msg":"339900 more problems not listed","type":"too_many_errors"}');
    assert.ok(ms < 1_500, `${ms.toFixed(0)} ms`);
  });

  test('body and query issues are merged into one list and one count', () => {
    const body = validator.check(API_SCHEMAS.JobStatusRequest, 'body', { run_ids: new Array(150).fill(1) });
    const query = validator.check(API_SCHEMAS.JobsQuery, 'query', { state: 'x' });
    const issues = limitIssues([...body, ...query]);
    assert.equal(issues.length, MAX_REPORTED_ISSUES + 1);
    assert.equal(issues[MAX_REPORTED_ISSUES]!.msg, '51 more problems not listed');
    assert.deepEqual(limitIssues(query), query);
  });
});
