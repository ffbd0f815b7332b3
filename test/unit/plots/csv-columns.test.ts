import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createCsvColumnParser, parseAsciiFloat, type CsvColumnSpec } from '../../../src/plots/csv-columns.js';
import { PlotDataError } from '../../../src/plots/errors.js';

const enc = new TextEncoder();

/** Python repr of a float (modes.md 3.3), written independently of the parser. */
function formatPyFloat(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  const [mant, expText] = v.toExponential().split('e') as [string, string];
  const e = Number(expText);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  if (e >= -4 && e < 16) {
    const s = e >= 0 ? `${digits.slice(0, e + 1).padEnd(e + 1, '0')}.${digits.slice(e + 1) || '0'}` : `0.${'0'.repeat(-e - 1)}${digits}`;
    return neg ? `-${s}` : s;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${neg ? '-' : ''}${m}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

function parseText(text: string): number {
  const b = enc.encode(text);
  return parseAsciiFloat(b, 0, b.length);
}

/** Runs the parser over `bytes` pushed in pieces of `piece` bytes; returns columns as plain arrays. */
function parseAll(bytes: Uint8Array, columns: CsvColumnSpec[], piece: number, blockRows = 4) {
  const out: (number[] | null)[] = columns.map(() => []);
  const firstRows: number[] = [];
  const parser = createCsvColumnParser({
    columns,
    blockRows,
    onBlock(block) {
      firstRows.push(block.firstRow);
      block.columns.forEach((c, k) => {
        if (c === null) out[k] = null;
        else for (let i = 0; i < block.rows; i++) out[k]!.push(c[i]!);
      });
    },
  });
  for (let i = 0; i < bytes.length; i += piece) parser.push(bytes.subarray(i, Math.min(bytes.length, i + piece)));
  const summary = parser.end();
  return { out, summary, firstRows };
}

describe('parseAsciiFloat', () => {
  test('the examples of modes.md 3.3', () => {
    const cases: [string, number][] = [
      ['0.0', 0],
      ['1.0', 1],
      ['2.0', 2],
      ['0.0018000000000000002', 0.0018000000000000002],
      ['0.03999999910593033', 0.03999999910593033],
      ['0.10000000149011612', 0.10000000149011612],
      ['9.999999974752427e-07', 9.999999974752427e-7],
      ['1e-05', 1e-5],
      ['1.5e-07', 1.5e-7],
      ['1e+16', 1e16],
      ['-0.5', -0.5],
      ['119.99808', 119.99808],
    ];
    for (const [text, want] of cases) assert.equal(parseText(text), want, text);
  });

  test('negative zero, nan and infinities', () => {
    assert.ok(Object.is(parseText('-0.0'), -0));
    assert.ok(Number.isNaN(parseText('nan')));
    assert.equal(parseText('inf'), Infinity);
    assert.equal(parseText('-inf'), -Infinity);
    assert.ok(Number.isNaN(parseText('')));
    assert.ok(Number.isNaN(parseText('abc')));
    assert.equal(parseText('1e-320'), 1e-320);
  });

  test('random doubles and widened float32 values in Python repr parse within 2 ulp of Number()', () => {
    let seed = 12345;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    for (let i = 0; i < 20_000; i++) {
      const mag = 10 ** Math.floor(rnd() * 40 - 20);
      let v = (rnd() - 0.5) * 2 * mag;
      if (i % 2 === 0) v = Math.fround(v);
      const text = formatPyFloat(v);
      const got = parseText(text);
      const want = Number(text);
      assert.equal(want, v, `formatter round trip ${text}`);
      const ulp = Math.abs(want) * Number.EPSILON;
      assert.ok(Math.abs(got - want) <= 2 * ulp, `${text}: got ${got}, want ${want}`);
    }
  });
});

describe('createCsvColumnParser', () => {
  const header = 'Time (s),Potential (V),Current (A),Cycle,Exp,Applied potential (V)';
  const rows = [
    [0, 0, 0, 1, 1, 0],
    [0.00036, 0.03999999910593033, 9.999999974752427e-7, 1, 1, 0.10000000149011612],
    [0.00072, -0.5, -1.5e-7, 2, 1, -0.5],
    [0.00108, 0.25, 1e-5, 2, 1, 0.25],
    [0.0014399999999999999, -0.0, 2e-6, 3, 1, 0.0],
    [0.0018000000000000002, 0.125, -3e-6, 3, 1, 0.125],
  ];
  const crlf = enc.encode(header + '\r\n' + rows.map((r) => r.map(formatPyFloat).join(',')).join('\r\n'));
  const cols: CsvColumnSpec[] = [
    { name: 'Current (A)', required: true },
    { name: 'Potential (V)', required: true },
    { name: 'Cycle', required: false },
  ];

  test('extracts only the wanted columns, in request order, for any chunking', () => {
    for (const piece of [1, 2, 3, 7, 13, 64, 100_000]) {
      const { out, summary, firstRows } = parseAll(crlf, cols, piece);
      assert.equal(summary.rows, rows.length, `piece ${piece}`);
      assert.deepEqual(summary.present, [true, true, true]);
      assert.deepEqual(summary.header, header.split(','));
      assert.deepEqual(out[0], rows.map((r) => r[2]));
      assert.deepEqual(out[1], rows.map((r) => r[1]));
      assert.deepEqual(out[2], rows.map((r) => r[3]));
      assert.deepEqual(firstRows, [0, 4]);
    }
  });

  test('LF line ends and a trailing newline work the same', () => {
    const lf = enc.encode(header + '\n' + rows.map((r) => r.map(formatPyFloat).join(',')).join('\n') + '\n');
    const { out, summary } = parseAll(lf, cols, 5);
    assert.equal(summary.rows, rows.length);
    assert.deepEqual(out[0], rows.map((r) => r[2]));
  });

  test('a missing optional column comes back as null; a missing required one throws PlotDataError', () => {
    const ocp = enc.encode('Time (s),Potential (V),Current (A),Exp\r\n0.0,0.5,1e-06,1.0\r\n');
    const { out, summary } = parseAll(ocp, cols, 1000);
    assert.equal(out[2], null);
    assert.deepEqual(summary.present, [true, true, false]);
    assert.deepEqual(out[0], [1e-6]);
    assert.throws(
      () => parseAll(enc.encode('Time (s),Exp\r\n0.0,1.0\r\n'), cols, 1000),
      (err: unknown) => err instanceof PlotDataError && /lacks columns 'Current \(A\)', 'Potential \(V\)'/.test(err.message),
    );
  });

  test('an empty file has no header and no rows; a header-only file has no rows', () => {
    const empty = parseAll(new Uint8Array(0), cols, 10);
    assert.deepEqual(empty.summary.header, []);
    assert.equal(empty.summary.rows, 0);
    const headerOnly = parseAll(enc.encode(header + '\r\n'), cols, 10);
    assert.equal(headerOnly.summary.rows, 0);
    assert.equal(headerOnly.summary.header.length, 6);
  });

  test('a truncated last line (file still being written) gives NaN for the missing fields', () => {
    const text = header + '\r\n0.0,0.1,0.2,1.0,1.0,0.0\r\n0.00036,0.3';
    const { out, summary } = parseAll(enc.encode(text), cols, 4);
    assert.equal(summary.rows, 2);
    assert.deepEqual(out[1], [0.1, 0.3]);
    assert.equal(out[0]![0], 0.2);
    assert.ok(Number.isNaN(out[0]![1]!));
    assert.ok(Number.isNaN(out[2]![1]!));
  });

  test('blank lines are skipped', () => {
    const text = header + '\r\n\r\n0.0,0.1,0.2,1.0,1.0,0.0\r\n\r\n0.1,0.3,0.4,2.0,1.0,0.0\r\n';
    const { summary, out } = parseAll(enc.encode(text), cols, 3);
    assert.equal(summary.rows, 2);
    assert.deepEqual(out[2], [1, 2]);
  });

  test('rejects a bad block size', () => {
    assert.throws(() => createCsvColumnParser({ columns: cols, blockRows: 0, onBlock: () => undefined }), RangeError);
  });
});
