/**
 * The HTTP layer over real HTTP (127.0.0.1, port 0) with FAKE services: every route, and every
 * status and error code the HTTP layer produces itself (auth, routing, body limits, validation,
 * run_id pattern, downloads, streaming, docs). Service behaviour is faked; the real services get
 * their end-to-end tests in test/e2e/.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { describe, test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { DaemonError } from '../../src/errors.js';
import { createApp } from '../../src/http/app.js';
import { createRouteTable } from '../../src/http/route-table.js';
import { createFakeServices, FakeEndlessZipStream, type FakeServiceOptions, type FakeServices } from '../helpers/fake-http-services.js';

const API_KEY = 'k3y-Secret-0123456789';
const NAS_PASSWORD = 'hunter2-nas-password-XYZ';
const RUN_ID = '20251103T091531_3fa9c2';
const NON_ASCII_FILE = 'Wells/slot01/CV/Größe_ü_slot01_CV.csv';

interface Harness {
  base: string;
  services: FakeServices;
  logLines: () => Record<string, unknown>[];
  rawLog: () => string;
  server: Server;
}

async function startHarness(t: TestContext, options: FakeServiceOptions = {}): Promise<Harness> {
  const services = createFakeServices({
    apiKey: API_KEY,
    files: {
      [RUN_ID]: {
        'Wells/slot01/CV/Demo_slot01_CV.csv': 'Time (s),Potential (V),Current (A)\r\n0.0,0.1,1e-06',
        'Wells/slot01/CV/Demo_slot01_CV.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
        [NON_ASCII_FILE]: 'a,b\r\n1,2',
        'Wells/slot01/CV/quote"and\\back.bin': Buffer.from([1, 2, 3]),
        UPLOAD_DONE: '2025-11-03T10:00:00Z',
      },
    },
    ...options,
  });
  let raw = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      raw += chunk.toString('utf8');
      cb();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const app = createApp({ services, logger });
  // Koa's listen = http.createServer(app.callback()).listen(...); its handler never rejects.
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  const logLines = (): Record<string, unknown>[] =>
    raw
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { base: `http://127.0.0.1:${port}`, services, logLines, rawLog: () => raw, server };
}

const KEY = { 'X-API-Key': API_KEY };
const JSON_KEY = { ...KEY, 'Content-Type': 'application/json' };

async function readJson(res: Response): Promise<Record<string, unknown>> {
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  return (await res.json()) as Record<string, unknown>;
}

/** Assert the 1.4 envelope and return it. */
async function expectError(res: Response, status: number, code: string): Promise<Record<string, unknown>> {
  assert.equal(res.status, status, `expected ${status} ${code}`);
  const body = await readJson(res);
  assert.equal(body['code'], code);
  assert.equal(typeof body['message'], 'string');
  assert.equal(typeof body['hint'], 'string');
  assert.deepEqual(body['detail'], { code: body['code'], message: body['message'], hint: body['hint'] });
  return body;
}

function issuesOf(body: Record<string, unknown>): { loc: unknown[]; msg: string; type: string }[] {
  assert.ok(Array.isArray(body['errors']), 'errors[] present');
  return body['errors'] as { loc: unknown[]; msg: string; type: string }[];
}

const VALID_JOB = {
  devices: ['slot01'],
  modes: ['CV'],
  params_by_mode: { CV: { start: 0, vertex1: 0.5, vertex2: -0.5, end: 0, scan_rate: '0.1', cycles: '3' } },
  experiment_name: 'Demo',
  client_datetime: '2025-11-03T09:15:31Z',
};

async function waitForLogLine(h: Harness, requestId: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i += 1) {
    const line = h.logLines().find((l) => l['reqId'] === requestId && l['msg'] === 'request');
    if (line !== undefined) return line;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no request log line for ${requestId}`);
}

/** A request whose path is sent exactly as given (with the key). */
async function rawRequest(h: Harness, method: string, path: string): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${h.base}/`, { method, path, headers: KEY });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('exempt routes and auth', () => {
  test('GET /version needs no key and reports versions as strings', async (t) => {
    const h = await startHarness(t);
    const res = await fetch(`${h.base}/version`);
    assert.equal(res.status, 200);
    const body = await readJson(res);
    const runtime = `node ${process.version}`;
    assert.deepEqual(body, { api: '1.0', pybeep: '0.1.0', firmware: 'unknown', python: runtime, runtime, build: 'a1b2c3d' });
    assert.match(res.headers.get('server-timing') ?? '', /^app;dur=\d+\.\d\d$/, 'handling time for clients and the API bench');
  });

  test('GET /health needs no key; contract fields plus extra details', async (t) => {
    const h = await startHarness(t);
    const res = await fetch(`${h.base}/health`);
    assert.equal(res.status, 200);
    const body = await readJson(res);
    assert.equal(body['ok'], true);
    assert.equal(body['devices'], 2);
    assert.equal(body['box_id'], 'lab-box-01');
    assert.deepEqual(body['plotting'], { available: true });
  });

  test('missing, wrong, wrong-length and wrong-case keys answer 401; the right key passes', async (t) => {
    const h = await startHarness(t);
    const variants: Record<string, string>[] = [{}, { 'X-API-Key': 'nope' }, { 'X-API-Key': `${API_KEY}x` }, { 'X-API-Key': API_KEY.toUpperCase() }, { 'X-API-Key': '' }];
    for (const headers of variants) {
      const body = await expectError(await fetch(`${h.base}/devices`, { headers }), 401, 'auth.invalid_api_key');
      assert.equal(body['message'], 'Unauthorized');
      assert.equal(body['hint'], 'X-API-Key header is missing or incorrect.');
    }
    assert.equal(h.services.calls.filter((c) => c.method === 'devices.list').length, 0, 'service not reached');
    const ok = await fetch(`${h.base}/devices`, { headers: { 'x-api-key': API_KEY } });
    assert.equal(ok.status, 200);
  });

  test('authentication comes before validation: malformed body without key → 401, with key → 422', async (t) => {
    const h = await startHarness(t);
    const init = { method: 'POST', body: '{"devices": [', headers: { 'Content-Type': 'application/json' } };
    await expectError(await fetch(`${h.base}/jobs`, init), 401, 'auth.invalid_api_key');
    await expectError(await fetch(`${h.base}/jobs`, { ...init, body: '{}' }), 401, 'auth.invalid_api_key');
    await expectError(await fetch(`${h.base}/jobs`, { method: 'POST', body: 'x'.repeat(2 * 1024 * 1024) }), 401, 'auth.invalid_api_key');
    const withKey = await expectError(await fetch(`${h.base}/jobs`, { ...init, headers: JSON_KEY }), 422, 'request.validation_error');
    assert.deepEqual(issuesOf(withKey), [{ loc: ['body'], msg: 'JSON decode error', type: 'json_invalid' }]);
  });

  test('empty BOX_API_KEY = open API', async (t) => {
    const h = await startHarness(t, { apiKey: '' });
    assert.equal((await fetch(`${h.base}/devices`)).status, 200);
    assert.equal((await fetch(`${h.base}/openapi.json`)).status, 200);
  });

  test('/openapi.json, /docs and its files need no key (the viewer loads before the key is entered); the API behind them does', async (t) => {
    const h = await startHarness(t);
    for (const path of ['/openapi.json', '/docs', '/docs/init.js']) assert.equal((await fetch(`${h.base}${path}`)).status, 200, path);
    await expectError(await fetch(`${h.base}/jobs`), 401, 'auth.invalid_api_key');
  });
});

describe('routing', () => {
  test('unknown route → 404 http.not_found, before auth', async (t) => {
    const h = await startHarness(t);
    const body = await expectError(await fetch(`${h.base}/nope`), 404, 'http.not_found');
    assert.equal(body['message'], 'Not found');
    await expectError(await fetch(`${h.base}/jobs/a/b/c`, { headers: KEY }), 404, 'http.not_found');
    await expectError(await fetch(`${h.base}/JOBS`, { headers: KEY }), 404, 'http.not_found');
  });

  test('known path, wrong method → 405 http.method_not_allowed with Allow, before auth', async (t) => {
    const h = await startHarness(t);
    const res = await fetch(`${h.base}/jobs`, { method: 'DELETE' });
    const body = await expectError(res, 405, 'http.method_not_allowed');
    assert.equal(body['message'], 'Method not allowed');
    assert.deepEqual(new Set(res.headers.get('allow')?.split(', ')), new Set(['HEAD', 'GET', 'POST']));
    const cancel = await fetch(`${h.base}/jobs/${RUN_ID}/cancel`, { headers: KEY });
    await expectError(cancel, 405, 'http.method_not_allowed');
    assert.equal(cancel.headers.get('allow'), 'POST');
    const version = await fetch(`${h.base}/version`, { method: 'POST', body: '{}' });
    await expectError(version, 405, 'http.method_not_allowed');
  });
});

describe('request bodies', () => {
  test('JSON is parsed without or with a wrong Content-Type; unknown fields are ignored', async (t) => {
    const h = await startHarness(t);
    const bytes = new TextEncoder().encode(JSON.stringify({ ...VALID_JOB, unknown_field: 1 }));
    const noType = await fetch(`${h.base}/jobs`, { method: 'POST', body: bytes, headers: KEY });
    assert.equal(noType.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(noType.status, 200);
    const job = await readJson(noType);
    assert.equal(typeof job['run_id'], 'string');
    const textType = await fetch(`${h.base}/jobs`, {
      method: 'POST',
      body: JSON.stringify(VALID_JOB),
      headers: { ...KEY, 'Content-Type': 'text/plain' },
    });
    assert.equal(textType.status, 200);
    const submitted = h.services.calls.filter((c) => c.method === 'jobs.submit');
    assert.equal(submitted.length, 2);
    // Mode params reach the service untouched (numeric strings are the job service's business).
    assert.deepEqual((submitted[0]?.args[0] as typeof VALID_JOB).params_by_mode, VALID_JOB.params_by_mode);
  });

  test('the raw request is really sent without Content-Type and parsed', async (t) => {
    const h = await startHarness(t);
    const payload = JSON.stringify({ run_ids: ['a'] });
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${h.base}/jobs/status`, { method: 'POST', headers: { ...KEY, 'Content-Length': Buffer.byteLength(payload) } });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.end(payload);
    });
    assert.equal(status, 404);
    assert.equal((JSON.parse(body) as { code: string }).code, 'jobs.run_ids_unknown');
  });

  test('bodyless POSTs accept a missing, empty, or junk body with any Content-Type', async (t) => {
    const h = await startHarness(t);
    const job = await readJson(await fetch(`${h.base}/jobs`, { method: 'POST', body: JSON.stringify(VALID_JOB), headers: JSON_KEY }));
    const runId = String(job['run_id']);
    const bodies: { body?: string; type?: string }[] = [{}, { body: '' }, { body: 'not json {{{', type: 'application/json' }, { body: '\u0000\u0001', type: 'application/octet-stream' }];
    for (const variant of bodies) {
      const headers: Record<string, string> = { ...KEY };
      if (variant.type) headers['Content-Type'] = variant.type;
      const init = { method: 'POST', headers, ...(variant.body !== undefined ? { body: variant.body } : {}) };
      const cancel = await fetch(`${h.base}/jobs/${runId}/cancel`, init);
      assert.equal(cancel.status, 202);
      assert.deepEqual(await readJson(cancel), { run_id: runId, status: 'cancelled' });
      assert.equal((await fetch(`${h.base}/admin/rescan`, init)).status, 200);
      assert.equal((await fetch(`${h.base}/runs/${RUN_ID}/upload`, init)).status, 200);
    }
    // A 2 MiB junk body on a bodyless route is not read, not a 413.
    const big = await fetch(`${h.base}/admin/rescan`, { method: 'POST', headers: KEY, body: 'x'.repeat(2 * 1024 * 1024) });
    assert.equal(big.status, 200);
    assert.deepEqual(await readJson(big), { devices: ['slot02', 'slot01'] });
  });

  test('> 1 MiB → 413 request.too_large (declared length and chunked); exactly 1 MiB is read', async (t) => {
    const h = await startHarness(t);
    const tooBig = JSON.stringify({ ...VALID_JOB, pad: 'x'.repeat(1024 * 1024) });
    const body = await expectError(await fetch(`${h.base}/jobs`, { method: 'POST', headers: JSON_KEY, body: tooBig }), 413, 'request.too_large');
    assert.equal(body['message'], 'Request body too large');

    const chunks = [Buffer.from('{"pad":"'), Buffer.alloc(1024 * 1024, 'y'), Buffer.from('"}')];
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const c of chunks) controller.enqueue(c);
        controller.close();
      },
    });
    const chunked = await fetch(`${h.base}/jobs`, { method: 'POST', headers: JSON_KEY, body: stream, duplex: 'half' } as RequestInit);
    await expectError(chunked, 413, 'request.too_large');

    const exact = Buffer.alloc(1024 * 1024, ' ');
    exact.write(JSON.stringify(VALID_JOB), 0);
    assert.equal((await fetch(`${h.base}/jobs`, { method: 'POST', headers: JSON_KEY, body: exact })).status, 200);
    // The connection stays usable afterwards.
    assert.equal((await fetch(`${h.base}/version`)).status, 200);
  });
});

describe('422 request.validation_error', () => {
  test('envelope, missing fields, every type token, no echoed values', async (t) => {
    const h = await startHarness(t);
    const missing = await expectError(await fetch(`${h.base}/jobs`, { method: 'POST', headers: JSON_KEY, body: '{}' }), 422, 'request.validation_error');
    assert.equal(missing['message'], 'Request validation failed');
    assert.equal(missing['hint'], 'Please check request payload and fields.');
    assert.deepEqual(
      issuesOf(missing).map((e) => [e.loc, e.type, e.msg]),
      ['devices', 'modes', 'experiment_name', 'client_datetime'].map((f) => [['body', f], 'missing', 'Field required']),
    );

    const secret = 'S3CR3T-VALUE-do-not-echo';
    const wrong = await expectError(
      await fetch(`${h.base}/jobs`, {
        method: 'POST',
        headers: JSON_KEY,
        body: JSON.stringify({
          devices: ['slot01', { secret }],
          modes: secret,
          params_by_mode: [secret],
          tia_gain: 1.5,
          sampling_interval: secret,
          experiment_name: 12345678,
          client_datetime: [secret],
          make_plot: secret,
          subdir: { secret },
        }),
      }),
      422,
      'request.validation_error',
    );
    const byLoc = new Map(issuesOf(wrong).map((e) => [JSON.stringify(e.loc), e]));
    assert.equal(byLoc.get('["body","devices",1]')?.type, 'string_type');
    assert.equal(byLoc.get('["body","modes"]')?.type, 'list_type');
    assert.equal(byLoc.get('["body","params_by_mode"]')?.type, 'dict_type');
    assert.equal(byLoc.get('["body","tia_gain"]')?.type, 'int_type');
    assert.equal(byLoc.get('["body","sampling_interval"]')?.type, 'float_type');
    assert.equal(byLoc.get('["body","experiment_name"]')?.type, 'string_type');
    assert.equal(byLoc.get('["body","client_datetime"]')?.type, 'string_type');
    assert.equal(byLoc.get('["body","make_plot"]')?.type, 'bool_type');
    assert.equal(byLoc.get('["body","subdir"]')?.type, 'string_type');
    const text = JSON.stringify(wrong);
    assert.ok(!text.includes(secret), 'no input value echoed');
    assert.ok(!text.includes('12345678'), 'no input value echoed');
    assert.equal(h.services.calls.filter((c) => c.method === 'jobs.submit').length, 0);
  });

  test('devices: any string but "all" → enum; a number → list_type', async (t) => {
    const h = await startHarness(t);
    const some = await expectError(
      await fetch(`${h.base}/jobs`, { method: 'POST', headers: JSON_KEY, body: JSON.stringify({ ...VALID_JOB, devices: 'slot01' }) }),
      422,
      'request.validation_error',
    );
    assert.deepEqual(issuesOf(some), [{ loc: ['body', 'devices'], msg: "Input should be 'all'", type: 'enum' }]);
    const num = await expectError(
      await fetch(`${h.base}/jobs`, { method: 'POST', headers: JSON_KEY, body: JSON.stringify({ ...VALID_JOB, devices: 5 }) }),
      422,
      'request.validation_error',
    );
    assert.deepEqual(issuesOf(num).map((e) => e.type), ['list_type']);
    const all = await fetch(`${h.base}/jobs`, { method: 'POST', headers: JSON_KEY, body: JSON.stringify({ ...VALID_JOB, devices: 'all' }) });
    assert.equal(all.status, 200);
  });

  test('wrong JSON type of the whole body, empty body, empty run_ids', async (t) => {
    const h = await startHarness(t);
    for (const body of ['[]', '"text"', '42', 'null']) {
      const res = await expectError(await fetch(`${h.base}/jobs`, { method: 'POST', headers: JSON_KEY, body }), 422, 'request.validation_error');
      assert.deepEqual(issuesOf(res), [{ loc: ['body'], msg: 'Input should be a valid dictionary', type: 'dict_type' }]);
    }
    const empty = await expectError(await fetch(`${h.base}/jobs`, { method: 'POST', headers: JSON_KEY, body: '' }), 422, 'request.validation_error');
    assert.deepEqual(issuesOf(empty), [{ loc: ['body'], msg: 'Field required', type: 'missing' }]);
    const runIds = await expectError(
      await fetch(`${h.base}/jobs/status`, { method: 'POST', headers: JSON_KEY, body: '{"run_ids": []}' }),
      422,
      'request.validation_error',
    );
    assert.deepEqual(issuesOf(runIds), [{ loc: ['body', 'run_ids'], msg: 'List should have at least 1 item', type: 'too_short' }]);
    const notObject = await expectError(
      await fetch(`${h.base}/modes/CV/validate`, { method: 'POST', headers: JSON_KEY, body: '[1,2]' }),
      422,
      'request.validation_error',
    );
    assert.deepEqual(issuesOf(notObject).map((e) => e.type), ['dict_type']);
  });

  test('query parameters: enum and missing', async (t) => {
    const h = await startHarness(t);
    const state = await expectError(await fetch(`${h.base}/jobs?state=running`, { headers: KEY }), 422, 'request.validation_error');
    assert.deepEqual(issuesOf(state), [{ loc: ['query', 'state'], msg: "Input should be 'incomplete' or 'completed'", type: 'enum' }]);
    const path = await expectError(await fetch(`${h.base}/runs/${RUN_ID}/file`, { headers: KEY }), 422, 'request.validation_error');
    assert.deepEqual(issuesOf(path), [{ loc: ['query', 'path'], msg: 'Field required', type: 'missing' }]);
    const twice = await expectError(await fetch(`${h.base}/runs/${RUN_ID}/file?path=a&path=b`, { headers: KEY }), 422, 'request.validation_error');
    assert.deepEqual(issuesOf(twice).map((e) => [e.loc, e.type]), [[['query', 'path'], 'string_type']]);
  });

  test('SMB setup: a wrongly typed password is not reflected', async (t) => {
    const h = await startHarness(t);
    const res = await expectError(
      await fetch(`${h.base}/nas/setup`, {
        method: 'POST',
        headers: JSON_KEY,
        body: JSON.stringify({ host: 'nas', share: 's', username: 'u', password: { value: NAS_PASSWORD }, retention_days: 'x' }),
      }),
      422,
      'request.validation_error',
    );
    assert.deepEqual(issuesOf(res).map((e) => [e.loc, e.type]), [
      [['body', 'password'], 'string_type'],
      [['body', 'retention_days'], 'int_type'],
    ]);
    assert.ok(!JSON.stringify(res).includes(NAS_PASSWORD));
  });
});

describe('run_id path parameters', () => {
  test('values outside ^[A-Za-z0-9_-]{1,128}$ → the route not-found error, no service call', async (t) => {
    const h = await startHarness(t);
    // Sent verbatim with node:http: fetch would normalise '..' and '%2E%2E' away before sending.
    const bad = ['..', '%2E%2E', '%2e.', 'a.b', 'a%2Fb', '..%2F..%2Fopt', 'x'.repeat(129), '%00', 'caf%C3%A9', '%ZZ', '%20'];
    for (const id of bad) {
      const job = await rawRequest(h, 'GET', `/jobs/${id}`);
      assert.equal(job.status, 404, id);
      assert.equal(job.json['code'], 'jobs.not_found', id);
      assert.equal((await rawRequest(h, 'POST', `/jobs/${id}/cancel`)).json['code'], 'jobs.not_found', id);
      for (const suffix of ['files', 'file?path=x', 'zip', 'upload']) {
        const run = await rawRequest(h, 'GET', `/runs/${id}/${suffix}`);
        assert.equal(run.status, 404, `${id}/${suffix}`);
        assert.equal(run.json['code'], 'runs.not_found', `${id}/${suffix}`);
      }
      assert.equal((await rawRequest(h, 'POST', `/runs/${id}/upload`)).json['code'], 'runs.not_found', id);
    }
    const serviceCalls = h.services.calls.filter((c) => /^(jobs|runs|nas)\./.test(c.method));
    assert.deepEqual(serviceCalls, []);
    const body = await expectError(await fetch(`${h.base}/runs/a.b/zip`, { headers: KEY }), 404, 'runs.not_found');
    assert.equal(body['message'], 'Run not found');
    assert.equal(body['hint'], 'Check the run_id or list existing runs.');
    // 128 characters is fine and reaches the service.
    await expectError(await fetch(`${h.base}/jobs/${'x'.repeat(128)}`, { headers: KEY }), 404, 'jobs.not_found');
    assert.deepEqual(h.services.calls.at(-1), { method: 'jobs.get', args: ['x'.repeat(128)] });
  });
});

describe('every route reaches its service', () => {
  test('devices, modes, jobs, runs, nas, admin', async (t) => {
    const h = await startHarness(t);
    const devices = await readJson(await fetch(`${h.base}/devices`, { headers: KEY }));
    assert.deepEqual(devices['slots'], ['slot01', 'slot02']);
    assert.equal(devices['count'], 2);
    assert.deepEqual((devices['devices'] as { slot: string }[]).map((d) => d.slot), ['slot01', 'slot02']);
    const status = (await (await fetch(`${h.base}/devices/status`, { headers: KEY })).json()) as unknown[];
    assert.equal(status.length, 2);
    assert.deepEqual(await (await fetch(`${h.base}/modes`, { headers: KEY })).json(), ['CA', 'LSV', 'CV', 'PSTEP', 'CP', 'GS', 'GCV', 'STEPSEQ', 'OCP', 'CDL', 'EIS']);
    const params = await readJson(await fetch(`${h.base}/modes/cv/params`, { headers: KEY }));
    assert.equal(params['cycles'], 'int');
    await expectError(await fetch(`${h.base}/modes/XYZ/params`, { headers: KEY }), 404, 'modes.not_found');
    const validation = await readJson(
      await fetch(`${h.base}/modes/CV/validate`, { method: 'POST', headers: JSON_KEY, body: '{"cycles": "3"}' }),
    );
    assert.equal(validation['ok'], true);

    const job = await readJson(await fetch(`${h.base}/jobs`, { method: 'POST', headers: JSON_KEY, body: JSON.stringify({ ...VALID_JOB, group_id: 'G1' }) }));
    const runId = String(job['run_id']);
    assert.equal((await readJson(await fetch(`${h.base}/jobs/${runId}`, { headers: KEY })))['run_id'], runId);
    const many = (await (await fetch(`${h.base}/jobs/status`, { method: 'POST', headers: JSON_KEY, body: JSON.stringify({ run_ids: [runId, '', runId] }) })).json()) as { run_id: string }[];
    assert.deepEqual(many.map((j) => j.run_id), [runId, runId]);
    assert.deepEqual(h.services.calls.find((c) => c.method === 'jobs.statusMany')?.args, [[runId, runId]]);
    const missing = await expectError(
      await fetch(`${h.base}/jobs/status`, { method: 'POST', headers: JSON_KEY, body: '{"run_ids": ["", ""]}' }),
      400,
      'jobs.missing_run_ids',
    );
    assert.equal(missing['message'], 'No run_ids provided');
    await expectError(
      await fetch(`${h.base}/jobs/status`, { method: 'POST', headers: JSON_KEY, body: '{"run_ids": ["zz", "aa"]}' }),
      404,
      'jobs.run_ids_unknown',
    );
    const list = (await (await fetch(`${h.base}/jobs?state=incomplete&group_id=%20G1%20`, { headers: KEY })).json()) as unknown[];
    assert.equal(list.length, 1);
    assert.deepEqual(h.services.calls.filter((c) => c.method === 'jobs.list').at(-1)?.args, [{ state: 'incomplete', groupId: 'G1' }]);
    await fetch(`${h.base}/jobs?group_id=%20%20`, { headers: KEY });
    assert.deepEqual(h.services.calls.filter((c) => c.method === 'jobs.list').at(-1)?.args, [{}]);
    const cancel = await fetch(`${h.base}/jobs/${runId}/cancel`, { method: 'POST', headers: KEY });
    assert.equal(cancel.status, 202);
    await expectError(await fetch(`${h.base}/jobs/unknown/cancel`, { method: 'POST', headers: KEY }), 404, 'jobs.not_found');

    const files = await readJson(await fetch(`${h.base}/runs/${RUN_ID}/files`, { headers: KEY }));
    assert.ok((files['files'] as string[]).includes('UPLOAD_DONE'));
    await expectError(await fetch(`${h.base}/runs/unknown/files`, { headers: KEY }), 404, 'runs.not_found');
    await expectError(await fetch(`${h.base}/runs/${RUN_ID}/file?path=missing.csv`, { headers: KEY }), 404, 'runs.file_not_found');

    const setup = await readJson(
      await fetch(`${h.base}/nas/setup`, {
        method: 'POST',
        headers: JSON_KEY,
        body: JSON.stringify({ host: 'nas', share: 'lab', username: 'box', password: NAS_PASSWORD }),
      }),
    );
    assert.deepEqual(setup, { ok: true, message: 'ok' });
    const nasHealth = await readJson(await fetch(`${h.base}/nas/health`, { headers: KEY }));
    assert.equal(nasHealth['message'], 'not configured');
    assert.deepEqual(await readJson(await fetch(`${h.base}/runs/${RUN_ID}/upload`, { method: 'POST', headers: KEY })), {
      ok: true,
      enqueued: true,
      run_id: RUN_ID,
    });
    assert.equal((await readJson(await fetch(`${h.base}/runs/${RUN_ID}/upload`, { headers: KEY })))['state'], 'pending');
    await expectError(await fetch(`${h.base}/runs/unknown/upload`, { method: 'POST', headers: KEY }), 404, 'runs.not_found');
    assert.deepEqual(await readJson(await fetch(`${h.base}/admin/rescan`, { method: 'POST', headers: KEY })), { devices: ['slot02', 'slot01'] });
  });

  test('zero devices: /modes and /modes/{mode}/params → 503 devices.unavailable; validate still works', async (t) => {
    const h = await startHarness(t, { devices: [] });
    const body = await expectError(await fetch(`${h.base}/modes`, { headers: KEY }), 503, 'devices.unavailable');
    assert.equal(body['hint'], 'Use POST /admin/rescan to look for devices.');
    await expectError(await fetch(`${h.base}/modes/XYZ/params`, { headers: KEY }), 503, 'devices.unavailable');
    assert.equal((await fetch(`${h.base}/modes/CV/validate`, { method: 'POST', headers: JSON_KEY, body: '{}' })).status, 200);
    assert.equal((await readJson(await fetch(`${h.base}/health`)))['devices'], 0);
  });

  test('NAS not wired: every NAS route → 503 nas.unavailable (after auth, before validation)', async (t) => {
    const h = await startHarness(t, { withNas: false });
    await expectError(await fetch(`${h.base}/nas/setup`, { method: 'POST', headers: JSON_KEY, body: 'junk' }), 503, 'nas.unavailable');
    await expectError(await fetch(`${h.base}/nas/health`, { headers: KEY }), 503, 'nas.unavailable');
    await expectError(await fetch(`${h.base}/runs/${RUN_ID}/upload`, { method: 'POST', headers: KEY }), 503, 'nas.unavailable');
    await expectError(await fetch(`${h.base}/runs/${RUN_ID}/upload`, { headers: KEY }), 503, 'nas.unavailable');
    await expectError(await fetch(`${h.base}/nas/health`), 401, 'auth.invalid_api_key');
  });

  test('service errors map through the one table; unexpected errors → 500 without details', async (t) => {
    const h = await startHarness(t);
    h.services.failNext('jobs.submit', new DaemonError('jobs.slots_busy', 'Slots busy: slot01, slot02'));
    const busy = await expectError(await fetch(`${h.base}/jobs`, { method: 'POST', headers: JSON_KEY, body: JSON.stringify(VALID_JOB) }), 409, 'jobs.slots_busy');
    assert.equal(busy['message'], 'Slots busy: slot01, slot02');
    assert.equal(busy['hint'], 'Wait until the listed slots are free.', 'default hint filled in');

    const issues = [{ mode: 'CV', field: 'scan_rate', code: 'must_be_positive', message: 'Value must be greater than zero.' }];
    h.services.failNext('jobs.submit', new DaemonError('jobs.invalid_params', 'Invalid parameters for CV: scan_rate must be greater than zero', { details: { issues } }));
    const invalid = await expectError(await fetch(`${h.base}/jobs`, { method: 'POST', headers: JSON_KEY, body: JSON.stringify(VALID_JOB) }), 422, 'jobs.invalid_params');
    assert.deepEqual(invalid['errors'], issues);

    h.services.failNext('nas.setup', new DaemonError('nas.invalid_config', 'host/share/username/password required'));
    await expectError(
      await fetch(`${h.base}/nas/setup`, { method: 'POST', headers: JSON_KEY, body: JSON.stringify({ host: '', share: '', username: '', password: '' }) }),
      400,
      'nas.invalid_config',
    );

    h.services.failNext('devices.rescan', new DaemonError('devices.busy', 'Rescan not possible while slots are busy: slot01'));
    await expectError(await fetch(`${h.base}/admin/rescan`, { method: 'POST', headers: KEY }), 409, 'devices.busy');

    const boom = new Error(`open /opt/box/.smbcredentials_nas failed (password=${NAS_PASSWORD})`);
    h.services.failNext('devices.list', boom);
    const res = await fetch(`${h.base}/devices`, { headers: KEY });
    const internal = await expectError(res, 500, 'internal.error');
    assert.deepEqual(internal, {
      code: 'internal.error',
      message: 'Internal server error',
      hint: '',
      detail: { code: 'internal.error', message: 'Internal server error', hint: '' },
    });
    const line = await waitForLogLine(h, res.headers.get('x-request-id') ?? '');
    assert.equal(line['status'], 500);
    assert.equal(line['level'], 50);

    h.services.failNext('jobs.get', new DaemonError('modes.parameter_error' as never, 'retired code'));
    await expectError(await fetch(`${h.base}/jobs/abc`, { headers: KEY }), 500, 'internal.error');
  });
});

describe('downloads', () => {
  test('single file: Content-Type by extension, Content-Length, Content-Disposition (RFC 5987 for non-ASCII)', async (t) => {
    const h = await startHarness(t);
    const url = (path: string): string => `${h.base}/runs/${RUN_ID}/file?path=${encodeURIComponent(path)}`;

    const csv = await fetch(url('Wells/slot01/CV/Demo_slot01_CV.csv'), { headers: KEY });
    assert.equal(csv.status, 200);
    assert.equal(csv.headers.get('content-type'), 'text/csv; charset=utf-8');
    assert.equal(csv.headers.get('content-disposition'), 'attachment; filename="Demo_slot01_CV.csv"');
    const csvText = await csv.text();
    assert.equal(csvText, 'Time (s),Potential (V),Current (A)\r\n0.0,0.1,1e-06');
    assert.equal(csv.headers.get('content-length'), String(Buffer.byteLength(csvText)));

    const png = await fetch(url('Wells/slot01/CV/Demo_slot01_CV.png'), { headers: KEY });
    assert.equal(png.headers.get('content-type'), 'image/png');
    assert.equal(png.headers.get('content-length'), '8');
    assert.deepEqual(new Uint8Array(await png.arrayBuffer()), new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));

    const marker = await fetch(url('UPLOAD_DONE'), { headers: KEY });
    assert.equal(marker.headers.get('content-type'), 'text/plain; charset=utf-8');
    await marker.arrayBuffer();

    const nonAscii = await fetch(url(NON_ASCII_FILE), { headers: KEY });
    assert.equal(nonAscii.status, 200);
    assert.equal(
      nonAscii.headers.get('content-disposition'),
      `attachment; filename="Gr__e___slot01_CV.csv"; filename*=UTF-8''${encodeURIComponent('Größe_ü_slot01_CV.csv')}`,
    );
    assert.equal(await nonAscii.text(), 'a,b\r\n1,2');

    const quoted = await fetch(url('Wells/slot01/CV/quote"and\\back.bin'), { headers: KEY });
    assert.equal(quoted.headers.get('content-type'), 'application/octet-stream');
    assert.equal(quoted.headers.get('content-disposition'), 'attachment; filename="quote\\"and\\\\back.bin"');
    await quoted.arrayBuffer();
  });

  test('ZIP: application/zip, attachment name, chunked (no Content-Length)', async (t) => {
    const h = await startHarness(t);
    const res = await fetch(`${h.base}/runs/${RUN_ID}/zip`, { headers: KEY });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/zip');
    assert.equal(res.headers.get('content-disposition'), `attachment; filename="${RUN_ID}.zip"`);
    assert.equal(res.headers.get('content-length'), null);
    assert.equal(res.headers.get('transfer-encoding'), 'chunked');
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.equal(bytes.subarray(0, 4).toString('latin1'), 'PK\u0005\u0006');
    await expectError(await fetch(`${h.base}/runs/unknown/zip`, { headers: KEY }), 404, 'runs.not_found');
  });

  test('ZIP: a client disconnect destroys the stream', async (t) => {
    let zip: FakeEndlessZipStream | undefined;
    const h = await startHarness(t, {
      zipStream: () => {
        zip = new FakeEndlessZipStream();
        return zip;
      },
    });
    const controller = new AbortController();
    const res = await fetch(`${h.base}/runs/${RUN_ID}/zip`, { headers: KEY, signal: controller.signal });
    assert.equal(res.status, 200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let received = 0;
    while (received < 256 * 1024) {
      const { value, done } = await reader.read();
      assert.equal(done, false, 'endless stream keeps flowing');
      received += value?.length ?? 0;
    }
    assert.ok(zip !== undefined);
    assert.equal(zip.wasClosed, false);
    controller.abort();
    await Promise.race([
      zip.closedPromise,
      new Promise((_, reject) => setTimeout(() => reject(new Error('stream not destroyed within 5 s')), 5000)),
    ]);
    assert.equal(zip.destroyed, true);
    const line = await waitForLogLine(h, res.headers.get('x-request-id') ?? '');
    assert.equal(line['aborted'], true);
  });
});

describe('documentation routes', () => {
  test('/openapi.json parses, is 3.1 and has every path of the route table', async (t) => {
    const h = await startHarness(t);
    const res = await fetch(`${h.base}/openapi.json`, { headers: KEY });
    assert.equal(res.status, 200);
    const doc = (await readJson(res)) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    assert.equal(doc.openapi, '3.1.0');
    for (const route of createRouteTable()) {
      assert.ok(doc.paths[route.path]?.[route.method.toLowerCase()], `${route.method} ${route.path} documented`);
    }
    for (const path of ['/runs/{run_id}/upload', '/openapi.json', '/docs', '/nas/setup', '/admin/rescan']) assert.ok(doc.paths[path]);
  });

  test('/docs is the viewer page; its files come from this daemon with their content types', async (t) => {
    const h = await startHarness(t);
    const res = await fetch(`${h.base}/docs`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    const html = await res.text();
    assert.match(html, /^<!doctype html>/);
    assert.ok(!/https?:\/\//.test(html), 'nothing from another host');
    const types: Record<string, RegExp> = { 'init.js': /^text\/javascript/, 'swagger-ui-bundle.js': /^text\/javascript/, 'swagger-ui.css': /^text\/css/ };
    for (const [name, type] of Object.entries(types)) {
      const file = await fetch(`${h.base}/docs/${name}`);
      assert.equal(file.status, 200, name);
      assert.match(file.headers.get('content-type') ?? '', type, name);
      await file.arrayBuffer();
    }
    await expectError(await fetch(`${h.base}/docs/package.json`), 404, 'http.not_found');
  });
});

describe('request log', () => {
  test('one line per request with method, path, status, duration, request id; no key, no password', async (t) => {
    const h = await startHarness(t);
    const requests: Response[] = [];
    requests.push(await fetch(`${h.base}/devices`, { headers: KEY }));
    requests.push(await fetch(`${h.base}/devices`, { headers: { 'X-API-Key': `${API_KEY}-wrong` } }));
    requests.push(
      await fetch(`${h.base}/nas/setup?password=${NAS_PASSWORD}`, {
        method: 'POST',
        headers: JSON_KEY,
        body: JSON.stringify({ host: 'nas', share: 'lab', username: 'box', password: NAS_PASSWORD }),
      }),
    );
    requests.push(
      await fetch(`${h.base}/nas/setup`, { method: 'POST', headers: JSON_KEY, body: JSON.stringify({ host: 1, password: [NAS_PASSWORD] }) }),
    );
    requests.push(await fetch(`${h.base}/jobs/nope`, { headers: { ...KEY, 'X-Request-Id': 'client-chosen-id-1' } }));
    for (const res of requests) await res.arrayBuffer();
    assert.equal(requests[4]?.headers.get('x-request-id'), 'client-chosen-id-1');

    const expected: [string, string, number, string | undefined][] = [
      ['GET', '/devices', 200, undefined],
      ['GET', '/devices', 401, 'auth.invalid_api_key'],
      ['POST', '/nas/setup', 200, undefined],
      ['POST', '/nas/setup', 422, 'request.validation_error'],
      ['GET', '/jobs/nope', 404, 'jobs.not_found'],
    ];
    for (const [i, res] of requests.entries()) {
      const requestId = res.headers.get('x-request-id') ?? '';
      assert.ok(requestId.length > 0);
      const line = await waitForLogLine(h, requestId);
      const [method, path, status, code] = expected[i]!;
      assert.equal(line['method'], method);
      assert.equal(line['path'], path);
      assert.equal(line['status'], status);
      assert.equal(line['code'], code);
      assert.equal(typeof line['durationMs'], 'number');
      assert.equal(h.logLines().filter((l) => l['reqId'] === requestId && l['msg'] === 'request').length, 1, 'one line per request');
    }
    const raw = h.rawLog();
    assert.ok(!raw.includes(API_KEY), 'API key not logged');
    assert.ok(!raw.includes(NAS_PASSWORD), 'NAS password not logged');
    // The password really reached the (fake) NAS service: the log is clean by design, not by accident.
    assert.equal((h.services.calls.find((c) => c.method === 'nas.setup')?.args[0] as { password: string }).password, NAS_PASSWORD);
  });
});
