/**
 * Host and Origin checks (issue #10), applied to every request before routing, whether or not an
 * API key is set:
 *
 * - **Host** (DNS rebinding): a web page on `http://evil.example:8000` whose name the attacker
 *   re-points at the box reaches the daemon with `Host: evil.example:8000`. Only the names the
 *   daemon answers to are accepted: `localhost`, `127.0.0.1`, `[::1]`, the machine's host name
 *   (and `<name>.local`), the address the connection arrived on, the configured listen address,
 *   and `BOX_ALLOWED_HOSTS`; each with the daemon's port (a `name:port` entry allows that port
 *   instead, for tunnels and proxies). A Host without a port counts as port 80 or 443. An HTTP/1.0
 *   request without any Host (browsers always send one) is let through; HTTP/1.1 requires it
 *   (400 `http.bad_request`). → 421 `http.forbidden_host`.
 * - **Origin** (CSRF): a request that can change something (any method but GET, HEAD, OPTIONS)
 *   is refused when a browser says it comes from another site (`Sec-Fetch-Site: cross-site` or
 *   `same-site`) or when it carries an `Origin` other than the daemon's own (`http(s)://` + its
 *   Host). Programs (the GUI client, curl, scripts) send no Origin and are not affected.
 *   → 403 `http.forbidden_origin`.
 */
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import type Koa from 'koa';
import { httpErrors } from './errors.js';

/** Methods that change nothing; every other method is checked for its origin. */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Loopback names every daemon answers to. */
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'] as const;

/** Ports a Host header without a port may mean (http and, behind a TLS proxy, https). */
const DEFAULT_PORTS: readonly number[] = [80, 443];

export interface RequestGuardOptions {
  /**
   * Further names (`BOX_ALLOWED_HOSTS`): `name` (with the daemon's port) or `name:port`
   * (`[v6]:port` for IPv6). Case-insensitive.
   */
  allowedHosts?: readonly string[];
  /** The configured listen address (`HOST`); a specific one is answered to like the others. */
  listenHost?: string;
}

/** A host name (lower case, IPv6 without brackets) and an optional port. */
export interface HostAndPort {
  name: string;
  port: number | null;
}

const HOST_NAME = /^[a-z0-9](?:[a-z0-9._-]{0,252})$/;

/** Lower-case a name; strip IPv6 brackets and an IPv4-mapped prefix; null when it is no host name. */
function normaliseName(raw: string): string | null {
  let name = raw.trim().toLowerCase();
  if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1);
  if (name.startsWith('::ffff:') && isIP(name.slice(7)) === 4) name = name.slice(7);
  if (name.endsWith('.') && isIP(name) === 0) name = name.slice(0, -1);
  if (isIP(name) !== 0) return name;
  return HOST_NAME.test(name) ? name : null;
}

/**
 * Parse a Host header value (or an allow-list entry): `name`, `name:port`, `[v6]`, `[v6]:port`,
 * or a bare IPv6 address (allow-list entries only: a Host header always brackets it).
 * Null for anything else (user info, paths, spaces, a port outside 1-65535).
 */
export function parseHostAndPort(value: string): HostAndPort | null {
  const text = value.trim();
  let namePart = text;
  let portPart: string | null = null;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return null;
    namePart = text.slice(0, close + 1);
    const rest = text.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return null;
      portPart = rest.slice(1);
    }
  } else if (isIP(text) === 6) {
    namePart = text;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon >= 0) {
      namePart = text.slice(0, colon);
      portPart = text.slice(colon + 1);
    }
  }
  const name = normaliseName(namePart);
  if (name === null) return null;
  if (portPart === null) return { name, port: null };
  if (!/^\d{1,5}$/.test(portPart)) return null;
  const port = Number(portPart);
  return port >= 1 && port <= 65535 ? { name, port } : null;
}

/** A name the daemon answers to; `port` null = the port the connection arrived on. */
interface AllowedHost {
  name: string;
  port: number | null;
}

/** The fixed part of the allow-list: loopback names, the machine's names, HOST, BOX_ALLOWED_HOSTS. */
export function buildAllowedHosts(options: RequestGuardOptions = {}): AllowedHost[] {
  const entries: AllowedHost[] = LOOPBACK_NAMES.map((name) => ({ name, port: null }));
  const machine = normaliseName(hostname());
  if (machine !== null) entries.push({ name: machine, port: null }, { name: `${machine}.local`, port: null });
  if (options.listenHost !== undefined) {
    const listen = normaliseName(options.listenHost);
    if (listen !== null && listen !== '0.0.0.0' && listen !== '::') entries.push({ name: listen, port: null });
  }
  for (const raw of options.allowedHosts ?? []) {
    const parsed = parseHostAndPort(raw);
    if (parsed === null) throw new RangeError(`not a host name or host:port: '${raw}'`);
    entries.push({ name: parsed.name, port: parsed.port });
  }
  return entries;
}

function portMatches(requested: number | null, allowed: number | undefined): boolean {
  if (allowed === undefined) return false;
  return requested === null ? DEFAULT_PORTS.includes(allowed) : requested === allowed;
}

/**
 * Whether a Host header names this daemon. `localAddress`/`localPort` are those of the
 * connection (the address it arrived on is always a valid name, with that port).
 */
export function isAllowedHost(
  header: string,
  allowed: readonly AllowedHost[],
  local: { address: string | undefined; port: number | undefined },
): boolean {
  const requested = parseHostAndPort(header);
  if (requested === null) return false;
  const localName = local.address === undefined ? null : normaliseName(local.address.replace(/%.*$/, ''));
  if (localName !== null && requested.name === localName && portMatches(requested.port, local.port)) return true;
  return allowed.some((entry) => entry.name === requested.name && portMatches(requested.port, entry.port ?? local.port));
}

/** Whether an `Origin` header is the daemon's own origin, i.e. `http(s)://` + the request's Host. */
export function isSameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  const target = parseHostAndPort(host);
  if (target === null) return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // "null" (sandboxed frames, file: pages) and anything unparsable
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (url.username !== '' || url.password !== '' || (url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') return false;
  const originName = normaliseName(url.hostname);
  const defaultPort = url.protocol === 'https:' ? 443 : 80;
  const originPort = url.port === '' ? defaultPort : Number(url.port);
  return originName === target.name && originPort === (target.port ?? defaultPort);
}

/** The authority of an absolute-form request target (`http://host:port/path`), else null. */
function absoluteFormAuthority(url: string | undefined): string | null {
  if (url === undefined || url.startsWith('/')) return null;
  const m = /^https?:\/\/([^/?#]*)/i.exec(url);
  return m === null ? null : m[1]!;
}

/** Koa middleware: 421 for a foreign Host, then 403 for a cross-origin state-changing request. */
export function createRequestGuard(options: RequestGuardOptions = {}): Koa.Middleware {
  const allowed = buildAllowedHosts(options);
  return async (ctx, next) => {
    const req = ctx.req;
    const host = req.headers.host;
    if (host === undefined && req.httpVersion !== '1.0') throw httpErrors.hostRequired();
    // An absolute-form target (`GET http://name/path`, proxy style) names the host itself.
    const target = absoluteFormAuthority(req.url);
    if (target !== null && !isAllowedHost(target, allowed, { address: req.socket.localAddress, port: req.socket.localPort })) {
      throw httpErrors.forbiddenHost();
    }
    if (host !== undefined && !isAllowedHost(host, allowed, { address: req.socket.localAddress, port: req.socket.localPort })) {
      throw httpErrors.forbiddenHost();
    }
    if (!SAFE_METHODS.has(req.method ?? 'GET')) {
      const site = req.headers['sec-fetch-site'];
      if (site === 'cross-site' || site === 'same-site') throw httpErrors.forbiddenOrigin();
      const origin = req.headers.origin;
      if (origin !== undefined && !isSameOrigin(origin, host)) throw httpErrors.forbiddenOrigin();
    }
    await next();
  };
}
