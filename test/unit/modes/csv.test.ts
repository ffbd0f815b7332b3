import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatPyFloat, computeDownsampleFactor, CsvEncoder, buildPlan, formatCsvHeader, POINT_INTERVAL_S } from '../../../src/modes/index.js';
import { DaemonError } from '../../../src/errors.js';

test('formatPyFloat: examples of modes.md 3.3', () => {
  const cases: Array<[number, string]> = [
    [5 * POINT_INTERVAL_S, '0.0018000000000000002'],
    [Math.fround(1e-6), '9.999999974752427e-07'],
    [1e-5, '1e-05'],
    [1.5e-7, '1.5e-07'],
    [1e16, '1e+16'],
    [-0, '-0.0'],
    [0, '0.0'],
    [NaN, 'nan'],
    [Infinity, 'inf'],
    [-Infinity, '-inf'],
    [1, '1.0'],
    [2, '2.0'],
    [Math.fround(0.04), '0.03999999910593033'],
    [Math.fround(0.1), '0.10000000149011612'],
    [0.00036, '0.00036'],
  ];
  for (const [x, s] of cases) assert.equal(formatPyFloat(x), s, String(x));
});

test('formatPyFloat: notation boundaries match Python repr', () => {
  const cases: Array<[number, string]> = [
    [1e-4, '0.0001'], [-1e-4, '-0.0001'], [9.99e-5, '9.99e-05'], [0.00012345, '0.00012345'],
    [1e15, '1000000000000000.0'], [9999999999999998, '9999999999999998.0'], [1.2345678901234568e20, '1.2345678901234568e+20'],
    [123.0, '123.0'], [-2.5e-7, '-2.5e-07'], [5e-324, '5e-324'], [1.7976931348623157e308, '1.7976931348623157e+308'],
    [1e-100, '1e-100'], [0.1 + 0.2, '0.30000000000000004'], [-1.5, '-1.5'], [1e21, '1e+21'], [1e-7, '1e-07'],
  ];
  for (const [x, s] of cases) assert.equal(formatPyFloat(x), s, String(x));
});

test('down-sampling factor: Python round half-even of interval/Δt', () => {
  assert.equal(computeDownsampleFactor(0.0018), 5);
  assert.equal(computeDownsampleFactor(0.00234), 6, '6.5 → 6 (Math.round would give 7)');
  assert.equal(computeDownsampleFactor(0.0005), 1);
  assert.equal(computeDownsampleFactor(0.00054), 2, '1.5 → 2');
  assert.equal(computeDownsampleFactor(null), 1);
  assert.equal(computeDownsampleFactor(undefined), 1);
  assert.equal(computeDownsampleFactor(0), 1);
  assert.equal(computeDownsampleFactor(-1), 1);
  assert.equal(computeDownsampleFactor(0.00036), 1);
  assert.equal(computeDownsampleFactor(0.00072), 2);
  assert.throws(() => computeDownsampleFactor(NaN), RangeError);
});

test('PSTEP example bytes (header, CRLF, labels as 0.0, Exp 1.0)', () => {
  const plan = buildPlan('PSTEP', { potentials: [0.1, -0.2, 0.3, 0.0], step_duration: 1 });
  const enc = new CsvEncoder(plan);
  const text = enc.encodeRows(0, Float32Array.of(0, 1e-6), Float32Array.of(0, 0.04), 2) + enc.finish();
  assert.equal(text,
    'Time (s),Potential (V),Current (A),Step,Exp,Applied potential (V)\r\n' +
    '0.0,0.0,0.0,0.0,1.0,0.10000000149011612\r\n' +
    '0.00036,0.03999999910593033,9.999999974752427e-07,0.0,1.0,0.10000000149011612\r\n');
  assert.ok(!text.endsWith('\r\n\r\n'));
});

test('headers for every family', () => {
  assert.equal(formatCsvHeader(buildPlan('OCP', { duration: 1 }).columns), 'Time (s),Potential (V),Current (A),Exp\r\n');
  assert.equal(formatCsvHeader(buildPlan('GCV', { start: 0, vertex1: 1e-3, vertex2: -1e-3, end: 0, num_steps: 2, step_duration: 0.01, cycles: 1 }).columns),
    'Time (s),Potential (V),Current (A),Cycle,Exp,Applied current (A)\r\n');
  assert.equal(formatCsvHeader(buildPlan('CV', { start: 0, vertex1: 0.01, vertex2: -0.01, end: 0, scan_rate: 10, cycles: 2 }).columns),
    'Time (s),Potential (V),Current (A),Cycle,Exp,Applied potential (V)\r\n');
});

function lines(text: string): string[][] {
  assert.ok(text === '' || text.endsWith('\r\n'));
  return text.split('\r\n').slice(0, -1).map((l) => l.split(','));
}

/** The 19-point 2-cycle CV of the spot checks: labels 7 × 1 then 12 × 2. */
const CV19 = { start: 0, vertex1: 0.01, vertex2: -0.01, end: 0, scan_rate: 10, cycles: 2 };

function measured(count: number): { current: Float64Array; potential: Float64Array } {
  const current = new Float64Array(count);
  const potential = new Float64Array(count);
  for (let j = 0; j < count; j++) {
    current[j] = Math.fround((j + 1) * 1e-6);
    potential[j] = Math.fround(j * 0.01);
  }
  return { current, potential };
}

test('R = 1: measured rows beyond N are dropped, time = j × Δt, labels and applied from the plan', () => {
  const plan = buildPlan('CV', CV19);
  const enc = new CsvEncoder(plan, { samplingIntervalS: null });
  const { current, potential } = measured(26);
  const text = enc.encodeRows(0, current, potential, 26) + enc.finish();
  const rows = lines(text);
  assert.equal(rows.length, 1 + 19);
  rows.slice(1).forEach((r, j) => {
    assert.equal(r[0], formatPyFloat(j * POINT_INTERVAL_S));
    assert.equal(r[1], formatPyFloat(potential[j]!));
    assert.equal(r[2], formatPyFloat(current[j]!));
    assert.equal(r[3], j < 7 ? '1.0' : '2.0');
    assert.equal(r[4], '1.0');
    assert.equal(r[5], formatPyFloat(plan.applied[j]!));
  });
  assert.equal(enc.rowsReceived, 26);
  assert.equal(enc.rowsAccepted, 19);
  assert.equal(enc.linesWritten, 19);
});

test('R = 5 with 19 plan points and 26 measured rows writes ceil(19/5) = 4 rows; labels from the first row', () => {
  const plan = buildPlan('CV', CV19);
  const { current, potential } = measured(26);
  const enc = new CsvEncoder(plan, { samplingIntervalS: 0.0018 });
  assert.equal(enc.factor, 5);
  const rows = lines(enc.encodeRows(0, current, potential, 26) + enc.finish()).slice(1);
  assert.equal(rows.length, 4);
  const mean = (a: ArrayLike<number>, from: number, to: number) => {
    let s = 0;
    for (let k = from; k < to; k++) s += a[k]!;
    return s / (to - from);
  };
  const chunks: Array<[number, number]> = [[0, 5], [5, 10], [10, 15], [15, 19]];
  chunks.forEach(([from, to], k) => {
    const r = rows[k]!;
    assert.equal(r[0], formatPyFloat(from * POINT_INTERVAL_S), 'time of the chunk’s first row');
    assert.equal(r[1], formatPyFloat(mean(potential, from, to)));
    assert.equal(r[2], formatPyFloat(mean(current, from, to)));
    assert.equal(r[3], formatPyFloat(plan.cycle![from]!), 'label from the first row, never 1.6');
    assert.equal(r[5], formatPyFloat(mean(plan.applied, from, to)));
  });
  assert.deepEqual(rows.map((r) => r[3]), ['1.0', '1.0', '2.0', '2.0']);
});

test('down-sampled output does not depend on how rows are split into blocks', () => {
  const plan = buildPlan('CV', CV19);
  const { current, potential } = measured(19);
  const whole = new CsvEncoder(plan, { samplingIntervalS: 0.0018 });
  const expected = whole.encodeRows(0, current, potential, 19) + whole.finish();
  for (const sizes of [[1, 1, 1, 16], [3, 7, 2, 7], [4, 4, 4, 4, 3], [18, 1]]) {
    const enc = new CsvEncoder(plan, { samplingIntervalS: 0.0018 });
    let text = '';
    let at = 0;
    for (const n of sizes) {
      text += enc.encodeRows(at, current.subarray(at, at + n), potential.subarray(at, at + n), n);
      at += n;
    }
    text += enc.finish();
    assert.equal(text, expected, sizes.join('+'));
  }
});

test('a run stopped early flushes its partial chunk in finish()', () => {
  const plan = buildPlan('CV', CV19);
  const { current, potential } = measured(7);
  const enc = new CsvEncoder(plan, { samplingIntervalS: 0.0018 });
  const first = enc.encodeRows(0, current, potential, 7);
  assert.equal(lines(first).length, 2, 'header + one full chunk');
  const rest = enc.finish();
  const r = lines(rest);
  assert.equal(r.length, 1);
  assert.equal(r[0]![0], formatPyFloat(5 * POINT_INTERVAL_S));
  assert.equal(r[0]![1], formatPyFloat((potential[5]! + potential[6]!) / 2));
  assert.equal(enc.finish(), '', 'finish is idempotent');
  // header appears with the first output line even if that is the finish() flush
  const late = new CsvEncoder(plan, { samplingIntervalS: 0.0018 });
  assert.equal(late.encodeRows(0, current, potential, 3), '');
  assert.match(late.finish(), /^Time \(s\),.*\r\n0\.0,/);
});

test('empty run: no header, empty file', () => {
  const enc = new CsvEncoder(buildPlan('CA', { potential: 0.1, duration: 1 }));
  assert.equal(enc.encodeRows(0, new Float32Array(0), new Float32Array(0), 0), '');
  assert.equal(enc.finish(), '');
  assert.equal(enc.linesWritten, 0);
});

test('rows must not go backwards; declared gaps leave plan indices out; no writes after finish', () => {
  const enc = new CsvEncoder(buildPlan('OCP', { duration: 1 }));
  const z = new Float32Array(4);
  const first = enc.encodeRows(0, z, z, 4);
  assert.throws(() => enc.encodeRows(3, z, z, 4), (e: unknown) => e instanceof DaemonError && e.code === 'DATA_INTEGRITY');
  const afterGap = enc.encodeRows(10, z, z, 2);
  assert.equal(first.split('\r\n').length - 2, 4);
  assert.deepEqual(afterGap.split('\r\n').filter(Boolean).map((l) => l.split(',')[0]), ['0.0036000000000000003', '0.00396']);
  enc.finish();
  assert.throws(() => enc.encodeRows(20, z, z, 1), DaemonError);
});

test('down-sampling with gaps averages within plan-index windows only', () => {
  const enc = new CsvEncoder(buildPlan('OCP', { duration: 1 }), { samplingIntervalS: 0.0018 }); // R = 5
  const v = (xs: number[]) => Float32Array.from(xs);
  let text = enc.encodeRows(0, v([1, 1, 1]), v([0, 0, 0]), 3); // window 0 partially
  text += enc.encodeRows(7, v([3, 5]), v([0, 0]), 2); // window 1: indices 7, 8
  text += enc.finish();
  const rows = text.split('\r\n').filter(Boolean).slice(1).map((l) => l.split(','));
  assert.deepEqual(rows.map((r) => [r[0], r[2]]), [['0.0', '1.0'], ['0.00252', '4.0']]);
});

test('GAL applied current and OCP rows', () => {
  const gal = buildPlan('STEPSEQ', { currents: [-1e-3, 0], step_duration: 0.00072 });
  assert.equal(gal.n, 4);
  const enc = new CsvEncoder(gal);
  const rows = lines(enc.encodeRows(0, new Float32Array(4), new Float32Array(4), 4) + enc.finish());
  assert.deepEqual(rows.map((r) => r.at(-1)), ['Applied current (A)', '-0.0010000000474974513', '-0.0010000000474974513', '0.0', '0.0']);
  const ocp = new CsvEncoder(buildPlan('OCP', { duration: 0.001 }));
  assert.equal(ocp.encodeRows(0, Float32Array.of(1), Float32Array.of(-0.5), 1),
    'Time (s),Potential (V),Current (A),Exp\r\n0.0,-0.5,1.0,1.0\r\n');
});
