import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CsvEncoder } from '../../../src/modes/csv.js';
import { buildPlan } from '../../../src/modes/plan.js';
import { parseModeRequest } from '../../../src/modes/validate.js';
import { createPlotDataCollector } from '../../../src/plots/collect-plot-data.js';
import { createCsvColumnParser } from '../../../src/plots/csv-columns.js';
import { PlotDataFeed } from '../../../src/plots/plot-data-feed.js';
import { plotKindForMode } from '../../../src/plots/plot-kind.js';

/**
 * Writes a plan's CSV with a feed attached, then parses that CSV text the way a render from
 * the file would: both must give the same plot data.
 */
function fedAndParsed(mode: string, params: Record<string, unknown>, options: { samplingIntervalS?: number; gap?: [number, number]; maxCycles?: number | null } = {}) {
  const { mode: m, params: p } = parseModeRequest(mode, params);
  const plan = buildPlan(m, p);
  const kind = plotKindForMode(mode);
  const feed = new PlotDataFeed(kind, options.maxCycles ?? null, plan.columns.includes('cycle') ? plan.cycle : null);
  const encoder = new CsvEncoder(plan, { samplingIntervalS: options.samplingIntervalS ?? null, onLine: (i, t, e, c) => feed.addLine(i, t, e, c) });
  let csv = '';
  const block = 1000;
  for (let first = 0; first < plan.n; first += block) {
    const count = Math.min(block, plan.n - first);
    const current = new Float32Array(count);
    const potential = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      const j = first + i;
      potential[i] = (plan.applied?.[j] ?? 0) + 1e-4 * Math.sin(j * 0.37);
      current[i] = 1e-6 * Math.cos(j / 97) + 3e-9 * Math.sin(j * 1.3);
    }
    const [g0, g1] = options.gap ?? [-1, -1];
    if (first + count <= g0 || first >= g1) csv += encoder.encodeRows(first, current, potential, count);
    else {
      // Points lost on the way: the CSV lacks them, and so must the plot.
      const keepA = Math.max(0, g0 - first);
      if (keepA > 0) csv += encoder.encodeRows(first, current.subarray(0, keepA), potential.subarray(0, keepA), keepA);
      const startB = Math.max(0, g1 - first);
      if (startB < count) csv += encoder.encodeRows(first + startB, current.subarray(startB), potential.subarray(startB), count - startB);
    }
  }
  csv += encoder.finish();
  const collector = createPlotDataCollector(kind, { maxCycles: options.maxCycles ?? null });
  const parser = createCsvColumnParser({ columns: collector.columns, onBlock: (b) => collector.onBlock(b), blockRows: 777 });
  parser.push(new TextEncoder().encode(csv));
  const summary = parser.end();
  return { fed: feed.finish(), parsed: collector.finish(summary.rows), lines: encoder.linesWritten };
}

/**
 * Same structure, lengths and labels; numbers equal to the last bits the plot parser's fast
 * float path keeps (it may be 1 ulp off a correctly rounded parse of 17-digit text).
 */
function assertSameData(fed: unknown, parsed: unknown, path = 'data'): void {
  if (fed instanceof Float64Array || fed instanceof Float32Array) {
    assert.ok(parsed instanceof Float64Array || parsed instanceof Float32Array, `${path}: not an array`);
    assert.equal(fed.length, parsed.length, `${path}: length`);
    for (let i = 0; i < fed.length; i++) {
      const a: number = fed[i]!;
      const b: number = parsed[i]!;
      if (!(a === b || Math.abs(a - b) <= 1e-14 * Math.max(Math.abs(a), Math.abs(b)))) assert.fail(`${path}[${i}]: ${a} vs ${b}`);
    }
  } else if (Array.isArray(fed)) {
    assert.ok(Array.isArray(parsed) && parsed.length === fed.length, `${path}: length`);
    fed.forEach((x: unknown, i) => assertSameData(x, (parsed as unknown[])[i], `${path}[${i}]`));
  } else if (fed !== null && typeof fed === 'object') {
    assert.deepEqual(Object.keys(fed).sort(), Object.keys(parsed as object).sort(), `${path}: keys`);
    for (const k of Object.keys(fed)) assertSameData((fed as Record<string, unknown>)[k], (parsed as Record<string, unknown>)[k], `${path}.${k}`);
  } else {
    assert.equal(fed, parsed, path);
  }
}

test('CV: the data fed while writing equals the data parsed back from the CSV (cycles, envelopes, counts)', () => {
  const { fed, parsed, lines } = fedAndParsed('CV', { start: 0, vertex1: 0.5, vertex2: -0.5, end: 0, scan_rate: 5, cycles: 3 });
  assert.equal(fed.kind, 'cv-cycles');
  assert.equal(fed.rows, lines);
  assert.equal(fed.kind === 'cv-cycles' && fed.series.length, 3);
  assertSameData(fed, parsed);
});

test('CV limited to 2 of 3 cycles, down-sampled CSV and a gap of lost points: still identical', () => {
  const { fed, parsed } = fedAndParsed('CV', { start: 0, vertex1: 0.5, vertex2: -0.5, end: 0, scan_rate: 5, cycles: 3 }, { samplingIntervalS: 0.0036, gap: [1500, 2600], maxCycles: 2 });
  assert.equal(fed.kind === 'cv-cycles' && fed.series.length, 2);
  assertSameData(fed, parsed);
});

test('time series (CA), current vs potential (LSV): identical', () => {
  for (const [mode, params] of [
    ['CA', { potential: 0.2, duration: 2 }],
    ['LSV', { start: -0.2, end: 0.3, scan_rate: 0.5 }],
  ] as const) {
    const { fed, parsed } = fedAndParsed(mode, params);
    assert.ok(fed.rows > 1000);
    assertSameData(fed, parsed);
  }
});

test('EIS plots come from the spectrum file, not from the feed', () => {
  assert.equal(PlotDataFeed.supports('eis'), false);
  assert.throws(() => new PlotDataFeed('eis', null, null), RangeError);
});
