import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventLoopMonitor, LOOP_SAMPLE_MS } from '../../src/event-loop-monitor.js';

function blockFor(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy: the loop is blocked
  }
}

test('an idle loop reads as on time: the sampling period is not counted as delay', async () => {
  const monitor = new EventLoopMonitor(60);
  try {
    await sleep(20 * LOOP_SAMPLE_MS);
    const figures = monitor.read();
    // Node records whole intervals between samples (≈ 10 ms here); the delay is what exceeds the period.
    assert.ok(figures.p50_ms < LOOP_SAMPLE_MS / 2, `idle p50 ${figures.p50_ms} ms`);
    const totals = monitor.totals();
    assert.ok(totals.count >= 10, `samples ${totals.count}`);
    assert.ok(totals.sum_s / totals.count < LOOP_SAMPLE_MS / 2 / 1000, `mean delay ${(totals.sum_s / totals.count) * 1000} ms`);
  } finally {
    monitor.stop();
  }
});

test('a blocked loop shows as a delay of about the block', async () => {
  const monitor = new EventLoopMonitor(60);
  try {
    await sleep(3 * LOOP_SAMPLE_MS);
    blockFor(80);
    await sleep(3 * LOOP_SAMPLE_MS);
    const { max_ms } = monitor.read();
    // The block began somewhere in a sampling period: the sample ran 70–80 ms late (more on a busy machine).
    assert.ok(max_ms >= 80 - LOOP_SAMPLE_MS - 1, `max ${max_ms} ms`);
    assert.ok(max_ms < 80 + 100, `max ${max_ms} ms`);
  } finally {
    monitor.stop();
  }
});
