import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { describe, test } from 'node:test';
import { buildAllowedHosts, isAllowedHost, isSameOrigin, parseHostAndPort } from '../../../src/http/request-guard.js';

describe('parseHostAndPort', () => {
  test('names, IPv4, bracketed IPv6, ports; lower-cased', () => {
    assert.deepEqual(parseHostAndPort('LocalHost:8000'), { name: 'localhost', port: 8000 });
    assert.deepEqual(parseHostAndPort('127.0.0.1'), { name: '127.0.0.1', port: null });
    assert.deepEqual(parseHostAndPort('[::1]:8000'), { name: '::1', port: 8000 });
    assert.deepEqual(parseHostAndPort('[::1]'), { name: '::1', port: null });
    assert.deepEqual(parseHostAndPort('fe80::1'), { name: 'fe80::1', port: null }, 'bare IPv6 (allow-list entries)');
    assert.deepEqual(parseHostAndPort('box.lab.example.:443'), { name: 'box.lab.example', port: 443 }, 'trailing dot');
    assert.deepEqual(parseHostAndPort('[::ffff:127.0.0.1]:80'), { name: '127.0.0.1', port: 80 });
  });

  test('anything else is null', () => {
    for (const bad of ['', ':8000', 'a b', 'user@host', 'host/path', 'host:0', 'host:65536', 'host:80x', 'host:', '[::1', '[::1]x', '[::1]:', 'évil.example', '-x', 'a'.repeat(300)]) {
      assert.equal(parseHostAndPort(bad), null, JSON.stringify(bad));
    }
  });
});

describe('isAllowedHost', () => {
  const local = { address: '127.0.0.1', port: 8000 };
  const allowed = buildAllowedHosts({ allowedHosts: ['box.lab.example', 'proxy.lab.example:443', 'tunnel:9000'], listenHost: '0.0.0.0' });

  test('loopback names and the machine name with the daemon port', () => {
    for (const host of ['localhost:8000', '127.0.0.1:8000', '[::1]:8000', `${hostname().toLowerCase()}:8000`, `${hostname().toLowerCase()}.local:8000`]) {
      assert.equal(isAllowedHost(host, allowed, local), true, host);
    }
  });

  test('the address the connection arrived on, IPv4-mapped or not', () => {
    assert.equal(isAllowedHost('192.168.1.5:8000', allowed, { address: '::ffff:192.168.1.5', port: 8000 }), true);
    assert.equal(isAllowedHost('[fe80::1]:8000', allowed, { address: 'fe80::1%eth0', port: 8000 }), true);
    assert.equal(isAllowedHost('192.168.1.6:8000', allowed, { address: '192.168.1.5', port: 8000 }), false);
  });

  test('BOX_ALLOWED_HOSTS: a name means the daemon port, name:port that port; no port = 80 or 443', () => {
    assert.equal(isAllowedHost('BOX.lab.example:8000', allowed, local), true);
    assert.equal(isAllowedHost('box.lab.example:9000', allowed, local), false);
    assert.equal(isAllowedHost('proxy.lab.example', allowed, local), true);
    assert.equal(isAllowedHost('proxy.lab.example:443', allowed, local), true);
    assert.equal(isAllowedHost('proxy.lab.example:8000', allowed, local), false);
    assert.equal(isAllowedHost('tunnel:9000', allowed, local), true);
    assert.equal(isAllowedHost('localhost', allowed, local), false, 'no port = 80/443, not 8000');
    assert.equal(isAllowedHost('localhost', allowed, { address: '127.0.0.1', port: 80 }), true);
  });

  test('foreign names (DNS rebinding), other ports and garbage are refused', () => {
    for (const host of ['evil.example:8000', 'localhost:8001', 'localhost.evil.example:8000', '127.0.0.2:8000', 'localhost:8000 x', '', '0.0.0.0:8000']) {
      assert.equal(isAllowedHost(host, allowed, local), false, host);
    }
  });

  test('a specific listen address is a name the daemon answers to; a bad allow-list entry throws', () => {
    const viaHost = buildAllowedHosts({ listenHost: 'box.lan' });
    assert.equal(isAllowedHost('box.lan:8000', viaHost, local), true);
    assert.throws(() => buildAllowedHosts({ allowedHosts: ['not a host'] }), RangeError);
  });
});

describe('isSameOrigin', () => {
  test('http(s):// + the Host, default ports understood', () => {
    assert.equal(isSameOrigin('http://localhost:8000', 'localhost:8000'), true);
    assert.equal(isSameOrigin('HTTP://LOCALHOST:8000', 'localhost:8000'), true);
    assert.equal(isSameOrigin('https://proxy.lab.example', 'proxy.lab.example'), true);
    assert.equal(isSameOrigin('http://box', 'box:80'), true);
    assert.equal(isSameOrigin('http://[::1]:8000', '[::1]:8000'), true);
  });

  test('another site, port or scheme, "null", garbage or no Host', () => {
    assert.equal(isSameOrigin('http://evil.example', 'localhost:8000'), false);
    assert.equal(isSameOrigin('http://localhost:3000', 'localhost:8000'), false);
    assert.equal(isSameOrigin('https://localhost:8000', 'localhost:8000'), true, 'https behind a proxy keeps the Host');
    assert.equal(isSameOrigin('ftp://localhost:8000', 'localhost:8000'), false);
    assert.equal(isSameOrigin('null', 'localhost:8000'), false);
    assert.equal(isSameOrigin('http://localhost:8000/path', 'localhost:8000'), false);
    assert.equal(isSameOrigin('http://user@localhost:8000', 'localhost:8000'), false);
    assert.equal(isSameOrigin('', 'localhost:8000'), false);
    assert.equal(isSameOrigin('http://localhost:8000', undefined), false);
  });
});
