/**
 * Checks HTTP answers against the OpenAPI document the daemon serves (built here from the same
 * route table and schemas): the operation is found by method and path template, the schema by
 * status and content type. Used by the e2e helper (daemon.ts) on every 2xx JSON answer and by the
 * unit tests on sample values.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { buildOpenApiDocument } from '../../src/http/openapi.js';
import { createRouteTable } from '../../src/http/route-table.js';

const DOCUMENT_ID = 'https://beepbox.local/openapi.json';

/** ISO 8601 date-time with an offset (RFC 3339), what every timestamp of the API is. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

interface Operation {
  method: string;
  template: string;
  pattern: RegExp;
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}

export interface ResponseValidator {
  /**
   * Null when the answer fits the document (or is not a 2xx JSON answer); else one line naming
   * the route, the status and the first schema error.
   */
  check(method: string, pathAndQuery: string, status: number, contentType: string | undefined, body: unknown): string | null;
  /** Null when `value` fits the component `name`; else the first schema error. */
  checkComponent(name: string, value: unknown): string | null;
}

/** `/jobs/{run_id}` → /^\/jobs\/[^/]+$/ */
function templatePattern(template: string): RegExp {
  const source = template
    .split('/')
    .map((segment) => (/^\{[^}]+\}$/.test(segment) ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}$`);
}

/** A JSON pointer as a URI fragment: `~` and `/` escaped, then percent-encoded (`{`, `}`). */
function pointerFragment(segments: readonly string[]): string {
  return segments.map((s) => `/${encodeURIComponent(s.replace(/~/g, '~0').replace(/\//g, '~1'))}`).join('');
}

/** "at /slots/0/status: must be equal to one of the allowed values (allowed: queued, ...)". */
export function describeSchemaError(error: ErrorObject): string {
  const where = error.instancePath === '' ? 'the body' : error.instancePath;
  const params = error.params as Record<string, unknown>;
  const extra =
    params['additionalProperty'] ?? params['unevaluatedProperty'] ?? params['missingProperty'] ?? (params['allowedValues'] as unknown[] | undefined)?.join(', ');
  return `at ${where}: ${error.message ?? error.keyword}${extra !== undefined ? ` (${String(extra)})` : ''} [schema ${error.schemaPath}]`;
}

export function createResponseValidator(doc: Record<string, unknown> = buildOpenApiDocument(createRouteTable())): ResponseValidator {
  // Not strict: the document has OpenAPI keywords around its schemas, and the schemas carry
  // annotations of their own (x-limit-reason); the unit tests compile each schema strictly.
  const ajv = new Ajv2020({ strict: false, allErrors: false, allowUnionTypes: true });
  ajv.addFormat('date-time', DATE_TIME);
  ajv.addFormat('binary', true);
  ajv.addSchema(doc, DOCUMENT_ID);

  const operations: Operation[] = [];
  for (const [template, item] of Object.entries(doc['paths'] as Record<string, Record<string, Operation['responses'] & object>>)) {
    for (const [method, op] of Object.entries(item)) {
      operations.push({ method: method.toUpperCase(), template, pattern: templatePattern(template), responses: (op as { responses: Operation['responses'] }).responses });
    }
  }
  // Literal paths before templated ones (GET /devices/status is not GET /devices/{x}).
  operations.sort((a, b) => a.template.split('{').length - b.template.split('{').length);

  const compiled = new Map<string, ValidateFunction>();
  const compile = (segments: readonly string[]): ValidateFunction => {
    const fragment = pointerFragment(segments);
    let validate = compiled.get(fragment);
    if (validate === undefined) {
      validate = ajv.compile({ $ref: `${DOCUMENT_ID}#${fragment}` });
      compiled.set(fragment, validate);
    }
    return validate;
  };
  const firstError = (validate: ValidateFunction): string => describeSchemaError(validate.errors![0]!);

  return {
    check(method, pathAndQuery, status, contentType, body) {
      if (status < 200 || status > 299 || !/^application\/json/.test(contentType ?? '')) return null;
      const path = pathAndQuery.split('?')[0]!;
      const op = operations.find((o) => o.method === method.toUpperCase() && o.pattern.test(path));
      const route = op === undefined ? `${method} ${path}` : `${op.method} ${op.template}`;
      if (op === undefined) return `${route} ${status}: no operation of the OpenAPI document matches this request`;
      const content = op.responses[String(status)]?.content ?? {};
      const media = content['application/json'];
      // A file download (GET /runs/{run_id}/file of a .json file) is bytes the API does not type.
      if (media === undefined && Object.values(content).some((m) => (m.schema as { format?: string } | undefined)?.format === 'binary')) return null;
      if (media === undefined) return `${route} ${status}: the OpenAPI document has no application/json answer with this status`;
      if (media.schema === undefined) return `${route} ${status}: the OpenAPI document gives this answer no schema`;
      const validate = compile(['paths', op.template, op.method.toLowerCase(), 'responses', String(status), 'content', 'application/json', 'schema']);
      return validate(body) ? null : `${route} ${status}: response does not match its OpenAPI schema ${firstError(validate)}`;
    },
    checkComponent(name, value) {
      const validate = compile(['components', 'schemas', name]);
      return validate(value) ? null : `${name}: ${firstError(validate)}`;
    },
  };
}

let shared: ResponseValidator | undefined;

/** One validator for the whole test process (the document is the same for every daemon). */
export function sharedResponseValidator(): ResponseValidator {
  return (shared ??= createResponseValidator());
}
