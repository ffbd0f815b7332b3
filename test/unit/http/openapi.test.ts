import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { API_KEY_STORAGE_NAME, DOCS_CONTENT_SECURITY_POLICY, VIEWER_FILE_NAMES, loadViewerFile, renderDocsPage } from '../../../src/http/docs-page.js';
import { isContractCode } from '../../../src/http/errors.js';
import { buildOpenApiDocument, formatOpenApiDocument, listRouteErrorCodes } from '../../../src/http/openapi.js';
import { createRouteTable } from '../../../src/http/route-table.js';
import { ALL_API_SCHEMAS, ALL_RESPONSE_SCHEMAS } from '../../../src/http/schemas.js';
import type { DeviceInfo, DeviceStatusEntry, JobOverview, JobStatus } from '../../../src/jobs/types.js';
import { SCHEMA_ANNOTATION_KEYWORDS } from '../../../src/modes/catalogue.js';
import { validateModeParams } from '../../../src/modes/validate.js';
import type { UploadState } from '../../../src/nas/nas-service.js';
import type { NasApi } from '../../../src/services/api.js';
import committed from '../../../schemas/openapi.json' with { type: 'json' };
import { createResponseValidator } from '../../helpers/openapi-validator.js';

const REFRESH = 'npm run build && node dist/src/http/print-openapi.js > schemas/openapi.json';

/** Every endpoint of the API contract, plus the upload state and the documentation routes, in table order. */
const CONTRACT_ROUTES = [
  'GET /version', 'GET /health', 'GET /devices', 'GET /devices/status', 'GET /modes', 'GET /modes/{mode}/params',
  'POST /modes/{mode}/validate', 'POST /jobs', 'GET /jobs', 'POST /jobs/status', 'GET /jobs/{run_id}',
  'POST /jobs/{run_id}/cancel', 'GET /runs/{run_id}/files', 'GET /runs/{run_id}/file', 'GET /runs/{run_id}/zip',
  'POST /nas/setup', 'GET /nas/health', 'POST /runs/{run_id}/upload', 'GET /runs/{run_id}/upload', 'POST /admin/rescan',
  'GET /openapi.json', 'GET /docs', 'GET /docs/{file}',
];

/** Names of the spec files behind the contract: users do not have them, so nothing they see may cite them. */
const INTERNAL_REFERENCES = /rest-api|modes\.md|beep-protocol|localhost:8000|\[DECISION\]|\[FIX\]|\(contract/;

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

/** Whether `sub` appears in `list` in the same order (other entries may sit between). */
function isSubsequence(sub: readonly string[], list: readonly string[]): boolean {
  let i = 0;
  for (const item of list) if (item === sub[i]) i++;
  return i === sub.length;
}

describe('route table', () => {
  const table = createRouteTable();

  test('has the contract endpoints in order; no key needed only for /version, /health and the documentation', () => {
    const routes = table.map((r) => `${r.method} ${r.path}`);
    assert.ok(isSubsequence(CONTRACT_ROUTES, routes), routes.join('\n'));
    assert.deepEqual(
      table.filter((r) => r.auth === 'none').map((r) => r.path),
      ['/version', '/health', '/openapi.json', '/docs', '/docs/{file}'],
    );
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
    assert.ok(isSubsequence(['/jobs/{run_id}/cancel', '/runs/{run_id}/upload', '/admin/rescan'], bodyless), bodyless.join(', '));
  });

  test('every route has a response schema; JSON answers name a component (or an array of one)', () => {
    for (const route of table) {
      const where = `${route.method} ${route.path}`;
      assert.ok(route.responseSchema !== undefined, `${where}: responseSchema missing`);
      if ((route.responseContentType ?? 'application/json') !== 'application/json' || route.path === '/openapi.json') continue;
      const schema = route.responseSchema as { $ref?: string; items?: { $ref?: string } };
      assert.match(schema.$ref ?? schema.items?.$ref ?? '', /^#\/components\/schemas\/[A-Za-z]+$/, where);
    }
  });
});

describe('OpenAPI document', () => {
  const doc = buildOpenApiDocument(createRouteTable());
  const text = formatOpenApiDocument(doc);

  test('the committed schemas/openapi.json is up to date', () => {
    assert.deepEqual(JSON.parse(text), committed, `schemas/openapi.json drifted; refresh with: ${REFRESH}`);
  });

  test('is deterministic', () => {
    assert.equal(formatOpenApiDocument(buildOpenApiDocument(createRouteTable())), text);
  });

  test('servers: the daemon that served the document, whatever its host and port', () => {
    assert.deepEqual((doc['servers'] as { url: string }[]).map((s) => s.url), ['/']);
  });

  test('every $ref is local and resolves; components hold request, response, envelope and mode schemas without $id', () => {
    const refs = collectRefs(doc);
    assert.ok(refs.length > 40);
    for (const ref of refs) assert.ok(resolvePointer(doc, ref) !== undefined, ref);
    const schemas = (doc['components'] as { schemas: Record<string, Record<string, unknown>> }).schemas;
    for (const name of ['JobRequest', 'ErrorEnvelope', 'ModeParams_CV', 'JobStatus', 'SlotStatus', 'DeviceStatusEntry', 'ModeAnalysis', 'StreamToken']) {
      assert.ok(schemas[name], name);
    }
    for (const [name, schema] of Object.entries(schemas)) {
      assert.equal(schema['$id'], undefined, `${name}: no $id (it would rebase the component's references)`);
    }
    assert.deepEqual(
      (schemas['JobStatus']!['properties'] as Record<string, { items?: unknown }>)['slots']!.items,
      { $ref: '#/components/schemas/SlotStatus' },
      'file references became component references',
    );
  });

  test('every 2xx answer has a schema; every JSON one a non-empty one', () => {
    const paths = doc['paths'] as Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: Record<string, unknown> }> }> }>>;
    for (const [path, item] of Object.entries(paths)) {
      for (const [method, op] of Object.entries(item)) {
        const ok = Object.entries(op.responses).filter(([status]) => status.startsWith('2'));
        assert.equal(ok.length, 1, `${method} ${path}`);
        for (const [media, { schema }] of Object.entries(ok[0]![1].content ?? {})) {
          assert.ok(schema !== undefined && Object.keys(schema).length > 0, `${method} ${path} ${media}: schema`);
        }
      }
    }
  });

  test('names no file users do not have', () => {
    assert.doesNotMatch(text, INTERNAL_REFERENCES);
  });

  test('operations: security, parameters, bodies and error responses', () => {
    const paths = doc['paths'] as Record<string, Record<string, Record<string, unknown>>>;
    assert.deepEqual(paths['/version']?.['get']?.['security'], []);
    assert.deepEqual(paths['/docs']?.['get']?.['security'], []);
    assert.deepEqual(paths['/jobs']?.['post']?.['security'], [{ ApiKey: [] }]);
    assert.deepEqual((doc['components'] as { securitySchemes: unknown }).securitySchemes, {
      ApiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'Value of BOX_API_KEY on the box.' },
    });
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
    const listJobs = paths['/jobs']?.['get'] as { parameters: { name: string; in: string; required: boolean; example?: string }[] };
    assert.deepEqual(listJobs.parameters.map((p) => [p.name, p.in, p.required, p.example]), [
      ['state', 'query', false, 'incomplete'],
      ['group_id', 'query', false, 'Demo_BatchA__20251103_101531__k3x9'],
    ]);
    const file = paths['/runs/{run_id}/file']?.['get'] as { parameters: { name: string; in: string; required: boolean; example?: string }[] };
    assert.deepEqual(file.parameters.map((p) => [p.name, p.in, p.required]), [['run_id', 'path', true], ['path', 'query', true]]);
    assert.equal(file.parameters[0]?.example, '20251103T091531_3fa9c2', 'path parameter examples come from the example path');
    assert.equal(paths['/jobs/{run_id}/cancel']?.['post']?.['requestBody'], undefined);
    const zip = (paths['/runs/{run_id}/zip']?.['get']?.['responses'] as Record<string, { content: Record<string, { schema: unknown }> }>)['200'];
    assert.deepEqual(zip?.content['application/zip']?.schema, { type: 'string', format: 'binary' });
  });
});

describe('response schemas', () => {
  const validator = createResponseValidator();

  test('each compiles under strict draft 2020-12 (no unknown keywords or formats misspelt)', () => {
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, validateFormats: false });
    for (const keyword of SCHEMA_ANNOTATION_KEYWORDS) ajv.addKeyword({ keyword, schemaType: 'string' });
    for (const ref of [...ALL_API_SCHEMAS, ...ALL_RESPONSE_SCHEMAS]) ajv.addSchema(ref.schema);
    for (const ref of ALL_RESPONSE_SCHEMAS) assert.doesNotThrow(() => ajv.getSchema(String(ref.schema['$id'])), ref.name);
  });

  test('the routes\' example answers fit their schemas', () => {
    let checked = 0;
    for (const route of createRouteTable()) {
      if (route.example?.response === undefined) continue;
      const problem = validator.check(route.method, route.example.path ?? route.path, route.successStatus, 'application/json', route.example.response);
      assert.equal(problem, null);
      checked++;
    }
    assert.ok(checked >= 8, `${checked} examples`);
  });

  // Samples typed with the daemon's own TypeScript shapes: a field added to one but not the other fails here.
  const slotResult: JobStatus['slots'][number]['results'][number] = {
    mode: 'CV', points: 1201, expected_points: 1201, nominal_points: 1201, lost: 0, overloads: 0, first_overload_index: null,
    stop_reason: 'completed', stop_detail: null, charge_c: 1.2e-6, poll_rate_hz: null, warnings: [], error: null, analysis: null,
  };
  const jobStatus: JobStatus = {
    run_id: '20251103T091531_3fa9c2', mode: 'CV', modes: ['CV', 'EIS'], current_mode: 'CV', remaining_modes: ['EIS'], status: 'running',
    started_at: '2025-11-03T09:15:31.412Z', ended_at: null, progress_pct: 44, remaining_s: 77, group_id: null,
    slots: [{
      slot: 'slot01', status: 'running', started_at: '2025-11-03T09:15:31.502Z', ended_at: null, message: null, files: [],
      current_mode: 'CV', remaining_modes: ['EIS'], progress_pct: 44, remaining_s: 77, points: 1201, expected_points: 1201,
      nominal_points: 1201, lost: 0, dac_underruns: 0, adc_overflows: 0, overloads: 0, results: [slotResult],
    }],
    warnings: [{ mode: 'EIS', field: 'start_freq', code: 'freq_clamped', message: 'Clamped to 277.78 Hz.' }],
    adjustments: [{ mode: 'EIS', field: 'start_freq', code: 'freq_clamped', message: 'Clamped to 277.78 Hz.', requested: 1000, applied: 277.78 }],
  };
  const idle: DeviceStatusEntry = {
    slot: 'slot02', status: 'idle', run_id: null, started_at: null, ended_at: null, message: 'device offline', files: [], current_mode: null,
    remaining_modes: [], progress_pct: 0, remaining_s: null, points: 0, expected_points: 0, nominal_points: 0, lost: 0, dac_underruns: 0,
    adc_overflows: 0, overloads: 0, results: [], state: 'offline',
  };
  const device: DeviceInfo = { slot: 'slot02', port: '/dev/ttyACM1', sn: null, state: 'offline', state_reason: 'not answering' };
  const overview: JobOverview = {
    run_id: jobStatus.run_id, mode: 'CV', status: 'done', started_at: jobStatus.started_at, ended_at: '2025-11-03T09:17:52.020Z', devices: ['slot01'], group_id: null,
  };
  const nasHealth: Awaited<ReturnType<NasApi['health']>> = { ok: false, last_checked: '2025-11-03T09:20:00.000Z', message: 'not configured', transport: null };
  const upload: UploadState & { run_id: string } = {
    run_id: jobStatus.run_id, state: 'failed', message: 'probe error: timeout', attempts: 2, next_retry_at: '2025-11-03T09:25:00.000Z', uploaded_at: null,
  };

  test('typed samples of each shape fit their schemas', () => {
    const samples: [string, string, number, unknown][] = [
      ['GET', '/jobs/x', 200, jobStatus],
      ['POST', '/jobs/status', 200, [jobStatus, { ...jobStatus, status: 'done', current_mode: null, ended_at: '2025-11-03T09:17:52.020Z' }]],
      ['GET', '/devices/status', 200, [idle, { ...jobStatus.slots[0]!, run_id: jobStatus.run_id, state: 'online' }]],
      ['GET', '/devices', 200, { devices: [device], slots: ['slot02'], count: 1 }],
      ['GET', '/jobs', 200, [overview]],
      ['GET', '/nas/health', 200, nasHealth],
      ['GET', '/runs/x/upload', 200, upload],
      ['POST', '/modes/CV/validate', 200, validateModeParams('CV', { start: 0, vertex1: 0.5, vertex2: -0.5, end: 0, scan_rate: 7, cycles: '3' })],
      ['POST', '/modes/CV/validate', 200, validateModeParams('CV', { start: 'x' })],
      ['GET', '/health', 200, { ok: true, devices: 2, box_id: 'lab-box-01', plotting: { available: false, reason: 'no chromium' }, event_loop_delay: { window_s: 10, p50_ms: 1, p99_ms: 3, max_ms: 9 }, slots_busy: 0, later_field: 1 }],
    ];
    for (const [method, path, status, body] of samples) assert.equal(validator.check(method, path, status, 'application/json', body), null);
  });

  test('a wrong answer is named with its route, status and first schema error', () => {
    const slot = { ...jobStatus.slots[0]!, status: 'paused' };
    assert.match(
      validator.check('GET', '/jobs/20251103T091531_3fa9c2?x=1', 200, 'application/json; charset=utf-8', { ...jobStatus, slots: [slot] }) ?? '',
      /^GET \/jobs\/\{run_id\} 200: response does not match its OpenAPI schema at \/slots\/0\/status: must be equal to one of the allowed values \(queued, running, done, failed, cancelled\)/,
    );
    assert.match(validator.check('GET', '/jobs/x', 200, 'application/json', { ...jobStatus, extra: 1 }) ?? '', /must NOT have additional properties \(extra\)/);
    assert.match(validator.check('GET', '/devices/status', 200, 'application/json', [{ ...idle, points: undefined }]) ?? '', /at \/0: must have required property 'points'/);
    assert.match(validator.check('GET', '/nowhere', 200, 'application/json', {}) ?? '', /^GET \/nowhere 200: no operation/);
    assert.equal(validator.check('GET', '/jobs/x', 404, 'application/json', {}), null, 'only 2xx answers are checked');
    assert.equal(validator.check('GET', '/docs', 200, 'text/html', '<html>'), null, 'only JSON answers are checked');
    assert.equal(validator.check('GET', '/runs/x/file?path=run.json', 200, 'application/json', { any: 1 }), null, 'downloaded files are not typed');
    assert.match(validator.check('POST', '/jobs/x/cancel', 200, 'application/json', {}) ?? '', /no application\/json answer with this status/);
  });
});

describe('/docs viewer', () => {
  const html = renderDocsPage();

  test('loads Swagger UI and its start script from this daemon only', () => {
    const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    assert.deepEqual(urls.sort(), ['docs/favicon-32x32.png', 'docs/init.js', 'docs/swagger-ui-bundle.js', 'docs/swagger-ui.css', 'openapi.json']);
    assert.doesNotMatch(html, /https?:\/\//);
    assert.match(DOCS_CONTENT_SECURITY_POLICY, /^default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'/);
  });

  test('every viewer file is served; nothing else is', () => {
    for (const name of VIEWER_FILE_NAMES) assert.ok((loadViewerFile(name)?.body.length ?? 0) > 100, name);
    for (const name of ['../package.json', 'index.html', 'swagger-initializer.js', 'constructor', '__proto__']) assert.equal(loadViewerFile(name), undefined, name);
    const init = loadViewerFile('init.js')!.body.toString('utf8');
    assert.match(init, /validatorUrl: null/, 'no badge fetched from the Swagger validator');
    assert.match(init, /url: 'openapi\.json'/);
    assert.ok(init.includes(JSON.stringify(API_KEY_STORAGE_NAME)), 'the key is shared with the dashboard');
    assert.equal(API_KEY_STORAGE_NAME, 'beepbox.apiKey');
  });
});
