/**
 * Request id, per-request child logger and the one log line per request (method, path,
 * status, duration, request id). Headers, query strings and bodies are never logged;
 * redaction of `x-api-key`/`password`/`apiKey` keys is configured as a second safety net for
 * anything that logs objects through these loggers.
 */
import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import type { Logger } from 'pino';
import { findClientErrorAnswer } from './server.js';

/** Pino redaction paths for the HTTP loggers; main.ts may reuse them for the root logger. */
export const HTTP_REDACT_PATHS: readonly string[] = [
  'password',
  '*.password',
  '*.*.password',
  'apiKey',
  '*.apiKey',
  'config.apiKey',
  'headers["x-api-key"]',
  '*.headers["x-api-key"]',
  'req.headers["x-api-key"]',
  '["x-api-key"]',
];

/** Per-request state shared by the middleware of app.ts. */
export interface RequestState {
  requestId: string;
  log: Logger;
  /** Contract code of a 4xx/5xx answered by the error mapper (logged as `code`). */
  errorCode?: string;
  /** Unexpected error behind a 5xx (logged under `err`, with stack: logs are not responses). */
  error?: unknown;
}

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** The client's `X-Request-Id` when it is short and harmless, else a new UUID. */
export function pickRequestId(header: string): string {
  return CLIENT_REQUEST_ID.test(header) ? header : randomUUID();
}

/** Outermost middleware: sets up `ctx.state` and logs when the response is closed. */
export function createRequestLogMiddleware(log: Logger): Koa.Middleware {
  return async (ctx, next) => {
    const startedNs = process.hrtime.bigint();
    const requestId = pickRequestId(ctx.get('x-request-id'));
    const state = ctx.state as RequestState;
    state.requestId = requestId;
    // Made on first use: a child logger per request costs more than most requests when nothing is logged.
    let child: Logger | null = null;
    Object.defineProperty(state, 'log', { get: () => (child ??= log.child({ reqId: requestId })), enumerable: true, configurable: true });
    ctx.set('X-Request-Id', requestId);
    const { method, path } = ctx;
    ctx.res.once('close', () => {
      const durationMs = Math.round(Number(process.hrtime.bigint() - startedNs) / 1e3) / 1e3;
      const line: Record<string, unknown> = { method, path, status: ctx.status, durationMs };
      if (state.errorCode !== undefined) line['code'] = state.errorCode;
      // Cut by the server while it was still being received (request timeout): what server.ts answered.
      const cut = ctx.res.writableFinished ? undefined : findClientErrorAnswer(ctx.req.socket);
      if (cut !== undefined) Object.assign(line, cut);
      if (!ctx.res.writableFinished) line['aborted'] = true;
      if (state.error !== undefined) {
        state.log.error({ ...line, err: state.error }, 'request');
      } else if (log.isLevelEnabled('info')) {
        state.log.info(line, 'request');
      }
    });
    await next();
    // Lets a client tell the daemon's handling time from network and scheduling delays.
    if (!ctx.headerSent) ctx.set('Server-Timing', `app;dur=${(Number(process.hrtime.bigint() - startedNs) / 1e6).toFixed(2)}`);
  };
}
