import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import {
  listModes, describeModeParams, normaliseModeName, getModeFamily, resolveModeToken, MODE_SCHEMAS, MODE_NAMES, UnsupportedModeError,
  SCHEMA_ANNOTATION_KEYWORDS,
  type ModeParamsMap, type ModeName, type CommonParams, type ChargeCutoffParams, type PotentialCutoffParams,
} from '../../../src/modes/index.js';

test('catalogue order and families', () => {
  assert.deepEqual(listModes().map((m) => m.mode), ['CA', 'LSV', 'CV', 'PSTEP', 'CP', 'GS', 'GCV', 'STEPSEQ', 'OCP', 'CDL', 'EIS']);
  assert.deepEqual(listModes().map((m) => m.family), ['pot', 'pot', 'pot', 'pot', 'gal', 'gal', 'gal', 'gal', 'ocp', 'pot', 'pot']);
  assert.equal(getModeFamily('EIS'), 'pot');
});

/** The shared parameters of schemas/modes/common-params.fragment.json, by group, as the catalogue reports them. */
const EVERY_MODE = { tia_gain: 'Optional[int]', rest_s: 'float' } as const;
const CHARGE = { charge_cutoff_c: 'Optional[float]' } as const;
const POT_CUTOFF = { potential_cutoff_max: 'Optional[float]', potential_cutoff_min: 'Optional[float]', potential_cutoff_action: 'str' } as const;
const POT_SHARED = { ...EVERY_MODE, ...CHARGE };
const GAL_SHARED = { ...EVERY_MODE, ...CHARGE, ...POT_CUTOFF };

test('parameter type strings follow rest-api 8.3 in declaration order: own parameters, then the shared ones', () => {
  const expected: Record<string, Record<string, string>> = {
    CA: { potential: 'float', duration: 'float', ...POT_SHARED },
    LSV: { start: 'float', end: 'float', scan_rate: 'float', ...POT_SHARED },
    CV: { start: 'float', vertex1: 'float', vertex2: 'float', end: 'float', scan_rate: 'float', cycles: 'int', ...POT_SHARED },
    PSTEP: { potentials: 'list[float]', step_duration: 'float', ...POT_SHARED },
    CP: { current: 'float', duration: 'float', ...GAL_SHARED },
    GS: { start: 'float', end: 'float', num_steps: 'int', step_duration: 'float', ...GAL_SHARED },
    GCV: { start: 'float', vertex1: 'float', vertex2: 'float', end: 'float', num_steps: 'int', step_duration: 'float', cycles: 'int', ...GAL_SHARED },
    STEPSEQ: { currents: 'list[float]', step_duration: 'float', ...GAL_SHARED },
    OCP: { duration: 'float', ...EVERY_MODE },
    CDL: { vertex_a: 'float', vertex_b: 'float', scan_rates: 'list[float]', rest_time: 'float', start: 'Optional[float]', end: 'Optional[float]', ...POT_SHARED },
  };
  for (const m of MODE_NAMES) {
    if (m === 'EIS') continue; // the EIS part owns its own parameter list; its shared ones are checked below
    const got = describeModeParams(m);
    assert.deepEqual(got, expected[m], m);
    assert.deepEqual(Object.keys(got), Object.keys(expected[m]!), `${m} order`);
  }
  const eis = describeModeParams('EIS');
  assert.deepEqual(Object.keys(eis).slice(-2), ['tia_gain', 'rest_s']);
  assert.equal(eis.tia_gain, 'Optional[int]');
  assert.equal('charge_cutoff_c' in eis, false);
});

test('shared parameters: one declaration merged into every schema, with defaults', () => {
  const defaults = (m: ModeName) => Object.fromEntries(listModes().find((x) => x.mode === m)!.params.map((p) => [p.name, p.default]));
  for (const m of MODE_NAMES) {
    const d = defaults(m);
    assert.equal(d.tia_gain, null, m);
    assert.equal(typeof d.rest_s, 'number', m);
    const props = MODE_SCHEMAS[m].properties as Record<string, unknown>;
    // The same declaration everywhere (not eleven copies that could drift apart).
    assert.deepEqual(props.tia_gain, MODE_SCHEMAS.CA.properties && (MODE_SCHEMAS.CA.properties as Record<string, unknown>).tia_gain, m);
  }
  assert.deepEqual(
    Object.fromEntries(Object.entries(defaults('CP')).filter(([k]) => k.includes('cutoff') || k === 'rest_s')),
    { rest_s: 0, charge_cutoff_c: null, potential_cutoff_max: null, potential_cutoff_min: null, potential_cutoff_action: 'stop_mode' },
  );
  assert.deepEqual(listModes().find((x) => x.mode === 'GS')!.params.find((p) => p.name === 'potential_cutoff_action')!.choices, ['stop_mode', 'next_step']);
});

const SHARED_NAMES = new Set(Object.keys(GAL_SHARED));

test('defaults come from the schemas (CDL rest_time 0, EIS defaults of 7.1)', () => {
  const defaults = (m: ModeName) => Object.fromEntries(listModes().find((x) => x.mode === m)!.params.filter((p) => p.default !== undefined).map((p) => [p.name, p.default]));
  const own = (m: ModeName) => Object.fromEntries(Object.entries(defaults(m)).filter(([k]) => !SHARED_NAMES.has(k)));
  assert.deepEqual(own('CDL'), { rest_time: 0, start: null, end: null });
  assert.deepEqual(own('CV'), {});
  const eis = listModes().find((x) => x.mode === 'EIS')!;
  assert.deepEqual(eis.params.find((p) => p.name === 'spacing')!.choices, ['log', 'lin']);
  assert.deepEqual(eis.params.filter((p) => p.required).map((p) => p.name), ['start_freq', 'end_freq', 'points_per_decade']);
});

test('schemas: draft 2020-12, $id per mode, accepted by a strict ajv', () => {
  const ajv = new Ajv2020({ strict: true });
  for (const keyword of SCHEMA_ANNOTATION_KEYWORDS) ajv.addKeyword({ keyword, schemaType: 'string' });
  for (const m of MODE_NAMES) {
    const s = MODE_SCHEMAS[m];
    assert.equal(s.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(s.$id, `https://beepbox.local/schemas/modes/${m.toLowerCase()}.schema.json`);
    ajv.addSchema(s);
    assert.equal(typeof ajv.getSchema(String(s.$id)), 'function', m);
  }
});

type SharedKeys = CommonParams & ChargeCutoffParams & PotentialCutoffParams;

test('schema property names match the TypeScript parameter types', () => {
  // Own parameters per mode (the shared ones are typed once, in CommonParams & co.).
  const own: { [M in ModeName]: Record<Exclude<keyof ModeParamsMap[M], keyof SharedKeys>, true> } = {
    CA: { potential: true, duration: true },
    LSV: { start: true, end: true, scan_rate: true },
    CV: { start: true, vertex1: true, vertex2: true, end: true, scan_rate: true, cycles: true },
    PSTEP: { potentials: true, step_duration: true },
    CP: { current: true, duration: true },
    GS: { start: true, end: true, num_steps: true, step_duration: true },
    GCV: { start: true, vertex1: true, vertex2: true, end: true, num_steps: true, step_duration: true, cycles: true },
    STEPSEQ: { currents: true, step_duration: true },
    OCP: { duration: true },
    CDL: { vertex_a: true, vertex_b: true, scan_rates: true, rest_time: true, start: true, end: true },
    EIS: Object.fromEntries(Object.keys(MODE_SCHEMAS.EIS.properties as object).filter((k) => !SHARED_NAMES.has(k)).map((k) => [k, true])) as never,
  };
  const shared: Record<keyof SharedKeys, true> = {
    tia_gain: true, rest_s: true, charge_cutoff_c: true, potential_cutoff_max: true, potential_cutoff_min: true, potential_cutoff_action: true,
  };
  for (const m of MODE_NAMES) {
    const props = Object.keys(MODE_SCHEMAS[m].properties as object);
    assert.deepEqual(props.filter((k) => !SHARED_NAMES.has(k)).sort(), Object.keys(own[m]).sort(), m);
    assert.ok(props.filter((k) => SHARED_NAMES.has(k)).every((k) => k in shared), m);
  }
});

test('mode names: case-insensitive, DC legacy mapping, AC unsupported', () => {
  assert.equal(normaliseModeName(' cv '), 'CV');
  assert.equal(normaliseModeName('Eis'), 'EIS');
  assert.equal(normaliseModeName('DC'), null);
  assert.equal(normaliseModeName('AC'), null);
  assert.deepEqual(resolveModeToken('cdl', { a: 1 }), { mode: 'CDL', raw: { a: 1 }, legacyToken: null });
  assert.deepEqual(resolveModeToken('dc', { duration_s: 5, voltage_v: 0.4, frequency_hz: 1 }), { mode: 'CA', raw: { potential: 0.4, duration: 5 }, legacyToken: 'DC' });
  assert.deepEqual(resolveModeToken('DC', { duration_s: '5', current_ma: 2, control_mode: 'current' }), { mode: 'CP', raw: { current: 0.002, duration: '5' }, legacyToken: 'DC' });
  assert.throws(() => resolveModeToken('ac', {}), (e: unknown) => e instanceof UnsupportedModeError && e.mode === 'AC' && e.field === 'mode');
});
