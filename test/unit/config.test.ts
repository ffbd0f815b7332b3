import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertSafeListen, isLoopbackHost, readConfig } from '../../src/config.js';
import { ValidationError } from '../../src/errors.js';
import { DEFAULT_HTTP_LIMITS } from '../../src/http/limits.js';

const BASE = { BOX_BUILD: 'test' };

describe('listen address', () => {
  test('defaults to loopback, so an open API is reachable only from this machine', () => {
    const config = readConfig(BASE);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.apiKey, '');
    assert.equal(config.port, 8000);
  });

  test('a non-loopback HOST without BOX_API_KEY refuses to start, saying how to set a key', () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.5', 'box.lab.example']) {
      assert.throws(
        () => readConfig({ ...BASE, HOST: host }),
        (err: unknown) => err instanceof ValidationError && err.field === 'HOST' && /BOX_API_KEY=/.test(err.message) && /X-API-Key/.test(err.message),
        host,
      );
    }
    assert.equal(readConfig({ ...BASE, HOST: '0.0.0.0', BOX_API_KEY: 'k' }).host, '0.0.0.0');
  });

  test('loopback addresses stay allowed without a key', () => {
    for (const host of ['localhost', '127.0.0.1', '127.1.2.3', '::1', '[::1]', '::ffff:127.0.0.1']) {
      assert.equal(isLoopbackHost(host), true, host);
      assert.doesNotThrow(() => assertSafeListen(host, ''));
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'localhost.example', '::ffff:10.0.0.1']) assert.equal(isLoopbackHost(host), false, host);
  });
});

describe('BOX_ALLOWED_HOSTS and HTTP limits', () => {
  test('allowed hosts: comma-separated, blanks dropped, bad entries refused', () => {
    assert.deepEqual(readConfig({ ...BASE, BOX_ALLOWED_HOSTS: ' box.lab , ,proxy:443' }).allowedHosts, ['box.lab', 'proxy:443']);
    assert.throws(() => readConfig({ ...BASE, BOX_ALLOWED_HOSTS: 'http://box.lab' }), (err: unknown) => err instanceof ValidationError && err.field === 'BOX_ALLOWED_HOSTS');
  });

  test('limits: defaults, overrides, ranges, headers timeout not above request timeout', () => {
    assert.deepEqual(readConfig(BASE).httpLimits, DEFAULT_HTTP_LIMITS);
    const limits = readConfig({ ...BASE, HTTP_REQUEST_TIMEOUT_MS: '2000', HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_MAX_CONNECTIONS: '8' }).httpLimits;
    assert.equal(limits.requestTimeoutMs, 2000);
    assert.equal(limits.headersTimeoutMs, 1000);
    assert.equal(limits.maxConnections, 8);
    assert.throws(() => readConfig({ ...BASE, HTTP_MAX_CONNECTIONS: '0' }), ValidationError);
    assert.throws(() => readConfig({ ...BASE, HTTP_REQUEST_TIMEOUT_MS: 'soon' }), ValidationError);
    assert.throws(() => readConfig({ ...BASE, HTTP_REQUEST_TIMEOUT_MS: '1000' }), (err: unknown) => err instanceof ValidationError && err.field === 'HTTP_HEADERS_TIMEOUT_MS');
  });
});
