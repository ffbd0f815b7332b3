/**
 * The CDL plots: the analysed cycles only (no open-circuit jump, no first cycle, no rests), and
 * capacitive current vs scan rate with the through-origin fit, a dashed y = 0 and the C_dl/R² box.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildPlan } from '../../../src/modes/plan.js';
import type { CdlParams } from '../../../src/modes/types.js';
import { buildPageSpecs, formatCdlNote } from '../../../src/plots/build-page-spec.js';
import { PlotDataFeed } from '../../../src/plots/plot-data-feed.js';
import { deriveCdlPngPath, describePlotHeading, plotKindForMode } from '../../../src/plots/plot-kind.js';
import { CdlRecording } from '../../../src/recording/cdl-recording.js';

const params: CdlParams = { vertex_a: -0.35, vertex_b: -0.25, scan_rates: [0.5, 1], rest_time: 0.05, start: -0.3, end: -0.35 };

test('CDL plot kind, headings and file names', () => {
  assert.equal(plotKindForMode('CDL'), 'cdl');
  assert.equal(describePlotHeading('cdl', 'CDL'), 'Double-Layer Capacitance (CDL) - Analysed Cycles');
  assert.equal(describePlotHeading('cdl', 'CDL', 'scan-rate'), 'Capacitive current vs Scan rate');
  assert.equal(deriveCdlPngPath('/r/x_s1_CDL.png'), '/r/x_s1_CDL_cdl.png');
  assert.equal(formatCdlNote(2.0004e-5, 0.99997), 'C_dl ≈ 20.00 µF   R² ≈ 1.0000');
  assert.equal(formatCdlNote(1.5e-3, null), 'C_dl ≈ 1.500 mF   (one rate: no R²)');
  assert.equal(formatCdlNote(null, null), 'C_dl: no analysed scan rate');
});

test('the cycles plot draws only the analysed cycles; the second plot has the fit', () => {
  const plan = buildPlan('CDL', params);
  const cdl = new CdlRecording(plan, params);
  const feed = new PlotDataFeed('cdl', null, plan.cycle, cdl.isAnalysed);
  // A cell starting far from `start`: a huge current on the first points (the open-circuit jump).
  const current = new Float32Array(plan.n);
  for (let k = 0; k < plan.n; k++) current[k] = k < 20 ? 5e-3 : (k > 0 && plan.setpoints[k]! >= plan.setpoints[k - 1]! ? 1 : -1) * 2e-5 * (plan.cdlBlocks![k < plan.cdlBlocks![1]!.firstIndex ? 0 : 1]!.scanRate);
  for (let k = 0; k < plan.n; k++) feed.addLine(k, k * plan.intervalS, plan.setpoints[k]!, current[k]!);
  cdl.push(0, current, plan.n);
  const out = cdl.finish();
  const data = feed.finish();
  assert.equal(data.kind, 'cdl');
  if (data.kind !== 'cdl') return;
  assert.deepEqual(data.series.map((s) => s.cycle), [2, 4]);
  const maxI = Math.max(...data.series.flatMap((s) => Array.from(s.data.ys)));
  assert.ok(maxI < 1e-4, `open-circuit jump kept out of the plot (max ${maxI})`);
  const specs = buildPageSpecs({ ...data, fit: out.fit }, { title: 'exp · slot01 · CDL', mode: 'CDL' });
  assert.equal(specs.length, 2);
  assert.equal(specs[0]!.heading, 'Double-Layer Capacitance (CDL) - Analysed Cycles');
  const rate = specs[1]!;
  assert.deepEqual([rate.widthPx, rate.heightPx, rate.heading], [800, 600, 'Capacitive current vs Scan rate']);
  const chart = rate.charts[0]!;
  assert.deepEqual([chart.xLabel, chart.yLabel], ['Scan rate v (V/s)', 'I_cap (A)']);
  assert.match(chart.note!, /^C_dl ≈ (19\.[5-9]|20\.[0-4])\d µF {3}R² ≈ 1\.0000$/);
  const byLabel = new Map(chart.series.map((s) => [s.label, s]));
  assert.deepEqual(byLabel.get('y = 0')!.dash, [6, 4]);
  const fit = byLabel.get('Fit I_cap = C_dl·v')!;
  assert.equal(fit.xs[0], 0);
  assert.equal(fit.ys[0], 0);
  assert.ok(fit.ys[1]! <= chart.yScale.max, 'fit line inside the y range');
  const points = byLabel.get('I_cap') ?? byLabel.get('I_cap (flagged)')!;
  assert.equal(points.line, false);
  assert.equal(points.markers, true);
});
