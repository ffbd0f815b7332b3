/**
 * The run-time checks on their own: overload episodes and their bounds, the charge meter and its
 * cut-off, the limits read from a mode's final parameters, and the slot notes that report them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChargeMeter } from '../../../src/driver/charge-meter.js';
import { OverloadCounter, currentFullScaleA } from '../../../src/driver/overload-counter.js';
import type { IntegrityEvent } from '../../../src/driver/run-accounting.js';
import { potentialCutoffCrossed, runLimitsOf } from '../../../src/driver/run-limits.js';
import { RunMonitor } from '../../../src/driver/run-monitor.js';
import { describeSlotNotes, type ModeResult } from '../../../src/jobs/job-record.js';
import { startingModeCounters } from '../../../src/jobs/mode-counters.js';
import { parseModeRequest } from '../../../src/modes/validate.js';
import { TIA_GAIN_OHMS } from '../../../src/protocol/constants.js';

test('overloads: rows within 0.5 % of the rails or of the current full scale count, one event per episode', () => {
  const events: IntegrityEvent[] = [];
  const fs = currentFullScaleA(TIA_GAIN_OHMS[0]!);
  assert.ok(Math.abs(fs - 4.95e-3) < 1e-5, `gain 0 full scale ${fs}`);
  const c = new OverloadCounter(fs, (e) => events.push(e));
  c.check(0, 1e-3, 0.5); // inside
  c.check(1, fs * 0.996, 0.5); // current at full scale
  c.check(2, -fs, 4.95); // both
  c.check(3, 0, 0.2); // episode ends
  c.check(4, 0, 4.93); // potential only, within 0.5 % of 4.95
  c.check(5, 0, 4.90); // inside (1 % below)
  c.finish();
  assert.deepEqual(c.figures(), { overloads: 3, overloads_current: 2, overloads_potential: 2, first_overload_index: 1 });
  assert.deepEqual(events.map((e) => [e.kind, e.planIndex, e.count]), [['overload', 1, 2], ['overload', 4, 1]]);
  assert.match(events[0]!.message, /2 points with current at full scale \(±4\.95 mA\) and potential at the rail \(±4\.95 V\) from plan index 1 to 2/);
});

test('overloads: episodes beyond the itemised ones are summed into one event; unknown gain checks only the rails', () => {
  const events: IntegrityEvent[] = [];
  const c = new OverloadCounter(null, (e) => events.push(e));
  for (let k = 0; k < 30; k++) {
    c.check(2 * k, 1, 0); // a huge current: not checked without a full scale
    c.check(2 * k + 1, 0, -5);
  }
  c.finish();
  assert.equal(c.points, 30);
  assert.equal(c.currentPoints, 0);
  assert.equal(events.length, 21, '20 episodes itemised, then one sum');
  assert.equal(events[20]!.count, 10);
  assert.equal(events[20]!.planIndex, 41);
});

test('charge meter: |Q| reaching the cut-off records where, once; no cut-off never stops', () => {
  const q = new ChargeMeter(1e-6);
  for (let i = 0; i < 9; i++) q.add(-1e-4, 1e-3); // −0.9 µC after 9 rows
  assert.equal(q.reached(8), false);
  q.add(-1e-4, 1e-3);
  q.add(-1e-4, 1e-3); // −1.1 µC
  assert.equal(q.reached(10), true);
  assert.equal(q.reached(20), true);
  assert.equal(q.stoppedAt, 10, 'the first block that reached it');
  assert.match(q.describeStop(), /\|Q\| = 1\.1 µC ≥ 1 µC at plan index 10/);
  const none = new ChargeMeter(null);
  none.add(1, 1);
  assert.equal(none.reached(0), false);
});

test('run monitor: OCP measures no charge; the cut-off event is reported once', () => {
  const events: IntegrityEvent[] = [];
  const ocp = new RunMonitor({ chargeCutoffC: 1e-9, potentialCutoffMax: null, potentialCutoffMin: null, potentialCutoffAction: 'stop_mode' }, false, (e) => events.push(e));
  ocp.row(0, 1, 0, 1);
  assert.equal(ocp.chargeCutoffReached(0), false);
  assert.equal(ocp.finish().charge_c, null);
  const ca = new RunMonitor({ chargeCutoffC: 1e-9, potentialCutoffMax: null, potentialCutoffMin: null, potentialCutoffAction: 'stop_mode' }, true, (e) => events.push(e));
  ca.row(0, 1e-6, 0, 1e-3);
  assert.equal(ca.chargeCutoffReached(0), true);
  assert.equal(ca.chargeCutoffReached(1), true);
  assert.deepEqual(events.map((e) => e.kind), ['charge_cutoff']);
});

test('limits from final params: charge cut-off and potential cut-offs, defaults when absent', () => {
  const cp = parseModeRequest('CP', { current: 1e-4, duration: 1, charge_cutoff_c: 0.01, potential_cutoff_max: 1.2, potential_cutoff_action: 'next_step' });
  assert.deepEqual(runLimitsOf(cp.mode, cp.params), { chargeCutoffC: 0.01, potentialCutoffMax: 1.2, potentialCutoffMin: null, potentialCutoffAction: 'next_step' });
  const ca = parseModeRequest('CA', { potential: 0.1, duration: 1 });
  assert.deepEqual(runLimitsOf(ca.mode, ca.params), { chargeCutoffC: null, potentialCutoffMax: null, potentialCutoffMin: null, potentialCutoffAction: 'stop_mode' });
  const limits = runLimitsOf(cp.mode, { ...cp.params, potential_cutoff_min: -0.5 } as typeof cp.params);
  assert.equal(potentialCutoffCrossed(limits, 1.2), 'max');
  assert.equal(potentialCutoffCrossed(limits, -0.5), 'min');
  assert.equal(potentialCutoffCrossed(limits, 0), null);
});

test('slot notes: overloads (compliance for galvanostatic modes), cut-offs and the planned points not measured', () => {
  const result = (mode: string, counters: Partial<ModeResult>): ModeResult => ({
    mode, ...startingModeCounters(1000), events: [], plot: null, warnings: [], error: null, ...counters,
  });
  const notes = describeSlotNotes([
    result('CP', { points: 300, expected_points: 300, poll_rate_hz: 550, overloads: 267, overloads_current: 267, overloads_potential: 250, first_overload_index: 332 }),
    result('CA', { points: 400, expected_points: 400, overloads: 12, overloads_current: 12, first_overload_index: 5, stop_reason: 'charge_cutoff', stop_detail: 'stopped at the charge cut-off: |Q| = 30 µC ≥ 30 µC at plan index 399' }),
    result('GS', { points: 100, expected_points: 100, poll_rate_hz: 550, cutoff_steps: 2 }),
    result('LSV', { points: 1000, expected_points: 1000 }),
  ]);
  assert.equal(
    notes,
    'CP: 267 points at the range limits (267 at current full scale, 250 at the potential rail) (compliance) from plan index 332; ' +
      'CA: 12 points at current full scale from plan index 5, stopped at the charge cut-off: |Q| = 30 µC ≥ 30 µC at plan index 399 (600 of 1000 planned points not measured); ' +
      'GS: 2 steps ended early at the potential cut-off',
  );
  assert.equal(describeSlotNotes([result('CP', { points: 300, expected_points: 300, poll_rate_hz: 550 })]), null, 'a polled mode with every poll a row is clean');
});
