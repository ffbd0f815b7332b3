/**
 * OpenAPI 3.1 document generated from the route table and the schemas (no hand-written
 * parts that could drift). The request, response and mode parameter schemas are embedded as
 * components (OpenAPI 3.1 speaks JSON Schema 2020-12): without their `$id`/`$schema`, and with
 * their references to each other's files turned into component references, so that a viewer or
 * a client generator never tries to fetch a schema from elsewhere. A copy is committed at
 * `schemas/openapi.json`; `test/unit/http/openapi.test.ts` fails when it drifts. Refresh with
 * `npm run build && node dist/src/http/print-openapi.js > schemas/openapi.json`.
 */
import { MAX_JSON_BODY_BYTES } from './body.js';
import { ERROR_TABLE, statusOfCode } from './errors.js';
import { MAX_HEADER_BYTES, MAX_JSON_DEPTH } from './limits.js';
import type { AnyRoute } from './route-types.js';
import { ALL_API_SCHEMAS, ALL_RESPONSE_SCHEMAS, API_SCHEMAS, listModeParamSchemas, type JsonSchema } from './schemas.js';
import { RUN_ID_PATTERN_SOURCE } from '../services/api.js';

/** API version of the contract (`/version.api`). */
export const API_VERSION = '1.0';

const ERROR_REF = { $ref: `#/components/schemas/${API_SCHEMAS.ErrorEnvelope.name}` };

/**
 * Every error code a route can answer with: those the HTTP layer raises for it (auth, 503 while
 * NAS is missing, run_id pattern, body limits and validation) followed by the route's own
 * service codes, and `internal.error`. Order: first appearance.
 */
export function listRouteErrorCodes(route: AnyRoute): string[] {
  const codes: string[] = ['http.forbidden_host'];
  if (route.method !== 'GET') codes.push('http.forbidden_origin');
  if (route.auth === 'key') codes.push('auth.invalid_api_key');
  if (route.requiresNas === true) codes.push('nas.unavailable');
  for (const param of route.pathParams) if (param.runIdNotFound !== undefined) codes.push(param.runIdNotFound);
  if (route.bodySchema !== null) codes.push('request.too_large');
  if (route.bodySchema !== null || route.querySchema !== null) codes.push('request.validation_error');
  codes.push(...route.errorCodes, 'internal.error');
  return [...new Set(codes)];
}

/** Error codes grouped by HTTP status, statuses ascending. */
export function groupCodesByStatus(codes: readonly string[]): [number, string[]][] {
  const groups = new Map<number, string[]>();
  for (const code of codes) {
    const status = statusOfCode(code);
    groups.set(status, [...(groups.get(status) ?? []), code]);
  }
  return [...groups.entries()].sort((a, b) => a[0] - b[0]);
}

function describeQueryParameters(schema: JsonSchema, examples: URLSearchParams): Record<string, unknown>[] {
  const properties = (schema['properties'] ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema['required'] ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property;
    const example = examples.get(name);
    return {
      name,
      in: 'query',
      required: required.has(name),
      ...(description !== undefined ? { description } : {}),
      schema: rest,
      ...(example !== null ? { example } : {}),
    };
  });
}

/** Path parameter name → the value the route's example path has there (`/jobs/{run_id}` + `/jobs/2025…` → run_id). */
function examplePathValues(template: string, examplePath: string | undefined): Map<string, string> {
  const values = new Map<string, string>();
  if (examplePath === undefined) return values;
  const names = template.split('/');
  const parts = examplePath.split('/');
  names.forEach((segment, i) => {
    const match = /^\{([A-Za-z0-9_]+)\}$/.exec(segment);
    if (match !== null && parts[i] !== undefined) values.set(match[1]!, decodeURIComponent(parts[i]));
  });
  return values;
}

function describeOperation(route: AnyRoute): Record<string, unknown> {
  const pathExamples = examplePathValues(route.path, route.example?.path);
  const parameters: Record<string, unknown>[] = route.pathParams.map((param) => {
    const example = pathExamples.get(param.name);
    return {
      name: param.name,
      in: 'path',
      required: true,
      description: param.description,
      schema: param.runIdNotFound !== undefined ? { type: 'string', pattern: RUN_ID_PATTERN_SOURCE } : { type: 'string' },
      ...(example !== undefined ? { example } : {}),
    };
  });
  if (route.querySchema !== null) {
    parameters.push(...describeQueryParameters(route.querySchema.schema, new URLSearchParams(route.example?.query ?? '')));
  }

  const contentType = route.responseContentType ?? 'application/json';
  const successMedia: Record<string, unknown> = {};
  if (route.responseSchema !== undefined) successMedia['schema'] = route.responseSchema;
  if (route.example?.response !== undefined) successMedia['example'] = route.example.response;
  const responses: Record<string, unknown> = {
    [String(route.successStatus)]: { description: route.responseDescription, content: { [contentType]: successMedia } },
  };
  for (const [status, codes] of groupCodesByStatus(listRouteErrorCodes(route))) {
    const response: Record<string, unknown> = {
      description: codes.join(', '),
      content: { 'application/json': { schema: ERROR_REF } },
      'x-error-codes': codes,
    };
    if (status === 405) response['headers'] = { Allow: { schema: { type: 'string' } } };
    responses[String(status)] = response;
  }

  const operation: Record<string, unknown> = {
    operationId: route.operationId,
    tags: [route.tag],
    summary: route.summary,
    description: route.description,
    security: route.auth === 'key' ? [{ ApiKey: [] }] : [],
    parameters,
  };
  if (route.bodySchema !== null) {
    const media: Record<string, unknown> = { schema: { $ref: `#/components/schemas/${route.bodySchema.name}` } };
    if (route.example?.body !== undefined) media['example'] = route.example.body;
    operation['requestBody'] = { required: true, content: { 'application/json': media } };
  }
  operation['responses'] = responses;
  return operation;
}

/**
 * `$ref`s of one schema file, resolved against its `$id`, as component references: a file's URL
 * becomes `#/components/schemas/<its component>`, a fragment is kept after it. Throws on a
 * reference to a file that is not a component (the document would point outside itself).
 */
function rewriteRefs(node: unknown, baseId: string | undefined, componentOfId: ReadonlyMap<string, string>): unknown {
  if (Array.isArray(node)) return node.map((item) => rewriteRefs(item, baseId, componentOfId));
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' && typeof value === 'string' && baseId !== undefined) {
      const url = new URL(value, baseId);
      const fragment = url.hash.slice(1);
      url.hash = '';
      const component = componentOfId.get(url.href);
      if (component === undefined) throw new Error(`schema ${baseId}: $ref ${value} names no component`);
      out[key] = `#/components/schemas/${component}${fragment}`;
    } else {
      out[key] = rewriteRefs(value, baseId, componentOfId);
    }
  }
  return out;
}

/** The components/schemas of the document, in a fixed order: requests, responses, mode parameters. */
export function buildSchemaComponents(): Record<string, JsonSchema> {
  const all = [...ALL_API_SCHEMAS, ...ALL_RESPONSE_SCHEMAS, ...listModeParamSchemas()];
  const componentOfId = new Map<string, string>();
  for (const { name, schema } of all) if (typeof schema['$id'] === 'string') componentOfId.set(schema['$id'], name);
  const components: Record<string, JsonSchema> = {};
  for (const { name, schema } of all) {
    const { $id, $schema: _dialect, ...rest } = schema;
    components[name] = rewriteRefs(rest, typeof $id === 'string' ? $id : undefined, componentOfId) as JsonSchema;
  }
  return components;
}

/** Build the whole document. Deterministic: same table and schemas → same JSON text. */
export function buildOpenApiDocument(routes: readonly AnyRoute[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const item = (paths[route.path] ??= {});
    item[route.method.toLowerCase()] = describeOperation(route);
  }

  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'beepbox API',
      version: API_VERSION,
      description:
        'HTTP API of beepbox, the daemon that runs BEEP potentiostats on this box (API version 1.0). ' +
        'When BOX_API_KEY is set every operation except GET /version, GET /health and the documentation ' +
        '(/docs, /openapi.json) needs the X-API-Key header: in this viewer, enter it under Authorize. ' +
        'Every non-2xx response carries the ErrorEnvelope; unknown paths answer 404 http.not_found, known paths ' +
        'with another method 405 http.method_not_allowed with an Allow header. A Host header that names none of ' +
        'the addresses the box answers to gets 421 http.forbidden_host; a request other than GET/HEAD/OPTIONS sent ' +
        'by a web page of another origin (Origin, Sec-Fetch-Site) gets 403 http.forbidden_origin. Malformed HTTP ' +
        'answers 400 http.bad_request, a request not received within the time limit 408 http.request_timeout, ' +
        `headers over ${MAX_HEADER_BYTES / 1024} KiB 431 http.headers_too_large; these three close the connection. ` +
        `JSON bodies are limited to ${MAX_JSON_BODY_BYTES / 1024 / 1024} MiB and ${MAX_JSON_DEPTH} levels of nesting. Mode parameter schemas are the ` +
        'ModeParams_<MODE> components; numeric parameters also accept numeric strings.',
    },
    // Relative: the viewer (and any client given this document) calls the daemon that served it, whatever its host and port.
    servers: [{ url: '/', description: 'This box (the daemon that served this document)' }],
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas: buildSchemaComponents(),
      securitySchemes: {
        ApiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'Value of BOX_API_KEY on the box.' },
      },
    },
    'x-error-codes': Object.fromEntries(Object.entries(ERROR_TABLE).map(([code, spec]) => [code, spec.status])),
  };
}

/** The committed text of `schemas/openapi.json` for a document. */
export function formatOpenApiDocument(doc: Record<string, unknown>): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}
