/**
 * Feeds the HTTP request-duration histogram (GET /metrics). The route label is the route table's
 * template (`/jobs/{run_id}`), set by the matched route's first middleware; requests no route
 * handled (404, 405, refused Host or Origin) get none, so raw paths never become label values.
 */
import type Koa from 'koa';
import type { MetricsApi } from '../services/api.js';

interface RouteState {
  /** The matched route's template, e.g. `/runs/{run_id}/file`. */
  routeTemplate?: string;
}

/** Outer middleware: times each request from its arrival to the end (or abort) of its response. */
export function createRequestMetricsMiddleware(metrics: MetricsApi): Koa.Middleware {
  return async (ctx, next) => {
    const startedNs = process.hrtime.bigint();
    const { method } = ctx;
    ctx.res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - startedNs) / 1e9;
      metrics.observeRequest(method, (ctx.state as RouteState).routeTemplate ?? null, ctx.status, seconds);
    });
    await next();
  };
}

/** First middleware of a route: names the route for the histogram (and anything after it). */
export function markRoute(template: string): Koa.Middleware {
  return async (ctx, next) => {
    (ctx.state as RouteState).routeTemplate = template;
    await next();
  };
}
