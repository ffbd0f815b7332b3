/**
 * `createApp({services, logger})`: the Koa application of the HTTP API. It does not listen
 * (src/main.ts serves it through createHttpServer, server.ts). Middleware order:
 *
 *   request id + child logger (one line per request)
 *   → request duration for GET /metrics (by route template: request-metrics.ts)
 *   → security headers (every response, errors included: security-headers.ts)
 *   → error mapper (every throw becomes the 1.4 envelope)
 *   → Host and Origin checks (421 http.forbidden_host, 403 http.forbidden_origin: request-guard.ts)
 *   → the dashboard's static files, GET / and /ui/* (no key: routes/dashboard.ts)
 *   → route table via @koa/router, each route running: auth → body (routes that take one:
 *     koa-body reads it within the size limit, body.ts checks the nesting and parses) → input
 *     (path params, schema validation) → handler
 *   → fallback: 404 http.not_found / 405 http.method_not_allowed
 *
 * The body parser sits inside the route, after authentication: rest-api 1.3 orders checks
 * route → key → validation, and a client without the key never gets its body read.
 */
import Koa from 'koa';
import { Router } from '@koa/router';
import type { Logger } from 'pino';
import { isRequestAuthorised } from './auth.js';
import { createJsonBodyMiddleware, takeParsedBody } from './body.js';
import { httpErrors, mapErrorToResponse } from './errors.js';
import { MAX_JSON_DEPTH } from './limits.js';
import { createRequestGuard, type RequestGuardOptions } from './request-guard.js';
import { createRequestMetricsMiddleware, markRoute } from './request-metrics.js';
import { createDashboardMiddleware, type DashboardOptions } from './routes/dashboard.js';
import { setSecurityHeaders } from './security-headers.js';
import { findClientErrorAnswer } from './server.js';
import { HTTP_REDACT_PATHS, createRequestLogMiddleware, type RequestState } from './request-log.js';
import { createRouteTable } from './route-table.js';
import { isReadableBody, type AnyRoute, type RouteResult } from './route-types.js';
import { isValidRunId } from '../services/api.js';
import type { AppServices } from '../services/api.js';
import {
  bodyMissingIssue,
  createRequestValidator,
  jsonInvalidIssue,
  jsonTooDeepIssue,
  limitIssues,
  type RequestValidator,
  type ValidationIssue,
} from './validation.js';

export interface CreateAppOptions {
  services: AppServices;
  /** Root (or component) logger; the app derives a child with secret redaction. */
  logger: Logger;
  /** Names the daemon answers to besides the built-in ones (Host check, request-guard.ts). */
  guard?: RequestGuardOptions;
  /** Where the dashboard's files are (default: the repository's web/, dist/web, node_modules). */
  dashboard?: DashboardOptions;
}

/** Validated input of the matched route, handed from the input middleware to the handler. */
interface RouteInput {
  params: Record<string, string>;
  body: unknown;
  query: unknown;
}

type AppState = RequestState & { input?: RouteInput };

/** `/jobs/{run_id}` → `/jobs/:run_id`. */
function toKoaPath(path: string): string {
  return path.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1');
}

/**
 * Remove every response header except the request id (before writing an error); the security
 * headers are set again with their API values (a route may have replaced one, e.g. /docs's CSP).
 */
function clearHeaders(ctx: Koa.Context): void {
  for (const name of ctx.res.getHeaderNames()) if (name !== 'x-request-id') ctx.res.removeHeader(name);
  setSecurityHeaders(ctx.res);
}

const CLIENT_GONE_CODES: ReadonlySet<unknown> = new Set(['ECONNRESET', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE']);

function respondWithError(ctx: Koa.Context, err: unknown): void {
  const state = ctx.state as AppState;
  if (!ctx.writable && CLIENT_GONE_CODES.has((err as { code?: unknown } | null)?.code)) {
    // The client went away, or the server cut the connection (request timeout, answered by
    // server.ts straight on the socket): nobody left to answer; the request log says which.
    if (findClientErrorAnswer(ctx.req.socket) === undefined) state.log.debug({ code: (err as { code: unknown }).code }, 'client went away during the request');
    return;
  }
  const mapped = mapErrorToResponse(err);
  state.errorCode = mapped.body.code;
  if (mapped.unexpected || mapped.status >= 500) state.error = err;
  if (ctx.headerSent || !ctx.writable) return;
  clearHeaders(ctx);
  for (const [name, value] of Object.entries(mapped.headers)) ctx.set(name, value);
  ctx.status = mapped.status;
  ctx.body = mapped.body;
}

function createErrorMiddleware(): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      respondWithError(ctx, err);
    }
  };
}

function createAuthMiddleware(route: AnyRoute, apiKey: string): Koa.Middleware {
  return async (ctx, next) => {
    const request = { apiKeyHeader: ctx.req.headers['x-api-key'], accessToken: ctx.query['access_token'] };
    if (!isRequestAuthorised(route, apiKey, request)) throw httpErrors.unauthorized();
    await next();
  };
}

/** Plain copy of Koa's query object (null prototype, string | string[] values). */
function copyQuery(query: Record<string, string | string[] | undefined>): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(query)) if (value !== undefined) copy[name] = value;
  return copy;
}

/** The body as the route's body middleware (koa-body, then the depth check and JSON.parse) left it. */
function readBody(ctx: Koa.Context): { value: unknown; issues: ValidationIssue[] } {
  const parsed = takeParsedBody(ctx);
  if (parsed.kind === 'invalid') return { value: undefined, issues: [jsonInvalidIssue()] };
  if (parsed.kind === 'too_deep') return { value: undefined, issues: [jsonTooDeepIssue(MAX_JSON_DEPTH)] };
  if (parsed.kind === 'absent') return { value: undefined, issues: [bodyMissingIssue()] };
  return { value: parsed.value, issues: [] };
}

/** `target.push(...items)` without spreading: a 1 MiB body can yield 10^5 issues, too many arguments for one call. */
function appendAll<T>(target: T[], items: readonly T[]): void {
  for (const item of items) target.push(item);
}

function createInputMiddleware(route: AnyRoute, services: AppServices, validator: RequestValidator): Koa.Middleware {
  return async (ctx, next) => {
    if (route.requiresNas === true && services.nas === null) throw httpErrors.nasUnavailable();
    const params: Record<string, string> = {};
    const routeParams = (ctx as unknown as { params?: Record<string, string> }).params ?? {};
    for (const spec of route.pathParams) {
      const value = routeParams[spec.name] ?? '';
      if (spec.runIdNotFound !== undefined && !isValidRunId(value)) {
        throw spec.runIdNotFound === 'jobs.not_found' ? httpErrors.jobNotFound() : httpErrors.runNotFound();
      }
      params[spec.name] = value;
    }
    const issues: ValidationIssue[] = [];
    let body: unknown;
    if (route.bodySchema !== null) {
      const read = readBody(ctx);
      appendAll(issues, read.issues);
      if (read.issues.length === 0) {
        body = read.value;
        appendAll(issues, validator.check(route.bodySchema, 'body', body));
      }
    }
    let query: unknown = {};
    if (route.querySchema !== null) {
      query = copyQuery(ctx.query);
      appendAll(issues, validator.check(route.querySchema, 'query', query));
    }
    if (issues.length > 0) throw httpErrors.validation(limitIssues(issues));
    (ctx.state as AppState).input = { params, body, query };
    await next();
  };
}

function applyResult(ctx: Koa.Context, route: AnyRoute, result: RouteResult): void {
  ctx.status = result.status ?? route.successStatus;
  for (const [name, value] of Object.entries(result.headers ?? {})) ctx.set(name, value);
  ctx.body = result.body;
  if (result.type !== undefined) ctx.type = result.type;
  if (result.length !== undefined) ctx.length = result.length;
  else if (isReadableBody(result.body)) ctx.remove('Content-Length');
}

function createHandlerMiddleware(route: AnyRoute, services: AppServices): Koa.Middleware {
  return async (ctx) => {
    const input = (ctx.state as AppState).input as RouteInput;
    const header = (name: string): string | undefined => {
      const value = ctx.req.headers[name.toLowerCase()];
      return typeof value === 'string' ? value : undefined;
    };
    const result = await route.handler({ services, params: input.params, body: input.body, query: input.query, header });
    applyResult(ctx, route, result);
  };
}

/** Reached only when no route matched: 405 if the path exists with other methods, else 404. */
function createFallbackMiddleware(router: Router): Koa.Middleware {
  return async (ctx) => {
    const matched = router.match(ctx.path, ctx.method);
    const allowed = [...new Set(matched.path.flatMap((layer) => layer.methods))];
    if (allowed.length > 0) throw httpErrors.methodNotAllowed(allowed);
    throw httpErrors.notFound();
  };
}

/**
 * Errors Koa sees after the middleware chain returned: a response stream failing or a client
 * going away mid-download. Before the first byte the envelope is still sent; afterwards Koa's
 * pipeline has already destroyed the response and there is nothing left to say.
 */
function installStreamErrorHandler(app: Koa, log: Logger): void {
  app.context.onerror = function onStreamError(this: Koa.Context, err: unknown): void {
    if (err === null || err === undefined) return;
    const state = this.state as Partial<AppState>;
    const code = (err as { code?: unknown }).code;
    if (code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || code === 'EPIPE') {
      state.log?.debug({ code }, 'client went away during the response');
      return;
    }
    const mapped = mapErrorToResponse(err);
    state.errorCode = mapped.body.code;
    state.error = err;
    if (this.headerSent || !this.writable || this.res.writableEnded) return;
    clearHeaders(this);
    const payload = JSON.stringify(mapped.body);
    this.res.statusCode = mapped.status;
    this.res.setHeader('Content-Type', 'application/json; charset=utf-8');
    this.res.setHeader('Content-Length', Buffer.byteLength(payload));
    this.res.end(payload);
  };
  // Koa only forwards response-stream errors to ctx.onerror when the app has a listener.
  app.on('error', (err: unknown) => log.warn({ err }, 'koa error'));
}

/** Outermost but one: the security headers, set before anything can answer. */
function createSecurityHeadersMiddleware(): Koa.Middleware {
  return async (ctx, next) => {
    setSecurityHeaders(ctx.res);
    await next();
  };
}

/** Build the Koa application (not listening). Schemas are compiled here, once. */
export function createApp({ services, logger, guard, dashboard }: CreateAppOptions): Koa {
  const log = logger.child({ component: 'http' }, { redact: { paths: [...HTTP_REDACT_PATHS], censor: '[redacted]' } });
  const apiKey = services.config.apiKey;
  const validator = createRequestValidator();
  const table = createRouteTable();

  const router = new Router({ strict: true, sensitive: true });
  for (const route of table) {
    router.register(toKoaPath(route.path), [route.method], [
      markRoute(route.path),
      createAuthMiddleware(route, apiKey),
      // After the key check: a client without the key never gets its body read.
      ...(route.bodySchema !== null ? [createJsonBodyMiddleware()] : []),
      createInputMiddleware(route, services, validator),
      createHandlerMiddleware(route, services),
    ]);
  }

  const app = new Koa();
  installStreamErrorHandler(app, log);
  app.use(createRequestLogMiddleware(log));
  if (services.metrics) app.use(createRequestMetricsMiddleware(services.metrics));
  app.use(createSecurityHeadersMiddleware());
  app.use(createErrorMiddleware());
  app.use(createRequestGuard(guard));
  // The dashboard's static files (GET / and /ui/*): no key needed, they hold no data.
  app.use(createDashboardMiddleware({ ...dashboard, keyRequired: apiKey !== '' }));
  app.use(router.routes());
  app.use(createFallbackMiddleware(router));
  return app;
}
