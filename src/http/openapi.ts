/**
 * OpenAPI 3.1 document generated from the route table and the schemas (no hand-written
 * parts that could drift). The request schemas and the mode parameter schemas are embedded
 * unchanged as components: OpenAPI 3.1 speaks JSON Schema 2020-12. A copy is committed at
 * `schemas/openapi.json`; `test/unit/http/openapi.test.ts` fails when it drifts. Refresh with
 * `npx tsc -p tsconfig.json; node dist/src/http/print-openapi.js > schemas/openapi.json`.
 */
import { MAX_JSON_BODY_BYTES } from './body.js';
import { ERROR_TABLE, statusOfCode } from './errors.js';
import { MAX_HEADER_BYTES, MAX_JSON_DEPTH } from './limits.js';
import type { AnyRoute } from './route-types.js';
import { ALL_API_SCHEMAS, API_SCHEMAS, listModeParamSchemas, type JsonSchema } from './schemas.js';
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

function describeQueryParameters(schema: JsonSchema): Record<string, unknown>[] {
  const properties = (schema['properties'] ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema['required'] ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: 'query',
      required: required.has(name),
      ...(description !== undefined ? { description } : {}),
      schema: rest,
    };
  });
}

function describeOperation(route: AnyRoute): Record<string, unknown> {
  const parameters: Record<string, unknown>[] = route.pathParams.map((param) => ({
    name: param.name,
    in: 'path',
    required: true,
    description: param.description,
    schema: param.runIdNotFound !== undefined ? { type: 'string', pattern: RUN_ID_PATTERN_SOURCE } : { type: 'string' },
  }));
  if (route.querySchema !== null) parameters.push(...describeQueryParameters(route.querySchema.schema));

  const contentType = route.responseContentType ?? 'application/json';
  const successMedia: Record<string, unknown> = {};
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

/** Build the whole document. Deterministic: same table and schemas → same JSON text. */
export function buildOpenApiDocument(routes: readonly AnyRoute[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const item = (paths[route.path] ??= {});
    item[route.method.toLowerCase()] = describeOperation(route);
  }
  const schemas: Record<string, JsonSchema> = {};
  for (const ref of ALL_API_SCHEMAS) schemas[ref.name] = ref.schema;
  for (const mode of listModeParamSchemas()) schemas[mode.name] = mode.schema;

  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'beepbox API',
      version: API_VERSION,
      description:
        'HTTP API of beepbox, the BEEP potentiostat box daemon (contract: rest-api.md, API version 1.0). ' +
        'When BOX_API_KEY is set every operation except GET /version and GET /health needs the X-API-Key header. ' +
        'Every non-2xx response carries the ErrorEnvelope; unknown paths answer 404 http.not_found, known paths ' +
        'with another method 405 http.method_not_allowed with an Allow header. A Host header that names none of ' +
        'the addresses the box answers to gets 421 http.forbidden_host; a request other than GET/HEAD/OPTIONS sent ' +
        'by a web page of another origin (Origin, Sec-Fetch-Site) gets 403 http.forbidden_origin. Malformed HTTP ' +
        'answers 400 http.bad_request, a request not received within the time limit 408 http.request_timeout, ' +
        `headers over ${MAX_HEADER_BYTES / 1024} KiB 431 http.headers_too_large; these three close the connection. ` +
        `JSON bodies are limited to ${MAX_JSON_BODY_BYTES / 1024 / 1024} MiB and ${MAX_JSON_DEPTH} levels of nesting. Mode parameter schemas are the ` +
        'ModeParams_<MODE> components; numeric parameters also accept numeric strings.',
    },
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas,
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
