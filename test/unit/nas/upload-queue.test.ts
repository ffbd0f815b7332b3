import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import pino from 'pino';
import {
  BUSY_MESSAGE,
  computeRetryDelayMs,
  UploadQueue,
  type UploadAttemptResult,
  type UploadQueueOptions,
} from '../../../src/nas/upload-queue.js';

/** Let deferred work (setImmediate, promise chains) run; timers stay under the mock clock. */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

interface Call {
  dir: string;
  runId: string;
  signal: AbortSignal;
  resolve: (r: UploadAttemptResult) => void;
}

function makeQueue(overrides: Partial<UploadQueueOptions> = {}): { queue: UploadQueue; calls: Call[]; busy: Set<string>; gone: Set<string> } {
  const calls: Call[] = [];
  const busy = new Set<string>();
  const gone = new Set<string>();
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const queue = new UploadQueue({
    perform: (dir, runId, signal) =>
      new Promise<UploadAttemptResult>((resolve) => {
        calls.push({ dir, runId, signal, resolve });
      }),
    isRunDirBusy: (dir) => busy.has(dir),
    dirExists: async (dir) => !gone.has(dir),
    logger: pino({ level: 'silent' }, sink),
    retryBaseDelayMs: 1000,
    retryMaxDelayMs: 5000,
    busyRecheckIntervalMs: 500,
    ...overrides,
  });
  return { queue, calls, busy, gone };
}

const done = (at = '2025-11-03T09:15:31.412Z'): UploadAttemptResult => ({ outcome: 'done', uploadedAt: at });
const failed = (message = 'smbclient rc=1, err=NT_STATUS_CONNECTION_REFUSED'): UploadAttemptResult => ({ outcome: 'failed', message });

describe('computeRetryDelayMs', () => {
  it('starts at the base, doubles, caps', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => computeRetryDelayMs(n, 30_000, 3_600_000));
    assert.deepEqual(delays, [30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000, 3_600_000]);
    assert.equal(computeRetryDelayMs(5000, 30_000, 3_600_000), 3_600_000);
  });
});

describe('UploadQueue', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 }));
  afterEach(() => mock.timers.reset());

  it('requests in the same turn coalesce into one pass', async () => {
    const { queue, calls } = makeQueue();
    assert.deepEqual([queue.enqueue('/r/a', 'a1'), queue.enqueue('/r/a', 'a2'), queue.enqueue('/r/a', 'a1')], [true, false, false]);
    assert.equal(queue.snapshot('/r/a')?.state, 'pending');
    await flush();
    assert.equal(calls.length, 1);
    assert.equal(queue.snapshot('/r/a')?.state, 'uploading');
    calls[0]?.resolve(done());
    await flush();
    assert.deepEqual(queue.snapshot('/r/a'), { state: 'done', message: null, attempts: 1, nextRetryAt: null, uploadedAt: '2025-11-03T09:15:31.412Z' });
    assert.equal(calls.length, 1);
    await queue.close();
  });

  it('a request during an upload schedules exactly one follow-up pass', async () => {
    const { queue, calls } = makeQueue();
    queue.enqueue('/r/a', 'a');
    await flush();
    assert.equal(queue.enqueue('/r/a', 'a'), true, 'follow-up scheduled');
    assert.equal(queue.enqueue('/r/a', 'a'), false, 'follow-up already pending');
    assert.equal(queue.snapshot('/r/a')?.state, 'uploading');
    calls[0]?.resolve(done());
    await flush();
    assert.equal(calls.length, 2);
    calls[1]?.resolve(done());
    await flush();
    assert.equal(calls.length, 2);
    assert.equal(queue.snapshot('/r/a')?.state, 'done');
    await queue.close();
  });

  it('one upload at a time across directories, in request order', async () => {
    const { queue, calls } = makeQueue();
    queue.enqueue('/r/a', 'a');
    queue.enqueue('/r/b', 'b');
    await flush();
    assert.deepEqual(calls.map((c) => c.dir), ['/r/a']);
    calls[0]?.resolve(done());
    await flush();
    assert.deepEqual(calls.map((c) => c.dir), ['/r/a', '/r/b']);
    calls[1]?.resolve(done());
    await flush();
    await queue.close();
  });

  it('busy directories wait; others go first; re-checked on notify and periodically', async () => {
    const { queue, calls, busy } = makeQueue();
    busy.add('/r/a').add('/r/c');
    queue.enqueue('/r/a', 'a');
    queue.enqueue('/r/b', 'b');
    queue.enqueue('/r/c', 'c');
    await flush();
    assert.deepEqual(calls.map((c) => c.dir), ['/r/b']);
    assert.equal(queue.snapshot('/r/a')?.message, BUSY_MESSAGE);
    calls[0]?.resolve(done());
    await flush();
    assert.equal(calls.length, 1);

    busy.delete('/r/a');
    queue.notifyRunDirsChanged();
    await flush();
    assert.deepEqual(calls.map((c) => c.dir), ['/r/b', '/r/a']);
    assert.equal(queue.snapshot('/r/a')?.message, null);
    calls[1]?.resolve(done());
    await flush();

    busy.delete('/r/c'); // no notify: the periodic re-check must find it
    assert.equal(calls.length, 2);
    mock.timers.tick(500);
    await flush();
    assert.deepEqual(calls.map((c) => c.dir), ['/r/b', '/r/a', '/r/c']);
    calls[2]?.resolve(done());
    await flush();
    await queue.close();
  });

  it('failures retry with exponential backoff up to the cap', async () => {
    const { queue, calls } = makeQueue();
    queue.enqueue('/r/a', 'a');
    await flush();
    const seen: Array<number | null> = [];
    for (const expected of [1000, 2000, 4000, 5000, 5000]) {
      const before = calls.length;
      calls.at(-1)?.resolve(failed());
      await flush();
      const snap = queue.snapshot('/r/a');
      assert.equal(snap?.state, 'failed');
      assert.equal(snap?.message, 'smbclient rc=1, err=NT_STATUS_CONNECTION_REFUSED');
      const retryAt = Date.parse(snap?.nextRetryAt ?? '');
      seen.push(retryAt - Date.now());
      mock.timers.tick(expected - 1);
      await flush();
      assert.equal(calls.length, before, 'not before the delay');
      mock.timers.tick(1);
      await flush();
      assert.equal(calls.length, before + 1, 'retried after the delay');
    }
    assert.deepEqual(seen, [1000, 2000, 4000, 5000, 5000]);
    assert.equal(queue.snapshot('/r/a')?.attempts, 6);
    calls.at(-1)?.resolve(done());
    await flush();
    assert.equal(queue.snapshot('/r/a')?.state, 'done');
    await queue.close();
  });

  it('a manual request retries at once and replaces the scheduled retry', async () => {
    const { queue, calls } = makeQueue();
    queue.enqueue('/r/a', 'a');
    await flush();
    calls[0]?.resolve(failed());
    await flush();
    assert.notEqual(queue.snapshot('/r/a')?.nextRetryAt, null);
    assert.equal(queue.enqueue('/r/a', 'a'), true);
    assert.equal(queue.snapshot('/r/a')?.nextRetryAt, null);
    await flush();
    assert.equal(calls.length, 2);
    calls[1]?.resolve(done());
    await flush();
    mock.timers.tick(10_000);
    await flush();
    assert.equal(calls.length, 2, 'the old retry timer is gone');
    await queue.close();
  });

  it('retries stop when the run directory is gone; dropped passes are forgotten', async () => {
    const { queue, calls, gone } = makeQueue();
    queue.enqueue('/r/a', 'a');
    await flush();
    calls[0]?.resolve(failed());
    await flush();
    gone.add('/r/a');
    mock.timers.tick(1000);
    await flush();
    assert.equal(calls.length, 1);
    assert.equal(queue.snapshot('/r/a'), null);

    queue.enqueue('/r/b', 'b');
    await flush();
    calls[1]?.resolve({ outcome: 'dropped', message: 'NAS is not configured' });
    await flush();
    assert.equal(queue.snapshot('/r/b'), null);
    await queue.close();
  });

  it('close aborts the running pass and schedules nothing more', async () => {
    const { queue, calls } = makeQueue();
    queue.enqueue('/r/a', 'a');
    await flush();
    const closing = queue.close();
    assert.equal(calls[0]?.signal.aborted, true);
    calls[0]?.resolve(failed('upload error: aborted'));
    await closing;
    mock.timers.tick(60_000);
    await flush();
    assert.equal(calls.length, 1);
    assert.equal(queue.enqueue('/r/a', 'a'), false);
  });

  it('stats count queued and failed folders, failed attempts and completed uploads (GET /metrics)', async () => {
    const { queue, calls, busy } = makeQueue();
    assert.deepEqual(queue.stats(), { queued: 0, failed: 0, failedAttempts: 0, completed: 0 });
    busy.add('/r/c');
    queue.enqueue('/r/a', 'a');
    queue.enqueue('/r/b', 'b');
    queue.enqueue('/r/c', 'c');
    await flush();
    assert.deepEqual(queue.stats(), { queued: 3, failed: 0, failedAttempts: 0, completed: 0 }, 'one uploading, one pending, one waiting for its busy folder');
    calls[0]!.resolve(failed());
    await flush();
    calls[1]!.resolve(done());
    await flush();
    assert.deepEqual(queue.stats(), { queued: 1, failed: 1, failedAttempts: 1, completed: 1 });
    mock.timers.tick(1000);
    await flush();
    calls[2]!.resolve(failed());
    await flush();
    assert.deepEqual(queue.stats(), { queued: 1, failed: 1, failedAttempts: 2, completed: 1 }, 'the retry failed again: same folder, two attempts');
    await queue.close();
  });
});
