/**
 * Run-time limits over real ptys against the virtual potentiostat (slot worker thread → driver →
 * TtyPort → socat pty → simulator):
 * - overloads: a CP beyond compliance (sent to the worker directly: validation refuses it) and a
 *   CA whose current exceeds the full scale of its gain are counted, with the first plan index
 *   and an `overload` event;
 * - the charge cut-off stops a CA and a CP after the block that reached it (|Q| ≥ cutoff,
 *   stop_reason charge_cutoff, rows contiguous, nothing lost, the rest "not measured");
 * - a GS potential cut-off stops the mode (stop_mode) or ends the step (next_step);
 * - a polled CP counts its rows against its polls (lost 0) with the plan's N as nominal_points;
 * - in a job, a mode stopped by its charge cut-off is followed by the next mode, its CSV holds
 *   exactly its points, and the slot's done message says why it stopped.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import type { IntegrityEvent } from '../../src/driver/run-accounting.js';
import { buildPlan } from '../../src/modes/plan.js';
import type { ModeParams } from '../../src/modes/types.js';
import { parseModeRequest } from '../../src/modes/validate.js';
import { StatusBit, TIA_GAIN_OHMS } from '../../src/protocol/constants.js';
import type { CommandLogEntry } from '../../src/sim/device-log.js';
import { startSimulators, type SimulatorSet } from '../../src/sim/run-sim.js';
import { SlotWorker, type MeasureOutcome } from '../../src/slots/slot-worker.js';
import { buildJobStatus } from '../../src/jobs/status-views.js';
import { settled, startEngineHarness, type EngineHarness } from '../helpers/engine-harness.js';

interface Collected {
  index: number[];
  current: number[];
  potential: number[];
  events: IntegrityEvent[];
}

let sims: SimulatorSet;
const workers: SlotWorker[] = [];

before(async () => {
  // Devices 2 and 3 are fresh cells for the potential cut-offs (a cell remembers the charge a run left).
  sims = await startSimulators({ count: 4, firstIndex: 31 });
  workers.push(...sims.ports.map((p) => SlotWorker.spawn(p)));
});

after(async () => {
  await Promise.all(workers.map((w) => w.close()));
  await sims?.close();
});

/** Validated params (defaults filled), then `extra` merged in unchecked (the worker trusts its caller). */
function paramsOf(mode: string, params: Record<string, unknown>, extra: Record<string, unknown> = {}): { mode: ReturnType<typeof parseModeRequest>['mode']; params: ModeParams } {
  const request = parseModeRequest(mode, params);
  return { mode: request.mode, params: { ...request.params, ...extra } as ModeParams };
}

async function measure(worker: SlotWorker, mode: string, params: Record<string, unknown>, extra: Record<string, unknown>, tiaGain: number): Promise<{ outcome: MeasureOutcome; rows: Collected; n: number }> {
  const request = paramsOf(mode, params, extra);
  const rows: Collected = { index: [], current: [], potential: [], events: [] };
  const outcome = await worker.measure({ mode: request.mode, params: request.params, tiaGain, galPollIntervalMs: 2 }, {
    onBlock: (b) => {
      for (let i = 0; i < b.count; i++) {
        rows.index.push(b.firstIndex + i);
        rows.current.push(b.current[i]!);
        rows.potential.push(b.potential[i]!);
      }
    },
    onEvent: (e) => rows.events.push(e),
  });
  return { outcome, rows, n: buildPlan(request.mode, request.params).n };
}

const idleWithCeOpen = (i: number): boolean => (sims.devices[i]!.status & (StatusBit.RUN | StatusBit.CE)) === 0;

test('CP beyond compliance (10 mA at gain 0, past validation): overloads counted from the first clipped row, with events', async () => {
  const { outcome, rows } = await measure(workers[0]!, 'CP', { current: 0.001, duration: 0.5 }, { current: 0.01 }, 0);
  const s = outcome.summary;
  const fullScale = 4.95 / TIA_GAIN_OHMS[0]!;
  const clipped = rows.current.filter((i) => Math.abs(i) >= fullScale * 0.995).length;
  console.log(`CP 10 mA at gain 0: ${s.overloads} of ${s.points} rows overloaded (${s.overloads_current} current, ${s.overloads_potential} potential) from plan index ${s.first_overload_index}`);
  assert.ok(s.overloads > 0.5 * s.points, `${s.overloads} of ${s.points} rows overloaded`);
  assert.ok(s.overloads_current > 0, 'current at full scale');
  assert.ok(s.overloads >= clipped, `${s.overloads} counted, ${clipped} rows at full scale`);
  assert.notEqual(s.first_overload_index, null);
  assert.ok(rows.index.includes(s.first_overload_index!), 'the first overload index is a row');
  const overloadEvents = rows.events.filter((e) => e.kind === 'overload');
  assert.ok(overloadEvents.length >= 1);
  assert.equal(overloadEvents[0]!.planIndex, s.first_overload_index);
  assert.match(overloadEvents[0]!.message, /current at full scale/);
  assert.equal(s.stop_reason, 'completed');
  assert.ok(idleWithCeOpen(0));
});

test('CA whose current exceeds the full scale of gain 3 (1 MΩ): overloads counted, first index where the reading clips', async () => {
  const { outcome, rows } = await measure(workers[0]!, 'CA', { potential: 1, duration: 0.5 }, {}, 3);
  const s = outcome.summary;
  const fullScale = 4.95 / TIA_GAIN_OHMS[3]!;
  const firstClipped = rows.current.findIndex((i) => Math.abs(i) >= fullScale * 0.995);
  assert.ok(firstClipped >= 0, 'the simulator clips the reading');
  assert.equal(s.first_overload_index, rows.index[firstClipped]);
  assert.ok(s.overloads_current > 0);
  assert.equal(s.overloads_potential, 0, '1 V is inside the rails');
  assert.equal(s.lost, 0);
  assert.equal(s.points, s.expected_points);
});

test('charge cut-off stops a CA after the block that reached it: |Q| ≥ cutoff, rows contiguous, lost 0, rest not measured', async () => {
  const cutoff = 30e-6;
  const { outcome, rows, n } = await measure(workers[1]!, 'CA', { potential: 0.5, duration: 3 }, { charge_cutoff_c: cutoff }, 0);
  const s = outcome.summary;
  console.log(`CA charge cut-off ${cutoff} C: ${s.points} of ${n} points, Q = ${s.charge_c} C, ${s.duration_s.toFixed(2)} s`);
  assert.equal(s.stop_reason, 'charge_cutoff');
  assert.equal(s.aborted, false, 'an early stop is not an abort');
  assert.ok(Math.abs(s.charge_c!) >= cutoff, `Q ${s.charge_c}`);
  // The charge of the rows themselves (Δt = the point interval) reaches the cut-off within the last block.
  const q = rows.current.reduce((a, i) => a + i * 360e-6, 0);
  assert.ok(Math.abs(q) >= cutoff * 0.98, `Σ I·Δt over the rows ${q}`);
  assert.equal(s.nominal_points, n);
  assert.ok(s.points < n / 2, `${s.points} of ${n}`);
  assert.equal(s.points, s.expected_points);
  assert.equal(outcome.integrity.rows, s.points);
  assert.equal(s.lost, 0);
  rows.index.forEach((v, i) => assert.equal(v, i));
  assert.match(s.stop_detail!, /charge cut-off/);
  assert.ok(rows.events.some((e) => e.kind === 'charge_cutoff'));
  assert.ok(idleWithCeOpen(1), 'device idle, CE open (nothing follows)');
  // The device is clean for the next run.
  const again = await measure(workers[1]!, 'CA', { potential: 0.1, duration: 0.1 }, {}, 0);
  assert.equal(again.outcome.summary.points, 277);
  assert.equal(again.outcome.summary.stop_reason, 'completed');
});

test('charge cut-off stops a CP (polled): Q from the actual poll spacing reaches the cut-off', async () => {
  const cutoff = 20e-6;
  const { outcome, rows } = await measure(workers[1]!, 'CP', { current: 1e-4, duration: 2 }, { charge_cutoff_c: cutoff }, 1);
  const s = outcome.summary;
  assert.equal(s.stop_reason, 'charge_cutoff');
  assert.ok(Math.abs(s.charge_c!) >= cutoff);
  assert.ok(s.duration_s < 1.2, `stopped after ${s.duration_s} s (Q = I·t reaches 20 µC at 0.2 s)`);
  assert.equal(s.points, rows.index.length);
  assert.equal(s.lost, 0);
  assert.ok(idleWithCeOpen(1));
});

test('GS potential cut-off, stop_mode: the mode stops in the step that crosses it', async () => {
  const { outcome, rows, n } = await measure(workers[2]!, 'GS', { start: 0.0005, end: 0.004, num_steps: 4, step_duration: 0.2 }, { potential_cutoff_max: 2.0 }, 0);
  const s = outcome.summary;
  assert.equal(s.stop_reason, 'potential_cutoff');
  assert.match(s.stop_detail!, /potential_cutoff_max 2 V/);
  assert.ok(rows.potential.at(-1)! >= 2.0, `last row at ${rows.potential.at(-1)} V`);
  assert.ok(rows.potential.slice(0, -1).every((e) => e < 2.0), 'no row before the last crossed it');
  assert.ok(rows.index.at(-1)! < (3 * n) / 4, 'stopped before the last step');
  assert.ok(rows.events.some((e) => e.kind === 'potential_cutoff'));
  assert.ok(idleWithCeOpen(2));
});

test('GS potential cut-off, next_step: each step that crosses it ends early, the next one starts', async () => {
  const { outcome, rows, n } = await measure(
    workers[3]!, 'GS', { start: 0.0005, end: 0.004, num_steps: 4, step_duration: 0.2 }, { potential_cutoff_max: 1.5, potential_cutoff_action: 'next_step' }, 0,
  );
  const s = outcome.summary;
  const stepLength = n / 4;
  const stepsWithRows = new Set(rows.index.map((i) => Math.floor(i / stepLength)));
  assert.deepEqual([...stepsWithRows].sort(), [0, 1, 2, 3], 'every step ran');
  assert.equal(s.stop_reason, 'completed');
  assert.equal(s.cutoff_steps, 3, 'steps 2–4 reach 1.5 V');
  assert.equal(rows.events.filter((e) => e.kind === 'potential_cutoff').length, 3);
  assert.ok(s.duration_s < 0.7, `steps cut short: ${s.duration_s} s for 0.8 s planned`);
});

test('polled CP: rows counted against its polls (lost 0), the plan N alongside, with the poll rate', async () => {
  const { outcome, n } = await measure(workers[1]!, 'CP', { current: 1e-5, duration: 0.5 }, {}, 1);
  const s = outcome.summary;
  console.log(`polled CP: ${s.points} rows = ${s.expected_points} expected, ${s.poll_rate_hz?.toFixed(0)} polls/s, nominal ${s.nominal_points}`);
  assert.equal(s.nominal_points, n);
  assert.equal(s.expected_points, s.points);
  assert.equal(s.lost, 0);
  assert.ok(s.points < n / 2, `${s.points} polled rows of a ${n}-point plan`);
  assert.ok(s.poll_rate_hz! > 100, `poll rate ${s.poll_rate_hz}`);
  // The rows are the polls made over the mode's duration at the achieved rate.
  assert.ok(Math.abs(s.points - s.poll_rate_hz! * 0.5) < 0.2 * s.points, `${s.points} rows at ${s.poll_rate_hz} Hz over 0.5 s`);
});

// ---- in a job: the engine goes on with the next mode ----------------------------------------

let harness: EngineHarness | null = null;

after(async () => {
  await harness?.close();
});

test('job: CA stopped by charge_cutoff_c, then LSV runs; CSV rows = points, lost 0, the done message says why', async () => {
  harness ??= await startEngineHarness({ slots: 1 });
  const fromUs = performance.now() * 1000;
  const job = await harness.submit({
    modes: ['CA', 'LSV'],
    params_by_mode: { CA: { potential: 0.5, duration: 3, charge_cutoff_c: 30e-6 }, LSV: { start: 0.5, end: 0.6, scan_rate: 0.5 } },
    tia_gain: 0,
  });
  await settled(job);
  const slot = job.record.slots[0]!;
  assert.equal(slot.status, 'done', slot.message ?? '');
  const [ca, lsv] = slot.results;
  assert.equal(ca!.stop_reason, 'charge_cutoff');
  assert.equal(ca!.lost, 0);
  assert.equal(ca!.nominal_points, 8333);
  assert.ok(ca!.points < 8333 && ca!.points === ca!.expected_points);
  assert.equal(lsv!.stop_reason, 'completed');
  assert.equal(lsv!.points, lsv!.nominal_points);
  const csvRows = (path: string) => readFile(path, 'utf8').then((t) => t.trimEnd().split('\r\n').length - 1);
  const files = job.plan!.slots[0]!.files;
  assert.equal(await csvRows(files[0]!.csv), ca!.points);
  assert.equal(await csvRows(files[1]!.csv), lsv!.points);
  // The cut-off opens the CE while the setpoints already queued drain; then, a next mode
  // following, the cell is held again at the CA's potential before the LSV starts.
  const device = harness.sims!.devices[0]!;
  const starts = device.log.entries(fromUs).filter((e): e is CommandLogEntry => e.kind === 'command' && e.name === 'FIFO_START' && e.param === 1);
  assert.equal(starts.length, 2);
  const [caStart, lsvStart] = starts as [CommandLogEntry, CommandLogEntry];
  const windows = device.log.ceOpenIntervals(caStart.simUs, lsvStart.simUs, true);
  assert.equal(windows.length, 1, JSON.stringify(windows));
  assert.equal(windows[0]!.closedBy, 'SET_SWITCH', 'closed again before the LSV');
  assert.ok(Math.abs(lsvStart.vceinSetV - 0.5) < 1e-6, `held at ${lsvStart.vceinSetV} V`);
  console.log(`CA charge cut-off in a sequence: CE open ${((windows[0]!.toUs - windows[0]!.fromUs) / 1000).toFixed(0)} ms while the queued setpoints drained`);
  assert.match(slot.message ?? '', /CA: stopped at the charge cut-off: \|Q\| = [\d.]+ µC ≥ 30 µC at plan index \d+ \(\d+ of 8333 planned points not measured\)/);
});

test('job: a CA beyond the full scale of gain 3 ends done, its overloads in the record, the done message and GET /jobs/{id}', async () => {
  harness ??= await startEngineHarness({ slots: 1 });
  const job = await harness.submit({ modes: ['CA'], params_by_mode: { CA: { potential: 1, duration: 0.5, tia_gain: 3 } }, tia_gain: 0 });
  await settled(job);
  const slot = job.record.slots[0]!;
  assert.equal(slot.status, 'done');
  const ca = slot.results[0]!;
  assert.ok(ca.overloads > 0 && ca.overloads === ca.overloads_current, `${ca.overloads} overloads`);
  assert.ok(ca.events.some((e) => e.kind === 'overload' && e.planIndex === ca.first_overload_index));
  assert.equal(slot.message, `CA: ${ca.overloads} points at current full scale from plan index ${ca.first_overload_index}`);
  const status = buildJobStatus(job);
  assert.equal(status.slots[0]!.overloads, ca.overloads);
  assert.equal(status.slots[0]!.results[0]!.overloads, ca.overloads);
  assert.equal(status.slots[0]!.results[0]!.stop_reason, 'completed');
  assert.equal(status.slots[0]!.message, slot.message);
});
