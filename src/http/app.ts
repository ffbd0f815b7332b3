/**
 * `createApp({services, logger})`: the Koa application of the HTTP API. It does not listen
 * (src/cli/serve.ts does). Middleware order:
 *
 *   request id + child logger (one line per request)
 *   → error mapper (every throw becomes the 1.4 envelope)
 *   → route table via @koa/router, each route running: auth → input (path params, body
 *     reading/parsing, schema validation) → handler
 *   → fallback: 404 http.not_found / 405 http.method_not_allowed
 *
 * The body parser sits inside the route, after authentication: rest-api 1.3 orders checks
 * route → key → validation, and a client without the key never gets its body read.
 */
import Koa from 'koa';
import { Router } from '@koa/router';
import type { Logger } from 'pino';
import { isAuthorised } from './auth.js';
import { MAX_JSON_BODY_BYTES, parseJsonBody, readRawBody } from './body.js';
import { httpErrors, mapErrorToResponse } from './errors.js';
import { HTTP_REDACT_PATHS, createRequestLogMiddleware, type RequestState } from './request-log.js';
import { createRouteTable } from './route-table.js';
import { isReadableBody, type AnyRoute, type RouteResult } from './route-types.js';
import { isValidRunId } from '../services/api.js';
import type { AppServices } from '../services/api.js';
import { bodyMissingIssue, createRequestValidator, jsonInvalidIssue, type RequestValidator, type ValidationIssue } from './validation.js';

export interface CreateAppOptions {
  services: AppServices;
  /** Root (or component) logger; the app derives a child with secret redaction. */
  logger: Logger;
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

/** Remove every response header except the request id (before writing an error). */
function clearHeaders(ctx: Koa.Context): void {
  for (const name of ctx.res.getHeaderNames()) if (name !== 'x-request-id') ctx.res.removeHeader(name);
}

function respondWithError(ctx: Koa.Context, err: unknown): void {
  const mapped = mapErrorToResponse(err);
  const state = ctx.state as AppState;
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
    if (route.auth === 'key' && !isAuthorised(apiKey, ctx.req.headers['x-api-key'])) throw httpErrors.unauthorized();
    await next();
  };
}

/** Plain copy of Koa's query object (null prototype, string | string[] values). */
function copyQuery(query: Record<string, string | string[] | undefined>): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(query)) if (value !== undefined) copy[name] = value;
  return copy;
}

async function readBody(ctx: Koa.Context): Promise<{ value: unknown; issues: ValidationIssue[] }> {
  const parsed = parseJsonBody(await readRawBody(ctx.req, MAX_JSON_BODY_BYTES));
  if (parsed.kind === 'invalid') return { value: undefined, issues: [jsonInvalidIssue()] };
  if (parsed.kind === 'absent') return { value: undefined, issues: [bodyMissingIssue()] };
  return { value: parsed.value, issues: [] };
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
      const read = await readBody(ctx);
      issues.push(...read.issues);
      if (read.issues.length === 0) {
        body = read.value;
        issues.push(...validator.check(route.bodySchema, 'body', body));
      }
    }
    let query: unknown = {};
    if (route.querySchema !== null) {
      query = copyQuery(ctx.query);
      issues.push(...validator.check(route.querySchema, 'query', query));
    }
    if (issues.length > 0) throw httpErrors.validation(issues);
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
    const result = await route.handler({ services, params: input.params, body: input.body, query: input.query });
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

/** Build the Koa application (not listening). Schemas are compiled here, once. */
export function createApp({ services, logger }: CreateAppOptions): Koa {
  const log = logger.child({ component: 'http' }, { redact: { paths: [...HTTP_REDACT_PATHS], censor: '[redacted]' } });
  const apiKey = services.config.apiKey;
  const validator = createRequestValidator();
  const table = createRouteTable();

  const router = new Router({ strict: true, sensitive: true });
  for (const route of table) {
    router.register(toKoaPath(route.path), [route.method], [
      createAuthMiddleware(route, apiKey),
      createInputMiddleware(route, services, validator),
      createHandlerMiddleware(route, services),
    ]);
  }

  const app = new Koa();
  installStreamErrorHandler(app, log);
  app.use(createRequestLogMiddleware(log));
  app.use(createErrorMiddleware());
  app.use(router.routes());
  app.use(createFallbackMiddleware(router));
  return app;
}
