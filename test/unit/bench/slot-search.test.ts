import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextSearchStep, parseCounts, type SearchRun } from '../../../bench/slot-search.js';

const COUNTS = [8, 16, 24, 32];

/** Runs the search to its end with a fixed outcome per (count, attempt). */
function simulate(clean: (slots: number, attempt: number) => boolean): { history: SearchRun[]; result: ReturnType<typeof nextSearchStep> } {
  const history: SearchRun[] = [];
  for (;;) {
    const step = nextSearchStep(COUNTS, history);
    if (step.kind === 'done') return { history, result: step };
    const attempt = history.filter((h) => h.slots === step.slots).length;
    assert.equal(step.repeat, attempt === 1);
    history.push({ slots: step.slots, clean: clean(step.slots, attempt) });
  }
}

test('all clean: every count runs once and the highest is the last', () => {
  const { history, result } = simulate(() => true);
  assert.deepEqual(history.map((h) => h.slots), COUNTS);
  assert.deepEqual(result, { kind: 'done', highestClean: 32, firstFailing: null, flukes: [] });
});

test('a failure confirmed by its repeat stops the search at that count', () => {
  const { history, result } = simulate((n) => n < 24);
  assert.deepEqual(history.map((h) => h.slots), [8, 16, 24, 24]);
  assert.deepEqual(result, { kind: 'done', highestClean: 16, firstFailing: 24, flukes: [] });
});

test('a failure not confirmed (clean repeat) is a fluke: the search goes on', () => {
  const { history, result } = simulate((n, attempt) => !(n === 16 && attempt === 0) && n < 32);
  assert.deepEqual(history.map((h) => h.slots), [8, 16, 16, 24, 32, 32]);
  assert.deepEqual(result, { kind: 'done', highestClean: 24, firstFailing: 32, flukes: [16] });
});

test('the first count failing twice leaves no clean count', () => {
  const { result } = simulate(() => false);
  assert.deepEqual(result, { kind: 'done', highestClean: null, firstFailing: 8, flukes: [] });
});

test('a history that does not follow the counts is refused', () => {
  assert.throws(() => nextSearchStep(COUNTS, [{ slots: 16, clean: true }]), /out of order/);
  assert.throws(() => nextSearchStep(COUNTS, [{ slots: 8, clean: false }, { slots: 16, clean: true }]), /repeat of 8/);
});

test('parseCounts sorts, de-duplicates and refuses non-counts', () => {
  assert.deepEqual(parseCounts('16, 8,16,64'), [8, 16, 64]);
  assert.throws(() => parseCounts('8,x'), /positive integers/);
  assert.throws(() => parseCounts('0,8'), /positive integers/);
});
