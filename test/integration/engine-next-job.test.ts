/**
 * A client that starts the next job as soon as it reads the previous one as ended gets it: the
 * slot's short tail after its terminal state (consumers closing: run.json, plots, the live
 * stream's end; the device being stopped) delays the new start instead of refusing it with
 * `jobs.slots_busy`. A slot still running is refused at once. Real slot worker over a real pty.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DaemonError } from '../../src/errors.js';
import type { SubscriberFactory } from '../../src/jobs/slot-events.js';
import { isTerminal } from '../../src/jobs/progress.js';
import { settled, startEngineHarness, type EngineHarness } from '../helpers/engine-harness.js';

const CLOSE_DELAY_MS = 1_500;

/** A consumer that takes its time to close, as a slow run.json or plot write would. */
const slowToClose: SubscriberFactory = () => ({
  name: 'slow-close',
  // Essential consumers are closed before the slot is released (optional ones on their own).
  essential: true,
  handle() {},
  close: () => new Promise<void>((resolve) => setTimeout(resolve, CLOSE_DELAY_MS)),
});

let harness: EngineHarness;
before(async () => {
  harness = await startEngineHarness({ slots: 1, subscribers: [slowToClose] });
});
after(() => harness.close());

const CA = { modes: ['CA'], params_by_mode: { CA: { potential: 0.1, duration: 0.2 } } };

async function untilSlotEnded(job: { record: { slots: Array<{ status: string }> } }): Promise<void> {
  const t0 = Date.now();
  while (!isTerminal(job.record.slots[0]!.status as never)) {
    assert.ok(Date.now() - t0 < 20_000, 'the slot ended');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('the next job on a slot that has just ended starts once the slot is released', async () => {
  const first = await harness.submit(CA);
  await untilSlotEnded(first);
  assert.equal(first.runs[0]!.finished, false, 'the slot is still being released (its consumer is closing)');
  const t0 = Date.now();
  const second = await harness.submit(CA);
  assert.equal(first.runs[0]!.finished, true, 'the second job started only after the first released the slot');
  assert.ok(Date.now() - t0 < CLOSE_DELAY_MS + 5_000, 'and did not wait much longer than that');
  await settled(second);
  assert.equal(second.record.slots[0]!.status, 'done', second.record.slots[0]!.message ?? '');
});

test('a slot still running is refused at once with jobs.slots_busy', async () => {
  const running = await harness.submit({ modes: ['CA'], params_by_mode: { CA: { potential: 0.1, duration: 2 } } });
  const t0 = Date.now();
  await assert.rejects(harness.submit(CA), (err: unknown) => err instanceof DaemonError && err.code === 'jobs.slots_busy');
  assert.ok(Date.now() - t0 < 1_000, 'no wait for a running slot');
  await settled(running);
});
