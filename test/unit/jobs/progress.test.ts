import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeJobProgress, computeSlotProgress, deriveJobState } from '../../../src/jobs/progress.js';

// CV-1 of modes.md 8: N = 333329, planned 119.99844 s; EIS README example: N = 53012, planned 19.08432 s.
const cv = { points: 333329, plannedS: 119.99844 };
const eis = { points: 53012, plannedS: 19.08432 };

test('queued slot: 0 % and the whole sequence as remaining time', () => {
  assert.deepEqual(computeSlotProgress({ status: 'queued', modes: [cv, eis], modeIndex: 0, modeElapsedS: 0, modePointsDone: 0 }), {
    progress_pct: 0,
    remaining_s: Math.ceil(120.99844 + 20.08432),
  });
});

test('running: progress counts received rows across the whole sequence', () => {
  // Half of the CV measured: 1 s setup + 60 s of 120 s; total 141.08 s.
  const p = computeSlotProgress({ status: 'running', modes: [cv, eis], modeIndex: 0, modeElapsedS: 75, modePointsDone: Math.round(333329 / 2) });
  assert.equal(p.progress_pct, Math.round((100 * (1 + 59.99922)) / 141.08276));
  assert.equal(p.remaining_s, Math.ceil(120.99844 - (1 + 119.99844 * (Math.round(333329 / 2) / 333329)) + 20.08432));
  // In the second mode the first one counts fully.
  const q = computeSlotProgress({ status: 'running', modes: [cv, eis], modeIndex: 1, modeElapsedS: 0.5, modePointsDone: 0 });
  assert.equal(q.progress_pct, Math.round((100 * (120.99844 + 0.5)) / 141.08276));
  assert.equal(q.remaining_s, Math.ceil(20.08432 - 0.5));
});

test('running never reports 100 %; terminal states do', () => {
  const p = computeSlotProgress({ status: 'running', modes: [cv], modeIndex: 0, modeElapsedS: 500, modePointsDone: 333329 });
  assert.equal(p.progress_pct, 99);
  assert.equal(p.remaining_s, 0);
  assert.deepEqual(computeSlotProgress({ status: 'done', modes: [cv], modeIndex: 0, modeElapsedS: 0, modePointsDone: 0 }), { progress_pct: 100, remaining_s: 0 });
  assert.deepEqual(computeSlotProgress({ status: 'cancelled', modes: [cv], modeIndex: 0, modeElapsedS: 0, modePointsDone: 0 }), { progress_pct: 0, remaining_s: 0 });
});

test('job state rules of 4.4 in order', () => {
  assert.equal(deriveJobState(['queued', 'queued']), 'queued');
  assert.equal(deriveJobState(['queued', 'done']), 'running');
  assert.equal(deriveJobState(['failed', 'cancelled', 'done']), 'failed');
  assert.equal(deriveJobState(['cancelled', 'done']), 'cancelled');
  assert.equal(deriveJobState(['done', 'done']), 'done');
});

test('job figures: mean capped at 99 while running, max remaining over live slots, null if unknown', () => {
  const r = computeJobProgress('running', [
    { status: 'running', progress_pct: 50, remaining_s: 30 },
    { status: 'done', progress_pct: 100, remaining_s: 0 },
    { status: 'queued', progress_pct: 0, remaining_s: 90 },
  ]);
  assert.deepEqual(r, { progress_pct: 50, remaining_s: 90 });
  assert.deepEqual(computeJobProgress('running', [{ status: 'running', progress_pct: 99, remaining_s: null }]), { progress_pct: 99, remaining_s: null });
  assert.deepEqual(computeJobProgress('cancelled', [{ status: 'cancelled', progress_pct: 0, remaining_s: 0 }, { status: 'done', progress_pct: 100, remaining_s: 0 }]), { progress_pct: 50, remaining_s: 0 });
});
