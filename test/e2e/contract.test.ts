/**
 * E2E journey 1 (contract sweep), 4 (busy slots), 6 (auth) and 8 (logs): every endpoint of
 * rest-api.md and every error code of its table 1.6 that a daemon with virtual potentiostats can
 * produce, over real HTTP against the built daemon. A second daemon without any device covers the
 * zero-device answers.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSimulators, type SimulatorSet } from '../../src/sim/run-sim.js';
import {
  ISO_UTC,
  assertEnvelope,
  assertNothingLeftBehind,
  createCleanupScope,
  isTerminalStatus,
  startDaemon,
  submitJob,
  waitForJob,
  type DaemonHandle,
  type EnvelopeLike,
  type HealthLike,
  type JobStatusLike,
  type ModeValidationLike,
  type NasHealthLike,
  type SlotStatusLike,
} from '../helpers/daemon.js';

interface VersionBody {
  api: string;
  build: string;
  firmware: string;
  pybeep: string;
  python: string;
  runtime: string;
}

interface DevicesBody {
  devices: Array<{ slot: string; port: string; sn: string | null }>;
  slots: string[];
  count: number;
}

const scope = createCleanupScope();
let sims: SimulatorSet;
let daemon: DaemonHandle;
let empty: DaemonHandle;

const WRONG_KEY = 'wrong-key-0f9e8d7c6b5a';
const NAS_PASSWORD = 'nas-PASSWORD-must-not-leak-4711';

before(async () => {
  sims = await startSimulators({ count: 2 });
  scope.defer(() => sims.close());
  [daemon, empty] = await Promise.all([startDaemon(scope, { ports: sims.ports, boxId: 'lab-box-e2e' }), startDaemon(scope, { ports: [] })]);
});

after(() => scope.run());

const CA_SHORT = { CA: { potential: 0.1, duration: 0.2 } };
const base = (extra: Record<string, unknown> = {}) => ({
  devices: ['slot01'],
  modes: ['CA'],
  params_by_mode: CA_SHORT,
  experiment_name: 'Contract',
  client_datetime: '2025-11-05T12:00:00Z',
  make_plot: false,
  ...extra,
});

const SLOT_STATUS_KEYS = ['slot', 'status', 'started_at', 'ended_at', 'message', 'files', 'current_mode', 'remaining_modes', 'progress_pct', 'remaining_s'];
const JOB_STATUS_KEYS = ['run_id', 'mode', 'modes', 'current_mode', 'remaining_modes', 'status', 'started_at', 'ended_at', 'progress_pct', 'remaining_s', 'group_id', 'slots'];

function assertHasKeys(obj: Record<string, unknown>, keys: string[], what: string): void {
  for (const k of keys) assert.ok(Object.prototype.hasOwnProperty.call(obj, k), `${what} has ${k}: ${JSON.stringify(obj)}`);
}

function assertJobStatusShape(j: JobStatusLike): void {
  assertHasKeys(j as unknown as Record<string, unknown>, JOB_STATUS_KEYS, 'JobStatus');
  assert.match(j.started_at, ISO_UTC);
  assert.ok(j.ended_at === null || ISO_UTC.test(j.ended_at));
  assert.ok(Number.isInteger(j.progress_pct) && j.progress_pct >= 0 && j.progress_pct <= 100);
  assert.ok(j.remaining_s === null || Number.isInteger(j.remaining_s));
  for (const s of j.slots) assertHasKeys(s as unknown as Record<string, unknown>, SLOT_STATUS_KEYS, 'SlotStatus');
}

describe('open routes and authentication', () => {
  test('GET /version is open and carries the version strings', async () => {
    for (const key of [null, WRONG_KEY]) {
      const res = await daemon.get<VersionBody>('/version', { key });
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /^application\/json; charset=utf-8/);
      assert.deepEqual(Object.keys(res.json).sort(), ['api', 'build', 'firmware', 'pybeep', 'python', 'runtime']);
      assert.equal(res.json.api, '1.0');
      assert.equal(res.json.build, 'e2e-build');
      assert.equal(res.json.runtime, `node ${process.version}`);
      assert.equal(res.json.python, res.json.runtime);
      for (const v of Object.values(res.json)) assert.equal(typeof v, 'string');
    }
  });

  test('GET /health is open: ok, device count and box id', async () => {
    for (const key of [null, WRONG_KEY]) {
      const res = await daemon.get<HealthLike>('/health', { key });
      assert.equal(res.status, 200);
      assert.equal(res.json.ok, true);
      assert.equal(res.json.devices, 2);
      assert.equal(res.json.box_id, 'lab-box-e2e');
    }
    const none = await empty.get<HealthLike>('/health', { key: null });
    assert.equal(none.status, 200);
    assert.equal(none.json.devices, 0);
  });

  const PROTECTED: Array<[string, string, unknown?]> = [
    ['GET', '/devices'],
    ['GET', '/devices/status'],
    ['GET', '/modes'],
    ['GET', '/modes/CV/params'],
    ['POST', '/modes/CV/validate', { start: 0 }],
    ['POST', '/jobs', {}],
    ['GET', '/jobs'],
    ['GET', '/jobs?state=bogus'],
    ['POST', '/jobs/status', { run_ids: ['x'] }],
    ['GET', '/jobs/some_run'],
    ['POST', '/jobs/some_run/cancel'],
    ['GET', '/runs/some_run/files'],
    ['GET', '/runs/some_run/file?path=a.csv'],
    ['GET', '/runs/some_run/file'],
    ['GET', '/runs/some_run/zip'],
    // An invalid setup (empty host): with the key it is 400 and configures nothing.
    ['POST', '/nas/setup', { host: '', share: 's', username: 'u', password: NAS_PASSWORD }],
    ['GET', '/nas/health'],
    ['POST', '/runs/some_run/upload'],
    ['POST', '/admin/rescan'],
  ];

  test('every protected route answers 401 auth.invalid_api_key to a missing or wrong key', async () => {
    for (const [method, p, body] of PROTECTED) {
      for (const key of [null, WRONG_KEY, daemon.apiKey.toUpperCase(), `${daemon.apiKey}x`, '']) {
        const res = await daemon.request<EnvelopeLike>(method, p, { key, body });
        assertEnvelope(res, 401, 'auth.invalid_api_key', 'Unauthorized');
        assert.equal(res.json.hint, 'X-API-Key header is missing or incorrect.');
      }
    }
  });

  test('authentication comes before body validation (malformed and oversized bodies get 401)', async () => {
    for (const p of ['/jobs', '/jobs/status', '/modes/CV/validate', '/nas/setup']) {
      for (const key of [null, WRONG_KEY]) {
        assertEnvelope(await daemon.post(p, '{"devices": [', { key, headers: { 'Content-Type': 'application/json' } }), 401, 'auth.invalid_api_key');
        assertEnvelope(await daemon.post(p, '[1,2,3]', { key }), 401, 'auth.invalid_api_key');
        assertEnvelope(await daemon.post(p, Buffer.alloc(1024 * 1024 + 10, 0x20), { key }), 401, 'auth.invalid_api_key');
      }
    }
  });

  test('the key header name is case-insensitive; the right key opens every route', async () => {
    const res = await daemon.get('/devices', { key: null, headers: { 'x-api-key': daemon.apiKey } });
    assert.equal(res.status, 200);
    const upper = await daemon.get('/devices', { key: null, headers: { 'X-API-KEY': daemon.apiKey } });
    assert.equal(upper.status, 200);
    for (const [method, p, body] of PROTECTED) {
      const r = await daemon.request(method, p, { body });
      assert.notEqual(r.status, 401, `${method} ${p} with the key: ${r.text}`);
    }
  });

  test('route matching comes before authentication: 404 http.not_found and 405 without a key', async () => {
    for (const key of [null, undefined]) {
      for (const p of ['/nope', '/jobs/a/b/c', '/runs/x/zip/y', '/VERSION', '/version/']) {
        assertEnvelope(await daemon.get(p, { key }), 404, 'http.not_found', 'Not found');
      }
      const del = await daemon.request('DELETE', '/jobs', { key });
      assertEnvelope(del, 405, 'http.method_not_allowed', 'Method not allowed');
      const allow = String(del.headers['allow']).split(/,\s*/);
      assert.ok(allow.includes('GET') && allow.includes('POST') && !allow.includes('DELETE'), `Allow: ${allow.join(', ')}`);
      assertEnvelope(await daemon.request('PUT', '/version', { key }), 405, 'http.method_not_allowed');
      assertEnvelope(await daemon.request('GET', '/jobs/status', { key }), key === null ? 401 : 404, key === null ? 'auth.invalid_api_key' : 'jobs.not_found');
      assertEnvelope(await daemon.request('POST', '/devices', { key }), 405, 'http.method_not_allowed');
    }
  });

  test('413 request.too_large for JSON bodies over 1 MiB (with the key)', async () => {
    const big = JSON.stringify({ ...base(), padding: 'x'.repeat(1024 * 1024) });
    assertEnvelope(await daemon.post('/jobs', big), 413, 'request.too_large', 'Request body too large');
    assertEnvelope(await daemon.post('/modes/CV/validate', big), 413, 'request.too_large');
    // Exactly at the limit is still parsed (and then validated).
    const atLimit = `{"run_ids":["x"],"pad":"${'y'.repeat(1024 * 1024 - 26)}"}`;
    assert.equal(Buffer.byteLength(atLimit), 1024 * 1024);
    assertEnvelope(await daemon.post('/jobs/status', atLimit), 404, 'jobs.run_ids_unknown');
  });

  test('GET /openapi.json and /docs (no key needed)', async () => {
    const spec = await daemon.get<{ openapi: string; paths: Record<string, unknown> }>('/openapi.json');
    assert.equal(spec.status, 200);
    assert.match(String(spec.json.openapi), /^3\.1/);
    for (const p of ['/version', '/health', '/jobs', '/jobs/{run_id}', '/runs/{run_id}/zip', '/admin/rescan']) assert.ok(spec.json.paths[p], `openapi has ${p}`);
    const docs = await daemon.get('/docs', { key: null });
    assert.equal(docs.status, 200);
    assert.match(String(docs.headers['content-type']), /^text\/html/);
    assert.equal((await daemon.get('/openapi.json', { key: null })).status, 200);
  });
});

describe('devices and modes', () => {
  test('GET /devices: v2 shape, sorted, ports of the simulators', async () => {
    const res = await daemon.get<DevicesBody>('/devices');
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.json).sort(), ['count', 'devices', 'slots']);
    assert.deepEqual(res.json.slots, ['slot01', 'slot02']);
    assert.equal(res.json.count, 2);
    assert.deepEqual(res.json.devices.map((d) => [d.slot, d.port]), [
      ['slot01', sims.ports[0]],
      ['slot02', sims.ports[1]],
    ]);
    for (const d of res.json.devices) assert.ok(d.sn === null || (typeof d.sn === 'string' && d.sn.length > 0));
    assert.deepEqual((await empty.get('/devices')).json, { devices: [], slots: [], count: 0 });
  });

  test('GET /devices/status: idle entries', async () => {
    const res = await daemon.get<SlotStatusLike[]>('/devices/status');
    assert.equal(res.status, 200);
    assert.equal(res.json.length, 2);
    res.json.forEach((e, i) => {
      assert.deepEqual(
        {
          slot: e.slot, status: e.status, run_id: e['run_id'], started_at: e.started_at, ended_at: e.ended_at, message: e.message, files: e.files,
          current_mode: e.current_mode, remaining_modes: e.remaining_modes, progress_pct: e.progress_pct, remaining_s: e.remaining_s,
        },
        {
          slot: `slot0${i + 1}`, status: 'idle', run_id: null, started_at: null, ended_at: null, message: null, files: [],
          current_mode: null, remaining_modes: [], progress_pct: 0, remaining_s: null,
        },
      );
    });
    assert.deepEqual((await empty.get('/devices/status')).json, []);
  });

  test('GET /modes: catalogue order; 503 devices.unavailable without devices', async () => {
    const res = await daemon.get<unknown[]>('/modes');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.slice(0, 10), ['CA', 'LSV', 'CV', 'PSTEP', 'CP', 'GS', 'GCV', 'STEPSEQ', 'OCP', 'CDL']);
    assert.ok(res.json.every((m) => typeof m === 'string' && m === m.toUpperCase()));
    const none = assertEnvelope(await empty.get('/modes'), 503, 'devices.unavailable', 'No devices registered');
    assert.equal(none.hint, 'Use POST /admin/rescan to look for devices.');
    assertEnvelope(await empty.get('/modes/CV/params'), 503, 'devices.unavailable');
  });

  test('GET /modes/{mode}/params: case-insensitive, declaration order, 404 modes.not_found', async () => {
    // #11: every mode lists the reference parameters first, then the shared ones (gain, rest, cut-offs).
    const pot = { tia_gain: 'Optional[int]', rest_s: 'float', charge_cutoff_c: 'Optional[float]' };
    const cv = { start: 'float', vertex1: 'float', vertex2: 'float', end: 'float', scan_rate: 'float', cycles: 'int', ...pot };
    for (const m of ['CV', 'cv', 'Cv']) {
      const res = await daemon.get(`/modes/${m}/params`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.json, cv);
      assert.deepEqual(Object.keys(res.json), Object.keys(cv), 'declaration order');
    }
    assert.deepEqual((await daemon.get('/modes/ca/params')).json, { potential: 'float', duration: 'float', ...pot });
    assert.deepEqual((await daemon.get('/modes/PSTEP/params')).json, { potentials: 'list[float]', step_duration: 'float', ...pot });
    assert.deepEqual((await daemon.get('/modes/CDL/params')).json, {
      vertex_a: 'float', vertex_b: 'float', scan_rates: 'list[float]', rest_time: 'float', start: 'Optional[float]', end: 'Optional[float]', ...pot,
    });
    const nf = assertEnvelope(await daemon.get('/modes/XYZ/params'), 404, 'modes.not_found', "Unsupported mode 'XYZ'.");
    assert.equal(nf.hint, 'Fetch available modes via GET /modes.');
  });

  test('POST /modes/{mode}/validate: contract example, numeric strings, value_adjusted', async () => {
    const example = await daemon.post('/modes/CV/validate', { start: 0.0, vertex1: 0.5, vertex2: -0.5, end: 0.0, scan_rate: 7, cycles: '3' });
    assert.equal(example.status, 200);
    assert.deepEqual(example.json, {
      ok: true,
      errors: [],
      warnings: [{ field: 'scan_rate', code: 'high_value', message: 'Scan rate exceeds 5 V/s; verify hardware capability.' }],
      adjusted: { start: 0.0, vertex1: 0.5, vertex2: -0.5, end: 0.0, scan_rate: 7, cycles: 3 },
    });
    const strings = await daemon.post('/modes/cv/validate', { start: '0.1', vertex1: '0.6', vertex2: '-0.4', end: '0.1', scan_rate: '0.05', cycles: 2.7, note: 'kept' });
    assert.equal(strings.status, 200);
    assert.deepEqual(strings.json, {
      ok: true,
      errors: [],
      warnings: [{ field: 'cycles', code: 'value_adjusted', message: 'Value adjusted to 2.' }],
      adjusted: { start: 0.1, vertex1: 0.6, vertex2: -0.4, end: 0.1, scan_rate: 0.05, cycles: 2, note: 'kept' },
    });
    const high = await daemon.post<ModeValidationLike>('/modes/CV/validate', { start: 0, vertex1: 1, vertex2: -1, end: 0, scan_rate: 6, cycles: 51 });
    assert.deepEqual(high.json.warnings, [
      { field: 'scan_rate', code: 'high_value', message: 'Scan rate exceeds 5 V/s; verify hardware capability.' },
      { field: 'cycles', code: 'high_value', message: 'Cycle count above 50 may lead to long experiment times.' },
    ]);
  });

  test('POST /modes/{mode}/validate: errors in contract order, other modes, 404, 422', async () => {
    const bad = await daemon.post('/modes/CV/validate', { start: 'abc', vertex1: 11, vertex2: -12, end: null, scan_rate: 0, cycles: 'x' });
    assert.equal(bad.status, 200);
    assert.deepEqual(bad.json, {
      ok: false,
      errors: [
        { field: 'start', code: 'not_a_number', message: 'Value must be numeric.' },
        // #11: the device's ±4.95 V replaces the reference's ±10 V (beyond it the DAC saturates).
        { field: 'vertex1', code: 'max_value', message: "Value must be at most 4.95 (the device's potential range is ±4.95 V)." },
        { field: 'vertex2', code: 'min_value', message: "Value must be at least -4.95 (the device's potential range is ±4.95 V)." },
        { field: 'end', code: 'missing_field', message: 'Field is required.' },
        { field: 'scan_rate', code: 'must_be_positive', message: 'Value must be greater than zero.' },
        { field: 'cycles', code: 'not_an_integer', message: 'Value must be an integer.' },
      ],
      warnings: [],
      adjusted: null,
    });
    const zero = await daemon.post<ModeValidationLike>('/modes/CV/validate', { start: 0.2, vertex1: '0.2', vertex2: 0.2, end: 0.2, scan_rate: 0.1, cycles: 1 });
    assert.deepEqual(zero.json.errors, [{ field: 'end', code: 'zero_sweep', message: 'Potential sweep must span at least one vertex.' }]);
    assert.equal(zero.json.ok, false);

    // beepbox checks every device mode fully (no "not implemented" placeholder): 9.3's minimum is missing_field.
    const caMissing = await daemon.post<ModeValidationLike>('/modes/CA/validate', { potential: 0.1 });
    assert.equal(caMissing.status, 200);
    assert.equal(caMissing.json.ok, false);
    assert.deepEqual(caMissing.json.errors, [{ field: 'duration', code: 'missing_field', message: 'Field is required.' }]);
    assert.equal(caMissing.json.adjusted, null);
    const caOk = await daemon.post<ModeValidationLike>('/modes/ca/validate', { potential: '0.2', duration: 5, extra: [1] });
    assert.equal(caOk.json.ok, true);
    assert.deepEqual(caOk.json.errors, []);
    assert.equal(Number(caOk.json.adjusted?.['potential']), 0.2);
    assert.equal(caOk.json.adjusted?.['duration'], 5);
    assert.deepEqual(caOk.json.adjusted?.['extra'], [1], 'other keys copied unchanged');
    for (const w of caOk.json.warnings) assert.ok(['not_implemented', 'value_adjusted'].includes(w.code), JSON.stringify(w));
    // Validator-only modes of 9.3 (DC runs as a legacy alias of CA, modes.md 6.3; AC is validated only).
    const dc = await daemon.post<ModeValidationLike>('/modes/DC/validate', {});
    assert.equal(dc.status, 200);
    assert.equal(dc.json.ok, false);
    assert.equal(dc.json.errors.length, 2);
    assert.ok(dc.json.errors.every((e) => e.code === 'missing_field'));
    const dcOk = await daemon.post<ModeValidationLike>('/modes/dc/validate', { duration_s: '2', voltage_v: 0.3 });
    assert.equal(dcOk.json.ok, true, dcOk.text);
    const ac = await daemon.post('/modes/AC/validate', { frequency_hz: 50 });
    assert.equal(ac.status, 200, ac.text);
    assert.deepEqual(ac.json, {
      ok: false,
      errors: [
        { field: 'duration_s', code: 'missing_field', message: 'Field is required.' },
        { field: 'voltage_v', code: 'missing_field', message: 'Field is required.' },
      ],
      warnings: [{ field: '*', code: 'not_implemented', message: 'AC validation is not yet implemented; values were not checked.' }],
      adjusted: null,
    });
    const acOk = await daemon.post('/modes/ac/validate', { duration_s: '2', frequency_hz: 50, voltage_v: 0.1 });
    assert.deepEqual(acOk.json, {
      ok: true,
      errors: [],
      warnings: [{ field: '*', code: 'not_implemented', message: 'AC validation is not yet implemented; values were not checked.' }],
      adjusted: { duration_s: '2', frequency_hz: 50, voltage_v: 0.1 },
    });
    // AC is not a measurement mode: a job naming it is refused at submit.
    assertEnvelope(
      await daemon.post('/jobs', base({ modes: ['AC'], params_by_mode: { AC: { duration_s: 2, frequency_hz: 50, voltage_v: 0.1 } } })),
      422,
      'jobs.invalid_request',
      'unknown mode AC',
    );
    const eis = await daemon.post('/modes/eis/validate', { start_freq: 1000 });
    assert.equal(eis.status, 200);
    for (const m of ['CP', 'OCP', 'PSTEP', 'GS', 'GCV', 'STEPSEQ', 'LSV', 'CDL']) {
      const r = await daemon.post<ModeValidationLike>(`/modes/${m}/validate`, {});
      assert.equal(r.status, 200, `${m}: ${r.text}`);
      assert.equal(r.json.ok, false);
      assert.ok(r.json.errors.every((e) => e.code === 'missing_field'));
    }
    assertEnvelope(await daemon.post('/modes/XYZ/validate', {}), 404, 'modes.not_found', "Unsupported mode 'XYZ'.");
    // Non-object bodies and malformed JSON are request validation errors.
    for (const body of ['[]', '"abc"', '42', '{"start": ']) {
      const r = assertEnvelope(await daemon.post('/modes/CV/validate', body), 422, 'request.validation_error', 'Request validation failed');
      assert.ok(Array.isArray(r.errors) && (r.errors as unknown[]).length > 0);
    }
    const invalidJson = assertEnvelope(await daemon.post('/modes/CV/validate', '{"start": '), 422, 'request.validation_error');
    assert.equal((invalidJson.errors as Array<{ type: string }>)[0]!.type, 'json_invalid');
    // Works without any device.
    assert.equal((await empty.post('/modes/CV/validate', { start: 0 })).status, 200);
  });
});

describe('jobs', () => {
  let first: JobStatusLike;
  let second: JobStatusLike;

  test('POST /jobs: 422 request.validation_error with every issue, never echoing input', async () => {
    const empty422 = assertEnvelope(await daemon.post('/jobs', {}), 422, 'request.validation_error', 'Request validation failed');
    assert.equal(empty422.hint, 'Please check request payload and fields.');
    const issues = empty422.errors as Array<{ loc: unknown[]; msg: string; type: string }>;
    for (const field of ['devices', 'modes', 'experiment_name', 'client_datetime']) {
      const hit = issues.find((e) => JSON.stringify(e.loc) === JSON.stringify(['body', field]));
      assert.ok(hit, `missing ${field} reported: ${JSON.stringify(issues)}`);
      assert.equal(hit.type, 'missing');
      assert.equal(typeof hit.msg, 'string');
    }
    const typed = assertEnvelope(
      await daemon.post('/jobs', base({ devices: 'some', modes: 'CA', tia_gain: 1.5, make_plot: 'yes', experiment_name: { password: 'ECHO-ME-NOT-9876' } })),
      422,
      'request.validation_error',
    );
    const locs = (typed.errors as Array<{ loc: unknown[] }>).map((e) => JSON.stringify(e.loc));
    for (const f of ['devices', 'modes', 'tia_gain', 'make_plot', 'experiment_name']) assert.ok(locs.includes(JSON.stringify(['body', f])), `${f} in ${locs}`);
    assert.ok(!JSON.stringify(typed).includes('ECHO-ME-NOT-9876'), 'issues never echo the input');
    const malformed = assertEnvelope(await daemon.post('/jobs', '{"devices": ["slot01"'), 422, 'request.validation_error');
    assert.equal((malformed.errors as Array<{ type: string }>)[0]!.type, 'json_invalid');
    assertEnvelope(await daemon.post('/jobs', '[]'), 422, 'request.validation_error');
    assertEnvelope(await daemon.post('/jobs', ''), 422, 'request.validation_error');
  });

  test('POST /jobs: jobs.invalid_request, jobs.invalid_params, jobs.invalid_devices, storage.invalid_name in the order of 4.2', async () => {
    // Everything after step 3 is also wrong in these bodies: the first failing step answers.
    const allWrong = { devices: ['slot07'], experiment_name: '???', client_datetime: '' };
    const req = async (body: Record<string, unknown>) => daemon.post('/jobs', body);
    assertEnvelope(await req(base({ ...allWrong, modes: [] })), 422, 'jobs.invalid_request', 'modes must not be empty');
    assertEnvelope(await req(base({ ...allWrong, modes: ['CA', '  '] })), 422, 'jobs.invalid_request', 'modes must not be empty');
    assertEnvelope(await req(base({ ...allWrong, modes: ['CA', ' ca'] })), 422, 'jobs.invalid_request', 'duplicate mode CA');
    assertEnvelope(await req(base({ ...allWrong, modes: ['CA', 'CV'] })), 422, 'jobs.invalid_request', 'missing params for mode CV');
    assertEnvelope(await req(base({ ...allWrong, modes: ['XYZ'] })), 422, 'jobs.invalid_request', 'missing params for mode XYZ');
    assertEnvelope(await req(base({ ...allWrong, modes: ['CA', 'xyz'], params_by_mode: { ...CA_SHORT, XYZ: {} } })), 422, 'jobs.invalid_request', 'unknown mode XYZ');
    assertEnvelope(await req(base({ ...allWrong, params_by_mode: { CA: CA_SHORT.CA, ' ca ': CA_SHORT.CA } })), 422, 'jobs.invalid_request');
    // Unknown mode with invalid params elsewhere: the mode check wins over params validation.
    assertEnvelope(
      await req(base({ ...allWrong, modes: ['CV', 'XYZ'], params_by_mode: { CV: { scan_rate: 0 }, XYZ: {} } })),
      422,
      'jobs.invalid_request',
      'unknown mode XYZ',
    );
    const params = assertEnvelope(
      await req(base({ ...allWrong, modes: ['CV', 'CA'], params_by_mode: { CV: { start: 0, vertex1: 0.5, vertex2: -0.5, end: 0, scan_rate: 0, cycles: 1 }, CA: {} }, run_name: 'bad name!' })),
      422,
      'jobs.invalid_params',
      'Invalid parameters for CV: scan_rate must be greater than zero',
    );
    assert.deepEqual(params.errors, [
      { mode: 'CV', field: 'scan_rate', code: 'must_be_positive', message: 'Value must be greater than zero.' },
      { mode: 'CA', field: 'potential', code: 'missing_field', message: 'Field is required.' },
      { mode: 'CA', field: 'duration', code: 'missing_field', message: 'Field is required.' },
    ]);
    assertEnvelope(await req(base({ ...allWrong, run_name: 'bad name!' })), 422, 'jobs.invalid_request', /run_name/);
    assertEnvelope(await req(base({ ...allWrong, run_name: 'x'.repeat(129) })), 422, 'jobs.invalid_request', /run_name/);
    const dev = assertEnvelope(await req(base({ ...allWrong })), 400, 'jobs.invalid_devices', 'Unknown devices: slot07');
    assert.equal(dev.hint, 'Use slots from GET /devices or "all".');
    assertEnvelope(await req(base({ ...allWrong, devices: ['slot01', 'slot07'] })), 400, 'jobs.invalid_devices', 'Unknown devices: slot07');
    assertEnvelope(await req(base({ experiment_name: '???', devices: [] })), 400, 'jobs.invalid_devices', 'No valid devices specified');
    assertEnvelope(await empty.post('/jobs', base({ devices: 'all' })), 400, 'jobs.invalid_devices', 'No valid devices specified');
    // Storage names (6.3).
    assertEnvelope(await req(base({ experiment_name: '   ' })), 400, 'storage.invalid_name', 'experiment_name must not be empty');
    assertEnvelope(await req(base({ experiment_name: '' })), 400, 'storage.invalid_name', 'experiment_name must not be empty');
    assertEnvelope(await req(base({ experiment_name: '???' })), 400, 'storage.invalid_name', 'experiment_name is invalid');
    assertEnvelope(await req(base({ subdir: '%%%' })), 400, 'storage.invalid_name', 'subdir is invalid');
    assertEnvelope(await req(base({ subdir: null, folder_name: '***' })), 400, 'storage.invalid_name', 'subdir is invalid');
    assertEnvelope(await req(base({ client_datetime: '  ' })), 400, 'storage.invalid_name', 'client_datetime must not be empty');
    assertEnvelope(await req(base({ client_datetime: ':::' })), 400, 'storage.invalid_name', 'client_datetime is invalid');
    assertEnvelope(await req(base({ experiment_name: 'E'.repeat(240) })), 400, 'storage.invalid_name', 'names too long');
    // Nothing was reserved or written by any refused request.
    const jobs = await daemon.get('/jobs');
    assert.deepEqual(jobs.json, []);
    const status = await daemon.get<SlotStatusLike[]>('/devices/status');
    assert.ok(status.json.every((e) => e.status === 'idle'));
  });

  test('POST /jobs: a valid job (numeric strings, duplicate devices), JobStatus and JobOverview shapes', async () => {
    const created = await submitJob(daemon, base({ run_name: 'contract-first', group_id: 'Contract-Group' }));
    assertJobStatusShape(created);
    assert.equal(created.run_id, 'contract-first');
    assert.equal(created.mode, 'CA');
    assert.deepEqual(created.modes, ['CA']);
    assert.equal(created.group_id, 'Contract-Group');
    first = await waitForJob(daemon, 'contract-first');
    assert.equal(first.status, 'done', JSON.stringify(first));
    assertJobStatusShape(first);

    const dup = await submitJob(daemon, {
      ...base({ client_datetime: '2025-11-05T12:30:00Z', subdir: 'Strings' }),
      devices: ['slot02', 'slot02', ' slot02'],
      params_by_mode: { CA: { potential: '0.1', duration: '0.2' } },
    });
    assert.deepEqual(dup.slots.map((s) => s.slot), ['slot02'], 'devices de-duplicated');
    assert.equal(dup.group_id, 'Strings', 'group label falls back to subdir');
    second = await waitForJob(daemon, dup.run_id);
    assert.equal(second.status, 'done', JSON.stringify(second));
    assert.equal(second.slots[0]!['points'], Math.trunc(0.2 / 0.00036), 'numeric strings ran with their numbers');
    const record = JSON.parse(await readFile(path.join(daemon.runsRoot, '.jobs', `${dup.run_id}.json`), 'utf8')) as { params_by_mode: Record<string, unknown> };
    // #11: the record holds the resolved params, with the shared ones (the job's gain 0 by default).
    assert.deepEqual(record.params_by_mode['CA'], { potential: 0.1, duration: 0.2, tia_gain: 0, rest_s: 0, charge_cutoff_c: null }, 'the job records the coerced numbers (1.5)');

    const list = await daemon.get<Array<{ run_id: string }>>('/jobs');
    assert.equal(list.status, 200);
    assert.deepEqual(list.json.map((j) => j.run_id), [second.run_id, 'contract-first'], 'sorted by started_at descending');
    assert.deepEqual(list.json[1], {
      run_id: 'contract-first', mode: 'CA', status: 'done', started_at: first.started_at, ended_at: first.ended_at, devices: ['slot01'], group_id: 'Contract-Group',
    });
  });

  test('GET /jobs filters: state, group_id (case-insensitive, label or subfolder), 422 on a bad state', async () => {
    const ids = async (q: string) => ((await daemon.get(`/jobs${q}`)).json as Array<{ run_id: string }>).map((j) => j.run_id);
    assert.deepEqual(await ids('?state=completed'), [second.run_id, 'contract-first']);
    assert.deepEqual(await ids('?state=incomplete'), []);
    assert.deepEqual(await ids('?group_id=contract-GROUP'), ['contract-first']);
    assert.deepEqual(await ids('?group_id=%20%20CONTRACT-group%20'), ['contract-first']);
    assert.deepEqual(await ids('?group_id=strings'), [second.run_id]);
    assert.deepEqual(await ids('?group_id=%20'), [second.run_id, 'contract-first'], 'blank = no filter');
    assert.deepEqual(await ids('?group_id=nothing-like-this'), []);
    const bad = assertEnvelope(await daemon.get('/jobs?state=bogus'), 422, 'request.validation_error');
    assert.deepEqual((bad.errors as Array<{ loc: unknown[]; type: string }>).map((e) => [e.loc, e.type]), [[['query', 'state'], 'enum']]);
    assert.ok(!JSON.stringify(bad).includes('bogus'), 'no echo of the query value');
  });

  test('POST /jobs/status: missing ids, unknown ids sorted, order and duplicates kept', async () => {
    assertEnvelope(await daemon.post('/jobs/status', { run_ids: ['', ''] }), 400, 'jobs.missing_run_ids', 'No run_ids provided');
    for (const body of [{ run_ids: [] }, {}, { run_ids: 'contract-first' }, { run_ids: [1] }]) {
      assertEnvelope(await daemon.post('/jobs/status', body), 422, 'request.validation_error');
    }
    const unknown = assertEnvelope(
      await daemon.post('/jobs/status', { run_ids: ['contract-first', 'zz-unknown', 'aa-unknown', 'zz-unknown'] }),
      404,
      'jobs.run_ids_unknown',
      'Unknown run_ids: aa-unknown, zz-unknown',
    );
    assert.equal(unknown.hint, 'Only request known run_ids.');
    const res = await daemon.post<JobStatusLike[]>('/jobs/status', { run_ids: [second.run_id, '', 'contract-first', second.run_id] });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.map((j) => j.run_id), [second.run_id, 'contract-first', second.run_id]);
    res.json.forEach(assertJobStatusShape);
    assert.deepEqual(res.json[1], (await daemon.get('/jobs/contract-first')).json);
  });

  test('GET /jobs/{id} and cancel: 404 jobs.not_found; cancel of a finished job changes nothing', async () => {
    for (const id of ['no_such_job', '..', '%2e%2e', 'a.b', 'x'.repeat(129)]) {
      const nf = assertEnvelope(await daemon.get(`/jobs/${id}`), 404, 'jobs.not_found', 'Unknown run_id');
      assert.equal(nf.hint, 'Check the run_id or fetch the job list.');
      assertEnvelope(await daemon.post(`/jobs/${id}/cancel`), 404, 'jobs.not_found');
    }
    const before = (await daemon.get('/jobs/contract-first')).json;
    // The GUI posts cancel without body or content type; any body is ignored.
    for (const body of [undefined, '', 'not json at all', '{"x": 1}']) {
      const res = await daemon.post('/jobs/contract-first/cancel', body);
      assert.equal(res.status, 202, res.text);
      assert.deepEqual(res.json, { run_id: 'contract-first', status: 'done' });
    }
    assert.deepEqual((await daemon.get('/jobs/contract-first')).json, before);
  });

  test('runs and NAS routes: 404 runs.not_found, nas.not_configured, nas.invalid_config, /nas/health', async () => {
    for (const r of ['files', 'file?path=x.csv', 'zip']) assertEnvelope(await daemon.get(`/runs/unknown_run/${r}`), 404, 'runs.not_found', 'Run not found');
    const files = await daemon.get('/runs/contract-first/files');
    assert.equal(files.status, 200);
    assert.deepEqual(files.json, { files: [...first.slots[0]!.files, 'run.json'] }, "the slot's files and the run's provenance file");

    const health = await daemon.get<NasHealthLike>('/nas/health');
    assert.equal(health.status, 200);
    assert.equal(health.json.ok, false);
    assert.equal(health.json.message, 'not configured');
    assert.match(health.json.last_checked, ISO_UTC);
    assert.equal(health.json.transport, null);

    const nc = assertEnvelope(await daemon.post('/runs/contract-first/upload'), 409, 'nas.not_configured', 'NAS is not configured');
    assert.equal(nc.hint, 'Configure it via POST /nas/setup.');
    assertEnvelope(await daemon.post('/runs/unknown_run/upload'), 404, 'runs.not_found');
    assertEnvelope(await daemon.post('/runs/../upload'), 404, 'runs.not_found');

    const setup = { host: 'nas.local', share: 'lab', username: 'box', password: NAS_PASSWORD };
    for (const wrong of [{ host: '' }, { share: '' }, { username: '' }, { password: '' }, { retention_days: 0 }, { retention_days: -3 }, { base_subdir: 'a/../b' }]) {
      const res = await daemon.post('/nas/setup', { ...setup, ...wrong });
      assertEnvelope(res, 400, 'nas.invalid_config');
      assert.ok(!res.text.includes(NAS_PASSWORD), 'the password is never echoed');
    }
    const typed = assertEnvelope(await daemon.post('/nas/setup', { ...setup, password: 12345678, port: 'x' }), 422, 'request.validation_error');
    assert.ok(!JSON.stringify(typed).includes('12345678'));
    // Still not configured after the refused setups.
    assertEnvelope(await daemon.post('/runs/contract-first/upload'), 409, 'nas.not_configured');
  });

  test('busy slots: /devices/status running entries, 409 jobs.slots_busy sorted, storage.exists and run_id_conflict first, devices.busy, cancel, rescan', async () => {
    const long = await submitJob(daemon, {
      ...base({ client_datetime: '2025-11-05T13:00:00Z', run_name: 'contract-long', group_id: 'Contract-Long' }),
      devices: ['slot02', 'slot01'],
      params_by_mode: { CA: { potential: 0.1, duration: 60 } },
    });
    assert.deepEqual(long.slots.map((s) => s.slot), ['slot02', 'slot01'], 'job slot order = request order');
    try {
      const running = await waitForJob(daemon, 'contract-long', (j) => j.slots.every((s) => s.status === 'running'), 15_000);
      assert.equal(running.status, 'running');
      assert.equal(running.current_mode, 'CA');

      const st = await daemon.get<SlotStatusLike[]>('/devices/status');
      assert.equal(st.status, 200);
      assert.deepEqual(st.json.map((e) => [e.slot, e.status, e['run_id'], e.current_mode]), [
        ['slot01', 'running', 'contract-long', 'CA'],
        ['slot02', 'running', 'contract-long', 'CA'],
      ]);
      for (const e of st.json) {
        assert.match(e.started_at ?? '', ISO_UTC);
        assert.equal(e.ended_at, null);
        assert.equal(e.message, null);
        assert.deepEqual(e.remaining_modes, []);
        assert.ok(e.progress_pct >= 0 && e.progress_pct < 100);
        assert.ok(typeof e.remaining_s === 'number' && e.remaining_s > 30 && e.remaining_s <= 61, `remaining_s ${e.remaining_s}`);
      }

      // 4.2 step 7 before step 8: identical names on slot01 → storage.exists, not slots_busy.
      const exists = assertEnvelope(await daemon.post('/jobs', base()), 409, 'storage.exists', /^Run data already exists: /);
      assert.ok((exists.message as string).includes('Wells/slot01/CA/Contract_2025-11-05_12-00-00Z_slot01_CA.csv'), exists.message as string);
      assert.equal(exists.hint, 'Use a new client_datetime or subdir.');
      assertEnvelope(await daemon.post('/jobs', base({ experiment_name: '!!!' })), 400, 'storage.invalid_name');
      // Step 8: run_id conflict before busy slots.
      assertEnvelope(
        await daemon.post('/jobs', base({ client_datetime: '2025-11-05T14:00:00Z', run_name: 'contract-first' })),
        409,
        'jobs.run_id_conflict',
        'run_id already exists',
      );
      const busy = assertEnvelope(
        await daemon.post('/jobs', base({ client_datetime: '2025-11-05T14:00:00Z', devices: ['slot02', 'slot01'] })),
        409,
        'jobs.slots_busy',
        'Slots busy: slot01, slot02',
      );
      assert.equal(busy.hint, 'Wait until the listed slots are free.');
      assertEnvelope(await daemon.post('/jobs', base({ client_datetime: '2025-11-05T14:00:00Z', devices: 'all' })), 409, 'jobs.slots_busy', 'Slots busy: slot01, slot02');
      assertEnvelope(await daemon.post('/jobs', base({ client_datetime: '2025-11-05T14:00:00Z', devices: ['slot02'] })), 409, 'jobs.slots_busy', 'Slots busy: slot02');
      const rescan = assertEnvelope(await daemon.post('/admin/rescan'), 409, 'devices.busy', 'Rescan not possible while slots are busy: slot01, slot02');
      assert.equal(typeof rescan.hint, 'string');

      const ids = async (q: string) => ((await daemon.get(`/jobs${q}`)).json as Array<{ run_id: string; status: string }>).map((j) => `${j.run_id}:${j.status}`);
      assert.deepEqual(await ids('?state=incomplete'), ['contract-long:running']);
      assert.ok(!(await ids('?state=completed')).some((x) => x.startsWith('contract-long')));
    } finally {
      const cancel = await daemon.post('/jobs/contract-long/cancel');
      assert.equal(cancel.status, 202);
      assert.deepEqual(cancel.json, { run_id: 'contract-long', status: 'cancelled' });
    }
    const ended = await waitForJob(daemon, 'contract-long', (j) => isTerminalStatus(j.status), 15_000);
    assert.equal(ended.status, 'cancelled');
    assert.equal(ended.remaining_s, 0);
    for (const s of ended.slots) {
      assert.equal(s.status, 'cancelled');
      assert.equal(s.message, 'cancelled');
    }
    // Reservations are released: rescan is allowed and rediscovers both devices.
    const rescan = await daemon.post('/admin/rescan', 'ignored body');
    assert.equal(rescan.status, 200, rescan.text);
    assert.deepEqual(rescan.json, { devices: ['slot01', 'slot02'] });
    assert.equal((await daemon.get<HealthLike>('/health')).json.devices, 2);
    // The rediscovered devices measure.
    const after = await submitJob(daemon, base({ client_datetime: '2025-11-05T15:00:00Z', devices: 'all' }));
    const done = await waitForJob(daemon, after.run_id);
    assert.equal(done.status, 'done', JSON.stringify(done));
    assert.deepEqual(done.slots.map((s) => s.slot), ['slot01', 'slot02']);
    const rescanEmpty = await empty.post('/admin/rescan');
    assert.equal(rescanEmpty.status, 200);
    assert.deepEqual(rescanEmpty.json, { devices: [] });
  });
});

describe('logs', () => {
  test('both daemons stop gracefully; no log line contains the API key, a sent key or the NAS password', async () => {
    await Promise.all([daemon.stop(), empty.stop()]);
    for (const d of [daemon, empty]) {
      await assertNothingLeftBehind(d);
      const lines = d.logLines();
      assert.ok(lines.length > 5);
      const requests = d.logRecords().filter((r) => r['msg'] === 'request');
      assert.ok(requests.length > 0, 'one line per request');
      for (const line of [...lines, d.stderr()]) {
        assert.ok(!line.includes(d.apiKey), `API key in: ${line}`);
        assert.ok(!line.includes(WRONG_KEY), `a sent key in: ${line}`);
        assert.ok(!line.includes(NAS_PASSWORD), `NAS password in: ${line}`);
        assert.ok(!line.includes(d.apiKey.toUpperCase()), `upper-cased key in: ${line}`);
      }
    }
  });
});
