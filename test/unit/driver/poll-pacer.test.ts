import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PollPacer } from '../../../src/driver/poll-pacer.js';

/** Polls every ~1 ms for `ms`, counting the event loop's turns and the longest time between two. */
async function pollFor(pacer: PollPacer, ms: number): Promise<{ pauses: number; pausesWithATurn: number; maxGapMs: number }> {
  let turns = 0;
  let last = performance.now();
  let maxGapMs = 0;
  let running = true;
  const turn = () => {
    if (!running) return;
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
    turns++;
    setImmediate(turn);
  };
  setImmediate(turn);
  const end = performance.now() + ms;
  let pauses = 0;
  let pausesWithATurn = 0;
  while (performance.now() < end) {
    const before = turns;
    await pacer.pause(1);
    pauses++;
    if (turns !== before) pausesWithATurn++;
  }
  running = false;
  return { pauses, pausesWithATurn, maxGapMs };
}

test('a blocking pacer waits in the thread but gives the event loop a turn every 20 ms', async () => {
  const r = await pollFor(new PollPacer(true, 20), 200);
  assert.ok(r.pauses >= 50, `paused ${r.pauses} times`);
  assert.ok(r.pausesWithATurn <= r.pauses / 3, `the event loop turned during ${r.pausesWithATurn} of ${r.pauses} pauses: the waits should block`);
  assert.ok(r.pausesWithATurn >= 5, `the event loop turned during only ${r.pausesWithATurn} pauses in 200 ms`);
  assert.ok(r.maxGapMs < 60, `the event loop waited ${r.maxGapMs.toFixed(1)} ms for a turn`);
});

test('a non-blocking pacer waits on a timer: every pause is a turn of the event loop', async () => {
  const r = await pollFor(new PollPacer(false), 100);
  assert.ok(r.pausesWithATurn >= r.pauses * 0.9, `the event loop turned during ${r.pausesWithATurn} of ${r.pauses} pauses`);
});
