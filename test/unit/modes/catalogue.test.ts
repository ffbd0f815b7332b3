import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import {
  listModes, describeModeParams, normaliseModeName, getModeFamily, resolveModeToken, MODE_SCHEMAS, MODE_NAMES, UnsupportedModeError,
  type ModeParamsMap, type ModeName,
} from '../../../src/modes/index.js';

test('catalogue order and families', () => {
  assert.deepEqual(listModes().map((m) => m.mode), ['CA', 'LSV', 'CV', 'PSTEP', 'CP', 'GS', 'GCV', 'STEPSEQ', 'OCP', 'CDL', 'EIS']);
  assert.deepEqual(listModes().map((m) => m.family), ['pot', 'pot', 'pot', 'pot', 'gal', 'gal', 'gal', 'gal', 'ocp', 'pot', 'pot']);
  assert.equal(getModeFamily('EIS'), 'pot');
});

test('parameter type strings follow rest-api 8.3 in declaration order', () => {
  const expected: Record<string, Record<string, string>> = {
    CA: { potential: 'float', duration: 'float' },
    LSV: { start: 'float', end: 'float', scan_rate: 'float' },
    CV: { start: 'float', vertex1: 'float', vertex2: 'float', end: 'float', scan_rate: 'float', cycles: 'int' },
    PSTEP: { potentials: 'list[float]', step_duration: 'float' },
    CP: { current: 'float', duration: 'float' },
    GS: { start: 'float', end: 'float', num_steps: 'int', step_duration: 'float' },
    GCV: { start: 'float', vertex1: 'float', vertex2: 'float', end: 'float', num_steps: 'int', step_duration: 'float', cycles: 'int' },
    STEPSEQ: { currents: 'list[float]', step_duration: 'float' },
    OCP: { duration: 'float' },
    CDL: { vertex_a: 'float', vertex_b: 'float', scan_rates: 'list[float]', rest_time: 'float', start: 'Optional[float]', end: 'Optional[float]' },
    EIS: {
      start_freq: 'float', end_freq: 'float', points_per_decade: 'float', cycles_per_freq: 'int', spacing: 'str', amplitude: 'float',
      dc_bias: 'float', settling_cycles: 'int',
    },
  };
  for (const m of MODE_NAMES) {
    const got = describeModeParams(m);
    assert.deepEqual(got, expected[m], m);
    assert.deepEqual(Object.keys(got), Object.keys(expected[m]!), `${m} order`);
  }
});

test('defaults come from the schemas (CDL rest_time 0, EIS defaults of 7.1)', () => {
  const defaults = (m: ModeName) => Object.fromEntries(listModes().find((x) => x.mode === m)!.params.filter((p) => p.default !== undefined).map((p) => [p.name, p.default]));
  assert.deepEqual(defaults('CDL'), { rest_time: 0, start: null, end: null });
  assert.deepEqual(defaults('EIS'), { cycles_per_freq: 3, spacing: 'log', amplitude: 0.01, dc_bias: 0, settling_cycles: 1 });
  assert.deepEqual(defaults('CV'), {});
  const eis = listModes().find((x) => x.mode === 'EIS')!;
  assert.deepEqual(eis.params.find((p) => p.name === 'spacing')!.choices, ['log', 'lin']);
  assert.deepEqual(eis.params.filter((p) => p.required).map((p) => p.name), ['start_freq', 'end_freq', 'points_per_decade']);
});

test('schemas: draft 2020-12, $id per mode, accepted by a strict ajv', () => {
  const ajv = new Ajv2020({ strict: true });
  for (const m of MODE_NAMES) {
    const s = MODE_SCHEMAS[m];
    assert.equal(s.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(s.$id, `https://beepbox.local/schemas/modes/${m.toLowerCase()}.schema.json`);
    ajv.addSchema(s);
    assert.equal(typeof ajv.getSchema(String(s.$id)), 'function', m);
  }
});

test('schema property names match the TypeScript parameter types', () => {
  const keys: { [M in ModeName]: Record<keyof ModeParamsMap[M], true> } = {
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
    EIS: { start_freq: true, end_freq: true, points_per_decade: true, cycles_per_freq: true, spacing: true, amplitude: true, dc_bias: true, settling_cycles: true },
  };
  for (const m of MODE_NAMES) {
    assert.deepEqual(Object.keys(MODE_SCHEMAS[m].properties as object).sort(), Object.keys(keys[m]).sort(), m);
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
