/**
 * Property-based fuzzing of the whole HTTP API (issue #10) against the real daemon (built CLI,
 * API key set, 2 virtual potentiostats), with fast-check generating hostile requests on purpose:
 * deep and wide JSON, huge and NaN-ish numbers, unicode (lone surrogates included), `__proto__` /
 * `constructor` keys, wrong types everywhere, encoded and broken path segments, odd methods,
 * content types, keys and origins. Per endpoint class (devices, modes, jobs, runs/files/zip, nas,
 * admin, unknown paths/methods) at least BEEPBOX_FUZZ_CASES (default 2000) requests, sent in small
 * parallel batches over a keep-alive agent. Properties: never a 5xx; every error is the envelope
 * (schemas/api/error-envelope.schema.json) with a known code whose status it carries; every
 * response has the security headers; the daemon answers /health at the end.
 *
 * Seed: BEEPBOX_FUZZ_SEED (default below); each class derives its own from it. A failure prints
 * the request, so it can be replayed with curl. Jobs the fuzzer manages to start are cancelled at
 * once. NAS set-ups only ever name loopback (or invalid) hosts, with closed ports.
 */
import assert from 'node:assert/strict';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import errorEnvelopeSchema from '../../schemas/api/error-envelope.schema.json' with { type: 'json' };
import { ERROR_TABLE, statusOfCode } from '../../src/http/errors.js';
import { startSimulators, type SimulatorSet } from '../../src/sim/run-sim.js';
import { createCleanupScope, startDaemon, submitJob, waitForJob, type DaemonHandle, type JobStatusLike } from '../helpers/daemon.js';

const SEED = Number(process.env.BEEPBOX_FUZZ_SEED ?? 20_261_204);
const CASES = Number(process.env.BEEPBOX_FUZZ_CASES ?? 2_000);
/** Requests in flight at once. */
const BATCH = 8;

const validateEnvelope = new Ajv2020({ strict: true, allErrors: true }).compile(errorEnvelopeSchema);

const scope = createCleanupScope();
let sims: SimulatorSet;
let daemon: DaemonHandle;
let agent: Agent;
/** Runs that exist (finished jobs), with one file path each. */
const realRuns: Array<{ runId: string; files: string[] }> = [];
/** run_ids of jobs the fuzzer started (cancelled at once). */
const startedRunIds: string[] = [];

before(async () => {
  sims = await startSimulators({ count: 2 });
  scope.defer(() => sims.close());
  daemon = await startDaemon(scope, { ports: sims.ports, env: { LOG_LEVEL: 'warn' } });
  agent = new Agent({ keepAlive: true, maxSockets: BATCH });
  scope.defer(() => agent.destroy());
  for (const [i, mode] of (['CA', 'CV'] as const).entries()) {
    const params = mode === 'CA' ? { CA: { potential: 0.1, duration: 0.2 } } : { CV: { start: 0, vertex1: 0.1, vertex2: -0.1, end: 0, scan_rate: 1, cycles: 1 } };
    const job = await submitJob(daemon, { devices: ['slot01'], modes: [mode], params_by_mode: params, experiment_name: 'FuzzSeed', client_datetime: `2025-01-01T00:00:0${i}Z`, make_plot: false });
    const done = await waitForJob(daemon, job.run_id);
    assert.equal(done.status, 'done');
    realRuns.push({ runId: job.run_id, files: done.slots.flatMap((s) => s.files) });
  }
});

after(() => scope.run());

// ---- JSON built as text, so keys and numbers can be anything ------------------------------------

type JNode =
  | { t: 'raw'; text: string }
  | { t: 'str'; s: string }
  | { t: 'arr'; items: JNode[] }
  | { t: 'obj'; entries: Array<[string, JNode]> };

function serialize(node: JNode): string {
  switch (node.t) {
    case 'raw':
      return node.text;
    case 'str':
      return JSON.stringify(node.s);
    case 'arr':
      return `[${node.items.map(serialize).join(',')}]`;
    case 'obj':
      return `{${node.entries.map(([k, v]) => `${JSON.stringify(k)}:${serialize(v)}`).join(',')}}`;
  }
}

/** A plain JS value as a node (for templates). */
function toNode(value: unknown): JNode {
  if (Array.isArray(value)) return { t: 'arr', items: value.map(toNode) };
  if (value !== null && typeof value === 'object') return { t: 'obj', entries: Object.entries(value).map(([k, v]) => [k, toNode(v)]) };
  if (typeof value === 'string') return { t: 'str', s: value };
  return { t: 'raw', text: JSON.stringify(value) };
}

const raw = (text: string): JNode => ({ t: 'raw', text });

const NUMBER_TEXTS = [
  '0', '-0', '1', '-1', '0.1', '2', '3', '5', '6', '99', '3600', '3600.0000001', '1e308', '-1e308', '1.7976931348623157e308',
  '1e-320', '5e-324', '1e999', '-1e999', '1.2e29', '123456789012345678901234567890', '9007199254740993', '0.00036', '1E+2',
  '65535', '65536', '445', '-2147483649', '4294967296',
];

const STRING_POOL = [
  '', ' ', 'NaN', 'Infinity', '-Infinity', '1e999', '-0', '0x10', ' 1 ', '1_000', '1,5', 'null', 'true', 'all', 'ALL', ' all',
  'slot01', 'slot02', 'slot99', 'CV', 'cv ', 'EIS', 'XYZ', '__proto__', 'constructor', 'prototype', 'toString', '..', '../..',
  '/etc/passwd', 'C:\\Windows', '\u0000', 'a\u0000b', '\ud800', '\udfff', 'x\ud83dy', '😀', 'Ωμέγα', '\u202e', 'line\nbreak', '\r\n',
  '%00', '%2e%2e', '$(reboot)', '`id`', "'; DROP TABLE runs; --", '<script>alert(1)</script>', 'a'.repeat(300), 'é'.repeat(200),
  '2025-11-03T10:15:31Z', 'incomplete', 'completed', 'log', 'lin', 'smbclient', 'mount', 'auto',
];

const KEY_POOL = [
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '', ' ', 'devices', 'modes', 'params_by_mode',
  'tia_gain', 'sampling_interval', 'experiment_name', 'subdir', 'client_datetime', 'run_name', 'folder_name', 'group_id', 'make_plot',
  'run_ids', 'CV', 'ca', 'CA ', 'EIS', 'start', 'end', 'cycles', 'scan_rate', 'duration', 'potentials', 'currents', 'share', 'password',
  'port', 'transport', 'retention_days', 'base_subdir', 'domain', 'username', '\ud800', '😀', 'a'.repeat(200),
];

const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...STRING_POOL) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.integer({ min: 256, max: 20_000 }).map((n) => 'x'.repeat(n)) },
);

const hostileNumber: fc.Arbitrary<JNode> = fc.oneof(
  fc.constantFrom(...NUMBER_TEXTS).map(raw),
  fc.integer().map((n) => raw(String(n))),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => raw(JSON.stringify(x))),
);

const scalar: fc.Arbitrary<JNode> = fc.oneof(
  { weight: 3, arbitrary: hostileNumber },
  { weight: 3, arbitrary: hostileString.map((s): JNode => ({ t: 'str', s })) },
  { weight: 1, arbitrary: fc.constantFrom(raw('true'), raw('false'), raw('null')) },
);

/** Nested arrays/objects deeper than the 64-level limit, up to 10 000 (as text: cheap). */
const deepNode: fc.Arbitrary<JNode> = fc
  .tuple(fc.oneof(fc.integer({ min: 60, max: 200 }), fc.constant(10_000)), fc.boolean())
  .map(([depth, objects]) => raw(objects ? '{"a":'.repeat(depth) + '1' + '}'.repeat(depth) : '['.repeat(depth) + ']'.repeat(depth)));

/** Wide arrays and objects (thousands of elements or keys). */
const wideNode: fc.Arbitrary<JNode> = fc.tuple(fc.integer({ min: 100, max: 5_000 }), fc.constantFrom('1', '"x"', 'null', '-1', '[]', '{}'), fc.boolean()).map(([n, item, object]) =>
  raw(object ? `{${Array.from({ length: n }, (_, i) => `"k${i}":${item}`).join(',')}}` : `[${Array(n).fill(item).join(',')}]`),
);

const { value: hostileValue } = fc.letrec<{ value: JNode; arr: JNode; obj: JNode }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 8, arbitrary: scalar },
    { weight: 2, arbitrary: tie('arr') },
    { weight: 2, arbitrary: tie('obj') },
    { weight: 1, arbitrary: deepNode },
    { weight: 1, arbitrary: wideNode },
  ),
  arr: fc.array(tie('value'), { maxLength: 5 }).map((items): JNode => ({ t: 'arr', items })),
  // Random objects never carry a 'host' key: a NAS set-up must not reach a host off this machine.
  obj: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...KEY_POOL), hostileString.filter((k) => k !== 'host')), tie('value')), { maxLength: 5 }).map((entries): JNode => ({ t: 'obj', entries })),
}));

const ABSENT = Symbol('absent');

/**
 * A template object with mutations: each field kept (mostly), replaced by a hostile value,
 * dropped, or duplicated; extra hostile keys (`__proto__` ...) added. `fields` overrides the
 * mutation of particular keys.
 */
function mutated(template: Record<string, unknown>, fields: Record<string, fc.Arbitrary<JNode | typeof ABSENT>> = {}): fc.Arbitrary<JNode> {
  const perField = Object.fromEntries(
    Object.entries(template).map(([key, value]) => [
      key,
      fields[key] ??
        fc.oneof(
          { weight: 30, arbitrary: fc.constant<JNode | typeof ABSENT>(toNode(value)) },
          { weight: 2, arbitrary: hostileValue as fc.Arbitrary<JNode | typeof ABSENT> },
          { weight: 1, arbitrary: fc.constant<JNode | typeof ABSENT>(ABSENT) },
        ),
    ]),
  );
  const extra = fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(fc.tuple(fc.constantFrom(...KEY_POOL), hostileValue), { minLength: 1, maxLength: 3 }) });
  return fc.tuple(fc.record(perField), extra, fc.integer({ min: 0, max: 9 })).map(([values, extras, order]): JNode => {
    const entries = Object.entries(values).filter((e): e is [string, JNode] => e[1] !== ABSENT);
    // Extra keys before or after (a duplicate key later in the text wins in JSON.parse).
    return { t: 'obj', entries: order < 5 ? [...entries, ...extras] : [...extras, ...entries] };
  });
}

/** A whole body that is not what the route expects at all. */
const hostileBody: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 4, arbitrary: hostileValue.map((n) => Buffer.from(serialize(n))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\ufeff', '\ufeff{}', '{', '{"a":', '[1,]', "{'a':1}", 'NaN', '{"a":NaN}', '{"a":1e999}', 'host=x&share=y', '\u0000').map((t) => Buffer.from(t)) },
  { weight: 1, arbitrary: fc.constant(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])) }, // invalid UTF-8 in a string
);

/** A JSON body from a node, now and then damaged (truncated) or oversized. */
function bodyOf(node: fc.Arbitrary<JNode>): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 60, arbitrary: node.map((n) => Buffer.from(serialize(n))) },
    { weight: 6, arbitrary: hostileBody },
    { weight: 3, arbitrary: fc.tuple(node, fc.nat()).map(([n, cut]) => { const t = serialize(n); return Buffer.from(t.slice(0, cut % Math.max(1, t.length))); }) },
    { weight: 1, arbitrary: fc.constant(0).map(() => Buffer.alloc(1024 * 1024 + 10, 0x20)) }, // 413
  );
}

// ---- requests --------------------------------------------------------------------------------

interface FuzzCase {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

/** Percent-encode every byte outside the unreserved set (lone surrogates become U+FFFD). */
function encodeSegment(text: string): string {
  return [...Buffer.from(text, 'utf8')].map((b) => (/[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

const RAW_SEGMENTS = ['..', '.', '%2e%2e', '%2E%2E%2F', '%2F', '%00', '%ff', '%', '%zz', '%E0%A4%A', '__proto__', 'constructor', '%5F%5Fproto%5F%5F', 'a'.repeat(2000), ';', 'x;y=1', '~', '%20', '+'];

function segment(realIds: () => string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant(0).chain(() => (realIds().length > 0 ? fc.constantFrom(...realIds()) : fc.constant('none'))) },
    { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/) },
    { weight: 2, arbitrary: fc.constantFrom(...RAW_SEGMENTS) },
    { weight: 2, arbitrary: hostileString.map(encodeSegment) },
  );
}

const QUERY_KEYS = ['state', 'group_id', 'path', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'path[]', 'state[0]', '', 'x'];

const query: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.constant('') },
  {
    weight: 3,
    arbitrary: fc.array(fc.tuple(fc.constantFrom(...QUERY_KEYS), fc.oneof(hostileString.map(encodeSegment), fc.constantFrom(...RAW_SEGMENTS))), { minLength: 1, maxLength: 4 }).map(
      (pairs) => `?${pairs.map(([k, v]) => `${encodeSegment(k)}=${v}`).join('&')}`,
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom('?', '?&&', '?=', '?a', '?state=incomplete&state=completed', '?%', '?path=%00', '?' + 'a=1&'.repeat(2000)) },
);

const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'image/png', ''];

/** Headers: the right key mostly; sometimes none, a wrong one, an odd Origin, odd content types. */
function headersArb(): fc.Arbitrary<Record<string, string>> {
  return fc.record({
    key: fc.oneof({ weight: 17, arbitrary: fc.constant('right') }, { weight: 1, arbitrary: fc.constantFrom('none', 'wrong', 'empty') }),
    origin: fc.oneof({ weight: 17, arbitrary: fc.constant('none') }, { weight: 2, arbitrary: fc.constantFrom('same', 'foreign', 'null', 'cross-site') }),
    contentType: fc.constantFrom(...CONTENT_TYPES),
    requestId: fc.option(hostileString.map((s) => encodeSegment(s).slice(0, 100)), { nil: undefined }),
  }).map((h) => {
    const out: Record<string, string> = {};
    if (h.key === 'right') out['X-API-Key'] = daemon.apiKey;
    else if (h.key === 'wrong') out['X-API-Key'] = `${daemon.apiKey}x`;
    else if (h.key === 'empty') out['X-API-Key'] = '';
    if (h.origin === 'same') out['Origin'] = `http://127.0.0.1:${daemon.port}`;
    else if (h.origin === 'foreign') out['Origin'] = 'http://evil.example';
    else if (h.origin === 'null') out['Origin'] = 'null';
    else if (h.origin === 'cross-site') out['Sec-Fetch-Site'] = 'cross-site';
    if (h.contentType !== '') out['Content-Type'] = h.contentType;
    if (h.requestId !== undefined) out['X-Request-Id'] = h.requestId;
    return out;
  });
}

function caseOf(method: fc.Arbitrary<string>, path: fc.Arbitrary<string>, body: fc.Arbitrary<Buffer | undefined>): fc.Arbitrary<FuzzCase> {
  return fc.record({ method, path, headers: headersArb(), body }).map((c) => ({ ...c, body: c.body }));
}

const noBody = fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: hostileBody });
const OTHER_METHODS = ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'FOO', 'M-SEARCH', 'get'];

// ---- the endpoint classes --------------------------------------------------------------------

const MODE_TEMPLATES: Record<string, Record<string, unknown>> = {
  CA: { potential: 0.1, duration: 0.2 },
  CV: { start: 0, vertex1: 0.5, vertex2: -0.5, end: 0, scan_rate: 1, cycles: 1 },
  LSV: { start: 0, end: 0.2, scan_rate: 1 },
  OCP: { duration: 0.2 },
  PSTEP: { potentials: [0.1, 0.2], step_duration: 0.1 },
  CP: { current: 1e-6, duration: 0.2 },
  GS: { start: 0, end: 1e-6, num_steps: 2, step_duration: 0.1 },
  GCV: { start: 0, vertex1: 1e-6, vertex2: -1e-6, end: 0, num_steps: 2, step_duration: 0.05, cycles: 1 },
  STEPSEQ: { currents: [1e-6, -1e-6], step_duration: 0.1 },
  EIS: { start_freq: 100, end_freq: 10, points_per_decade: 2 },
  CDL: { vertex_a: 0, vertex_b: 0.1, scan_rates: [1, 2] },
};
const MODE_NAMES = Object.keys(MODE_TEMPLATES);

const modeToken = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...MODE_NAMES) },
  { weight: 2, arbitrary: fc.constantFrom(...MODE_NAMES.map((m) => m.toLowerCase()), 'XYZ', 'DC', 'AC', 'cv%20', '%20CV') },
  { weight: 2, arbitrary: segment(() => []) },
);

function modeParamsBody(mode: string): fc.Arbitrary<JNode> {
  const template = MODE_TEMPLATES[mode.toUpperCase().trim()] ?? MODE_TEMPLATES.CV!;
  return mutated(template);
}

let clientSecond = 0;
function jobTemplate(): fc.Arbitrary<JNode> {
  return fc.constantFrom(...MODE_NAMES).chain((mode) => {
    clientSecond += 1;
    const template = {
      devices: ['slot01'],
      modes: [mode],
      params_by_mode: { [mode]: MODE_TEMPLATES[mode] },
      tia_gain: 0,
      sampling_interval: null,
      experiment_name: 'Fuzz',
      subdir: 'f',
      client_datetime: `2025-01-01T00:00:00Z-${clientSecond}`,
      run_name: null,
      group_id: 'g',
      make_plot: false,
    };
    return mutated(template, {
      params_by_mode: fc.oneof(
        { weight: 6, arbitrary: modeParamsBody(mode).map((p): JNode => ({ t: 'obj', entries: [[mode, p]] })) },
        { weight: 1, arbitrary: hostileValue },
      ),
      devices: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(toNode(['slot01']), toNode(['slot02']), toNode('all'), toNode(['slot01', 'slot01'])) },
        { weight: 1, arbitrary: hostileValue },
      ),
      run_name: fc.oneof(
        { weight: 4, arbitrary: fc.constant(raw('null')) },
        { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/).map((s): JNode => ({ t: 'str', s })) },
        { weight: 1, arbitrary: hostileValue },
      ),
    });
  });
}

const realRunIds = (): string[] => [...realRuns.map((r) => r.runId), ...startedRunIds];

interface EndpointClass {
  name: string;
  cases: () => fc.Arbitrary<FuzzCase>;
}

const CLASSES: EndpointClass[] = [
  {
    name: 'devices',
    cases: () =>
      caseOf(
        fc.oneof({ weight: 6, arbitrary: fc.constant('GET') }, { weight: 1, arbitrary: fc.constantFrom('HEAD', 'POST', ...OTHER_METHODS) }),
        fc.tuple(
          fc.oneof(
            { weight: 3, arbitrary: fc.constantFrom('/devices', '/devices/status') },
            { weight: 1, arbitrary: fc.constantFrom('/devices/', '/devices/status/', '/Devices', '/devices/status/x', '//devices', '/devices%2Fstatus', '/devices/%73tatus') },
          ),
          query,
        ).map(([p, q]) => p + q),
        noBody,
      ),
  },
  {
    name: 'modes',
    cases: () =>
      fc.oneof(
        caseOf(fc.constantFrom('GET', 'HEAD', 'POST', 'DELETE'), query.map((q) => `/modes${q}`), noBody),
        caseOf(fc.constantFrom('GET', 'GET', 'POST'), modeToken.map((m) => `/modes/${m}/params`), noBody),
        { weight: 6, arbitrary: modeToken.chain((m) => caseOf(fc.oneof({ weight: 9, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT') }), fc.constant(`/modes/${m}/validate`), bodyOf(modeParamsBody(decodeURIComponentSafe(m))))) },
      ),
  },
  {
    name: 'jobs',
    cases: () =>
      fc.oneof(
        { weight: 6, arbitrary: caseOf(fc.constant('POST'), fc.constant('/jobs'), bodyOf(jobTemplate())) },
        { weight: 2, arbitrary: caseOf(fc.constantFrom('GET', 'HEAD'), query.map((q) => `/jobs${q}`), noBody) },
        { weight: 2, arbitrary: caseOf(fc.constant('POST'), fc.constant('/jobs/status'), bodyOf(mutated({ run_ids: ['x'] }, { run_ids: fc.oneof(fc.constant(0).map(() => toNode(realRunIds().slice(0, 3))), hostileValue, fc.array(segment(realRunIds), { maxLength: 4 }).map((a) => toNode(a))) }))) },
        { weight: 2, arbitrary: caseOf(fc.constantFrom('GET', 'GET', 'POST'), fc.tuple(segment(realRunIds), query).map(([s, q]) => `/jobs/${s}${q}`), noBody) },
        { weight: 2, arbitrary: caseOf(fc.constantFrom('POST', 'POST', 'GET'), segment(realRunIds).map((s) => `/jobs/${s}/cancel`), noBody) },
      ),
  },
  {
    name: 'runs',
    cases: () => {
      const filePath = fc.oneof(
        { weight: 3, arbitrary: fc.constant(0).chain(() => fc.constantFrom(...realRuns.flatMap((r) => r.files))) },
        { weight: 2, arbitrary: fc.constantFrom('../../../../etc/passwd', '/etc/passwd', 'Wells/../../x', 'Wells/slot01/../../../..', '%00', 'a\u0000b', 'UPLOAD_DONE', '.', '', '/', 'Wells', 'Wells/slot01', '\\..\\..\\x', '..%2F..%2F', 'C:/x', '~root', 'a'.repeat(5000)) },
        { weight: 2, arbitrary: hostileString },
      );
      return fc.oneof(
        caseOf(fc.constantFrom('GET', 'GET', 'HEAD', 'POST'), segment(realRunIds).map((s) => `/runs/${s}/files`), noBody),
        { weight: 2, arbitrary: caseOf(fc.constantFrom('GET', 'GET', 'HEAD'), fc.tuple(segment(realRunIds), fc.oneof(filePath.map((p) => `?path=${encodeSegment(p)}`), query)).map(([s, q]) => `/runs/${s}/file${q}`), noBody) },
        caseOf(fc.constantFrom('GET', 'GET', 'HEAD', 'DELETE'), segment(realRunIds).map((s) => `/runs/${s}/zip`), noBody),
        caseOf(fc.constantFrom('GET', 'PUT'), segment(realRunIds).map((s) => `/runs/${s}/upload`), noBody),
        caseOf(fc.constantFrom('GET', 'POST'), fc.tuple(fc.constantFrom('/runs', '/runs/', '/runs//files', '/runs/x/y/z', '/runs/x/file/'), query).map(([p, q]) => p + q), noBody),
      );
    },
  },
  {
    name: 'nas',
    cases: () => {
      // Loopback or invalid only: nothing may leave this machine.
      const safeHost = fc.constantFrom<JNode | typeof ABSENT>(toNode('127.0.0.1'), toNode('localhost'), toNode('[::1]'), toNode('/127.0.0.1/'), toNode(''), toNode(' '), toNode('a b'), toNode('-oProxy'), toNode('x/y'), toNode('x\\y'), raw('null'), raw('1'), raw('[]'), raw('{}'), ABSENT);
      const closedPort = fc.constantFrom<JNode | typeof ABSENT>(raw('1'), raw('9'), raw('0'), raw('-1'), raw('65536'), raw('1e308'), raw('1.5'), toNode('445'), raw('null'), ABSENT);
      const setup = mutated(
        { host: '127.0.0.1', share: 'share', username: 'user', password: 'secret-pw', base_subdir: 'box', retention_days: 14, domain: null, port: 1, transport: 'smbclient' },
        { host: safeHost, port: closedPort },
      );
      return fc.oneof(
        { weight: 5, arbitrary: caseOf(fc.oneof({ weight: 9, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT') }), fc.constant('/nas/setup'), bodyOf(setup).filter((b) => !/"host"\s*:\s*"(?!127\.0\.0\.1"|localhost"|\[::1\]")[A-Za-z0-9]/.test(b.toString('latin1')))) },
        { weight: 2, arbitrary: caseOf(fc.constantFrom('GET', 'GET', 'HEAD', 'POST'), query.map((q) => `/nas/health${q}`), noBody) },
        { weight: 2, arbitrary: caseOf(fc.constantFrom('POST', 'POST', 'GET'), segment(realRunIds).map((s) => `/runs/${s}/upload`), noBody) },
        caseOf(fc.constantFrom('GET', 'POST'), fc.constantFrom('/nas', '/nas/', '/nas/setup/', '/NAS/setup', '/nas/health/x'), noBody),
      );
    },
  },
  {
    name: 'admin',
    cases: () =>
      caseOf(
        fc.oneof({ weight: 3, arbitrary: fc.constant('POST') }, { weight: 2, arbitrary: fc.constantFrom('GET', 'HEAD', ...OTHER_METHODS) }),
        fc.oneof(
          { weight: 2, arbitrary: fc.constant('/admin/rescan') },
          { weight: 3, arbitrary: fc.tuple(fc.constantFrom('/admin', '/admin/', '/admin/rescan/', '/admin/Rescan', '/admin/rescan/x', '/admin//rescan', '/admin/%72escan', '/admin/rescan%00'), query).map(([p, q]) => p + q) },
        ),
        noBody,
      ),
  },
  {
    name: 'unknown',
    cases: () =>
      caseOf(
        fc.constantFrom('GET', 'POST', 'HEAD', ...OTHER_METHODS),
        fc.oneof(
          fc.tuple(fc.array(fc.oneof(segment(() => []), fc.constantFrom(...MODE_NAMES, 'jobs', 'runs', 'nas', 'admin', 'devices', 'modes', 'docs', 'health')), { minLength: 1, maxLength: 6 }), query).map(([segs, q]) => `/${segs.join('/')}${q}`),
          fc.constantFrom('/', '//', '/%2F', '/.', '/..', '/openapi.json/', '/docs/', '/version/', '/health%00', '/HEALTH', '/jobs/status/x', '/' + 'a/'.repeat(2000), '/\u00e9'.normalize()).map((p) => p.replace(/[^\x21-\x7e]/g, (c) => encodeSegment(c))),
        ),
        noBody,
      ),
  },
];

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

// ---- sending and checking --------------------------------------------------------------------

interface FuzzResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function send(c: FuzzCase): Promise<FuzzResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...c.headers };
    if (c.body !== undefined) headers['Content-Length'] = String(c.body.length);
    const req = httpRequest({ host: '127.0.0.1', port: daemon.port, method: c.method, path: c.path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', reject);
    req.end(c.body);
  });
}

/** What a failing case looks like, for the message (replayable with curl). */
function describeCase(c: FuzzCase): string {
  const body = c.body === undefined ? '' : ` body(${c.body.length} B)=${JSON.stringify(c.body.subarray(0, 300).toString('latin1'))}`;
  return `${c.method} ${c.path.slice(0, 300)} headers=${JSON.stringify(c.headers)}${body}`;
}

const KNOWN_CODES = new Set(Object.keys(ERROR_TABLE));

function checkResponse(c: FuzzCase, res: FuzzResponse): string | null {
  if (res.status >= 500) return `status ${res.status}: ${res.body.toString('utf8').slice(0, 300)}`;
  // API answers are never stored; the dashboard's static files (with an ETag) are revalidated on every use.
  const cacheControl = res.headers['etag'] === undefined ? 'no-store' : 'no-cache';
  if (res.headers['x-content-type-options'] !== 'nosniff' || typeof res.headers['content-security-policy'] !== 'string' || res.headers['cache-control'] !== cacheControl) {
    return `security headers missing: ${JSON.stringify(res.headers)}`;
  }
  if (res.status < 400) {
    if (c.method !== 'HEAD' && /^application\/json/.test(res.headers['content-type'] ?? '')) {
      try {
        JSON.parse(res.body.toString('utf8'));
      } catch {
        return 'a 2xx JSON body that does not parse';
      }
    }
    return null;
  }
  if (c.method === 'HEAD') return null; // no body to check
  if (!/^application\/json/.test(res.headers['content-type'] ?? '')) return `error ${res.status} is not JSON: ${res.headers['content-type']}`;
  let envelope: { code?: unknown };
  try {
    envelope = JSON.parse(res.body.toString('utf8')) as { code?: unknown };
  } catch {
    return `error ${res.status} body does not parse`;
  }
  if (!validateEnvelope(envelope)) return `not the envelope: ${JSON.stringify(validateEnvelope.errors)} ${res.body.toString('utf8').slice(0, 300)}`;
  if (typeof envelope.code !== 'string' || !KNOWN_CODES.has(envelope.code)) return `unknown code ${String(envelope.code)}`;
  if (statusOfCode(envelope.code) !== res.status) return `code ${envelope.code} with status ${res.status}`;
  return null;
}

/** Accepted jobs are cancelled at once (the fuzzer is not here to measure). */
async function cancelIfStarted(c: FuzzCase, res: FuzzResponse): Promise<void> {
  if (c.method !== 'POST' || c.path !== '/jobs' || res.status !== 200) return;
  const runId = (JSON.parse(res.body.toString('utf8')) as JobStatusLike).run_id;
  startedRunIds.push(runId);
  const cancel = await daemon.post(`/jobs/${runId}/cancel`);
  assert.ok(cancel.status < 500, `cancel ${runId}: ${cancel.status} ${cancel.text}`);
}

describe('HTTP fuzzing (fast-check)', () => {
  for (const [index, cls] of CLASSES.entries()) {
    test(`${cls.name}: ${CASES} hostile requests, no 5xx, every error the envelope`, { timeout: 600_000 }, async (t) => {
      const seed = SEED + index;
      const cases = fc.sample(cls.cases(), { seed, numRuns: CASES });
      const statuses = new Map<number, number>();
      const failures: string[] = [];
      const t0 = performance.now();
      for (let i = 0; i < cases.length; i += BATCH) {
        await Promise.all(
          cases.slice(i, i + BATCH).map(async (c) => {
            let res: FuzzResponse;
            try {
              res = await send(c);
            } catch (err) {
              failures.push(`no answer (${(err as Error).message}): ${describeCase(c)}`);
              return;
            }
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
            const problem = checkResponse(c, res);
            if (problem !== null) failures.push(`${problem}\n    ${describeCase(c)}`);
            await cancelIfStarted(c, res);
          }),
        );
      }
      const seconds = (performance.now() - t0) / 1000;
      const histogram = [...statuses.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}:${n}`).join(' ');
      const line = `fuzz ${cls.name}: ${cases.length} cases in ${seconds.toFixed(1)} s (seed ${seed}) — ${histogram}`;
      t.diagnostic(line);
      assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${cases.length} cases failed (seed ${seed}); first ones above`);
      const health = await daemon.get<{ ok: boolean }>('/health');
      assert.equal(health.status, 200, 'the daemon still answers');
    });
  }

  test('the daemon is alive and well at the end: /health, a job still runs, nothing in the logs at error level', async (t) => {
    const health = await daemon.get<{ ok: boolean; devices: number }>('/health');
    assert.equal(health.status, 200);
    assert.equal(health.json.ok, true);
    assert.equal(health.json.devices, 2);
    // Every job the fuzzer started has ended (cancelled or done) and the slots are free again.
    for (const runId of startedRunIds) await waitForJob(daemon, runId);
    const job = await submitJob(daemon, { devices: 'all', modes: ['CA'], params_by_mode: { CA: { potential: 0.1, duration: 0.2 } }, experiment_name: 'AfterFuzz', client_datetime: '2025-01-02T00:00:00Z', make_plot: false });
    assert.equal((await waitForJob(daemon, job.run_id)).status, 'done');
    const errors = daemon.logRecords().filter((r) => typeof r.level === 'number' && r.level >= 50);
    assert.deepEqual(errors.slice(0, 3), [], 'no error-level log line');
    assert.ok(daemon.running());
    t.diagnostic(`fuzz: ${startedRunIds.length} jobs were accepted (and cancelled at once)`);
  });
});
