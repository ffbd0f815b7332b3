/**
 * The HTTP edge against hostile and careless clients (issue #10), over real HTTP on loopback:
 *
 * - the real daemon (built CLI, 2 virtual potentiostats, open API as by default): CSRF attempts
 *   (text/plain POST /jobs, form-encoded POST /nas/setup, Sec-Fetch-Site) refused with nothing
 *   created, same-origin and Origin-less requests accepted, foreign Host refused, security headers
 *   on every kind of response, malformed HTTP over raw sockets answered with the envelope, slow
 *   bodies and slow headers cut by the (shortened) server timeouts, 10 000-deep bodies refused
 *   with no run folder left, tia_gain / sampling_interval bounds, the start-up rules for HOST;
 * - `createApp` with FAKE services in this process where a daemon adds nothing: the connection
 *   cap and a long download that the request timeout must not cut.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, readdir } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { pino } from 'pino';
import errorEnvelopeSchema from '../../schemas/api/error-envelope.schema.json' with { type: 'json' };
import { createApp } from '../../src/http/app.js';
import { createHttpServer } from '../../src/http/server.js';
import { startSimulators, type SimulatorSet } from '../../src/sim/run-sim.js';
import { createFakeServices, FakeEndlessZipStream } from '../helpers/fake-http-services.js';
import {
  CLI_PATH,
  assertEnvelope,
  createCleanupScope,
  makeTempDir,
  startDaemon,
  waitForJob,
  type DaemonHandle,
  type DaemonResponse,
  type JobStatusLike,
} from '../helpers/daemon.js';

const REQUEST_TIMEOUT_MS = 2_000;
const HEADERS_TIMEOUT_MS = 1_000;
const ALLOWED_NAME = 'beepbox.lab.example';

const validateEnvelope = new Ajv2020({ strict: true, allErrors: true }).compile(errorEnvelopeSchema);

const scope = createCleanupScope();
let sims: SimulatorSet;
/** Open API (no BOX_API_KEY), as a box runs by default. */
let open: DaemonHandle;
/** With a key. */
let keyed: DaemonHandle;

before(async () => {
  sims = await startSimulators({ count: 2 });
  scope.defer(() => sims.close());
  const env = {
    HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
    BOX_ALLOWED_HOSTS: ALLOWED_NAME,
  };
  [open, keyed] = await Promise.all([startDaemon(scope, { ports: sims.ports, apiKey: '', env }), startDaemon(scope, { ports: [] })]);
});

after(() => scope.run());

const CA_SHORT = { CA: { potential: 0.1, duration: 0.2 } };
let clientSecond = 0;
/** A valid job body on slot01 with a fresh client_datetime (so no two jobs share a folder). */
function jobBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  clientSecond += 1;
  return {
    devices: ['slot01'],
    modes: ['CA'],
    params_by_mode: CA_SHORT,
    experiment_name: 'Security',
    client_datetime: `2025-11-05T12:00:${String(clientSecond).padStart(2, '0')}Z`,
    make_plot: false,
    ...extra,
  };
}

const SECURITY_HEADERS: Record<string, string | RegExp> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'cache-control': 'no-store',
};

function assertSecurityHeaders(headers: IncomingMessage['headers'] | Record<string, string>, what: string, csp?: RegExp): void {
  for (const [name, expected] of Object.entries(SECURITY_HEADERS)) {
    const value = headers[name];
    if (name === 'content-security-policy' && csp !== undefined) assert.match(String(value), csp, `${what}: ${name}`);
    else assert.equal(value, expected, `${what}: ${name}`);
  }
  assert.equal(headers['access-control-allow-origin'], undefined, `${what}: no CORS grant`);
}

/** The envelope, valid against schemas/api/error-envelope.schema.json, with the security headers. */
function assertRefused(res: DaemonResponse, status: number, code: string): void {
  assertEnvelope(res, status, code);
  assert.equal(validateEnvelope(res.json), true, JSON.stringify(validateEnvelope.errors));
  assert.ok(((res.json as { hint: string }).hint).length > 0, 'a hint says what to do');
  assertSecurityHeaders(res.headers, `${status} ${code}`);
}

/** Every file and folder below RUNS_ROOT except the daemon's bookkeeping (job records, index, slot names). */
async function listRunTree(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true }).catch(() => [] as string[]);
  return entries.filter((e) => !/^(\.jobs|\.sim|\.slots\.json|_run_paths\.json)/.test(e)).sort();
}

async function listJobIds(daemon: DaemonHandle): Promise<string[]> {
  const res = await daemon.get<Array<{ run_id: string }>>('/jobs');
  assert.equal(res.status, 200, res.text);
  return res.json.map((j) => j.run_id).sort();
}

// ---- raw sockets -----------------------------------------------------------------------------

interface RawAnswer {
  /** Everything the server sent before closing. */
  text: string;
  /** Milliseconds from connect to the server closing the connection. */
  closedAfterMs: number;
}

/**
 * Connect, write `head`, then (when `trickle` is set) one more byte of `trickle` per second, and
 * collect everything until the server closes the connection (fails after `timeoutMs`).
 */
function sendRaw(port: number, head: string | Buffer, options: { trickle?: string; timeoutMs?: number } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const socket: Socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const guard = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open for ${options.timeoutMs ?? 15_000} ms`));
    }, options.timeoutMs ?? 15_000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined); // a reset after the answer is fine; the close below decides
    socket.on('close', () => {
      clearTimeout(guard);
      clearInterval(timer);
      resolve({ text: Buffer.concat(chunks).toString('utf8'), closedAfterMs: performance.now() - t0 });
    });
    socket.write(head);
    if (options.trickle !== undefined) {
      let i = 0;
      const trickle = options.trickle;
      timer = setInterval(() => {
        if (i < trickle.length && socket.writable) socket.write(trickle[i++]!);
      }, 1_000);
    }
  });
}

/** Parse a raw HTTP/1.1 answer (one response). */
function parseRawResponse(text: string): { status: number; headers: Record<string, string>; body: string } {
  const split = text.indexOf('\r\n\r\n');
  assert.ok(split > 0, `a complete HTTP response: ${JSON.stringify(text.slice(0, 200))}`);
  const [statusLine, ...lines] = text.slice(0, split).split('\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine!)?.[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status, headers, body: text.slice(split + 4) };
}

function assertRawEnvelope(answer: RawAnswer, status: number, code: string): void {
  const res = parseRawResponse(answer.text);
  assert.equal(res.status, status, answer.text);
  assert.match(res.headers['content-type'] ?? '', /^application\/json/);
  assert.equal(res.headers['connection'], 'close');
  assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.body));
  const body = JSON.parse(res.body) as { code: string };
  assert.equal(validateEnvelope(body), true, res.body);
  assert.equal(body.code, code);
  assertSecurityHeaders(res.headers, `raw ${status}`);
}

// ---- tests -----------------------------------------------------------------------------------

describe('cross-site requests (CSRF) are refused and change nothing', () => {
  test('text/plain POST /jobs from a foreign page: 403, no job, no run folder', async () => {
    const jobsBefore = await listJobIds(open);
    const treeBefore = await listRunTree(open.runsRoot);
    const attempts: Array<Record<string, string>> = [
      { Origin: 'http://evil.example', 'Content-Type': 'text/plain' },
      { Origin: 'https://evil.example:8443', 'Content-Type': 'text/plain;charset=UTF-8' },
      { Origin: 'null', 'Content-Type': 'text/plain' }, // sandboxed iframe, file: page
      { Origin: `http://localhost:${open.port + 1}`, 'Content-Type': 'text/plain' }, // another port on this machine
      { 'Sec-Fetch-Site': 'cross-site', 'Content-Type': 'text/plain' }, // no Origin, but the browser says cross-site
      { 'Sec-Fetch-Site': 'same-site', 'Content-Type': 'text/plain' },
    ];
    for (const headers of attempts) {
      const res = await open.post('/jobs', JSON.stringify(jobBody()), { headers });
      assertRefused(res, 403, 'http.forbidden_origin');
    }
    // Other state-changing routes, and methods the routes do not have: refused before routing.
    for (const [method, p] of [['POST', '/admin/rescan'], ['POST', '/jobs/20251103T091531_3fa9c2/cancel'], ['POST', '/modes/CV/validate'], ['PUT', '/jobs'], ['DELETE', '/jobs/x']]) {
      assertRefused(await open.request(method!, p!, { headers: { Origin: 'http://evil.example' } }), 403, 'http.forbidden_origin');
    }
    assert.deepEqual(await listJobIds(open), jobsBefore, 'no job was created');
    assert.deepEqual(await listRunTree(open.runsRoot), treeBefore, 'no run folder was created');
  });

  test('form-encoded POST /nas/setup from a foreign page: 403, NAS stays unconfigured', async () => {
    // What <form method=post enctype=text/plain> sends to smuggle a JSON object, and a plain form post.
    const smuggled = '{"host":"attacker.example","share":"loot","username":"u","password":"p","x":"=1"}';
    const form = 'host=attacker.example&share=loot&username=u&password=p&transport=smbclient';
    for (const [body, type] of [[smuggled, 'text/plain'], [form, 'application/x-www-form-urlencoded']] as const) {
      assertRefused(await open.post('/nas/setup', body, { headers: { Origin: 'http://evil.example', 'Content-Type': type } }), 403, 'http.forbidden_origin');
      assertRefused(await open.post('/nas/setup', body, { headers: { 'Sec-Fetch-Site': 'cross-site', 'Content-Type': type } }), 403, 'http.forbidden_origin');
    }
    const health = await open.get<{ ok: boolean; message: string }>('/nas/health');
    assert.equal(health.status, 200);
    assert.equal(health.json.ok, false);
    assert.match(health.json.message, /not configured/i);
    await assert.rejects(access(path.join(open.runsRoot, '..', 'nas', 'nas_smb.json')), 'no NAS config was written');
    await assert.rejects(access(path.join(open.runsRoot, '..', 'nas', '.smbcredentials_nas')), 'no credentials were written');
  });

  test('with an API key the cross-origin check still applies, before the key', async () => {
    assertRefused(await keyed.post('/jobs', jobBody(), { headers: { Origin: 'http://evil.example' } }), 403, 'http.forbidden_origin');
    assertRefused(await keyed.post('/jobs', jobBody(), { headers: { Origin: 'http://evil.example' }, key: null }), 403, 'http.forbidden_origin');
  });

  test('programs (no Origin) and the same origin are accepted; reads from other origins get no CORS grant', async () => {
    // curl / the GUI client: no Origin, no Sec-Fetch-*.
    const plain = await open.post<JobStatusLike>('/jobs', jobBody());
    assert.equal(plain.status, 200, plain.text);
    assertSecurityHeaders(plain.headers, 'POST /jobs 200');
    await waitForJob(open, plain.json.run_id);
    // A page served by the box itself (same origin), as browsers send it.
    for (const origin of [`http://127.0.0.1:${open.port}`, `http://localhost:${open.port}`]) {
      const host = new URL(origin).host;
      const same = await open.post<JobStatusLike>('/jobs', jobBody(), { headers: { Origin: origin, Host: host, 'Sec-Fetch-Site': 'same-origin' } });
      assert.equal(same.status, 200, same.text);
      await waitForJob(open, same.json.run_id);
    }
    const validate = await open.post('/modes/CV/validate', { start: 0, vertex1: 0.5, vertex2: -0.5, end: 0, scan_rate: 0.5, cycles: 1 }, { headers: { 'Sec-Fetch-Site': 'none' } });
    assert.equal(validate.status, 200, 'Sec-Fetch-Site: none (typed by the user) is not cross-site');
    const read = await open.get('/jobs', { headers: { Origin: 'http://evil.example', 'Sec-Fetch-Site': 'cross-site' } });
    assert.equal(read.status, 200, 'reads change nothing; the browser cannot read them without a CORS grant');
    assertSecurityHeaders(read.headers, 'GET /jobs cross-site');
  });
});

describe('Host header (DNS rebinding)', () => {
  test('foreign names and other ports: 421 on every route; the names the box answers to: accepted', async () => {
    for (const host of ['evil.example', `evil.example:${open.port}`, `127.0.0.1:${open.port + 1}`, `localhost.evil.example:${open.port}`, `${ALLOWED_NAME}:${open.port + 1}`]) {
      assertRefused(await open.get('/health', { headers: { Host: host } }), 421, 'http.forbidden_host');
      assertRefused(await open.get('/devices', { headers: { Host: host } }), 421, 'http.forbidden_host');
      assertRefused(await open.post('/jobs', jobBody(), { headers: { Host: host } }), 421, 'http.forbidden_host');
    }
    for (const host of [`127.0.0.1:${open.port}`, `localhost:${open.port}`, `LOCALHOST:${open.port}`, `[::1]:${open.port}`, `${ALLOWED_NAME}:${open.port}`]) {
      const res = await open.get('/health', { headers: { Host: host } });
      assert.equal(res.status, 200, `${host}: ${res.text}`);
    }
  });
});

describe('security headers on every response', () => {
  test('JSON, errors, HEAD, downloads, ZIP and /docs (which allows only its own files and calls)', async () => {
    const job = await open.post<JobStatusLike>('/jobs', jobBody());
    assert.equal(job.status, 200, job.text);
    const done = await waitForJob(open, job.json.run_id);
    assert.equal(done.status, 'done');
    const csv = done.slots[0]!.files.find((f) => f.endsWith('.csv'))!;
    const cases: Array<[string, string, number]> = [
      ['GET', '/health', 200],
      ['GET', '/version', 200],
      ['GET', '/devices', 200],
      ['GET', '/openapi.json', 200],
      ['GET', `/runs/${job.json.run_id}/file?path=${encodeURIComponent(csv)}`, 200],
      ['GET', `/runs/${job.json.run_id}/zip`, 200],
      ['GET', '/nope', 404],
      ['DELETE', '/health', 405],
      ['GET', '/jobs/not_a_job', 404],
      ['POST', '/jobs/status', 422],
      ['GET', '/runs/x/file', 422],
    ];
    for (const [method, p, status] of cases) {
      const res = await open.request(method, p);
      assert.equal(res.status, status, `${method} ${p}: ${res.text.slice(0, 300)}`);
      assertSecurityHeaders(res.headers, `${method} ${p}`);
    }
    const head = await new Promise<IncomingMessage>((resolve, reject) => {
      httpRequest({ host: '127.0.0.1', port: open.port, method: 'HEAD', path: '/health' }, resolve).on('error', reject).end();
    });
    head.resume();
    assert.equal(head.statusCode, 200);
    assertSecurityHeaders(head.headers, 'HEAD /health');
    const unauthorised = await keyed.get('/devices', { key: null });
    assertRefused(unauthorised, 401, 'auth.invalid_api_key');
    const docs = await open.get('/docs');
    assert.equal(docs.status, 200);
    assertSecurityHeaders(
      docs.headers,
      'GET /docs',
      /^default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'$/,
    );
    assert.ok(!/<script>|\sstyle=|\son[a-z]+=/i.test(docs.text), 'no inline script or style: the policy allows files of this origin only');
  });
});

describe('malformed HTTP gets the envelope, then the connection closes', () => {
  test('a bad header byte, Content-Length with Transfer-Encoding, bad request line, huge headers', async () => {
    const host = `Host: 127.0.0.1:${open.port}\r\n`;
    assertRawEnvelope(await sendRaw(open.port, `GET /health HTTP/1.1\r\n${host}X-Bad: a\x01b\r\n\r\n`), 400, 'http.bad_request');
    assertRawEnvelope(await sendRaw(open.port, `GET /health HTTP/1.1\r\n${host}Bad Header: x\r\n\r\n`), 400, 'http.bad_request');
    assertRawEnvelope(
      await sendRaw(open.port, `POST /jobs HTTP/1.1\r\n${host}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`),
      400,
      'http.bad_request',
    );
    assertRawEnvelope(await sendRaw(open.port, 'GARBAGE\r\n\r\n'), 400, 'http.bad_request');
    // HTTP/1.1 without Host (HTTP/1.0 may omit it): the envelope too, from the app.
    const noHost = parseRawResponse((await sendRaw(open.port, 'GET /health HTTP/1.1\r\nConnection: close\r\n\r\n')).text);
    assert.equal(noHost.status, 400);
    assert.equal((JSON.parse(noHost.body) as { code: string }).code, 'http.bad_request');
    assertSecurityHeaders(noHost.headers, 'no Host');
    const http10 = parseRawResponse((await sendRaw(open.port, 'GET /health HTTP/1.0\r\n\r\n')).text);
    assert.equal(http10.status, 200, 'HTTP/1.0 without Host is still served');
    assertRawEnvelope(await sendRaw(open.port, `GET /health HTTP/1.1\r\n${host}X-Big: ${'a'.repeat(20_000)}\r\n\r\n`), 431, 'http.headers_too_large');
    // A valid request first on the same connection: its answer, then the envelope for the bad one.
    const pipelined = await sendRaw(open.port, `GET /health HTTP/1.1\r\n${host}\r\nGET /health HTTP/1.1\r\n${host}X-Bad: \x7f\r\n\r\n`);
    assert.match(pipelined.text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(pipelined.text, /HTTP\/1\.1 400 Bad Request\r\n[\s\S]*"code":"http\.bad_request"/);
    // CONNECT (Node would close silently): 405 envelope; an unknown Expect (Node: bare 417) is ignored.
    assertRawEnvelope(await sendRaw(open.port, `CONNECT 127.0.0.1:22 HTTP/1.1\r\n${host}\r\n`), 405, 'http.method_not_allowed');
    const expect = parseRawResponse((await sendRaw(open.port, `GET /health HTTP/1.1\r\n${host}Expect: teapot\r\nConnection: close\r\n\r\n`)).text);
    assert.equal(expect.status, 200);
    // An absolute-form target names its host too (DNS rebinding through a proxy-style request line).
    const absolute = parseRawResponse((await sendRaw(open.port, `GET http://evil.example:${open.port}/health HTTP/1.1\r\n${host}Connection: close\r\n\r\n`)).text);
    assert.equal(absolute.status, 421);
    assert.equal((JSON.parse(absolute.body) as { code: string }).code, 'http.forbidden_host');
    const health = await open.get('/health');
    assert.equal(health.status, 200, 'the daemon is unharmed');
  });

  test('a 1 byte/s body is cut by the request timeout, 1 byte/s headers by the headers timeout', async () => {
    const slowBody = await sendRaw(open.port, `POST /jobs HTTP/1.1\r\nHost: 127.0.0.1:${open.port}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`, {
      trickle: '"'.repeat(1000),
    });
    assertRawEnvelope(slowBody, 408, 'http.request_timeout');
    assert.ok(slowBody.closedAfterMs >= REQUEST_TIMEOUT_MS - 100, `not before the limit: ${slowBody.closedAfterMs.toFixed(0)} ms`);
    assert.ok(slowBody.closedAfterMs < REQUEST_TIMEOUT_MS + 1_500, `cut within the limit (+ the 1 s check interval): ${slowBody.closedAfterMs.toFixed(0)} ms`);

    const slowHeaders = await sendRaw(open.port, 'GET /health HTTP/1.1\r\n', { trickle: 'X-Slow: ' + 'a'.repeat(100) });
    assertRawEnvelope(slowHeaders, 408, 'http.request_timeout');
    assert.ok(slowHeaders.closedAfterMs < HEADERS_TIMEOUT_MS + 1_500, `headers cut in time: ${slowHeaders.closedAfterMs.toFixed(0)} ms`);

    const line = open.logRecords().find((r) => r.msg === 'request' && r.path === '/jobs' && r.code === 'http.request_timeout');
    assert.ok(line, 'the request log names the cut request: ' + JSON.stringify(open.logRecords().filter((r) => r.path === '/jobs').slice(-3)));
    assert.equal(line.status, 408);
  });
});

describe('request bodies', () => {
  test('10 000-deep JSON: 422 json_too_deep on every body route, nothing created, daemon alive', async () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    const treeBefore = await listRunTree(open.runsRoot);
    const jobsBefore = await listJobIds(open);
    const bodies: Array<[string, string]> = [
      ['/jobs', JSON.stringify(jobBody()).replace('"potential":0.1', `"potential":0.1,"deep":${deep}`)],
      ['/jobs', deep],
      ['/modes/CV/validate', `{"start":0,"vertex1":${deep}}`],
      ['/modes/EIS/validate', '{"a":'.repeat(5_000) + '1' + '}'.repeat(5_000)],
      ['/nas/setup', `{"host":"127.0.0.1","share":"s","username":"u","password":"p","domain":${deep}}`],
      ['/jobs/status', `{"run_ids":${deep}}`],
    ];
    for (const [p, body] of bodies) {
      const res = await open.post(p, body);
      assertRefused(res, 422, 'request.validation_error');
      assert.deepEqual((res.json as { errors: unknown[] }).errors, [{ loc: ['body'], msg: 'JSON nested deeper than 64 levels', type: 'json_too_deep' }], p);
    }
    assert.deepEqual(await listRunTree(open.runsRoot), treeBefore, 'no run folder');
    assert.deepEqual(await listJobIds(open), jobsBefore, 'no job');
    const nested64 = '['.repeat(63) + ']'.repeat(63);
    const ok = await open.post('/modes/CV/validate', `{"start":0,"x":${nested64}}`);
    assert.equal(ok.status, 200, '64 levels are fine');
  });

  test('tia_gain and sampling_interval out of range: 422 at submit, nothing started; the bounds themselves run', async () => {
    const jobsBefore = await listJobIds(open);
    const bad: Array<[string, unknown]> = [
      ['tia_gain', -1],
      ['tia_gain', 4],
      ['tia_gain', 6],
      ['tia_gain', 99],
      ['tia_gain', 1.2e29],
      ['tia_gain', 1.5],
      ['tia_gain', '2'],
      ['sampling_interval', -1],
      ['sampling_interval', 0],
      ['sampling_interval', 3601],
      ['sampling_interval', 1e308],
      ['sampling_interval', '0.1'],
    ];
    for (const [field, value] of bad) {
      const res = await open.post('/jobs', jobBody({ [field]: value }));
      assertRefused(res, 422, 'request.validation_error');
      const errors = (res.json as { errors: Array<{ loc: unknown[] }> }).errors;
      assert.deepEqual(errors.map((e) => e.loc), [['body', field]], `${field}=${String(value)}`);
    }
    assert.deepEqual(await listJobIds(open), jobsBefore, 'nothing was started');
    // The edges of the ranges are accepted and run to the end on a virtual potentiostat.
    const edge = await open.post<JobStatusLike>('/jobs', jobBody({ devices: ['slot01', 'slot02'], tia_gain: 3, sampling_interval: 3600 }));
    assert.equal(edge.status, 200, edge.text);
    const finished = await waitForJob(open, edge.json.run_id);
    assert.deepEqual(finished.slots.map((s) => s.status), ['done', 'done'], JSON.stringify(finished.slots.map((s) => s.message)));
    const small = await open.post<JobStatusLike>('/jobs', jobBody({ tia_gain: 0, sampling_interval: 1e-6 }));
    assert.equal(small.status, 200, small.text);
    assert.equal((await waitForJob(open, small.json.run_id)).status, 'done');
  });
});

describe('start-up rules', () => {
  test('listens on 127.0.0.1 when HOST is unset', async () => {
    const local = await startDaemon(scope, { apiKey: '', env: { HOST: '' } });
    const listening = local.logRecords().find((r) => r.msg === 'beepbox listening') as { address: { address: string } };
    assert.equal(listening.address.address, '127.0.0.1');
    assert.equal((await local.get('/health')).status, 200);
    await local.stop();
  });

  test('started without the daemon\'s Node flags it still serves, and warns once naming the missing ones', async () => {
    const flagsWarning = (r: Record<string, unknown>) => 'missing_node_flags' in r;
    const bare = await startDaemon(scope, { apiKey: '', env: { HOST: '' }, nodeArgs: ['--expose-gc'] });
    assert.equal((await bare.get('/health')).status, 200);
    const warnings = bare.logRecords().filter(flagsWarning);
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    assert.deepEqual(warnings[0]!.missing_node_flags, ['--single-threaded-gc']);
    await bare.stop();
    const flagged = await startDaemon(scope, { apiKey: '', env: { HOST: '' } });
    assert.deepEqual(flagged.logRecords().filter(flagsWarning), []);
    await flagged.stop();
  });

  test('a non-loopback HOST without BOX_API_KEY refuses to start and says how to set a key', async () => {
    const dir = await makeTempDir(scope, 'beepbox-host-');
    const child = spawn(process.execPath, [CLI_PATH, 'serve'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: dir, HOST: '0.0.0.0', PORT: '0', RUNS_ROOT: path.join(dir, 'runs'), BOX_BUILD: 't' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    scope.defer(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 2, stderr);
    assert.match(stderr, /HOST=0\.0\.0\.0/);
    assert.match(stderr, /BOX_API_KEY=/);
    assert.match(stderr, /X-API-Key/);
    assert.deepEqual(await readdir(dir), [], 'nothing was created, nothing listened');
  });
});

describe('server limits (createApp with fake services)', () => {
  async function startFake(limits: Parameters<typeof createHttpServer>[1]['limits']): Promise<{ server: Server; port: number }> {
    const services = createFakeServices({ files: { '20251103T091531_3fa9c2': { 'a.csv': 'x' } }, zipStream: () => new FakeEndlessZipStream() });
    const logger = pino({ level: 'silent' });
    const server = createHttpServer(createApp({ services, logger }), { logger, limits });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    scope.defer(async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    });
    return { server, port: (server.address() as AddressInfo).port };
  }

  test('a download that lasts longer than the request timeout is not cut', async () => {
    const { port } = await startFake({ requestTimeoutMs: 300, headersTimeoutMs: 300 });
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      httpRequest({ host: '127.0.0.1', port, path: '/runs/20251103T091531_3fa9c2/zip' }, resolve).on('error', reject).end();
    });
    assert.equal(res.statusCode, 200);
    assertSecurityHeaders(res.headers, 'ZIP download');
    let bytes = 0;
    let ended = false;
    res.on('data', (c: Buffer) => (bytes += c.length));
    res.on('close', () => (ended = true));
    // A slow reader: 1.5 s, five times the request timeout, reading in bursts.
    const samples: number[] = [];
    for (let i = 0; i < 6; i++) {
      res.pause();
      await new Promise((r) => setTimeout(r, 200));
      res.resume();
      await new Promise((r) => setTimeout(r, 50));
      samples.push(bytes);
    }
    assert.equal(ended, false, 'the download is still going');
    assert.ok(samples.every((b, i) => i === 0 || b > samples[i - 1]!), `bytes keep arriving: ${samples.join(', ')}`);
    res.destroy();
  });

  test('connections beyond HTTP_MAX_CONNECTIONS are closed at once; the others keep working', async () => {
    const { port } = await startFake({ maxConnections: 3 });
    const sockets: Socket[] = [];
    for (let i = 0; i < 3; i++) {
      const s = connect(port, '127.0.0.1');
      await once(s, 'connect');
      sockets.push(s);
    }
    scope.defer(() => sockets.forEach((s) => s.destroy()));
    await new Promise((r) => setTimeout(r, 50)); // let the server accept them
    const extra = await sendRaw(port, `GET /health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`, { timeoutMs: 3_000 });
    assert.equal(extra.text, '', 'the fourth connection is closed without an answer');
    const first = sockets[0]!;
    const answer = new Promise<string>((resolve) => {
      let text = '';
      first.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.includes('\r\n\r\n')) resolve(text);
      });
    });
    first.write(`GET /version HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    assert.match(await answer, /^HTTP\/1\.1 200 OK/);
  });
});
