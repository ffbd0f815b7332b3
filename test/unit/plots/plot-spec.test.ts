import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_POINTS_PER_CHART, buildPageSpecs, formatCycleLabel, isPlotDataEmpty, padLogRange, padRange } from '../../../src/plots/build-page-spec.js';
import { createPlotDataCollector, MAX_CYCLE_SERIES, type PlotData } from '../../../src/plots/collect-plot-data.js';
import { createCsvColumnParser } from '../../../src/plots/csv-columns.js';
import { computeLogSplits, formatAxisTicks, formatLogTicks } from '../../../src/plots/page-script.js';
import { encodePageSpecForTransfer } from '../../../src/plots/page-spec-transfer.js';
import { TAB10, dequantize, type PageSpec } from '../../../src/plots/page-spec.js';
import { deriveBodePngPath, describePlotHeading, plotKindForMode, resolveSpectrumCsvPath } from '../../../src/plots/plot-kind.js';
import type { PlotKind } from '../../../src/plots/types.js';

const enc = new TextEncoder();

function collect(kind: PlotKind, csv: string, maxCycles?: number, reducerCapacity = 64): PlotData {
  const collector = createPlotDataCollector(kind, { maxCycles, reducerCapacity });
  const parser = createCsvColumnParser({ columns: collector.columns, onBlock: (b) => collector.onBlock(b), blockRows: 3 });
  parser.push(enc.encode(csv));
  return collector.finish(parser.end().rows);
}

describe('plotKindForMode', () => {
  test('maps every mode, case-insensitively', () => {
    const want: Record<string, PlotKind> = {
      CV: 'cv-cycles',
      cdl: 'cdl',
      LSV: 'iv',
      GCV: 'gcv',
      eis: 'eis',
      CA: 'time-series',
      CP: 'time-series',
      OCP: 'time-series',
      PSTEP: 'time-series',
      STEPSEQ: 'time-series',
      GS: 'time-series',
      SOMETHING: 'time-series',
    };
    for (const [mode, kind] of Object.entries(want)) assert.equal(plotKindForMode(mode), kind, mode);
  });

  test('headings follow modes.md 4 and 7.6; EIS file names', () => {
    assert.equal(describePlotHeading('cv-cycles', 'CV'), 'Cyclic Voltammetry (CV) - Individual Cycles');
    assert.equal(describePlotHeading('time-series', 'CA'), 'Current & Potential vs Time');
    assert.equal(describePlotHeading('iv', 'LSV'), 'Current vs Potential');
    assert.equal(describePlotHeading('eis', 'EIS'), 'EIS - Nyquist');
    assert.equal(describePlotHeading('eis', 'EIS', 'bode'), 'EIS - Bode');
    assert.equal(resolveSpectrumCsvPath('/r/W/s1/EIS/x_s1_EIS.csv'), '/r/W/s1/EIS/x_s1_EIS_spectrum.csv');
    assert.equal(resolveSpectrumCsvPath('/r/x_spectrum.csv'), '/r/x_spectrum.csv');
    assert.equal(deriveBodePngPath('/r/x_s1_EIS.png'), '/r/x_s1_EIS_bode.png');
  });
});

describe('axis tick formatting (runs in the page too)', () => {
  test('plain decimals for readable values', () => {
    assert.deepEqual(formatAxisTicks([-0.5, -0.25, 0, 0.25, 0.5], 0.25), ['-0.50', '-0.25', '0.00', '0.25', '0.50']);
    assert.deepEqual(formatAxisTicks([0, 100, 200], 100), ['0', '100', '200']);
    assert.deepEqual(formatAxisTicks([0.49985, 0.5, 0.50015], 0.00005), ['0.49985', '0.50000', '0.50015']);
  });

  test('one common power of ten for tiny currents', () => {
    assert.deepEqual(formatAxisTicks([-4e-5, -2e-5, 0, 2e-5, 4e-5], 2e-5), ['-4e-5', '-2e-5', '0', '2e-5', '4e-5']);
    assert.deepEqual(formatAxisTicks([5e-6, 1e-5, 1.5e-5], 5e-6), ['0.5e-5', '1.0e-5', '1.5e-5']);
    assert.deepEqual(formatAxisTicks([0, 2e5, 4e5], 2e5), ['0', '2e5', '4e5']);
    assert.deepEqual(formatAxisTicks([null, 1e-6], 1e-6), ['', '1e-6']);
  });

  test('log axes: splits at m·10^k, labels on decades (or 2/5 multiples when fewer than two decades show)', () => {
    assert.deepEqual(computeLogSplits(0.85, 35), [0.9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 30]);
    assert.deepEqual(formatLogTicks([0.9, 1, 2, 10, 20, 100, 1e6]), ['', '1', '', '10', '', '100', '1e6']);
    assert.deepEqual(formatLogTicks(computeLogSplits(150, 900)), ['200', '', '', '500', '', '', '', '']);
    assert.deepEqual(computeLogSplits(-1, 10), []);
  });
});

describe('page specs', () => {
  const cvCsv = [
    'Time (s),Potential (V),Current (A),Cycle,Exp,Applied potential (V)',
    '0.0,0.0,1e-06,1.0,1.0,0.0',
    '0.00036,0.1,2e-06,1.0,1.0,0.1',
    '0.00072,0.2,3e-06,2.0,1.0,0.2',
    '0.00108,0.1,-1e-06,2.0,1.0,0.1',
    '0.00144,0.0,-2e-06,3.0,1.0,0.0',
    '0.0018000000000000002,-0.1,nan,3.0,1.0,-0.1',
    '0.00216,-0.2,-3e-06,3.0,1.0,-0.2',
  ].join('\r\n');

  test('cv-cycles: one tab10 line per Cycle value in order of appearance, integer legend labels, 800×600, units', () => {
    const data = collect('cv-cycles', cvCsv);
    assert.equal(data.kind, 'cv-cycles');
    const [spec] = buildPageSpecs(data, { title: 'exp1 · slot01 · CV', mode: 'CV' });
    assert.ok(spec);
    assert.equal(spec.widthPx, 800);
    assert.equal(spec.heightPx, 600);
    assert.equal(spec.heading, 'Cyclic Voltammetry (CV) - Individual Cycles');
    assert.equal(spec.subtitle, 'exp1 · slot01 · CV');
    const chart = spec.charts[0]!;
    assert.equal(chart.xLabel, 'Potential (V)');
    assert.equal(chart.yLabel, 'Current (A)');
    assert.equal(chart.legend, true);
    assert.deepEqual(
      chart.series.map((s) => [s.label, s.color, s.xs.length]),
      [
        ['Cycle 1', TAB10[0], 2],
        ['Cycle 2', TAB10[1], 2],
        ['Cycle 3', TAB10[2], 2], // the nan row is dropped
      ],
    );
    assert.ok(chart.xScale.min < -0.2 && chart.xScale.max > 0.2, '5 % margin');
  });

  test('maxCycles keeps the first n cycles; the series cap holds', () => {
    const data = collect('cv-cycles', cvCsv, 2);
    assert.ok(data.kind === 'cv-cycles');
    assert.deepEqual(
      data.series.map((s) => s.cycle),
      [1, 2],
    );
    assert.equal(data.skippedCycles, 1);
    const many = ['Time (s),Potential (V),Current (A),Cycle', ...Array.from({ length: 100 }, (_, i) => `0.0,${i}.0,1.0,${i}.0`)].join('\n');
    const big = collect('cv-cycles', many);
    assert.ok(big.kind === 'cv-cycles');
    assert.equal(big.series.length, MAX_CYCLE_SERIES);
  });

  test('cv-cycles without a Cycle column draws one line', () => {
    const data = collect('cv-cycles', 'Potential (V),Current (A)\n0.0,1.0\n0.1,2.0\n');
    assert.ok(data.kind === 'cv-cycles');
    assert.equal(data.series.length, 1);
    assert.equal(buildPageSpecs(data, { title: '', mode: null })[0]!.charts[0]!.series[0]!.label, 'All rows');
  });

  test('time-series: 1000×600, current (red, top) and potential (blue, bottom) share the time axis', () => {
    const data = collect('time-series', cvCsv);
    const [spec] = buildPageSpecs(data, { title: 't', mode: 'CA' });
    assert.ok(spec);
    assert.equal(spec.widthPx, 1000);
    assert.equal(spec.heightPx, 600);
    const [top, bottom] = spec.charts;
    assert.equal(top!.yLabel, 'Current (A)');
    assert.equal(top!.xTickLabels, false);
    assert.equal(bottom!.yLabel, 'Potential (V)');
    assert.equal(bottom!.xLabel, 'Time (s)');
    assert.deepEqual(top!.xScale, bottom!.xScale);
    assert.notEqual(top!.yColor, bottom!.yColor);
  });

  test('gcv: potential vs time per cycle, 1000×600', () => {
    const data = collect('gcv', cvCsv);
    const [spec] = buildPageSpecs(data, { title: 't', mode: 'GCV' });
    assert.equal(spec!.widthPx, 1000);
    assert.equal(spec!.charts[0]!.xLabel, 'Time (s)');
    assert.equal(spec!.charts[0]!.yLabel, 'Potential (V)');
    assert.equal(spec!.charts[0]!.series.length, 3);
  });

  test('eis: Nyquist (800×600, −Z_imag, equal aspect) and Bode (1000×600, log frequency, log |Z|)', () => {
    const csv = [
      'Frequency (Hz),Z_real (Ohm),Z_imag (Ohm),|Z| (Ohm),Phase (deg),Points per period,Cycles used,Requested frequency (Hz),E_amp (V),I_amp (A)',
      '277.77777777777777,100.0,-57.2958,115.2511,-29.8109,10,3,277.78,0.01,8.6e-05',
      '99.2063492063492,100.0,-160.4282,189.0429,-58.0634,28,3,100.0,0.01,5.3e-05',
      '9.992006394884093,100.0,-1592.8227,1595.9587,-86.4076,278,3,10.0,0.01,6.3e-06',
      '5.0,nan,nan,nan,nan,556,3,5.0,0.01,0.0',
    ].join('\r\n');
    const data = collect('eis', csv);
    const specs = buildPageSpecs(data, { title: 't', mode: 'EIS' });
    assert.equal(specs.length, 2);
    const [nyq, bode] = specs;
    assert.deepEqual([nyq!.widthPx, nyq!.heightPx, bode!.widthPx, bode!.heightPx], [800, 600, 1000, 600]);
    assert.equal(nyq!.heading, 'EIS - Nyquist');
    assert.equal(bode!.heading, 'EIS - Bode');
    const n = nyq!.charts[0]!;
    assert.equal(n.equalAspect, true);
    assert.equal(n.xLabel, 'Z_real (Ohm)');
    assert.equal(n.yLabel, '-Z_imag (Ohm)');
    assert.deepEqual(n.series[0]!.ys, [57.2958, 160.4282, 1592.8227]);
    assert.equal(n.series[0]!.markers, true);
    const [mag, phase] = bode!.charts;
    assert.equal(mag!.xScale.log, true);
    assert.equal(mag!.yScale.log, true);
    assert.equal(mag!.yLabel, '|Z| (Ohm)');
    assert.equal(phase!.yLabel, 'Phase (deg)');
    assert.equal(phase!.xLabel, 'Frequency (Hz)');
    assert.equal(phase!.yScale.log, false);
  });

  test('empty data is recognised', () => {
    assert.equal(isPlotDataEmpty(collect('iv', 'Potential (V),Current (A)\r\n')), true);
    assert.equal(isPlotDataEmpty(collect('iv', 'Potential (V),Current (A)\r\nnan,nan\r\n')), true);
    assert.equal(isPlotDataEmpty(collect('iv', 'Potential (V),Current (A)\r\n0.0,1.0\r\n')), false);
  });

  test('ranges and labels', () => {
    assert.deepEqual(padRange(0, 10), { min: -0.5, max: 10.5, log: false });
    assert.deepEqual(padRange(2, 2), { min: 1.9, max: 2.1, log: false });
    assert.deepEqual(padRange(0, 0), { min: -1, max: 1, log: false });
    const lr = padLogRange(10, 1000);
    assert.ok(lr.log && lr.min < 10 && lr.min > 5 && lr.max > 1000 && lr.max < 2000);
    assert.equal(formatCycleLabel(1), 'Cycle 1');
    assert.equal(formatCycleLabel(1.6), 'Cycle 1.6');
  });
});

describe('transfer encoding', () => {
  test('16-bit positions come back within 1/65535 of the axis range (linear and log)', () => {
    const xs = Array.from({ length: 1000 }, (_, i) => -0.5 + i / 999);
    const ys = xs.map((x) => 1e-5 * Math.sin(10 * x));
    const fs = Array.from({ length: 50 }, (_, i) => 10 ** (i / 10));
    const spec: PageSpec = {
      widthPx: 800,
      heightPx: 600,
      heading: 'h',
      subtitle: 's',
      yAxisSizePx: 64,
      charts: [
        { weight: 1, xLabel: 'x', yLabel: 'y', yColor: null, xTickLabels: true, xScale: padRange(-0.5, 0.5), yScale: padRange(-1e-5, 1e-5), equalAspect: false, legend: false, series: [{ label: 'a', color: '#000', xs, ys, width: 1, markers: false }] },
        { weight: 1, xLabel: 'f', yLabel: 'z', yColor: null, xTickLabels: true, xScale: padLogRange(1, 1e5), yScale: padLogRange(1, 1e5), equalAspect: false, legend: false, series: [{ label: 'b', color: '#000', xs: fs, ys: fs, width: 1, markers: true }] },
      ],
    };
    const wire = encodePageSpecForTransfer(spec);
    assert.ok(JSON.stringify(wire).length < JSON.stringify(spec).length / 4, 'much smaller on the wire');
    wire.charts.forEach((chart, c) => {
      const s = chart.series[0] as unknown as { xq: string; yq: string };
      const decode = (b64: string) => new Uint16Array(new Uint8Array(Buffer.from(b64, 'base64')).buffer);
      const backX = dequantize(decode(s.xq), chart.xScale);
      const backY = dequantize(decode(s.yq), chart.yScale);
      const orig = spec.charts[c]!.series[0]!;
      const tol = (sc: { min: number; max: number; log: boolean }) => (sc.log ? (Math.log10(sc.max) - Math.log10(sc.min)) / 65535 : (sc.max - sc.min) / 65535);
      orig.xs.forEach((v, i) => {
        const err = chart.xScale.log ? Math.abs(Math.log10(backX[i]!) - Math.log10(v)) : Math.abs(backX[i]! - v);
        assert.ok(err <= tol(chart.xScale), `x[${i}] ${v} → ${backX[i]}`);
      });
      orig.ys.forEach((v, i) => {
        const err = chart.yScale.log ? Math.abs(Math.log10(backY[i]!) - Math.log10(v)) : Math.abs(backY[i]! - v);
        assert.ok(err <= tol(chart.yScale), `y[${i}] ${v} → ${backY[i]}`);
      });
    });
  });
});

describe('point budget', () => {
  test('a pathologically noisy CV stays within the per-chart budget and keeps its extremes', () => {
    let seed = 5;
    const rnd = () => {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      return seed / 2 ** 32 - 0.5;
    };
    const lines = ['Potential (V),Current (A),Cycle'];
    for (let i = 0; i < 400_000; i++) lines.push(`${(Math.sin(i / 20_000) * 0.5 + rnd() * 0.2).toFixed(6)},${(rnd() * 1e-5).toExponential(6)},1.0`);
    const data = collect('cv-cycles', lines.join('\n'), undefined, 8192);
    assert.ok(data.kind === 'cv-cycles');
    assert.ok(data.series[0]!.data.xs.length > MAX_POINTS_PER_CHART / 4, 'stage 1 alone leaves many points');
    const [spec] = buildPageSpecs(data, { title: 't', mode: 'CV' });
    const pts = spec!.charts[0]!.series[0]!;
    assert.ok(pts.xs.length <= MAX_POINTS_PER_CHART, `${pts.xs.length} points`);
    assert.ok(data.kind === 'cv-cycles');
    const all = data.series[0]!.data;
    assert.equal(Math.max(...pts.ys), Math.max(...all.ys));
    assert.equal(Math.min(...pts.xs), Math.min(...all.xs));
  });
});
