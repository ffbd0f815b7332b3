/**
 * Cancellation is a state transition that cannot be lost: 200 cancels, each landing at a
 * different point of a slot's life (queued, acquiring the device, at a mode's start, mid-mode,
 * between modes, at the end while the consumers finish), on real slot workers over real ptys.
 * Every cancelled slot must end `cancelled` within 2 s of the cancel, its reservation released,
 * and the slot must run the next job.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { JobEngine, JobRuntime } from '../../src/jobs/engine.js';
import type { SlotEvent, SubscriberFactory } from '../../src/jobs/slot-events.js';
import { settled, startEngineHarness, type EngineHarness } from '../helpers/engine-harness.js';

type CancelPoint = 'queued' | 'acquiring' | 'mode-start' | 'mid-mode' | 'between-modes' | 'end';
const POINTS: readonly CancelPoint[] = ['queued', 'acquiring', 'mode-start', 'mid-mode', 'between-modes', 'end'];
const CANCELS = 200;
const SLOTS = 2;

/** Where the next job's cancel should land; read by the probe consumer and the acquire gate. */
let target: CancelPoint = 'queued';
let engineRef: JobEngine | null = null;
let cancelledAt: number | null = null;
/** The slot whose stream reached the targeted point (null: the cancel targets the job as a whole). */
let triggerSlot: string | null = null;
const landed = new Map<CancelPoint, number>();

function cancelNow(runId: string, point: CancelPoint, slot: string | null = null): void {
  if (cancelledAt !== null) return;
  triggerSlot = slot;
  cancelledAt = performance.now();
  landed.set(point, (landed.get(point) ?? 0) + 1);
  engineRef!.cancel(runId);
}

/** Cancels its job when the slot's stream reaches the targeted point. */
const probe: SubscriberFactory = (ctx) => {
  let blocks = 0;
  const last = ctx.plan.steps.length - 1;
  const at = (point: CancelPoint, event: SlotEvent): boolean => {
    switch (point) {
      case 'mode-start':
        return event.type === 'mode-started' && event.step.index === 0;
      case 'mid-mode':
        return event.type === 'block' && event.modeIndex === 0 && ++blocks === 2;
      case 'between-modes':
        return event.type === 'mode-ended' && event.modeIndex === 0;
      case 'end':
        return event.type === 'mode-ended' && event.modeIndex === last;
      default:
        return false;
    }
  };
  return {
    name: 'cancel-probe',
    essential: false,
    handle(event) {
      if (at(target, event)) cancelNow(ctx.plan.runId, target, ctx.slot.slot);
    },
  };
};

let h: EngineHarness;
let acquiring: ((runId: string) => void) | null = null;

before(async () => {
  h = await startEngineHarness({
    slots: SLOTS,
    subscribers: [probe],
    // The cancel for 'acquiring' lands while a slot's device acquisition is in flight.
    wrapAcquire: (acquire) => async (slot) => {
      const pending = acquire(slot);
      acquiring?.(slot);
      return pending;
    },
  });
  engineRef = h.engine;
});

after(() => h.close());

async function runOne(i: number): Promise<void> {
  target = POINTS[i % POINTS.length]!;
  cancelledAt = null;
  let job: JobRuntime | null = null;
  acquiring = target === 'acquiring' ? () => job && cancelNow(job.record.run_id, 'acquiring') : null;
  job = await h.submit({
    modes: ['CA', 'OCP'],
    params_by_mode: { CA: { potential: 0.1, duration: 0.4 }, OCP: { duration: 0.06 } },
  });
  if (target === 'queued') cancelNow(job.record.run_id, 'queued');
  // With 'acquiring', the first slot's acquisition may already be under way before `job` is set.
  if (target === 'acquiring' && cancelledAt === null) cancelNow(job.record.run_id, 'acquiring');
  await settled(job);
  const elapsedMs = performance.now() - cancelledAt!;
  assert.ok(cancelledAt !== null, `cancel ${i} (${target}) was never issued`);
  for (const s of job.record.slots) {
    assert.equal(s.status, 'cancelled', `cancel ${i} at ${target}: ${s.slot} ended ${s.status} (${s.message})`);
    assert.equal(h.engine.reservationOf(s.slot), undefined, `${s.slot} released after cancel ${i}`);
  }
  assert.equal(job.record.status, 'cancelled');
  // The cancel stopped the work where it landed, not merely relabelled a finished slot.
  // The other slot of the job may be anywhere in its life when the cancel lands.
  for (const s of job.record.slots.filter((x) => triggerSlot === null || x.slot === triggerSlot)) {
    const started = s.results.length;
    if (target === 'queued' || target === 'acquiring') assert.ok(started <= 1 && (started === 0 || s.results[0]!.aborted), `${s.slot}: cancel ${i} at ${target} ran ${started} modes`);
    if (target === 'mode-start' || target === 'mid-mode') {
      assert.equal(started, 1, `${s.slot}: cancel ${i} at ${target} started ${started} modes`);
      assert.ok(s.results[0]!.aborted && s.results[0]!.points < s.results[0]!.expected_points, `${s.slot}: cancel ${i} at ${target} did not stop the mode (${s.results[0]!.points}/${s.results[0]!.expected_points})`);
    }
    if (target === 'between-modes') assert.equal(started, 1, `${s.slot}: cancel ${i} between modes started ${started} modes`);
  }
  assert.ok(elapsedMs < 2000, `cancel ${i} at ${target} took ${elapsedMs.toFixed(0)} ms`);
}

test(`${CANCELS} cancels at every point of a slot's life: none lost, each cancelled within 2 s, slots free again`, async (t) => {
  const jobs = Math.ceil(CANCELS / SLOTS);
  for (let i = 0; i < jobs; i++) await runOne(i);
  for (const p of POINTS) assert.ok((landed.get(p) ?? 0) >= Math.floor(jobs / POINTS.length), `cancels at ${p}: ${landed.get(p)}`);
  t.diagnostic(`cancels per point (each cancels ${SLOTS} slots): ${JSON.stringify(Object.fromEntries(landed))}`);

  // The slots run a whole job afterwards.
  const job = await h.submit({ modes: ['CA'], params_by_mode: { CA: { potential: 0.1, duration: 0.1 } } });
  await settled(job);
  for (const s of job.record.slots) {
    assert.equal(s.status, 'done', `${s.slot}: ${s.message}`);
    assert.equal(s.results[0]!.points, s.results[0]!.expected_points);
  }
});
