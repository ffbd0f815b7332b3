import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { DaemonError, ValidationError } from '../../../src/errors.js';
import { NasError } from '../../../src/nas/errors.js';
import { ERROR_TABLE, buildErrorEnvelope, httpErrors, isContractCode, mapErrorToResponse, statusOfCode } from '../../../src/http/errors.js';
import { API_SCHEMAS } from '../../../src/http/schemas.js';
import { formatClientErrorResponse } from '../../../src/http/server.js';
import { MAX_REPORTED_ISSUES, limitIssues } from '../../../src/http/validation.js';

/** rest-api.md 1.6, row by row, plus beepbox's nas.unavailable, jobs.devices_offline and the HTTP edge's own codes (issue #10). */
const CONTRACT_STATUSES: Record<string, number> = {
  'auth.invalid_api_key': 401,
  'http.not_found': 404,
  'http.method_not_allowed': 405,
  'http.bad_request': 400,
  'http.request_timeout': 408,
  'http.headers_too_large': 431,
  'http.forbidden_origin': 403,
  'http.forbidden_host': 421,
  'request.too_large': 413,
  'request.validation_error': 422,
  'internal.error': 500,
  'devices.scan_failed': 500,
  'devices.unavailable': 503,
  'devices.busy': 409,
  'modes.not_found': 404,
  'jobs.invalid_request': 422,
  'jobs.invalid_params': 422,
  'storage.exists': 409,
  'jobs.invalid_devices': 400,
  'jobs.devices_offline': 409,
  'jobs.run_id_conflict': 409,
  'jobs.slots_busy': 409,
  'storage.invalid_name': 400,
  'storage.insufficient_space': 507,
  'jobs.not_found': 404,
  'jobs.missing_run_ids': 400,
  'jobs.run_ids_unknown': 404,
  'runs.not_found': 404,
  'runs.file_not_found': 404,
  'nas.invalid_config': 400,
  'nas.not_configured': 409,
  'nas.unsupported_platform': 501,
  'nas.unavailable': 503,
  'jobs.shutting_down': 503,
};

describe('error table', () => {
  test('every contract code maps to the contract status, and nothing else is in the table', () => {
    for (const [code, status] of Object.entries(CONTRACT_STATUSES)) assert.equal(statusOfCode(code), status, code);
    assert.deepEqual(Object.keys(ERROR_TABLE).sort(), Object.keys(CONTRACT_STATUSES).sort());
  });

  test('the retired modes.parameter_error and unknown codes are not contract codes (→ 500)', () => {
    assert.equal(isContractCode('modes.parameter_error'), false);
    assert.equal(statusOfCode('modes.parameter_error'), 500);
    assert.equal(isContractCode('DEVICE_TIMEOUT'), false);
    assert.equal(isContractCode(undefined), false);
    assert.equal(isContractCode('toString'), false, 'no prototype keys');
  });
});

describe('envelope', () => {
  const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
  const validateEnvelope = ajv.compile(API_SCHEMAS.ErrorEnvelope.schema);
  const validateIssue = ajv.compile(API_SCHEMAS.ValidationIssue.schema);

  test('top-level triple plus detail object repeating it; no errors key unless given', () => {
    const env = buildErrorEnvelope('jobs.not_found', 'Unknown run_id', 'Check the run_id or fetch the job list.');
    assert.deepEqual(env, {
      code: 'jobs.not_found',
      message: 'Unknown run_id',
      hint: 'Check the run_id or fetch the job list.',
      detail: { code: 'jobs.not_found', message: 'Unknown run_id', hint: 'Check the run_id or fetch the job list.' },
    });
    assert.equal(validateEnvelope(env), true);
    assert.equal('errors' in env, false);
    assert.notEqual(env.detail, env as unknown, 'detail is a separate object');
  });

  test('validation envelope carries errors[] of the issue shape', () => {
    const env = buildErrorEnvelope('request.validation_error', 'Request validation failed', 'Please check request payload and fields.', [
      { loc: ['body', 'devices', 0], msg: 'Input should be a valid string', type: 'string_type' },
    ]);
    assert.equal(validateEnvelope(env), true);
    for (const issue of env.errors ?? []) assert.equal(validateIssue(issue), true);
  });

  test('a plain-string detail is rejected by the envelope schema', () => {
    assert.equal(validateEnvelope({ code: 'x', message: 'y', hint: '', detail: 'Run not found' }), false);
  });
});

describe('mapErrorToResponse', () => {
  test('a coded error keeps code and message; the hint comes from the table; details.issues become errors', () => {
    const issues = [{ mode: 'CV', field: 'scan_rate', code: 'must_be_positive', message: 'Value must be greater than zero.' }];
    const mapped = mapErrorToResponse(new DaemonError('jobs.invalid_params', 'Invalid parameters for CV', { details: { issues } }));
    assert.equal(mapped.status, 422);
    assert.equal(mapped.unexpected, false);
    assert.deepEqual(mapped.body, { ...buildErrorEnvelope('jobs.invalid_params', 'Invalid parameters for CV', 'Validate parameters with POST /modes/{mode}/validate.'), errors: issues });
  });

  test('the table hint of each code; a hint built from details (devices.scan_failed)', () => {
    const mapped = mapErrorToResponse(new DaemonError('runs.not_found', 'Run not found'));
    assert.equal(mapped.body.hint, 'Check the run_id or list existing runs.');
    assert.equal(mapped.body.detail.hint, mapped.body.hint);
    const scan = mapErrorToResponse(new DaemonError('devices.scan_failed', 'Device discovery failed', { details: { reason: 'udevadm missing' } }));
    assert.equal(scan.status, 500);
    assert.equal(scan.unexpected, false);
    assert.equal(scan.body.hint, 'udevadm missing');
  });

  test('a ValidationError that escaped a service is a 422 naming the field, never a 500', () => {
    const mapped = mapErrorToResponse(new ValidationError('tia_gain', 'must be an integer 0..3'));
    assert.equal(mapped.status, 422);
    assert.equal(mapped.unexpected, false);
    assert.equal(mapped.body.code, 'request.validation_error');
    assert.deepEqual(mapped.body.errors, [{ loc: ['body', 'tia_gain'], msg: 'tia_gain: must be an integer 0..3', type: 'value_error' }]);
  });

  test('DaemonError subclasses with contract codes (NAS) map by code', () => {
    const mapped = mapErrorToResponse(new NasError('nas.not_configured', 'NAS is not configured'));
    assert.equal(mapped.status, 409);
    assert.equal(mapped.body.code, 'nas.not_configured');
    assert.equal(mapped.body.hint, 'Configure it via POST /nas/setup.');
    assert.equal(mapErrorToResponse(new NasError('nas.unsupported_platform', 'NAS/SMB is not supported on this platform')).status, 501);
  });

  test('anything else → 500 internal.error without message, stack or secrets', () => {
    const secret = 'password=hunter2';
    for (const err of [
      new Error(`ENOENT /opt/box/.smbcredentials_nas ${secret}`),
      new DaemonError('DEVICE_TIMEOUT', `timeout ${secret}`),
      new DaemonError('modes.parameter_error' as never, `retired ${secret}`),
      new DaemonError('internal.error', `custom ${secret}`),
      `string thrown ${secret}`,
      null,
      { code: 'jobs.not_found', message: 'not an Error instance' },
    ]) {
      const mapped = mapErrorToResponse(err);
      assert.equal(mapped.status, 500);
      assert.equal(mapped.unexpected, true);
      assert.deepEqual(mapped.body, buildErrorEnvelope('internal.error', 'Internal server error', ''));
      assert.ok(!JSON.stringify(mapped.body).includes('hunter2'));
    }
  });

  test('405 carries the Allow header; the HTTP layer messages are the contract ones', () => {
    const mapped = mapErrorToResponse(httpErrors.methodNotAllowed(['HEAD', 'GET', 'POST']));
    assert.equal(mapped.status, 405);
    assert.deepEqual(mapped.headers, { Allow: 'HEAD, GET, POST' });
    assert.equal(mapped.body.message, 'Method not allowed');
    assert.equal(mapErrorToResponse(httpErrors.notFound()).body.message, 'Not found');
    assert.equal(mapErrorToResponse(httpErrors.tooLarge()).body.message, 'Request body too large');
    const unauthorized = mapErrorToResponse(httpErrors.unauthorized());
    assert.equal(unauthorized.status, 401);
    assert.equal(unauthorized.body.message, 'Unauthorized');
    assert.equal(unauthorized.body.hint, 'X-API-Key header is missing or incorrect.');
    const validation = mapErrorToResponse(httpErrors.validation([]));
    assert.equal(validation.body.message, 'Request validation failed');
    assert.equal(validation.body.hint, 'Please check request payload and fields.');
    assert.deepEqual(validation.body.errors, []);
    assert.equal(mapErrorToResponse(httpErrors.devicesUnavailable()).body.message, 'No devices registered');
    assert.equal(mapErrorToResponse(httpErrors.nasUnavailable()).status, 503);
  });
});

describe('malformed HTTP answer (server.ts)', () => {
  const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
  const validateEnvelope = ajv.compile(API_SCHEMAS.ErrorEnvelope.schema);

  test('parser errors, header overflow and request timeout become the envelope with security headers and Connection: close', () => {
    for (const [nodeCode, status, code] of [
      ['HPE_INVALID_HEADER_TOKEN', 400, 'http.bad_request'],
      ['HPE_UNEXPECTED_CONTENT_LENGTH', 400, 'http.bad_request'],
      [undefined, 400, 'http.bad_request'],
      ['HPE_HEADER_OVERFLOW', 431, 'http.headers_too_large'],
      ['ERR_HTTP_REQUEST_TIMEOUT', 408, 'http.request_timeout'],
    ] as const) {
      const answer = formatClientErrorResponse(nodeCode);
      assert.equal(answer.status, status);
      assert.equal(answer.code, code);
      const [head, body] = answer.raw.split('\r\n\r\n') as [string, string];
      assert.match(head, new RegExp(`^HTTP/1\\.1 ${status} `));
      assert.match(head, /\r\nConnection: close$/);
      assert.match(head, /\r\nX-Content-Type-Options: nosniff\r\n/);
      assert.match(head, /\r\nContent-Security-Policy: default-src 'none'/);
      assert.ok(head.includes(`\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`));
      const envelope = JSON.parse(body) as { code: string };
      assert.equal(validateEnvelope(envelope), true);
      assert.equal(envelope.code, code);
    }
    const head = formatClientErrorResponse('HPE_HEADER_OVERFLOW', { head: true });
    assert.ok(head.raw.endsWith('\r\n\r\n'), 'no body for HEAD');
    assert.match(head.raw, /\r\nContent-Length: [1-9]\d*\r\n/, 'the length the body would have');
  });
});

describe('issue list limit', () => {
  test('at most 100 issues, then one saying how many more', () => {
    const issues = Array.from({ length: 250 }, (_, i) => ({ loc: ['body', 'run_ids', i], msg: 'Input should be a valid string', type: 'string_type' }));
    const limited = limitIssues(issues);
    assert.equal(limited.length, MAX_REPORTED_ISSUES + 1);
    assert.deepEqual(limited.slice(0, MAX_REPORTED_ISSUES), issues.slice(0, MAX_REPORTED_ISSUES));
    assert.deepEqual(limited[MAX_REPORTED_ISSUES], { loc: ['body'], msg: '150 more problems not listed', type: 'too_many_errors' });
    assert.deepEqual(limitIssues(issues.slice(0, 100)), issues.slice(0, 100));
  });
});
