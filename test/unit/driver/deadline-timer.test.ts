import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeadlineTimer } from '../../../src/driver/deadline-timer.js';

/** Fake clock and counted timers: the point of the class is how few timers it creates. */
function harness() {
  let now = 0;
  const timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
  const created = { count: 0 };
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  globalThis.setTimeout = ((fn: () => void, ms: number) => {
    created.count++;
    const t = { at: now + ms, fn, live: true };
    timers.push(t);
    return t as unknown as NodeJS.Timeout;
  }) as typeof setTimeout;
  globalThis.clearTimeout = ((t: { live: boolean } | undefined) => {
    if (t) t.live = false;
  }) as typeof clearTimeout;
  const advance = (ms: number) => {
    const end = now + ms;
    for (;;) {
      const due = timers.filter((t) => t.live && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      now = due.at;
      due.live = false;
      due.fn();
    }
    now = end;
  };
  const restore = () => {
    globalThis.setTimeout = realSet;
    globalThis.clearTimeout = realClear;
  };
  return { clock: () => now, advance, created, restore, liveTimers: () => timers.filter((t) => t.live).length };
}

test('a stream of short transactions arms one timer, not one per transaction', (t) => {
  const h = harness();
  t.after(h.restore);
  let expired = 0;
  const d = new DeadlineTimer(() => expired++, h.clock);
  for (let i = 0; i < 1000; i++) {
    d.set(h.clock() + 500);
    h.advance(1); // the reply arrives after 1 ms
    d.clear();
  }
  assert.equal(expired, 0);
  // 1000 ms of transactions with a 500 ms timeout: the first timer and a re-arm when it fired early.
  assert.ok(h.created.count <= 3, `created ${h.created.count} timers`);
  h.advance(2000);
  assert.equal(h.liveTimers(), 0, 'with no live deadline the timer lapses');
  assert.equal(expired, 0);
});

test('a deadline that passes calls onExpire once, at its time', (t) => {
  const h = harness();
  t.after(h.restore);
  const at: number[] = [];
  const d = new DeadlineTimer(() => at.push(h.clock()), h.clock);
  d.set(500);
  h.advance(499);
  assert.deepEqual(at, []);
  h.advance(10);
  assert.deepEqual(at, [500]);
  assert.equal(d.active, false);
  h.advance(5000);
  assert.deepEqual(at, [500], 'once');
});

test('a later deadline replacing an earlier one fires at the later time; an earlier one re-arms', (t) => {
  const h = harness();
  t.after(h.restore);
  const at: number[] = [];
  const d = new DeadlineTimer(() => at.push(h.clock()), h.clock);
  d.set(100);
  h.advance(50);
  d.set(600); // the armed timer (100) fires early and re-arms for the rest
  h.advance(500);
  assert.deepEqual(at, []);
  h.advance(100);
  assert.deepEqual(at, [600]);
  d.set(1000);
  h.advance(10);
  d.set(700); // earlier than the armed timer: re-armed at once
  h.advance(39);
  assert.deepEqual(at, [600]);
  h.advance(1);
  assert.deepEqual(at, [600, 700]);
});

test('dispose stops the timer: nothing fires after it', (t) => {
  const h = harness();
  t.after(h.restore);
  let expired = 0;
  const d = new DeadlineTimer(() => expired++, h.clock);
  d.set(100);
  d.dispose();
  h.advance(1000);
  assert.equal(expired, 0);
  assert.equal(h.liveTimers(), 0);
});
