import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  validateModeParams, parseModeParams, parseModeRequest, UnsupportedModeError, EIS_MAX_FREQ_HZ, MODE_NAMES, commonParamNames, getModeInfo,
  type ValidationResult, type IssueCode, type ModeName,
} from '../../../src/modes/index.js';
import { ValidationError } from '../../../src/errors.js';
import { PLAN_VECTORS } from './vectors.js';

/** `params` plus the shared parameters at their defaults: what parseModeParams returns when the client sent none. */
function withShared(mode: ModeName, params: object): Record<string, unknown> {
  const names = new Set(commonParamNames(mode));
  return { ...params, ...Object.fromEntries(getModeInfo(mode).params.filter((p) => names.has(p.name)).map((p) => [p.name, p.default])) };
}

const CV_OK = { start: 0.0, vertex1: 0.5, vertex2: -0.5, end: 0.0, scan_rate: 0.05, cycles: 3 };

function codes(r: ValidationResult, kind: 'errors' | 'warnings' = 'errors'): string[] {
  return r[kind].map((i) => `${i.field}:${i.code}`);
}

const seenCodes = new Set<IssueCode>();
function check(mode: string, raw: unknown): ValidationResult {
  const r = validateModeParams(mode, raw);
  for (const i of [...r.errors, ...r.warnings]) seenCodes.add(i.code);
  assert.equal(r.ok, r.errors.length === 0);
  assert.equal(r.adjusted === null, !r.ok);
  return r;
}

test('rest-api 3.7 example: numeric string cycles, high scan rate warning, adjusted', () => {
  const r = check('CV', { start: 0.0, vertex1: 0.5, vertex2: -0.5, end: 0.0, scan_rate: 7, cycles: '3' });
  assert.deepEqual(r, {
    ok: true,
    errors: [],
    warnings: [{ field: 'scan_rate', code: 'high_value', message: 'Scan rate exceeds 5 V/s; verify hardware capability.' }],
    adjusted: { start: 0.0, vertex1: 0.5, vertex2: -0.5, end: 0.0, scan_rate: 7, cycles: 3 },
  });
});

test('CV: reference rules, messages and issue order (rest-api 9.3)', () => {
  const r = check('cv', { start: null, vertex1: 'abc', vertex2: -10.5, end: 11, scan_rate: 0, cycles: 'x' });
  assert.deepEqual(r.errors, [
    { field: 'start', code: 'missing_field', message: 'Field is required.' },
    { field: 'vertex1', code: 'not_a_number', message: 'Value must be numeric.' },
    // #11: the range is the device's ±4.95 V (was the lab limit ±10 V, beyond which the DAC saturates).
    { field: 'vertex2', code: 'min_value', message: "Value must be at least -4.95 (the device's potential range is ±4.95 V)." },
    { field: 'end', code: 'max_value', message: "Value must be at most 4.95 (the device's potential range is ±4.95 V)." },
    { field: 'scan_rate', code: 'must_be_positive', message: 'Value must be greater than zero.' },
    { field: 'cycles', code: 'not_an_integer', message: 'Value must be an integer.' },
  ]);
  assert.equal(r.adjusted, null);
  assert.deepEqual(codes(check('CV', { ...CV_OK, cycles: 0 })), ['cycles:must_be_positive']);
  assert.deepEqual(codes(check('CV', { ...CV_OK, scan_rate: -1 })), ['scan_rate:must_be_positive']);
  const zero = check('CV', { start: 0.2, vertex1: '0.2', vertex2: 0.2, end: 0.2, scan_rate: 1, cycles: 1 });
  assert.deepEqual(zero.errors, [{ field: 'end', code: 'zero_sweep', message: 'Potential sweep must span at least one vertex.' }]);
  // zero_sweep also when the equal potentials are out of range (present, numeric and equal)
  assert.deepEqual(codes(check('CV', { start: 12, vertex1: 12, vertex2: 12, end: 12, scan_rate: 1, cycles: 1 })),
    ['start:max_value', 'vertex1:max_value', 'vertex2:max_value', 'end:max_value', 'end:zero_sweep']);
  const warn = check('CV', { ...CV_OK, scan_rate: 6, cycles: 51, vertex1: 4.95, vertex2: -4.95 });
  assert.ok(warn.ok);
  assert.deepEqual(warn.warnings.map((w) => [w.field, w.code, w.message]), [
    ['scan_rate', 'high_value', 'Scan rate exceeds 5 V/s; verify hardware capability.'],
    ['cycles', 'high_value', 'Cycle count above 50 may lead to long experiment times.'],
  ]);
});

test('CV: cycles "2.7" is truncated with a value_adjusted warning; 3.0 and "3" are not', () => {
  const r = check('CV', { ...CV_OK, cycles: '2.7' });
  assert.ok(r.ok);
  assert.equal(r.adjusted!.cycles, 2);
  assert.deepEqual(r.warnings, [{ field: 'cycles', code: 'value_adjusted', message: 'Value adjusted to 2.' }]);
  assert.deepEqual(check('CV', { ...CV_OK, cycles: 2.7 }).warnings.map((w) => w.code), ['value_adjusted']);
  assert.deepEqual(check('CV', { ...CV_OK, cycles: 3.0 }).warnings, []);
  assert.deepEqual(check('CV', { ...CV_OK, cycles: '3' }).warnings, []);
  assert.deepEqual(codes(check('CV', { ...CV_OK, cycles: '0.5' })), ['cycles:must_be_positive']);
});

test('CV: stricter checks of modes.md 6.3 (finite numbers, distinct vertices, ≥ 2 points per sweep)', () => {
  for (const bad of [NaN, Infinity, -Infinity, 'NaN', 'Infinity', 'inf', '1e999', true, false, [], {}, [0.1], '0x10', '1,5']) {
    const r = check('CV', { ...CV_OK, start: bad });
    assert.deepEqual(codes(r), ['start:not_a_number'], `start=${String(bad)}`);
  }
  assert.deepEqual(codes(check('CV', { ...CV_OK, scan_rate: Infinity })), ['scan_rate:not_a_number']);
  assert.deepEqual(codes(check('CV', { ...CV_OK, cycles: true })), ['cycles:not_an_integer']);
  assert.deepEqual(codes(check('CV', { ...CV_OK, vertex1: 0.3, vertex2: 0.3 })), ['vertex2:equal_vertices']);
  // vertex2 → end = 0.0005 V at 1 V/s is one point
  const r = check('CV', { start: 0, vertex1: 0.5, vertex2: 0, end: 0.0005, scan_rate: 1, cycles: 1 });
  assert.deepEqual(codes(r), ['scan_rate:too_few_points']);
  assert.match(r.errors[0]!.message, /vertex2 → end/);
  // start = vertex1 is an empty sweep, not an error
  assert.ok(check('CV', { start: 0.5, vertex1: 0.5, vertex2: -0.5, end: -0.5, scan_rate: 0.2, cycles: 1 }).ok);
});

test('missing means absent, null or blank; 0 is present', () => {
  assert.deepEqual(codes(check('CA', { duration: 2 })), ['potential:missing_field']);
  assert.deepEqual(codes(check('CA', { potential: null, duration: 2 })), ['potential:missing_field']);
  assert.deepEqual(codes(check('CA', { potential: '  ', duration: 2 })), ['potential:missing_field']);
  assert.ok(check('CA', { potential: 0, duration: 2 }).ok);
  assert.ok(check('CA', { potential: '0', duration: '2' }).ok);
});

test('numeric strings are accepted for numbers, integers and list elements; adjusted has numbers', () => {
  const r = check('CV', { start: '0', vertex1: ' 0.5 ', vertex2: '-5e-1', end: '+0.0', scan_rate: '.05', cycles: '3' });
  assert.ok(r.ok);
  assert.deepEqual(r.adjusted, { start: 0, vertex1: 0.5, vertex2: -0.5, end: 0, scan_rate: 0.05, cycles: 3 });
  const p = check('PSTEP', { potentials: ['0.1', -0.2, '0.3'], step_duration: '1' });
  assert.deepEqual(p.adjusted, { potentials: [0.1, -0.2, 0.3], step_duration: 1 });
});

test('unknown keys are ignored for checks and copied into adjusted', () => {
  const r = check('CA', { potential: 0.5, duration: 2, note: 'hello' });
  assert.deepEqual(r.adjusted, { potential: 0.5, duration: 2, note: 'hello' });
  assert.deepEqual(parseModeParams('CA', { potential: 0.5, duration: 2, note: 'x' }), withShared('CA', { potential: 0.5, duration: 2 }));
});

test('payload must be an object', () => {
  for (const raw of [null, [], 'x', 3]) assert.deepEqual(codes(check('CA', raw)), ['*:not_an_object']);
});

test('CA, CP, OCP: duration > 0 and at least one point', () => {
  for (const mode of ['CA', 'CP', 'OCP']) {
    const base = mode === 'CA' ? { potential: 0.1 } : mode === 'CP' ? { current: 1e-3 } : {};
    assert.ok(check(mode, { ...base, duration: 0.00036 }).ok, mode);
    assert.deepEqual(codes(check(mode, { ...base, duration: 0 })), ['duration:must_be_positive'], mode);
    const few = check(mode, { ...base, duration: 0.0003 });
    assert.deepEqual(codes(few), ['duration:too_few_points'], mode);
  }
  assert.deepEqual(codes(check('CA', { potential: -10.01, duration: 1 })), ['potential:min_value']);
  assert.ok(check('CP', { current: -4.9e-3, duration: 1 }).ok, 'within the largest full scale');
  assert.deepEqual(codes(check('CP', { current: -0.5, duration: 1 })), ['current:out_of_range'], 'beyond every full scale (#11)');
  assert.deepEqual(codes(check('CP', { current: NaN, duration: 1 })), ['current:not_a_number']);
});

test('LSV: ranges, start ≠ end, N ≥ 2, high scan rate', () => {
  assert.ok(check('LSV', { start: -0.5, end: 0.5, scan_rate: 0.1 }).ok);
  assert.deepEqual(codes(check('LSV', { start: 0.3, end: 0.3, scan_rate: 0.1 })), ['end:zero_sweep']);
  assert.deepEqual(codes(check('LSV', { start: 0, end: 0.0005, scan_rate: 1 })), ['scan_rate:too_few_points']);
  assert.ok(check('LSV', { start: 0, end: 0.001, scan_rate: 1 }).ok);
  assert.deepEqual(codes(check('LSV', { start: 0, end: 1, scan_rate: 6 }), 'warnings'), ['scan_rate:high_value']);
  assert.deepEqual(codes(check('LSV', { start: 0, end: 10.5, scan_rate: 1 })), ['end:max_value']);
});

test('PSTEP and STEPSEQ: non-empty lists, element ranges, step points', () => {
  assert.deepEqual(codes(check('PSTEP', { potentials: [], step_duration: 1 })), ['potentials:empty_list']);
  assert.deepEqual(codes(check('PSTEP', { potentials: '0.1,0.2', step_duration: 1 })), ['potentials:not_a_list']);
  assert.deepEqual(codes(check('PSTEP', { potentials: [0.1, 20, 'x', null, -11], step_duration: 1 })),
    ['potentials[1]:max_value', 'potentials[2]:not_a_number', 'potentials[3]:not_a_number', 'potentials[4]:min_value']);
  assert.deepEqual(codes(check('PSTEP', { potentials: [0.1], step_duration: 0.0001 })), ['step_duration:too_few_points']);
  assert.deepEqual(codes(check('STEPSEQ', { currents: [], step_duration: 1 })), ['currents:empty_list']);
  assert.deepEqual(codes(check('STEPSEQ', { currents: [1e-3, true], step_duration: 1 })), ['currents[1]:not_a_number']);
  assert.deepEqual(codes(check('STEPSEQ', { currents: [1e-3], step_duration: 0.0001 })), ['step_duration:too_few_points']);
  assert.ok(check('STEPSEQ', { currents: [-1e-3, '0', 1e-3], step_duration: 1 }).ok);
});

test('GS: num_steps integer ≥ 1, warning for one step', () => {
  const ok = { start: -1e-3, end: 1e-3, num_steps: 50, step_duration: 0.1 };
  assert.ok(check('GS', ok).ok);
  assert.deepEqual(codes(check('GS', { ...ok, num_steps: 0 })), ['num_steps:must_be_positive']);
  assert.deepEqual(codes(check('GS', { ...ok, num_steps: 'many' })), ['num_steps:not_an_integer']);
  assert.deepEqual(codes(check('GS', { ...ok, num_steps: 1 }), 'warnings'), ['num_steps:single_step']);
  assert.deepEqual(codes(check('GS', { ...ok, step_duration: 0.0002 })), ['step_duration:too_few_points']);
});

test('GCV: integers ≥ 1, step points, cycles warning', () => {
  const ok = { start: 0, vertex1: 1e-3, vertex2: -1e-3, end: 5e-4, num_steps: 5, step_duration: 0.1, cycles: 2 };
  assert.ok(check('GCV', ok).ok);
  assert.deepEqual(codes(check('GCV', { ...ok, end: undefined })), ['end:missing_field']);
  assert.deepEqual(codes(check('GCV', { ...ok, cycles: 0, num_steps: -1 })), ['num_steps:must_be_positive', 'cycles:must_be_positive']);
  assert.deepEqual(codes(check('GCV', { ...ok, cycles: 51 }), 'warnings'), ['cycles:high_value']);
  assert.deepEqual(codes(check('GCV', { ...ok, step_duration: 0.0001 })), ['step_duration:too_few_points']);
});

test('CDL: defaults filled, vertex order, rates > 0, rest ≥ 0, sweep points', () => {
  const r = check('CDL', { vertex_a: 0.1, vertex_b: 0.3, scan_rates: [0.01, '0.02'] });
  assert.ok(r.ok);
  assert.deepEqual(r.adjusted, { vertex_a: 0.1, vertex_b: 0.3, scan_rates: [0.01, 0.02], rest_time: 0, start: 0.1, end: 0.1 });
  assert.deepEqual(check('CDL', { vertex_a: 0.1, vertex_b: 0.3, scan_rates: [0.1], start: null, end: '' }).adjusted!.start, 0.1);
  assert.deepEqual(codes(check('CDL', { vertex_a: 0.3, vertex_b: 0.1, scan_rates: [0.1] })), ['vertex_b:invalid_order']);
  assert.deepEqual(codes(check('CDL', { vertex_a: 0.1, vertex_b: 0.3, scan_rates: [0.1, 0, -1] })), ['scan_rates[1]:must_be_positive', 'scan_rates[2]:must_be_positive']);
  assert.deepEqual(codes(check('CDL', { vertex_a: 0.1, vertex_b: 0.3, scan_rates: [] })), ['scan_rates:empty_list']);
  assert.deepEqual(codes(check('CDL', { vertex_a: 0.1, vertex_b: 0.3, scan_rates: [0.1], rest_time: -1 })), ['rest_time:min_value']);
  assert.equal(check('CDL', { vertex_a: 0.1, vertex_b: 0.3, scan_rates: [0.1], rest_time: -1 }).errors[0]!.message, 'Value must be at least 0.0.');
  assert.deepEqual(codes(check('CDL', { vertex_a: 0.1, vertex_b: 0.3, scan_rates: [0.1], start: 'x' })), ['start:not_a_number']);
  assert.deepEqual(codes(check('CDL', { vertex_a: 0.1, vertex_b: 0.3, scan_rates: [0.1], end: 10.5 })), ['end:max_value']);
  assert.deepEqual(codes(check('CDL', { vertex_a: 0.1, vertex_b: 0.1002, scan_rates: [0.1, 1] })), ['scan_rates[1]:too_few_points']);
  assert.deepEqual(codes(check('CDL', { vertex_a: 0.1, vertex_b: 0.3, scan_rates: [0.1, 6] }), 'warnings'), ['scan_rates[1]:high_value']);
});

test('EIS: defaults, case-insensitive spacing, clamping with freq_clamped and adjusted', () => {
  const r = check('eis', { start_freq: 1000, end_freq: '1', points_per_decade: 10, cycles_per_freq: 3, spacing: 'log' });
  assert.ok(r.ok);
  assert.deepEqual(r.adjusted, {
    start_freq: EIS_MAX_FREQ_HZ, end_freq: 1, points_per_decade: 10, cycles_per_freq: 3, spacing: 'log', amplitude: 0.01, dc_bias: 0, settling_cycles: 1,
    settling_time_s: 0.2,
  });
  assert.deepEqual(r.warnings, [{
    field: 'start_freq', code: 'freq_clamped',
    message: 'start_freq 1000 Hz exceeds the usable maximum 277.78 Hz (10 points per period at 0.36 ms); clamped.',
  }]);
  const both = check('EIS', { start_freq: 5000, end_freq: 1000, points_per_decade: 10, spacing: 'LIN' });
  assert.deepEqual(codes(both, 'warnings'), ['spacing:value_adjusted', 'start_freq:freq_clamped', 'end_freq:freq_clamped']);
  assert.equal(both.adjusted!.spacing, 'lin');
  assert.equal(parseModeParams('EIS', { start_freq: 5000, end_freq: 1000, points_per_decade: 10 }).end_freq, EIS_MAX_FREQ_HZ);
});

test('EIS: errors and warnings of 7.3', () => {
  const ok = { start_freq: 100, end_freq: 10, points_per_decade: 5 };
  assert.deepEqual(codes(check('EIS', { end_freq: 10, points_per_decade: 5 })), ['start_freq:missing_field']);
  assert.deepEqual(codes(check('EIS', { ...ok, start_freq: 0, end_freq: -1, points_per_decade: 0 })),
    ['start_freq:must_be_positive', 'end_freq:must_be_positive', 'points_per_decade:must_be_positive']);
  assert.deepEqual(codes(check('EIS', { ...ok, cycles_per_freq: 0, settling_cycles: -1 })), ['cycles_per_freq:must_be_positive', 'settling_cycles:min_value']);
  assert.equal(check('EIS', { ...ok, settling_cycles: -1 }).errors[0]!.message, 'Value must be at least 0.');
  assert.deepEqual(codes(check('EIS', { ...ok, cycles_per_freq: 'three' })), ['cycles_per_freq:not_an_integer']);
  assert.deepEqual(codes(check('EIS', { ...ok, spacing: 'cubic' })), ['spacing:invalid_choice']);
  assert.deepEqual(codes(check('EIS', { ...ok, spacing: 3 })), ['spacing:invalid_choice']);
  assert.deepEqual(codes(check('EIS', { ...ok, amplitude: 0 })), ['amplitude:must_be_positive']);
  assert.deepEqual(codes(check('EIS', { ...ok, dc_bias: 9.99, amplitude: 0.02 })), ['dc_bias:out_of_range']);
  assert.deepEqual(codes(check('EIS', { ...ok, dc_bias: -9.99, amplitude: 0.02 })), ['dc_bias:out_of_range']);
  assert.deepEqual(codes(check('EIS', { ...ok, amplitude: 0.1 }), 'warnings'), ['amplitude:high_value']);
  assert.deepEqual(codes(check('EIS', { ...ok, settling_cycles: 0 })), []);
  // down to 1 mHz: 4 periods of 1000 s alone exceed 1 h
  const long = check('EIS', { start_freq: 100, end_freq: 0.001, points_per_decade: 5, cycles_per_freq: 3 });
  assert.ok(long.ok);
  assert.deepEqual(codes(long, 'warnings'), ['*:long_duration']);
  assert.deepEqual(codes(check('EIS', { ...ok, points_per_decade: 1e9 })), ['*:too_many_points']);
});

test('plan size: N = 0 is rejected, huge plans are rejected, > 1 h warns', () => {
  assert.deepEqual(codes(check('CDL', { vertex_a: 0.1, vertex_b: 0.3, scan_rates: [1e-9] })), ['*:too_many_points']);
  assert.deepEqual(codes(check('OCP', { duration: 4000 }), 'warnings'), ['*:long_duration']);
  assert.deepEqual(codes(check('CA', { potential: 0, duration: 1e6 })), ['*:too_many_points']);
  assert.deepEqual(codes(check('CV', { ...CV_OK, cycles: 1e12 })), ['*:too_many_points']);
});

test('every section 8 vector validates cleanly (no placeholder warnings) and runs as adjusted', () => {
  for (const v of PLAN_VECTORS) {
    const r = check(v.mode, v.params);
    assert.ok(r.ok, `${v.id}: ${JSON.stringify(r.errors)}`);
    assert.ok(!r.warnings.some((w) => w.code === 'not_implemented'), v.id);
    const parsed = parseModeParams(v.mode, v.params);
    const expected = v.mode === 'CDL'
      ? { ...v.params, start: (v.params as { start: number | null }).start ?? 0.1, end: (v.params as { end: number | null }).end ?? 0.1 }
      : v.params;
    assert.deepEqual(parsed, withShared(v.mode, expected), v.id);
  }
});

test('parseModeParams throws a ValidationError naming the field', () => {
  assert.throws(() => parseModeParams('CV', { ...CV_OK, scan_rate: 'fast' }), (err: unknown) => {
    assert.ok(err instanceof ValidationError);
    assert.equal(err.code, 'VALIDATION');
    assert.equal(err.field, 'scan_rate');
    assert.equal(err.message, 'scan_rate: Value must be numeric.');
    const details = err.details as { errors: unknown[]; mode: string };
    assert.equal(details.mode, 'CV');
    assert.equal(details.errors.length, 1);
    return true;
  });
  const cv = parseModeParams('CV', { ...CV_OK, cycles: '2.7' });
  assert.equal(cv.cycles, 2);
});

test('modes are case-insensitive; DC maps to CA/CP; AC and unknown modes are unsupported', () => {
  assert.ok(check(' lsv ', { start: 0, end: 1, scan_rate: 1 }).ok);
  const ca = check('dc', { duration_s: '2', voltage_v: '0.5', frequency_hz: 3 });
  assert.deepEqual(ca.adjusted, { potential: 0.5, duration: 2 });
  assert.deepEqual(codes(ca, 'warnings'), ['*:legacy_mode']);
  assert.deepEqual(parseModeRequest('DC', { duration_s: 2, current_ma: '1.5', control_mode: 'Current' }), { mode: 'CP', params: withShared('CP', { current: 0.0015, duration: 2 }) });
  assert.deepEqual(parseModeRequest('DC', { duration: 1, voltage_v: 0.2 }), { mode: 'CA', params: withShared('CA', { potential: 0.2, duration: 1 }) });
  assert.deepEqual(codes(check('DC', { duration_s: 2, control_mode: 'current' })), ['current:missing_field']);
  for (const bad of ['AC', 'xyz', '']) {
    assert.throws(() => validateModeParams(bad, {}), (err: unknown) => err instanceof UnsupportedModeError && err instanceof ValidationError);
  }
  assert.throws(() => validateModeParams('ac', {}), /Unsupported mode 'AC'/);
});

test('every mode validates a valid payload without placeholder warnings', () => {
  const examples: Record<string, unknown> = {
    CA: { potential: 0.1, duration: 1 }, LSV: { start: 0, end: 0.5, scan_rate: 0.1 }, CV: CV_OK,
    PSTEP: { potentials: [0.1], step_duration: 1 }, CP: { current: 1e-3, duration: 1 },
    GS: { start: 0, end: 1e-3, num_steps: 3, step_duration: 0.1 },
    GCV: { start: 0, vertex1: 1e-3, vertex2: -1e-3, end: 0, num_steps: 3, step_duration: 0.1, cycles: 1 },
    STEPSEQ: { currents: [1e-3], step_duration: 1 }, OCP: { duration: 1 },
    CDL: { vertex_a: 0.1, vertex_b: 0.3, scan_rates: [0.1] }, EIS: { start_freq: 100, end_freq: 10, points_per_decade: 5 },
  };
  for (const mode of MODE_NAMES) {
    const r = check(mode, examples[mode]);
    assert.ok(r.ok, mode);
    assert.deepEqual(r.warnings, [], mode);
  }
});

test('every documented issue code was produced by this file', () => {
  const expected: IssueCode[] = [
    'missing_field', 'not_a_number', 'not_an_integer', 'must_be_positive', 'min_value', 'max_value', 'zero_sweep', 'high_value',
    'value_adjusted', 'not_an_object', 'not_a_list', 'empty_list', 'invalid_choice', 'equal_vertices', 'invalid_order', 'out_of_range',
    'too_few_points', 'too_many_points', 'single_step', 'freq_clamped', 'long_duration', 'legacy_mode',
  ];
  for (const c of expected) assert.ok(seenCodes.has(c), c);
});

test('a list of 200 000 bad elements (a 1 MiB body) is judged in linear time, without overflowing the stack', () => {
  const t0 = performance.now();
  const bad = validateModeParams('PSTEP', { potentials: Array.from({ length: 200_000 }, (_, i) => (i % 2 === 0 ? 'x' : 99)), step_duration: 1 });
  const ms = performance.now() - t0;
  assert.equal(bad.ok, false);
  assert.equal(bad.errors.length, 200_000, 'one issue per bad element, in index order');
  assert.deepEqual(bad.errors.slice(0, 2).map((e) => `${e.field}:${e.code}`), ['potentials[0]:not_a_number', 'potentials[1]:max_value']);
  assert.ok(ms < 5_000, `took ${ms.toFixed(0)} ms (was minutes: quadratic de-duplication)`);
});
