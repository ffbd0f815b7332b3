/**
 * The live feed's parts without a daemon: display decimation, the history bound, a client's
 * bounded queue (drop and say so), and a run feed's ids, resume and backlog.
 */
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import type { ModeStep } from '../../../src/jobs/job-plan.js';
import { DisplayDecimator, PointColumns } from '../../../src/jobs/live/display-points.js';
import { LiveClient } from '../../../src/jobs/live/live-client.js';
import { RunLengthLabels } from '../../../src/jobs/live/plan-labels.js';
import { RunFeed, displayBucketWidth } from '../../../src/jobs/live/run-feed.js';
import { encodeSseEvent } from '../../../src/jobs/live/sse-frame.js';
import type { JobStatus } from '../../../src/jobs/types.js';
import { countPlanPoints } from '../../../src/modes/index.js';

interface Parsed {
  id: number | null;
  event: string;
  data: Record<string, unknown>;
}

function parse(text: string): Parsed[] {
  return text
    .split('\n\n')
    .filter((b) => b.includes('data: '))
    .map((block) => {
      const id = /^id: (\d+)$/m.exec(block);
      return { id: id ? Number(id[1]) : null, event: /^event: (\w+)$/m.exec(block)![1]!, data: JSON.parse(/^data: (.*)$/m.exec(block)![1]!) as Record<string, unknown> };
    });
}

/** Everything a stream has queued so far (without ending it). */
function drain(stream: Readable): string {
  let text = '';
  let chunk: Buffer | null;
  while ((chunk = stream.read() as Buffer | null) !== null) text += chunk.toString('utf8');
  return text;
}

describe('display decimation', () => {
  test('two real samples per bucket, the lowest and highest signal, in index order; peaks survive', () => {
    const n = 1000;
    const current = new Float32Array(n);
    const potential = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      current[k] = Math.sin(k / 50);
      potential[k] = k / n;
    }
    current[333] = 10; // a spike
    const out = new PointColumns(4);
    const d = new DisplayDecimator(20, 'current');
    d.add(0, 400, current.subarray(0, 400), potential.subarray(0, 400), out);
    d.add(400, 600, current.subarray(400), potential.subarray(400), out);
    d.finish(out);
    assert.equal(out.length, 100, '2 per bucket of 20');
    for (let k = 0; k < out.length; k++) {
      const j = out.index[k]!;
      assert.equal(out.i[k], current[j], 'a real sample');
      assert.equal(out.e[k], potential[j]);
      if (k > 0) assert.ok(j > out.index[k - 1]!, 'index order');
    }
    assert.ok(Array.from(out.index.subarray(0, out.length)).includes(333), 'the spike is kept');
  });

  test('compact halves a history and keeps its extremes; bucket width grows with the plan', () => {
    const cols = new PointColumns(2);
    for (let k = 0; k < 1000; k++) cols.push(k, 0, k === 777 ? -5 : Math.cos(k));
    cols.compact('current');
    assert.equal(cols.length, 500);
    assert.ok(Array.from(cols.index.subarray(0, cols.length)).includes(777));
    assert.equal(displayBucketWidth(1000), 14);
    assert.equal(displayBucketWidth(400_000), 100);
    assert.equal(displayBucketWidth(1e8), 278);
  });

  test('run-length labels', () => {
    const labels = RunLengthLabels.fromArray(Int32Array.from([1, 1, 1, 2, 2, 3]));
    assert.equal(labels.runCount, 3);
    assert.deepEqual([0, 2, 3, 4, 5, 99].map((j) => labels.at(j)), [1, 1, 2, 2, 3, 3]);
  });
});

describe('a client that does not read', () => {
  test('queues everything up to its bound, then drops droppable events and reports them once it reads', () => {
    const client = new LiveClient(null, { behindBytes: 1000, resumeBytes: 200, maxBytes: 100_000 }, () => undefined);
    const frame = (id: number) => encodeSseEvent(id, 'points', { slot: 'slot01', pad: 'x'.repeat(80) });
    for (let id = 1; id <= 40; id++) client.send(frame(id), 'droppable', 'slot01');
    client.send(encodeSseEvent(41, 'mode', { slot: 'slot01' }), 'always', 'slot01');
    const first = parse(drain(client));
    const ids = first.map((e) => e.id);
    assert.ok(ids.length < 40, `some dropped (${ids.length} queued)`);
    assert.equal(ids.at(-1), 41, 'an always event is still queued while behind');
    // Reading brought the queue down: the next send reports the loss first.
    client.send(frame(42), 'droppable', 'slot01');
    const next = parse(drain(client));
    assert.equal(next[0]?.event, 'dropped');
    assert.deepEqual(next[0]?.data, { slot: 'slot01', count: 40 - (ids.length - 1), reason: 'slow_client' });
    assert.equal(next[0]?.id, null);
    assert.equal(next[1]?.id, 42);
  });

  test('past its hard bound the connection is closed', () => {
    let closed = 0;
    const client = new LiveClient(null, { behindBytes: 1000, resumeBytes: 200, maxBytes: 2000 }, () => closed++);
    for (let id = 1; id <= 30; id++) client.send(encodeSseEvent(id, 'status', { pad: 'x'.repeat(100) }), 'always', null);
    assert.ok(client.destroyed);
    assert.equal(closed, 1);
  });
});

describe('a run feed', () => {
  const params = { start: 0, vertex1: 0.5, vertex2: -0.5, end: 0, scan_rate: 1, cycles: 2 };
  const points = countPlanPoints('CV', params as never);
  const step: ModeStep = { index: 0, token: 'CV', mode: 'CV', params: params as never, recordedParams: params, points, plannedS: points * 0.00036, warnings: [], plot: null };
  const status = { run_id: 'r1', status: 'running', slots: [{ slot: 'slot01', progress_pct: 10, remaining_s: 5 }] } as unknown as JobStatus;

  function makeFeed() {
    let clock = 0;
    let ended = 0;
    const feed = new RunFeed({ runId: 'r1', slots: ['slot01'], status: () => status, limits: { behindBytes: 1 << 20, resumeBytes: 1 << 16, maxBytes: 1 << 24 }, onEnd: () => ended++, now: () => clock });
    const blocks = (from: number, to: number) => {
      for (let first = from; first < to; first += 100) {
        const count = Math.min(100, to - first);
        const current = new Float32Array(count).map((_, k) => Math.sin((first + k) / 300));
        const potential = new Float32Array(count).map((_, k) => (first + k) / points);
        clock += 40;
        feed.handle(0, { type: 'block', modeIndex: 0, firstIndex: first, count, current, potential });
      }
    };
    return { feed, blocks, ended: () => ended };
  }

  test('ids without gaps, a late joiner\'s backlog, resume from the ring, end after the last slot closes', async () => {
    const { feed, blocks, ended } = makeFeed();
    const early = new LiveClient(null, { behindBytes: 1 << 20, resumeBytes: 1 << 16, maxBytes: 1 << 24 }, (c) => feed.detach(c));
    feed.attach(early, { slot: null, lastEventId: null });
    feed.handle(0, { type: 'mode-started', step, files: {} as never, at: 'now' });
    blocks(0, 3000);
    const late = new LiveClient(null, { behindBytes: 1 << 20, resumeBytes: 1 << 16, maxBytes: 1 << 24 }, (c) => feed.detach(c));
    feed.attach(late, { slot: null, lastEventId: null });
    blocks(3000, points);
    feed.handle(0, { type: 'mode-ended', modeIndex: 0, counters: null, error: null, at: 'now' });
    feed.handle(0, { type: 'slot-ended', status: 'done', message: null, at: 'now' });
    feed.slotClosed(0);
    await new Promise((r) => setImmediate(r));
    assert.equal(ended(), 1);

    const all = parse(drain(early));
    const ids = all.filter((e) => e.id !== null).map((e) => e.id!);
    ids.forEach((id, k) => assert.equal(id, k + 1));
    assert.equal(all.at(-1)?.event, 'end');
    const pts = all.filter((e) => e.event === 'points').map((e) => e.data as { index: number[]; cycle: number[] });
    const index = pts.flatMap((p) => p.index);
    assert.equal(index[0], 0);
    assert.ok(index.at(-1)! >= points - 14);
    assert.deepEqual([...new Set(pts.flatMap((p) => p.cycle))], [1, 2], 'cycle labels from the plan');
    const perSecond = pts.length / (3000 * 40 / 100 / 1000 + ((points - 3000) / 100) * 0.04);
    assert.ok(perSecond <= 21, `at most ~20 batches/s (${perSecond.toFixed(1)})`);

    const lateEvents = parse(drain(late));
    assert.equal(lateEvents[0]?.event, 'status');
    assert.equal(lateEvents[0]?.id, null);
    const backlog = lateEvents.filter((e) => e.id === null && e.event === 'points').flatMap((e) => (e.data as { index: number[] }).index);
    assert.ok(backlog.length > 100 && backlog.at(-1)! < 3000);
    const liveTail = lateEvents.filter((e) => e.id !== null && e.event === 'points').flatMap((e) => (e.data as { index: number[] }).index);
    assert.deepEqual([...backlog, ...liveTail], index, 'backlog then live tail: every point, once');
    const firstLiveId = lateEvents.find((e) => e.id !== null)!.id!;
    assert.deepEqual(lateEvents.filter((e) => e.id !== null).map((e) => e.id), ids.filter((id) => id >= firstLiveId));

    // Resume from the ring: a feed still running.
    const second = makeFeed();
    second.feed.handle(0, { type: 'mode-started', step, files: {} as never, at: 'now' });
    second.blocks(0, 2000);
    const resumed = new LiveClient(null, { behindBytes: 1 << 20, resumeBytes: 1 << 16, maxBytes: 1 << 24 }, () => undefined);
    second.feed.attach(resumed, { slot: null, lastEventId: 5 });
    const replay = parse(drain(resumed)).map((e) => e.id);
    assert.deepEqual(replay, Array.from({ length: second.feed.lastId - 5 }, (_, k) => k + 6));
    const tooOld = new LiveClient(null, { behindBytes: 1 << 20, resumeBytes: 1 << 16, maxBytes: 1 << 24 }, () => undefined);
    second.feed.attach(tooOld, { slot: null, lastEventId: second.feed.lastId + 10 });
    assert.deepEqual(parse(drain(tooOld)).slice(0, 2).map((e) => [e.event, e.data['reason']]), [['status', undefined], ['dropped', 'resume_too_old']]);
  });
});
