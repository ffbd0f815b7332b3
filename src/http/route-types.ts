/**
 * Shape of one route-table entry. The same entries feed @koa/router (app.ts), the
 * OpenAPI document (openapi.ts, shown by the /docs viewer), so a route exists, is documented
 * and is validated from one declaration.
 */
import type { Readable } from 'node:stream';
import type { AppServices } from '../services/api.js';
import type { JsonSchema, SchemaRef } from './schemas.js';

export type HttpMethod = 'GET' | 'POST';

/** What a handler receives: validated input only, plus the services it may call. */
export interface RouteRequest<B, Q> {
  services: AppServices;
  /** Path parameters, decoded; `run_id` already matched the run_id pattern. */
  params: Readonly<Record<string, string>>;
  /** The parsed body after schema validation (`undefined` for routes without a body schema). */
  body: B;
  /** The query object after schema validation (`{}` for routes without a query schema). */
  query: Q;
  /** A request header (lower-case name), for the few routes that read one (`Last-Event-ID`). */
  header(name: string): string | undefined;
}

/** What a handler returns; app.ts turns it into the Koa response. */
export interface RouteResult {
  /** Defaults to the route's `successStatus`. */
  status?: number;
  /** A JSON value, an HTML string or a stream (streams are destroyed when the client goes away). */
  body: unknown;
  /** Content-Type; JSON bodies get `application/json; charset=utf-8` without it. */
  type?: string;
  /** Content-Length, for streamed files of known size. */
  length?: number;
  headers?: Readonly<Record<string, string>>;
}

/** A `{name}` segment of the path. */
export interface PathParamSpec {
  name: string;
  description: string;
  /**
   * For `run_id`: the route's not-found error when the value does not match the run_id
   * pattern (rest-api.md 4.1), answered without calling the service.
   */
  runIdNotFound?: 'jobs.not_found' | 'runs.not_found';
}

/** Example values of the OpenAPI document (the /docs viewer pre-fills try-it-out with them). */
export interface RouteExample {
  /** Concrete path with example values, e.g. `/jobs/20251103T091531_3fa9c2`: the path parameters' examples. */
  path?: string;
  /** Query string without `?`: the query parameters' examples. */
  query?: string;
  body?: unknown;
  /** Unused since the viewer builds its own curl line (try-it-out); kept so older route entries compile. */
  curlFlags?: string;
  response?: unknown;
}

export interface Route<B = unknown, Q = unknown> {
  method: HttpMethod;
  /** OpenAPI-style path, `{name}` for parameters. */
  path: string;
  operationId: string;
  tag: string;
  summary: string;
  description: string;
  /** `key` = X-API-Key required when BOX_API_KEY is set; `none` = exempt (rest-api.md 1.3). */
  auth: 'key' | 'none';
  /** GET only: a stream token (`?access_token=`, POST /auth/stream-token) is accepted instead of the key. */
  streamToken?: boolean;
  pathParams: readonly PathParamSpec[];
  /** JSON body schema; null = the route takes no body and never reads one (any body is ignored). */
  bodySchema: SchemaRef<B> | null;
  querySchema: SchemaRef<Q> | null;
  /** The route answers 503 `nas.unavailable` (before validation) while `services.nas` is null. */
  requiresNas?: boolean;
  successStatus: number;
  responseDescription: string;
  /** Defaults to `application/json`. */
  responseContentType?: string;
  /**
   * Schema of the success body as the OpenAPI document shows it: a component reference
   * (`componentRef`, `arrayOf` in schemas.ts) or an inline schema for text and binary answers.
   * Every route has one (test/unit/http/openapi.test.ts); the e2e tests check responses against it.
   */
  responseSchema?: JsonSchema;
  /** Contract codes the service behind this route may throw (the HTTP layer's own are added). */
  errorCodes: readonly string[];
  example?: RouteExample;
  /** A method (not a function property) so that a `Route<B, Q>` is also a route of unknown input. */
  handler(request: RouteRequest<B, Q>): Promise<RouteResult> | RouteResult;
}

/** Any route of the table, input types erased (the app validates input against the route's schemas first). */
export type AnyRoute = Route<unknown, unknown>;

/** Identity helper that keeps `B`/`Q` linked between schemas and handler while writing a route. */
export function defineRoute<B = undefined, Q = Record<string, never>>(route: Route<B, Q>): AnyRoute {
  return route;
}

/** Type guard for stream bodies. */
export function isReadableBody(body: unknown): body is Readable {
  return body !== null && typeof body === 'object' && typeof (body as { pipe?: unknown }).pipe === 'function';
}
