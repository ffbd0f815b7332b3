/**
 * The Node HTTP server around the Koa app, with the limits of {@link HttpServerLimits}
 * (issue #10): headers and whole-request timeouts (a slow-loris request is cut with 408; they
 * cover receiving the request only, so a download may take as long as it needs), keep-alive and
 * idle timeouts, a connection cap and a header size limit. Malformed HTTP, a timed-out request
 * and oversized headers are answered with the JSON error envelope (`clientError`), then the
 * connection is closed; nothing a client sends can crash the process.
 */
import { STATUS_CODES, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type Koa from 'koa';
import type { Logger } from 'pino';
import type { ContractErrorCode } from '../errors.js';
import { buildErrorEnvelope, hintOfCode, statusOfCode } from './errors.js';
import { DEFAULT_HTTP_LIMITS, MAX_HEADER_BYTES, type HttpServerLimits } from './limits.js';
import { formatSecurityHeaderLines } from './security-headers.js';

/** How long a connection that was answered by the clientError handler may linger (the peer still sending). */
const LINGER_MS = 2_000;

/** Shortest time between two "connections refused" log lines. */
const DROP_LOG_INTERVAL_MS = 10_000;

/** Node error codes of the HTTP parser and server that mean "the request could not be read". */
function classifyClientError(code: string | undefined): { code: ContractErrorCode; message: string } {
  if (code === 'HPE_HEADER_OVERFLOW') return { code: 'http.headers_too_large', message: 'Request headers too large' };
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return { code: 'http.request_timeout', message: 'Request timeout' };
  return { code: 'http.bad_request', message: 'Malformed HTTP request' };
}

/** The whole raw HTTP/1.1 answer for a Node error code (envelope body, security headers, `Connection: close`). */
export function formatClientErrorResponse(nodeErrorCode: string | undefined, options: { head?: boolean } = {}): { status: number; code: ContractErrorCode; raw: string } {
  const { code, message } = classifyClientError(nodeErrorCode);
  return formatRawErrorResponse(code, message, options);
}

/** A raw HTTP/1.1 answer carrying the envelope of `code`, for answers written straight to a socket. */
export function formatRawErrorResponse(code: ContractErrorCode, message: string, options: { head?: boolean } = {}): { status: number; code: ContractErrorCode; raw: string } {
  const status = statusOfCode(code);
  const body = JSON.stringify(buildErrorEnvelope(code, message, hintOfCode(code)));
  const raw =
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    formatSecurityHeaderLines() +
    'Connection: close\r\n\r\n' +
    (options.head === true ? '' : body);
  return { status, code, raw };
}

/** Sockets answered by {@link handleClientError} (the parser may report more errors), and the answer. */
const answered = new WeakMap<Socket, { status: number; code: ContractErrorCode } | null>();

/** The answer the clientError handler wrote on this connection, if any (for the request log). */
export function findClientErrorAnswer(socket: Socket | null | undefined): { status: number; code: ContractErrorCode } | undefined {
  return socket ? (answered.get(socket) ?? undefined) : undefined;
}

/**
 * `clientError`: answer with the envelope, then close the connection (once the answer is flushed
 * and the peer closed its side, at most {@link LINGER_MS} later). When an earlier request of the
 * same connection (pipelining) is still being answered, that answer goes out first; when the
 * broken request is the one in flight and part of its answer is already out, the connection is
 * just closed (nothing valid can follow).
 */
export function handleClientError(err: Error & { code?: string }, socket: Socket, log: Logger): void {
  if (answered.has(socket)) return;
  answered.set(socket, null);
  if (err.code === 'ECONNRESET' || !socket.writable) {
    log.debug({ code: err.code }, 'connection error');
    socket.destroy();
    return;
  }
  // The answer to a HEAD request has no body (best effort: the method is read off the packet that failed).
  const rawPacket = (err as { rawPacket?: unknown }).rawPacket;
  const head = Buffer.isBuffer(rawPacket) && rawPacket.subarray(0, 5).toString('latin1') === 'HEAD ';
  const response = formatClientErrorResponse(err.code, { head });
  answered.set(socket, { status: response.status, code: response.code });
  log.info({ status: response.status, code: response.code, nodeCode: err.code, remoteAddress: socket.remoteAddress }, 'request could not be read');
  // Whatever else the peer sends is discarded.
  socket.on('data', () => undefined);
  socket.resume();
  const answer = (): void => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    socket.end(response.raw);
  };
  const inFlight = (socket as Socket & { _httpMessage?: (ServerResponse & { req?: IncomingMessage }) | null })._httpMessage;
  if (inFlight === null || inFlight === undefined || inFlight.writableFinished) {
    answer();
  } else if (inFlight.req?.complete === true && err.code !== 'ERR_HTTP_REQUEST_TIMEOUT') {
    // A complete earlier request is still being answered: its answer first, then ours.
    inFlight.once('finish', () => setImmediate(answer));
    inFlight.once('close', () => {
      if (!inFlight.writableFinished) socket.destroy();
    });
  } else if (!inFlight.headersSent) {
    answer(); // the in-flight request is the broken one (or timed out) and nothing of its answer is out
  } else {
    socket.destroy();
  }
}

/** `connectionsCheckingInterval`: often enough that a timeout fires within ~1 s of its limit. */
function checkingIntervalMs(limits: HttpServerLimits): number {
  const shortest = Math.min(limits.headersTimeoutMs || Infinity, limits.requestTimeoutMs || Infinity);
  return Math.max(50, Math.min(1_000, Math.floor(shortest / 4)));
}

/** Create the HTTP server for a Koa app (not listening yet). */
export function createHttpServer(app: Koa, options: { logger: Logger; limits?: Partial<HttpServerLimits> }): Server {
  const limits: HttpServerLimits = { ...DEFAULT_HTTP_LIMITS, ...options.limits };
  const log = options.logger.child({ component: 'http' });
  // Koa's handler never rejects: every error is answered or logged inside it.
  const handle = app.callback();
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: checkingIntervalMs(limits),
      maxHeaderSize: MAX_HEADER_BYTES,
      // Node would answer a missing Host with a bare 400; the app's request guard answers it with the envelope.
      requireHostHeader: false,
    },
    (req, res) => void handle(req, res),
  );
  server.timeout = limits.idleTimeoutMs;
  server.maxConnections = limits.maxConnections;
  server.on('clientError', (err: Error & { code?: string }, socket: Socket) => handleClientError(err, socket, log));
  // Without these listeners Node closes a CONNECT connection without a word and answers an unknown
  // Expect header with a bare 417: the API has no tunnels (405 envelope) and ignores expectations.
  server.on('connect', (req: IncomingMessage, socket: Socket) => {
    const answer = formatRawErrorResponse('http.method_not_allowed', 'Method not allowed');
    log.info({ method: req.method, status: answer.status, code: answer.code, remoteAddress: socket.remoteAddress }, 'request could not be read');
    socket.on('error', () => socket.destroy());
    socket.resume();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    socket.end(answer.raw);
  });
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => void handle(req, res));
  // At most one line per DROP_LOG_INTERVAL_MS: a flood of connections must not become a flood of logs.
  let dropped = 0;
  let lastDropLogMs = -Infinity;
  server.on('drop', (data?: { remoteAddress?: string }) => {
    dropped += 1;
    const now = Date.now();
    if (now - lastDropLogMs < DROP_LOG_INTERVAL_MS) return;
    lastDropLogMs = now;
    log.warn({ maxConnections: limits.maxConnections, dropped, remoteAddress: data?.remoteAddress }, 'connections refused: too many open');
    dropped = 0;
  });
  return server;
}
