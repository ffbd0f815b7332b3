/**
 * Device limits at validation (#11): every limit refuses with the field named and the limit in
 * the message. Potentials: the DAC range ±4.95 V. Currents: the full scale of the mode's gain,
 * 4.95 V / effective TIA gain. Gains: 0–3. Cut-offs: within the range, min < max; charge > 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateModeParams, parseModeParams, POTENTIAL_LIMIT_V, type ValidationIssue } from '../../../src/modes/index.js';
import { currentFullScaleA, formatCurrent, gainAllowing, largestFullScaleA } from '../../../src/modes/device-limits.js';
import { checkInheritedGain } from '../../../src/modes/validate.js';
import { ValidationError } from '../../../src/errors.js';
import { TIA_GAIN_OHMS } from '../../../src/protocol/constants.js';

function onlyError(mode: string, params: Record<string, unknown>): ValidationIssue {
  const r = validateModeParams(mode, params);
  assert.equal(r.errors.length, 1, `${mode} ${JSON.stringify(params)}: ${JSON.stringify(r.errors)}`);
  return r.errors[0]!;
}

function assertIssue(issue: ValidationIssue, field: string, ...inMessage: RegExp[]): void {
  assert.equal(issue.field, field, JSON.stringify(issue));
  for (const re of inMessage) assert.match(issue.message, re, JSON.stringify(issue));
}

const RANGE = /±4\.95 V/;

test('the limits themselves: ±4.95 V, full scale 4.95 V / gain', () => {
  assert.equal(POTENTIAL_LIMIT_V, 4.95);
  assert.ok(Math.abs(currentFullScaleA(0) - 4.95 / 999.9) < 1e-9);
  assert.equal(largestFullScaleA(), currentFullScaleA(0));
  for (let g = 0; g <= 3; g++) assert.equal(currentFullScaleA(g), 4.95 / TIA_GAIN_OHMS[g]!);
  assert.deepEqual([0, 1, 2, 3].map((g) => formatCurrent(currentFullScaleA(g))), ['4.95 mA', '495 µA', '50 µA', '5.44 µA']);
  assert.deepEqual([1e-2, 4e-3, 4e-4, 4e-5, 5e-6].map(gainAllowing), [null, 0, 1, 2, 3]);
});

test('every applied potential within ±4.95 V: CA, LSV, CV, PSTEP, CDL; EIS dc_bias ± amplitude', () => {
  assertIssue(onlyError('CA', { potential: 6, duration: 1 }), 'potential', /4\.95/, RANGE);
  assertIssue(onlyError('CA', { potential: -4.96, duration: 1 }), 'potential', /-4\.95/, RANGE);
  assert.ok(validateModeParams('CA', { potential: 4.95, duration: 1 }).ok, 'the rail itself is allowed');
  assertIssue(onlyError('LSV', { start: 0, end: 5, scan_rate: 1 }), 'end', /4\.95/, RANGE);
  assertIssue(onlyError('LSV', { start: -5, end: 0, scan_rate: 1 }), 'start', /-4\.95/, RANGE);
  for (const field of ['start', 'vertex1', 'vertex2', 'end']) {
    const params = { start: 0, vertex1: 0.5, vertex2: -0.5, end: 0, scan_rate: 1, cycles: 1, [field]: 7 };
    assertIssue(onlyError('CV', params), field, /4\.95/, RANGE);
  }
  assertIssue(onlyError('PSTEP', { potentials: [0.1, 5.5], step_duration: 1 }), 'potentials[1]', /4\.95/, RANGE);
  for (const field of ['vertex_a', 'vertex_b']) {
    const params = { vertex_a: 0.1, vertex_b: 0.3, scan_rates: [0.1], [field]: field === 'vertex_a' ? -6 : 6 };
    assertIssue(onlyError('CDL', params), field, /4\.95/, RANGE);
  }
  assertIssue(onlyError('CDL', { vertex_a: 0.1, vertex_b: 0.3, scan_rates: [0.1], start: 5 }), 'start', /4\.95/, RANGE);
  assertIssue(onlyError('CDL', { vertex_a: 0.1, vertex_b: 0.3, scan_rates: [0.1], end: -5 }), 'end', /4\.95/, RANGE);
  const eis = { start_freq: 100, end_freq: 10, points_per_decade: 5 };
  assertIssue(onlyError('EIS', { ...eis, dc_bias: 4.95, amplitude: 0.01 }), 'dc_bias', /4\.96/, RANGE);
  assert.ok(validateModeParams('EIS', { ...eis, dc_bias: 4.9, amplitude: 0.01 }).ok);
});

test('CA at 6 V is refused by parseModeParams with a ValidationError naming the field and the limit', () => {
  assert.throws(() => parseModeParams('CA', { potential: 6, duration: 1 }), (err: unknown) => {
    assert.ok(err instanceof ValidationError);
    assert.equal(err.field, 'potential');
    assert.match(err.message, /^potential: Value must be at most 4\.95 \(the device's potential range is ±4\.95 V\)\.$/);
    return true;
  });
});

test('commanded currents within the full scale of the mode\'s gain: CP, GS, GCV, STEPSEQ', () => {
  // CP at 10 mA with gain 0 (and at 50 mA): no gain allows it.
  for (const current of [0.01, 0.05, -0.01]) {
    assertIssue(onlyError('CP', { current, duration: 1, tia_gain: 0 }), 'current', /full scale ±4\.95 mA of tia_gain 0/, /no gain allows it/);
  }
  // Without a gain of its own the mode is checked against the largest full scale (admission re-checks with the job's).
  assertIssue(onlyError('CP', { current: 0.01, duration: 1 }), 'current', /10 mA/, /largest current full scale, ±4\.95 mA/);
  // 3 mA: refused at gain 1 (±495 µA), saying gain 0 allows it; accepted at gain 0.
  assertIssue(onlyError('CP', { current: 3e-3, duration: 1, tia_gain: 1 }), 'current', /3 mA/, /±495 µA of tia_gain 1/, /tia_gain 0 \(±4\.95 mA\) allows it/);
  assert.ok(validateModeParams('CP', { current: 3e-3, duration: 1, tia_gain: 0 }).ok);
  assertIssue(onlyError('GS', { start: 0, end: 1e-4, num_steps: 3, step_duration: 1, tia_gain: 2 }), 'end', /100 µA/, /±50 µA of tia_gain 2/, /tia_gain 1/);
  assertIssue(onlyError('GCV', { start: 0, vertex1: 6e-6, vertex2: -1e-6, end: 0, num_steps: 3, step_duration: 1, cycles: 1, tia_gain: 3 }),
    'vertex1', /6 µA/, /±5\.44 µA of tia_gain 3/, /tia_gain 2 \(±50 µA\) allows it/);
  assertIssue(onlyError('STEPSEQ', { currents: [1e-3, -6e-3], step_duration: 1 }), 'currents[1]', /-6 mA/, /±4\.95 mA/);
  assert.ok(validateModeParams('STEPSEQ', { currents: [4e-6, -5e-6], step_duration: 1, tia_gain: 3 }).ok);
});

test('tia_gain 0–3 per mode: 4 and 5 refused, saying the firmware treats them as 3', () => {
  for (const tia_gain of [4, 5]) {
    assertIssue(onlyError('CA', { potential: 0.1, duration: 1, tia_gain }), 'tia_gain', /at most 3/, /firmware treats 4 and 5 as 3/);
  }
  assertIssue(onlyError('OCP', { duration: 1, tia_gain: -1 }), 'tia_gain', /at least 0/);
  assertIssue(onlyError('OCP', { duration: 1, tia_gain: 'x' }), 'tia_gain', /integer/);
  const truncated = validateModeParams('OCP', { duration: 1, tia_gain: 1.5 });
  assert.deepEqual([truncated.adjusted?.tia_gain, truncated.warnings.map((w) => w.code)], [1, ['value_adjusted']], 'like every integer field');
  for (const tia_gain of [0, 3, null]) assert.ok(validateModeParams('CA', { potential: 0.1, duration: 1, tia_gain }).ok, String(tia_gain));
  assert.equal(parseModeParams('EIS', { start_freq: 10, end_freq: 1, points_per_decade: 2, tia_gain: '2' }).tia_gain, 2);
});

test('charge_cutoff_c > 0 or null; rest_s ≥ 0', () => {
  for (const charge_cutoff_c of [0, -0.1]) {
    assertIssue(onlyError('CV', { start: 0, vertex1: 0.5, vertex2: -0.5, end: 0, scan_rate: 1, cycles: 1, charge_cutoff_c }), 'charge_cutoff_c', /greater than zero/);
  }
  assert.ok(validateModeParams('CA', { potential: 0.1, duration: 1, charge_cutoff_c: 1e-6 }).ok);
  assert.equal(validateModeParams('OCP', { duration: 1, charge_cutoff_c: 1 }).adjusted?.charge_cutoff_c, 1, 'not an OCP parameter: kept as an unknown key');
  assertIssue(onlyError('CA', { potential: 0.1, duration: 1, rest_s: -1 }), 'rest_s', /at least 0/);
});

test('potential cut-offs within the device range and min < max', () => {
  const cp = { current: 1e-3, duration: 1 };
  assertIssue(onlyError('CP', { ...cp, potential_cutoff_max: 5 }), 'potential_cutoff_max', /4\.95/, RANGE);
  assertIssue(onlyError('GS', { start: 0, end: 1e-3, num_steps: 2, step_duration: 1, potential_cutoff_min: -5 }), 'potential_cutoff_min', /-4\.95/, RANGE);
  assertIssue(onlyError('CP', { ...cp, potential_cutoff_min: 1, potential_cutoff_max: 0.5 }), 'potential_cutoff_min', /1 V/, /0\.5 V/, /below potential_cutoff_max/);
  assertIssue(onlyError('CP', { ...cp, potential_cutoff_min: 1, potential_cutoff_max: 1 }), 'potential_cutoff_min', /below/);
  assertIssue(onlyError('CP', { ...cp, potential_cutoff_action: 'halt' }), 'potential_cutoff_action', /stop_mode, next_step/);
  const ok = parseModeParams('GCV', { start: 0, vertex1: 1e-3, vertex2: -1e-3, end: 0, num_steps: 2, step_duration: 1, cycles: 1, potential_cutoff_min: -1, potential_cutoff_max: 1, potential_cutoff_action: 'Next_Step' });
  assert.deepEqual([ok.potential_cutoff_min, ok.potential_cutoff_max, ok.potential_cutoff_action], [-1, 1, 'next_step']);
});

test('inherited gain: the job\'s tia_gain bounds the mode\'s currents (field named), null warns unknown_gain', () => {
  const cp = parseModeParams('CP', { current: 3e-3, duration: 1 });
  const refused = checkInheritedGain('CP', cp, cp.tia_gain, 1);
  assert.equal(refused.errors.length, 1);
  assertIssue(refused.errors[0]!, 'current', /3 mA/, /the job's tia_gain 1/, /±495 µA/, /tia_gain 0 \(±4\.95 mA\) allows it/);
  assert.deepEqual(checkInheritedGain('CP', cp, cp.tia_gain, 0), { errors: [], warnings: [] });
  assert.deepEqual(checkInheritedGain('CP', cp, 0, 3), { errors: [], warnings: [] }, 'a gain of its own is the mode\'s business');
  const unknown = checkInheritedGain('CP', cp, cp.tia_gain, null);
  assert.deepEqual(unknown.warnings.map((w) => [w.field, w.code]), [['tia_gain', 'unknown_gain']]);
  assert.match(unknown.warnings[0]!.message, /±4\.95 mA/);
  const ca = parseModeParams('CA', { potential: 0.1, duration: 1 });
  assert.deepEqual(checkInheritedGain('CA', ca, ca.tia_gain, null), { errors: [], warnings: [] }, 'no commanded current, nothing to check');
});
