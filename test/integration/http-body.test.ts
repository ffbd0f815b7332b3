/**
 * Request bodies as koa-body reads them and body.ts parses them, over real HTTP with fake
 * services: what koa-body alone would get wrong for this API (no Content-Type, an unparseable one,
 * `__proto__` keys, non-object JSON, invalid UTF-8, compressed bodies) and the 413 that leaves
 * the connection usable. The depth limit and the size limits are in http-contract/http-security.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Agent, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { createApp } from '../../src/http/app.js';
import { createFakeServices, type FakeServices } from '../helpers/fake-http-services.js';

const API_KEY = 'body-k3y-0123456789';

async function startApp(t: TestContext): Promise<{ port: number; services: FakeServices }> {
  const services = createFakeServices({ apiKey: API_KEY });
  const app = createApp({ services, logger: pino({ level: 'silent' }) });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as AddressInfo).port, services };
}

interface Answer {
  status: number;
  body: { code?: string; errors?: { loc: unknown[]; type: string }[] };
  socketPort: number;
}

/** POST with exactly the headers given (no Content-Type unless named), optionally on a kept-alive agent. */
function post(port: number, path: string, body: Buffer, headers: Record<string, string>, agent?: Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'X-API-Key': API_KEY, 'Content-Length': String(body.length), ...headers } });
    req.on('response', (res) => {
      const socketPort = res.socket.localPort ?? 0;
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Answer['body'], socketPort }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const STATUS_QUERY = Buffer.from('{"run_ids":["a"]}');

describe('request bodies through koa-body', () => {
  test('JSON whatever the Content-Type: absent, unparseable, form, multipart', async (t) => {
    const { port } = await startApp(t);
    for (const type of [undefined, 'garbage', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1']) {
      const res = await post(port, '/jobs/status', STATUS_QUERY, type === undefined ? {} : { 'Content-Type': type });
      // The fake knows no run: 404 jobs.run_ids_unknown proves the body was read and validated.
      assert.equal(res.body.code, 'jobs.run_ids_unknown', `Content-Type ${type}`);
    }
  });

  test('__proto__ keys are plain data (koa-body would answer 400); invalid UTF-8 and gzip are json_invalid', async (t) => {
    const { port, services } = await startApp(t);
    const proto = await post(port, '/jobs/status', Buffer.from('{"__proto__":{"x":1},"run_ids":["a"]}'), { 'Content-Type': 'application/json' });
    assert.equal(proto.body.code, 'jobs.run_ids_unknown');
    assert.equal(({} as Record<string, unknown>)['x'], undefined, 'no prototype was polluted');
    const submitted = services.calls.length;
    const badUtf8 = await post(port, '/jobs', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), { 'Content-Type': 'application/json' });
    assert.equal(badUtf8.status, 422);
    assert.deepEqual(badUtf8.body.errors?.map((e) => e.type), ['json_invalid']);
    const gzip = await post(port, '/jobs/status', gzipSync(STATUS_QUERY), { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
    assert.equal(gzip.status, 422);
    assert.deepEqual(gzip.body.errors?.map((e) => e.type), ['json_invalid']);
    assert.equal(services.calls.length, submitted, 'no service was called');
  });

  test('413 on the declared length; the same kept-alive connection then answers the next request', async (t) => {
    const { port } = await startApp(t);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    t.after(() => agent.destroy());
    const big = Buffer.alloc(1024 * 1024 + 1, 0x20);
    const refused = await post(port, '/jobs/status', big, { 'Content-Type': 'application/json' }, agent);
    assert.equal(refused.status, 413);
    assert.equal(refused.body.code, 'request.too_large');
    const next = await post(port, '/jobs/status', STATUS_QUERY, { 'Content-Type': 'application/json' }, agent);
    assert.equal(next.body.code, 'jobs.run_ids_unknown');
    assert.equal(next.socketPort, refused.socketPort, 'same connection');
  });

  test('without the key the body is neither read nor judged: 401 even for a 2 MiB body', async (t) => {
    const { port } = await startApp(t);
    const res = await post(port, '/jobs', Buffer.alloc(2 * 1024 * 1024, 0x7b), { 'X-API-Key': 'wrong', 'Content-Type': 'application/json' });
    assert.equal(res.status, 401);
    assert.equal(res.body.code, 'auth.invalid_api_key');
  });
});
