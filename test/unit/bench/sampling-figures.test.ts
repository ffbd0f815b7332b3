import { test } from 'node:test';
import assert from 'node:assert/strict';
import { combineRuns, isClean, runFigures, samplingTable, type SlotCounters } from '../../../bench/sampling-figures.js';
import type { RoleCpu } from '../../../bench/thread-cpu.js';

function slot(mode: 'CV' | 'CP', over: Partial<SlotCounters> = {}): SlotCounters {
  return { mode, points: 27_000, expected_points: 27_000, lost: 0, duplicated: 0, dac_underruns: 0, adc_overflows: 0, duration_s: 10, poll_rate_hz: mode === 'CP' ? 480 : null, failed: false, ...over };
}

// 10 s window: main 1 s, slot threads 2 s, recorder 0.5 s, pool 0.1 s, other 0.4 s (4 s in all).
const CPU: RoleCpu = { seconds: { supervisor: 1, slots: 2, recorder: 0.5, pool: 0.1, other: 0.4 }, total: 4, wallS: 10, slotThreads: 4 };
const ELD = { p50_ms: 1, p99_ms: 3, max_ms: 9 };

test('runFigures: per-slot supervisor CPU excludes the recorder and the pool; rates per mode', () => {
  const r = runFigures({ mode: 'mixed', slots: [slot('CV'), slot('CV', { points: 25_000 }), slot('CP'), slot('CP', { poll_rate_hz: 450 })], cpu: CPU, simulatorCpuS: 2, eld: ELD, peakRssBytes: 200 * 2 ** 20 });
  assert.equal(r.supervisor_per_slot_pct, 8.5); // (4 − 0.5 − 0.1) s / 10 s = 34 % over 4 slots
  assert.equal(r.main_per_slot_pct, 2.5);
  assert.equal(r.slot_threads_per_slot_pct, 5);
  assert.equal(r.cpu_pct.recorder, 5);
  assert.equal(r.simulators_per_slot_pct, 5);
  assert.equal(r.cv_rate_min, 2500);
  assert.equal(r.cv_rate_median, 2600);
  assert.equal(r.cp_polls_min, 450);
  assert.equal(r.peak_rss_mib, 200);
  assert.ok(isClean(r));
});

test('isClean: any lost, duplicated, underrun, overflow or failed slot makes a run unclean', () => {
  const base = runFigures({ mode: 'CV', slots: [slot('CV')], cpu: CPU, simulatorCpuS: 0, eld: ELD, peakRssBytes: 0 });
  for (const bad of [{ lost: 1 }, { duplicated: 1 }, { underruns: 1 }, { overflows: 1 }, { failed_slots: 1 }]) assert.equal(isClean({ ...base, ...bad }), false, JSON.stringify(bad));
});

test('runFigures counts slots whose rows and losses do not add up to the plan', () => {
  const r = runFigures({ mode: 'CV', slots: [slot('CV', { points: 26_000, lost: 1000 }), slot('CV', { points: 26_000, lost: 999 }), slot('CV', { failed: true, points: 5 })], cpu: CPU, simulatorCpuS: 0, eld: ELD, peakRssBytes: 0 });
  assert.equal(r.unaccounted_slots, 1);
});

test('combineRuns: medians of figures, sums of integrity counters, lowest minimum rate', () => {
  const runs = [
    runFigures({ mode: 'CV', slots: [slot('CV')], cpu: { ...CPU, total: 3.6 }, simulatorCpuS: 0, eld: ELD, peakRssBytes: 0 }),
    runFigures({ mode: 'CV', slots: [slot('CV', { lost: 7000, points: 20_000 })], cpu: CPU, simulatorCpuS: 0, eld: { ...ELD, max_ms: 50 }, peakRssBytes: 0 }),
    runFigures({ mode: 'CV', slots: [slot('CV')], cpu: { ...CPU, total: 5 }, simulatorCpuS: 0, eld: ELD, peakRssBytes: 0 }),
  ];
  const c = combineRuns(runs);
  assert.equal(c.runs, 3);
  assert.equal(c.lost, 7000);
  assert.equal(c.unaccounted_slots, 0);
  assert.equal(c.cv_rate_min, 2000);
  assert.equal(c.cpu_pct.daemon_total, 40);
  assert.equal(c.eld_max_ms, 50);
  assert.equal(c.cp_polls_median, null);
  assert.match(samplingTable([c]), /\| 1 \| CV \| 3 \| 2700 \| 2000 \| — \| — \| 7000 \| 0 \| 0 \| 0 \| 0 \| 0 \|/);
});
