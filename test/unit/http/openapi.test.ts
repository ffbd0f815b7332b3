import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildCurlExample, renderDocsPage } from '../../../src/http/docs-page.js';
import { isContractCode } from '../../../src/http/errors.js';
import { buildOpenApiDocument, formatOpenApiDocument, listRouteErrorCodes } from '../../../src/http/openapi.js';
import { createRouteTable } from '../../../src/http/route-table.js';
import committed from '../../../schemas/openapi.json' with { type: 'json' };

const REFRESH = 'npx tsc -p tsconfig.json; node dist/src/http/print-openapi.js > schemas/openapi.json';

/** Every endpoint of rest-api.md section 3, plus 7.5's upload state and the two doc routes. */
const CONTRACT_ROUTES = [
  'GET /version', 'GET /health', 'GET /devices', 'GET /devices/status', 'GET /modes', 'GET /modes/{mode}/params',
  'POST /modes/{mode}/validate', 'POST /jobs', 'GET /jobs', 'POST /jobs/status', 'GET /jobs/{run_id}',
  'POST /jobs/{run_id}/cancel', 'GET /runs/{run_id}/files', 'GET /runs/{run_id}/file', 'GET /runs/{run_id}/zip',
  'POST /nas/setup', 'GET /nas/health', 'POST /runs/{run_id}/upload', 'GET /runs/{run_id}/upload', 'POST /admin/rescan',
  'GET /openapi.json', 'GET /docs',
];

function collectRefs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) collectRefs(item, out);
  else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') out.push(value);
      else collectRefs(value, out);
    }
  }
  return out;
}

function resolvePointer(doc: unknown, ref: string): unknown {
  assert.ok(ref.startsWith('#/'), `local ref ${ref}`);
  return ref
    .slice(2)
    .split('/')
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
}

describe('route table', () => {
  const table = createRouteTable();

  test('has exactly the contract endpoints, auth exempt only for /version and /health', () => {
    assert.deepEqual(table.map((r) => `${r.method} ${r.path}`), CONTRACT_ROUTES);
    assert.deepEqual(table.filter((r) => r.auth === 'none').map((r) => r.path), ['/version', '/health']);
    assert.equal(new Set(table.map((r) => r.operationId)).size, table.length, 'unique operationIds');
  });

  test('every run_id route rejects bad ids with its own not-found code; error codes are contract codes', () => {
    for (const route of table) {
      const runId = route.pathParams.find((p) => p.name === 'run_id');
      if (route.path.includes('{run_id}')) {
        assert.equal(runId?.runIdNotFound, route.path.startsWith('/jobs/') ? 'jobs.not_found' : 'runs.not_found', route.path);
      }
      for (const code of listRouteErrorCodes(route)) assert.ok(isContractCode(code), `${route.path}: ${code}`);
    }
  });

  test('bodyless POSTs have no body schema; body routes do', () => {
    const bodyless = table.filter((r) => r.method === 'POST' && r.bodySchema === null).map((r) => r.path);
    assert.deepEqual(bodyless, ['/jobs/{run_id}/cancel', '/runs/{run_id}/upload', '/admin/rescan']);
  });
});

describe('OpenAPI document', () => {
  const doc = buildOpenApiDocument(createRouteTable());

  test('the committed schemas/openapi.json is up to date', () => {
    assert.deepEqual(JSON.parse(formatOpenApiDocument(doc)), committed, `schemas/openapi.json drifted; refresh with: ${REFRESH}`);
  });

  test('is deterministic', () => {
    assert.equal(formatOpenApiDocument(buildOpenApiDocument(createRouteTable())), formatOpenApiDocument(doc));
  });

  test('every $ref resolves; components hold request, envelope and mode schemas', () => {
    const refs = collectRefs(doc);
    assert.ok(refs.length > 20);
    for (const ref of refs) assert.ok(resolvePointer(doc, ref) !== undefined, ref);
    const schemas = (doc['components'] as { schemas: Record<string, unknown> }).schemas;
    for (const name of ['JobRequest', 'JobStatusRequest', 'SMBSetupRequest', 'ErrorEnvelope', 'ValidationIssue', 'ModeParams_CV', 'ModeParams_EIS']) {
      assert.ok(schemas[name], name);
    }
  });

  test('operations: security, parameters, bodies and error responses', () => {
    const paths = doc['paths'] as Record<string, Record<string, Record<string, unknown>>>;
    assert.deepEqual(paths['/version']?.['get']?.['security'], []);
    assert.deepEqual(paths['/jobs']?.['post']?.['security'], [{ ApiKey: [] }]);
    const startJob = paths['/jobs']?.['post'] as { requestBody: { content: Record<string, { schema: unknown }> }; responses: Record<string, unknown> };
    assert.deepEqual(startJob.requestBody.content['application/json']?.schema, { $ref: '#/components/schemas/JobRequest' });
    assert.deepEqual(Object.keys(startJob.responses), ['200', '400', '401', '403', '409', '413', '421', '422', '500', '507']);
    // Host check on every operation, the cross-origin check on every one that can change something.
    for (const [path, item] of Object.entries(paths)) {
      for (const [method, op] of Object.entries(item)) {
        const codes = Object.keys(op['responses'] as Record<string, unknown>);
        assert.ok(codes.includes('421'), `${method} ${path}: 421 http.forbidden_host`);
        assert.equal(codes.includes('403'), method !== 'get', `${method} ${path}: 403 http.forbidden_origin only on state-changing methods`);
      }
    }
    const listJobs = paths['/jobs']?.['get'] as { parameters: { name: string; in: string; required: boolean }[] };
    assert.deepEqual(listJobs.parameters.map((p) => [p.name, p.in, p.required]), [['state', 'query', false], ['group_id', 'query', false]]);
    const file = paths['/runs/{run_id}/file']?.['get'] as { parameters: { name: string; in: string; required: boolean }[] };
    assert.deepEqual(file.parameters.map((p) => [p.name, p.in, p.required]), [['run_id', 'path', true], ['path', 'query', true]]);
    assert.equal(paths['/jobs/{run_id}/cancel']?.['post']?.['requestBody'], undefined);
    assert.ok((paths['/runs/{run_id}/zip']?.['get']?.['responses'] as Record<string, { content: object }>)['200']?.content.hasOwnProperty('application/zip'));
  });
});

describe('/docs page', () => {
  const table = createRouteTable();
  const html = renderDocsPage(table);

  test('lists every endpoint with method, auth and curl, without scripts or external resources', () => {
    for (const route of table) {
      assert.ok(html.includes(`id="${route.operationId}"`), route.path);
      assert.ok(html.includes(`<code>${route.path}</code>`), route.path);
    }
    assert.ok(!/<script|<link|\ssrc=|@import|https?:\/\/(?!localhost:8000)/i.test(html.replace(/https:\/\/(json-schema\.org|beepbox\.local)[^\s"<]*/g, '')));
  });

  test('curl examples', () => {
    const byPath = (method: string, path: string) => table.find((r) => r.method === method && r.path === path)!;
    assert.equal(buildCurlExample(byPath('GET', '/version')), 'curl -sS "http://localhost:8000/version"');
    assert.equal(
      buildCurlExample(byPath('POST', '/jobs/{run_id}/cancel')),
      'curl -sS -X POST -H "X-API-Key: $BOX_API_KEY" "http://localhost:8000/jobs/20251103T091531_3fa9c2/cancel"',
    );
    assert.match(buildCurlExample(byPath('POST', '/jobs')), /^curl -sS -X POST -H "X-API-Key: \$BOX_API_KEY" -H 'Content-Type: application\/json' -d '\{"devices":"all",/);
    assert.match(buildCurlExample(byPath('GET', '/runs/{run_id}/zip')), / -OJ "http:\/\/localhost:8000\/runs\/[^/]+\/zip"$/);
  });
});
