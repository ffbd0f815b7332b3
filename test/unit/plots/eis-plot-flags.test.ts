/**
 * EIS plots mark the spectrum points flagged low_quality (#11): the spectrum CSV as the recorder
 * writes it → the plot collector → the page specs of the Nyquist and Bode plots.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeEisSpectrumCsv, type EisSpectrumRow } from '../../../src/modes/eis.js';
import { buildPageSpecs, EIS_FLAGGED_LABEL } from '../../../src/plots/build-page-spec.js';
import { createPlotDataCollector, type PlotData } from '../../../src/plots/collect-plot-data.js';
import { createCsvColumnParser } from '../../../src/plots/csv-columns.js';
import { TAB10 } from '../../../src/plots/page-spec.js';

function row(frequencyHz: number, zImagOhm: number, quality: string): EisSpectrumRow {
  const zRealOhm = 100;
  return {
    index: 0, frequencyHz, requestedFreqHz: frequencyHz, pointsPerPeriod: 10, cyclesUsed: 3, zRealOhm, zImagOhm,
    zAbsOhm: Math.hypot(zRealOhm, zImagOhm), phaseDeg: (Math.atan2(zImagOhm, zRealOhm) * 180) / Math.PI, eAmpV: 0.01, iAmpA: 1e-4,
    driftRel: 0, harmonicsRel: 0, residualRel: 0, uncertaintyRel: 0.001, quality,
  };
}

function collectEis(csv: string): PlotData {
  const collector = createPlotDataCollector('eis', {});
  const parser = createCsvColumnParser({ columns: collector.columns, onBlock: (b) => collector.onBlock(b) });
  parser.push(new TextEncoder().encode(csv));
  return collector.finish(parser.end().rows);
}

test('flagged points get a red, unjoined overlay and a legend on the Nyquist and Bode plots', () => {
  const csv = encodeEisSpectrumCsv([
    row(277.78, -30, 'low_quality: E harmonics 9.0 % > 5.0 % (non-linear or clipped)'),
    row(100, -80, 'ok'),
    row(10, -800, 'ok'),
    row(1, -8000, 'low_quality: uncertainty 3.0 % > 2.0 % (signal too small for the noise)'),
  ]);
  const data = collectEis(csv);
  assert.equal(data.kind, 'eis');
  assert.deepEqual(data.kind === 'eis' ? [...data.lowQuality!] : null, [1, 0, 0, 1]);
  const [nyq, bode] = buildPageSpecs(data, { title: 't', mode: 'EIS' });
  const charts = [nyq!.charts[0]!, ...bode!.charts];
  for (const chart of charts) {
    assert.equal(chart.series.length, 2, chart.yLabel);
    const [all, flagged] = chart.series;
    assert.equal(all!.xs.length, 4, 'every point stays on the joined line');
    assert.equal(flagged!.label, EIS_FLAGGED_LABEL);
    assert.equal(flagged!.color, TAB10[3]);
    assert.notEqual(flagged!.color, all!.color);
    assert.equal(flagged!.line, false, 'markers only');
    assert.equal(flagged!.markers, true);
    assert.equal(flagged!.xs.length, 2);
  }
  assert.deepEqual(charts[0]!.series[1]!.ys, [30, 8000], 'Nyquist: −Z_imag of the flagged points');
  assert.deepEqual(charts[1]!.series[1]!.xs, [277.78, 1], 'Bode: their frequencies');
  assert.equal(charts[0]!.legend, true);
  assert.equal(charts[1]!.legend, true);
});

test('a spectrum without flags (or without the quality columns) keeps the single series', () => {
  const clean = collectEis(encodeEisSpectrumCsv([row(100, -80, 'ok'), row(10, -800, 'ok')]));
  const old = collectEis('Frequency (Hz),Z_real (Ohm),Z_imag (Ohm)\r\n100.0,100.0,-80.0\r\n');
  for (const data of [clean, old]) {
    for (const spec of buildPageSpecs(data, { title: 't', mode: 'EIS' })) {
      for (const chart of spec.charts) {
        assert.equal(chart.series.length, 1);
        assert.equal(chart.legend, false);
      }
    }
  }
});
