/**
 * The driver over real pseudo-terminals: slot worker thread → driver → TtyPort → socat
 * pty → virtual potentiostat. Every mode, exact sample/setpoint alignment, abort, unplug.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { StatusBit } from '../../src/protocol/constants.js';
import { buildPlan } from '../../src/modes/plan.js';
import { parseModeParams, parseModeRequest } from '../../src/modes/validate.js';
import { startSimulators, type SimulatorSet } from '../../src/sim/run-sim.js';
import { SlotWorker, type MeasureOutcome } from '../../src/slots/slot-worker.js';
import { PortError } from '../../src/errors.js';

interface Collected {
  index: number[];
  current: number[];
  potential: number[];
}

async function measure(worker: SlotWorker, mode: string, params: Record<string, unknown>, tiaGain: number | null = 0): Promise<{ outcome: MeasureOutcome; rows: Collected }> {
  const rows: Collected = { index: [], current: [], potential: [] };
  // Callers validate; the worker trusts its parameters.
  const request = parseModeRequest(mode, params);
  const outcome = await worker.measure({ mode: request.mode, params: request.params, tiaGain, galPollIntervalMs: 2 }, {
    onBlock: (b) => {
      for (let i = 0; i < b.count; i++) {
        rows.index.push(b.firstIndex + i);
        rows.current.push(b.current[i]!);
        rows.potential.push(b.potential[i]!);
      }
    },
  });
  return { outcome, rows };
}

// Exact sims (no noise, no smoothing): the measured potential is the setpoint in force.
let exact: SimulatorSet;
let realistic: SimulatorSet;
// One worker per port, as the slot registry does (a pty's lock does not survive Node's tty reopen).
const workers = new Map<string, SlotWorker>();
const spawnWorker = (path: string) => {
  let w = workers.get(path);
  if (!w) {
    w = SlotWorker.spawn(path);
    workers.set(path, w);
  }
  return w;
};

after(async () => {
  await Promise.all([...workers.values()].map((w) => w.close()));
  await exact?.close();
  await realistic?.close();
});

const potentiostatic: Array<[string, Record<string, unknown>]> = [
  ['CA', { potential: 0.2, duration: 0.3 }],
  ['LSV', { start: -0.2, end: 0.3, scan_rate: 1 }],
  ['CV', { start: 0, vertex1: 0.3, vertex2: -0.3, end: 0, scan_rate: 2, cycles: 2 }],
  ['PSTEP', { potentials: [0.1, -0.2, 0.3], step_duration: 0.1 }],
  ['CDL', { vertex_a: 0.1, vertex_b: 0.2, scan_rates: [1, 2] }],
  ['EIS', { start_freq: 200, end_freq: 50, points_per_decade: 3, cycles_per_freq: 2 }],
];

test('setup simulators', async () => {
  exact = await startSimulators({ count: 2, noise: 0, smoothing: false });
  realistic = await startSimulators({ count: 3, firstIndex: 11 });
  assert.equal(exact.ports.length, 2);
});

for (const [mode, params] of potentiostatic) {
  test(`${mode}: every plan point arrives once, in order, measured under its own setpoint`, async () => {
    const worker = spawnWorker(exact.ports[0]!);
    const plan = buildPlan(parseModeRequest(mode, params).mode, parseModeRequest(mode, params).params);
    const { outcome, rows } = await measure(worker, mode, params);
    const s = outcome.summary;
    assert.equal(s.points, plan.n);
    assert.equal(outcome.integrity.rows, plan.n);
    assert.deepEqual([s.lost, s.duplicated, s.dac_underruns, s.adc_overflows, outcome.integrity.missingMessages, outcome.integrity.skippedIndices], [0, 0, 0, 0, 0, 0]);
    for (let j = 0; j < rows.index.length; j++) {
      assert.equal(rows.index[j], j);
      // Pair k belongs to setpoint k−1: with an ideal cell the reading equals it exactly.
      if (rows.potential[j] !== plan.applied![j]) assert.fail(`${mode} row ${j}: measured ${rows.potential[j]} under setpoint ${plan.applied![j]}`);
    }
    assert.equal(exact.devices[0]!.status & (StatusBit.RUN | StatusBit.CE), 0, 'device idle with the CE switch open');
  });
}

test('OCP: exactly N rows with the CE switch open', async () => {
  const worker = spawnWorker(realistic.ports[0]!);
  const { outcome, rows } = await measure(worker, 'OCP', { duration: 0.5 });
  assert.equal(outcome.summary.points, 1388);
  assert.deepEqual([outcome.summary.lost, outcome.summary.duplicated], [0, 0], 'points after the requested duration are not duplicates');
  assert.deepEqual(rows.index.slice(0, 3), [0, 1, 2]);
  assert.equal(rows.index.at(-1), 1387);
  assert.equal(realistic.devices[0]!.status & StatusBit.RUN, 0);
});

for (const [mode, params] of [
  ['CP', { current: 1e-5, duration: 0.3 }],
  ['GS', { start: -1e-5, end: 1e-5, num_steps: 3, step_duration: 0.1 }],
  ['GCV', { start: 0, vertex1: 1e-5, vertex2: -1e-5, end: 0, num_steps: 2, step_duration: 0.05, cycles: 1 }],
  ['STEPSEQ', { currents: [1e-5, -1e-5], step_duration: 0.1 }],
] as const) {
  test(`${mode}: galvanostatic steps polled at a fixed rate, rows strictly increasing within the plan`, async () => {
    const worker = spawnWorker(realistic.ports[1]!);
    const plan = buildPlan(parseModeRequest(mode, params).mode, parseModeRequest(mode, params).params);
    const { outcome, rows } = await measure(worker, mode, params as Record<string, unknown>, 1);
    assert.ok(outcome.summary.points > 20, `only ${outcome.summary.points} polled rows`);
    assert.ok(outcome.summary.poll_rate_hz! > 100, `poll rate ${outcome.summary.poll_rate_hz}`);
    for (let j = 1; j < rows.index.length; j++) assert.ok(rows.index[j]! > rows.index[j - 1]!);
    assert.ok(rows.index.at(-1)! < plan.n);
    assert.equal(outcome.integrity.duplicatedRows, 0);
  });
}

test('abort mid-run: device switched off and stopped, partial rows contiguous from 0', async () => {
  const worker = spawnWorker(realistic.ports[2]!);
  const rows: number[] = [];
  const running = worker.measure({ mode: 'CA', params: { potential: 0.3, duration: 20 }, tiaGain: 0 }, { onBlock: (b) => { for (let i = 0; i < b.count; i++) rows.push(b.firstIndex + i); } });
  await new Promise((r) => setTimeout(r, 700));
  const t0 = Date.now();
  await worker.abort();
  const outcome = await running;
  assert.ok(Date.now() - t0 < 3000, 'abort completes promptly');
  assert.equal(outcome.summary.aborted, true);
  assert.ok(rows.length > 500);
  rows.forEach((v, i) => assert.equal(v, i));
  const st = realistic.devices[2]!.status;
  assert.equal(st & (StatusBit.RUN | StatusBit.CE), 0, `st=0x${st.toString(16)}`);
  // The device is usable again right away.
  const again = await measure(worker, 'CA', { potential: 0.1, duration: 0.1 });
  assert.equal(again.outcome.summary.points, 277);
});

test('unplug mid-run: clear error naming the port within 2 s, worker not hung', async () => {
  const sims = await startSimulators({ count: 1, firstIndex: 21 });
  try {
    const worker = spawnWorker(sims.ports[0]!);
    const running = worker.measure({ mode: 'CA', params: { potential: 0.3, duration: 20 }, tiaGain: 0 }, { onBlock: () => undefined });
    const settled = running.then(() => null, (err: unknown) => err);
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    sims.links[0]!.unplug();
    const err = await settled;
    assert.ok(Date.now() - t0 < 2000, `error after ${Date.now() - t0} ms`);
    assert.ok(err instanceof PortError, `got ${String(err)}`);
    assert.match((err as Error).message, new RegExp(sims.ports[0]!.replace(/[/.]/g, '\\$&')));
    const closing = Date.now();
    await worker.close();
    assert.ok(Date.now() - closing < 2500, 'worker closes promptly');
  } finally {
    await sims.close();
  }
});

test('connect reports the USB serial-number string the device derives from its unique ID', async () => {
  const identity = await spawnWorker(exact.ports[1]!).connect();
  assert.equal(identity.uid, exact.devices[1]!.serialNumber);
  assert.match(identity.uid!, /^[0-9A-F]{12}$/);
});

/** Rows + counted losses cover the plan exactly; every row is measured under its own setpoint. */
function assertAlignedDespiteLosses(plan: ReturnType<typeof buildPlan>, outcome: MeasureOutcome, rows: Collected): void {
  assert.equal(rows.index.length + outcome.summary.lost, plan.n, 'every plan point is either a row or counted as lost');
  assert.equal(outcome.integrity.duplicatedRows, 0);
  for (let j = 1; j < rows.index.length; j++) assert.ok(rows.index[j]! > rows.index[j - 1]!);
  for (let j = 0; j < rows.index.length; j++) {
    if (rows.potential[j] !== plan.applied![rows.index[j]!]) assert.fail(`row for plan index ${rows.index[j]} measured under another setpoint`);
  }
}

test('ADC overflow during a BUSY storm: lost points are counted and left out, every other row stays aligned', async () => {
  const params = { start: 0, end: 0.5, scan_rate: 0.125 }; // 4 s ramp: alignment errors would show
  const plan = buildPlan('LSV', parseModeParams('LSV', params));
  const running = measure(spawnWorker(exact.ports[1]!), 'LSV', params);
  await new Promise((r) => setTimeout(r, 800));
  exact.links[1]!.busyStorm(1300); // reads refused for longer than the ADC FIFO lasts (0.74 s)
  const { outcome, rows } = await running;
  assert.ok(outcome.summary.lost > 200, `lost ${outcome.summary.lost}`);
  assert.ok(outcome.summary.adc_overflows >= 1);
  assert.ok(outcome.summary.events.some((e) => e.kind === 'adc_overflow'));
  assert.equal(outcome.summary.dac_underruns, 0);
  assertAlignedDespiteLosses(plan, outcome, rows);
});

test('ADC overflow while the run stops: the points left in the FIFO are placed from the end of the run, rows stay aligned', async () => {
  const params = { start: 0, end: 0.5, scan_rate: 0.4 };
  const plan = buildPlan('LSV', parseModeParams('LSV', params));
  assert.ok(plan.n < 4096, 'the whole run fits the DAC FIFO: TEST_STOP goes out at once and the run plays out alone');
  const running = measure(spawnWorker(exact.ports[1]!), 'LSV', params);
  await new Promise((r) => setTimeout(r, 300));
  // Reads refused from 0.3 s until after the run has stopped (~1.3 s): the FIFO overflows and
  // the host meets a stopped device holding only the newest 2048 points.
  exact.links[1]!.busyStorm(plan.n * 0.36 - 300 + 400);
  const { outcome, rows } = await running;
  assert.ok(outcome.summary.lost > 100, `lost ${outcome.summary.lost}`);
  assert.equal(rows.index.at(-1), plan.n - 1, 'the last point of the run is its last row');
  assertAlignedDespiteLosses(plan, outcome, rows);
});
