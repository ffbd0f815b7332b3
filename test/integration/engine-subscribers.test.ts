/**
 * The slot event stream, seen by consumers added from outside the engine: a recording probe
 * sees every block of a multi-mode run exactly once and in order, matching the CSV row for row;
 * a consumer that blocks for seconds (asynchronously, and synchronously on the event loop)
 * changes neither the CSV nor the slot's counters. Real slot workers over real ptys.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import type { SlotEvent, SubscriberFactory } from '../../src/jobs/slot-events.js';
import { settled, startEngineHarness, type EngineHarness } from '../helpers/engine-harness.js';

interface SeenBlock {
  modeIndex: number;
  firstIndex: number;
  count: number;
  current: Float32Array;
}

const seen = new Map<string, { types: string[]; blocks: SeenBlock[] }>();
const slow = new Map<string, { events: number; dropped: number; blockedMs: number }>();

/** Records every event, copying block data (the arrays are shared and read-only). */
const recordingProbe: SubscriberFactory = (ctx) => {
  const log = { types: [] as string[], blocks: [] as SeenBlock[] };
  seen.set(ctx.slot.slot, log);
  return {
    name: 'probe',
    essential: false,
    maxQueued: 1_000_000,
    handle(event: SlotEvent) {
      log.types.push(event.type === 'block' ? 'block' : `${event.type}${'modeIndex' in event ? `:${event.modeIndex}` : ''}${event.type === 'mode-started' ? `:${event.step.index}` : ''}`);
      if (event.type === 'block') log.blocks.push({ modeIndex: event.modeIndex, firstIndex: event.firstIndex, count: event.count, current: event.current.slice(0, event.count) });
    },
  };
};

/** Blocks for seconds: 1.5 s synchronously (the whole event loop stalls) and 3 s asynchronously. */
const blockingConsumer: SubscriberFactory = (ctx) => {
  const state = { events: 0, dropped: 0, blockedMs: 0 };
  slow.set(ctx.slot.slot, state);
  let first = true;
  return {
    name: 'slow',
    essential: false,
    maxQueued: 5,
    async handle(event: SlotEvent) {
      state.events++;
      if (event.type === 'dropped') state.dropped += event.count;
      if (event.type === 'block' && first) {
        first = false;
        const t0 = Date.now();
        while (Date.now() - t0 < 1500) {
          // busy: the supervisor's event loop is stuck; the slot worker thread is not
        }
        await new Promise((r) => setTimeout(r, 3000));
        state.blockedMs = Date.now() - t0;
      }
    },
  };
};

let h: EngineHarness;
before(async () => {
  h = await startEngineHarness({ slots: 2, simulatorProcess: true, subscribers: [recordingProbe, blockingConsumer] });
});
after(() => h.close());

const MODES = ['CV', 'CA', 'OCP'];
const PARAMS = {
  CV: { start: 0, vertex1: 0.3, vertex2: -0.3, end: 0, scan_rate: 0.5, cycles: 1 },
  CA: { potential: 0.1, duration: 1 },
  OCP: { duration: 0.5 },
};

test('a throw-away consumer sees every block of a multi-mode run once, in order; a blocking one changes nothing', async () => {
  const job = await h.submit({ modes: MODES, params_by_mode: PARAMS });
  await settled(job);
  for (const [i, s] of job.record.slots.entries()) {
    assert.equal(s.status, 'done', `${s.slot}: ${s.message}`);
    const log = seen.get(s.slot)!;
    // Order: each mode's start, then its blocks, then its end, mode after mode.
    const bounds = log.types.filter((t) => t.startsWith('mode-started') || t.startsWith('mode-ended'));
    assert.deepEqual(bounds, ['mode-started:0', 'mode-ended:0', 'mode-started:1', 'mode-ended:1', 'mode-started:2', 'mode-ended:2']);
    const firstEnd = log.types.indexOf('mode-ended:0');
    assert.ok(log.types.slice(0, firstEnd).includes('block') && !log.types.slice(firstEnd, log.types.indexOf('mode-started:1')).includes('block'), 'blocks sit between their mode\'s start and end');
    for (const [k, mode] of MODES.entries()) {
      const result = s.results[k]!;
      assert.equal(result.lost, 0, `${s.slot} ${mode} lost`);
      assert.equal(result.points, result.expected_points, `${s.slot} ${mode}: every planned point recorded`);
      // Exactly once and in order: consecutive plan indices 0..N-1, no gap, no repeat.
      const blocks = log.blocks.filter((b) => b.modeIndex === k);
      let next = 0;
      for (const b of blocks) {
        assert.equal(b.firstIndex, next, `${s.slot} ${mode}: block at ${b.firstIndex}, expected ${next}`);
        next += b.count;
      }
      assert.equal(next, result.points, `${s.slot} ${mode}: rows seen by the probe`);
      // The CSV holds the same rows, in the same order, with the same currents.
      const csv = (await readFile(job.plan!.slots[i]!.files[k]!.csv, 'utf8')).trim().split('\n');
      assert.equal(csv.length - 1, next, `${s.slot} ${mode}: CSV rows`);
      const header = csv[0]!.split(',');
      const col = header.findIndex((h) => /current/i.test(h));
      assert.ok(col >= 0, `current column in ${header.join(',')}`);
      const probeCurrents = blocks.flatMap((b) => Array.from(b.current));
      for (const row of [1, Math.floor(csv.length / 2), csv.length - 1]) {
        const value = Number(csv[row]!.split(',')[col]);
        assert.ok(Math.abs(value - probeCurrents[row - 1]!) <= 1e-6 * Math.max(1e-12, Math.abs(value)) + 1e-15, `${s.slot} ${mode} row ${row}: CSV ${value} vs stream ${probeCurrents[row - 1]}`);
      }
    }
    // The slot ended without waiting for the optional consumer, which catches up on its own.
    const blocking = slow.get(s.slot)!;
    for (let waited = 0; blocking.blockedMs === 0 && waited < 10_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    assert.ok(blocking.blockedMs >= 4000, `the slow consumer blocked ${blocking.blockedMs} ms`);
    assert.ok(blocking.dropped > 0, 'the slow consumer was told what it missed');
  }
});
