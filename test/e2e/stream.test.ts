/**
 * The live stream (GET /runs/{run_id}/stream) over real HTTP against the built daemon with
 * virtual potentiostats on ptys: event order and ids, resume with Last-Event-ID, late joiners'
 * backlog, finished and unknown runs, stream tokens, `points` growing in GET /jobs/{id}, and a
 * client that stops reading for 30 s without changing the CSV, the counters or another client.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createStreamTokenIssuer } from '../../src/http/stream-token.js';
import { startSimulators, type SimulatorSet } from '../../src/sim/run-sim.js';
import {
  assertEnvelope,
  createCleanupScope,
  sleep,
  splitCsv,
  startDaemon,
  submitJob,
  waitForJob,
  waitUntil,
  type DaemonHandle,
  type JobStatusLike,
} from '../helpers/daemon.js';
import { idsOf, openSse, type SseConnection, type SseEvent } from '../helpers/sse-client.js';

const scope = createCleanupScope();
let sims: SimulatorSet;
let daemon: DaemonHandle;

before(async () => {
  sims = await startSimulators({ count: 2, noise: 0, smoothing: true });
  scope.defer(() => sims.close());
  daemon = await startDaemon(scope, { ports: sims.ports });
});

after(() => scope.run());

/** A CV of `seconds` on both slots (one cycle, ±0.5 V), once the previous job has released them. */
async function startCv(seconds: number, name: string): Promise<JobStatusLike> {
  await waitUntil('free slots', async () => {
    const res = await daemon.get<Array<{ status: string }>>('/devices/status');
    return res.json.every((s) => s.status === 'idle') ? true : undefined;
  });
  return submitJob(daemon, {
    devices: ['slot01', 'slot02'],
    modes: ['CV'],
    params_by_mode: { CV: { start: 0, vertex1: 0.5, vertex2: -0.5, end: 0, scan_rate: 2 / seconds, cycles: 1 } },
    experiment_name: name,
    client_datetime: '2025-11-03T10:15:31Z',
    make_plot: false,
  });
}

const streamUrl = (runId: string, query = ''): string => `${daemon.url}/runs/${runId}/stream${query ? `?${query}` : ''}`;
const withKey = (): Record<string, string> => ({ 'X-API-Key': daemon.apiKey });
const open = (runId: string, headers: Record<string, string> = {}, query = ''): Promise<SseConnection> =>
  openSse(streamUrl(runId, query), { headers: { ...withKey(), ...headers } });

function assertNoGap(ids: readonly number[], what: string): void {
  for (let k = 1; k < ids.length; k++) assert.equal(ids[k], ids[k - 1]! + 1, `${what}: id ${ids[k]} after ${ids[k - 1]}`);
}

interface PointsData {
  slot: string;
  mode_index: number;
  first_index: number;
  index: number[];
  t: number[];
  e: number[];
  i: number[];
  cycle: number[] | null;
}

describe('a run followed from its start', () => {
  let conn: SseConnection;
  let runId: string;

  test('headers, status first, ordered events with consecutive ids, end last and the stream closes', async () => {
    const job = await startCv(4, 'SSE Order');
    runId = job.run_id;
    conn = await open(runId);
    assert.equal(conn.status, 200);
    assert.match(String(conn.headers['content-type']), /^text\/event-stream/);
    assert.match(String(conn.headers['cache-control']), /no-cache/);
    assert.equal(conn.headers['x-accel-buffering'], 'no');
    // `points` of GET /jobs/{id} grows while the mode runs (the record has them only at its end).
    const seen: number[] = [];
    while (seen.length < 4) {
      const s = (await daemon.get<JobStatusLike>(`/jobs/${runId}`)).json;
      if (s.status === 'running' && s.slots[0]!.current_mode === 'CV' && (s.slots[0]!.points as number) > 0) seen.push(s.slots[0]!.points as number);
      assert.notEqual(s.status, 'done', 'the run outlasts the polling');
      await sleep(400);
    }
    for (let k = 1; k < seen.length; k++) assert.ok(seen[k]! > seen[k - 1]!, `points grows: ${seen.join(' < ')}`);

    await conn.closed;
    const events = conn.events;
    assert.equal(events[0]?.event, 'status', 'status first');
    assert.equal(events.at(-1)?.event, 'end', 'end last');
    assert.deepEqual(events.at(-1)?.data, { run_id: runId, status: 'done' });
    const ids = idsOf(events);
    assert.ok(ids.length > 20, `${ids.length} events with ids`);
    assertNoGap(ids, 'one connection');
    const types = new Set(events.map((e) => e.event));
    for (const t of ['status', 'mode', 'points', 'progress', 'end']) assert.ok(types.has(t), `${t} events`);
    assert.ok(!types.has('dropped'), 'a reading client loses nothing');
  });

  test('points: decimated, in plan order per slot, cycle labels, within the plan; mode ended carries the counters', async () => {
    const final = (await daemon.get<JobStatusLike>(`/jobs/${runId}`)).json;
    for (const slot of ['slot01', 'slot02']) {
      const batches = conn.events.filter((e) => e.event === 'points' && (e.data as PointsData).slot === slot).map((e) => e.data as PointsData);
      assert.ok(batches.length >= 10, `${slot}: ${batches.length} batches`);
      const index = batches.flatMap((b) => b.index);
      for (let k = 1; k < index.length; k++) assert.ok(index[k]! > index[k - 1]!, `${slot}: plan indices increase`);
      const n = (final.slots.find((s) => s.slot === slot)!.points as number);
      assert.ok(index.at(-1)! >= n - 300 && index.at(-1)! < n, `${slot}: reaches the end of the plan (${index.at(-1)} of ${n})`);
      assert.ok(index.length < n / 4, `${slot}: decimated (${index.length} of ${n} points)`);
      for (const b of batches) {
        assert.equal(b.first_index, b.index[0]);
        assert.equal(b.t.length, b.index.length);
        assert.equal(b.e.length, b.index.length);
        assert.equal(b.i.length, b.index.length);
        assert.ok(b.cycle !== null && b.cycle.every((c) => c === 1), 'one cycle');
        b.index.forEach((j, k) => assert.ok(Math.abs(b.t[k]! - j * 0.00036) < 1e-6, 't = index × Δt'));
      }
      const minE = Math.min(...batches.flatMap((b) => b.e));
      const maxE = Math.max(...batches.flatMap((b) => b.e));
      assert.ok(minE < -0.4 && maxE > 0.4, `${slot}: the sweep's range is visible (${minE}..${maxE})`);
      const ended = conn.events.find((e) => e.event === 'mode' && (e.data as { slot: string; state: string }).slot === slot && (e.data as { state: string }).state === 'ended');
      assert.equal((ended?.data as { counters: { points: number } }).counters.points, n);
    }
  });

  test('a finished run answers status then end; unknown runs and slots are 404 envelopes', async () => {
    const done = await open(runId);
    await done.closed;
    assert.deepEqual(done.events.map((e) => e.event), ['status', 'end']);
    assert.equal((done.events[0]!.data as JobStatusLike).status, 'done');
    assertEnvelope(await daemon.get('/runs/20251103T091531_3fa9c2/stream'), 404, 'runs.not_found');
    assertEnvelope(await daemon.get('/runs/not-a-run/stream'), 404, 'runs.not_found');
    assertEnvelope(await daemon.get(`/runs/${runId}/stream?slot=slot09`), 404, 'runs.not_found');
  });
});

describe('resume and late joiners', () => {
  test('reconnecting with Last-Event-ID resumes with no gap in ids', async () => {
    const job = await startCv(5, 'SSE Resume');
    const first = await open(job.run_id);
    const cut = await first.waitFor((e) => e.id !== null && e.id >= 40);
    first.close();
    await first.closed;
    const lastId = Math.max(...idsOf(first.events));
    await sleep(700); // events go on while the client is away
    const second = await open(job.run_id, { 'Last-Event-ID': String(lastId) });
    await second.closed;
    assert.ok(cut.id !== null);
    const ids = idsOf(second.events);
    assert.equal(ids[0], lastId + 1, 'resumes right after the last id seen');
    assertNoGap([...idsOf(first.events), ...ids], 'across the reconnection');
    assert.equal(second.events.filter((e) => e.id === null).length, 0, 'a resume is a replay, no snapshot');
    assert.equal(second.events.at(-1)?.event, 'end');
    await waitForJob(daemon, job.run_id);
  });

  test('a late joiner gets the status and the decimated points so far, then the live tail', async () => {
    const job = await startCv(5, 'SSE Late');
    await sleep(2500);
    const late = await open(job.run_id, {}, 'slot=slot02');
    await late.closed;
    const snapshot: SseEvent[] = [];
    for (const e of late.events) {
      if (e.id !== null) break;
      snapshot.push(e);
    }
    assert.equal(snapshot[0]?.event, 'status');
    const backlog = snapshot.filter((e) => e.event === 'points').map((e) => e.data as PointsData);
    assert.ok(backlog.length >= 1, 'a backlog');
    assert.ok(backlog.every((b) => b.slot === 'slot02'), 'only the slot asked for');
    const backlogIndex = backlog.flatMap((b) => b.index);
    assert.ok(backlogIndex[0]! < 100, `the backlog starts at the mode's start (${backlogIndex[0]})`);
    assert.ok(backlogIndex.length > 100, `${backlogIndex.length} points so far`);
    const live = late.events.filter((e) => e.id !== null && e.event === 'points').map((e) => e.data as PointsData);
    assert.ok(live.length > 5);
    assert.ok(live[0]!.index[0]! > backlogIndex.at(-1)!, 'the live tail follows the backlog');
    assert.ok(late.events.every((e) => !('slot' in (e.data as object)) || (e.data as { slot: unknown }).slot === 'slot02' || e.event === 'dropped'));
    await waitForJob(daemon, job.run_id);
  });

  test('a Last-Event-ID the server no longer holds: fresh status and backlog, said by dropped resume_too_old', async () => {
    const job = await startCv(3, 'SSE Too Old');
    await sleep(1200);
    const conn = await open(job.run_id, { 'Last-Event-ID': '999999' });
    await conn.closed;
    assert.deepEqual(conn.events.slice(0, 2).map((e) => e.event), ['status', 'dropped']);
    assert.equal((conn.events[1]!.data as { reason: string }).reason, 'resume_too_old');
    assert.ok(conn.events.some((e) => e.id === null && e.event === 'points'), 'a backlog');
    await waitForJob(daemon, job.run_id);
  });
});

describe('stream tokens', () => {
  test('a token opens the stream, and nothing else; expired and forged tokens are refused; the token is never logged', async () => {
    const noKey = await daemon.post('/auth/stream-token', undefined, { key: null });
    assertEnvelope(noKey, 401, 'auth.invalid_api_key');
    const res = await daemon.post<{ token: string; expires_at: string }>('/auth/stream-token');
    assert.equal(res.status, 200, res.text);
    const { token, expires_at } = res.json;
    const lifetime = Date.parse(expires_at) - Date.now();
    assert.ok(lifetime > 9 * 60_000 && lifetime <= 10 * 60_000 + 1000, `about 10 min (${lifetime} ms)`);

    const job = await startCv(2, 'SSE Token');
    const viaToken = await openSse(streamUrl(job.run_id, `access_token=${encodeURIComponent(token)}`));
    assert.equal(viaToken.status, 200);
    const q = `access_token=${encodeURIComponent(token)}`;
    assertEnvelope(await daemon.get(`/jobs/${job.run_id}?${q}`, { key: null }), 401, 'auth.invalid_api_key');
    assertEnvelope(await daemon.get(`/runs/${job.run_id}/files?${q}`, { key: null }), 401, 'auth.invalid_api_key');
    assertEnvelope(await daemon.post(`/auth/stream-token?${q}`, undefined, { key: null }), 401, 'auth.invalid_api_key');
    assertEnvelope(await daemon.post(`/jobs/${job.run_id}/cancel?${q}`, undefined, { key: null }), 401, 'auth.invalid_api_key');

    const issuer = createStreamTokenIssuer(daemon.apiKey);
    const expired = issuer.issue(Date.now() - 11 * 60_000).token;
    assert.ok(issuer.verify(expired, Date.now() - 10 * 60_000), 'well signed');
    const otherKey = createStreamTokenIssuer(`${daemon.apiKey}-other`).issue().token;
    const tampered = token.replace(/^v1\.(\d+)\./, (_m, exp: string) => `v1.${Number(exp) + 3600}.`);
    for (const bad of [expired, otherKey, tampered, 'v1.99999999999.AAAA', '']) {
      assertEnvelope(await daemon.get(`/runs/${job.run_id}/stream?access_token=${encodeURIComponent(bad)}`, { key: null }), 401, 'auth.invalid_api_key');
    }
    await viaToken.closed;
    assert.equal(viaToken.events.at(-1)?.event, 'end');
    const logs = daemon.logLines().join('\n') + daemon.stderr();
    assert.ok(!logs.includes(token.split('.')[2]!), 'the token is not in the logs');
    assert.ok(logs.includes('/stream'), 'stream requests are logged (without their query)');
  });
});

describe('a client that stops reading', () => {
  const csvOf = async (runId: string, slot: string): Promise<{ rows: number; digest: string }> => {
    const status = (await daemon.get<JobStatusLike>(`/jobs/${runId}`)).json;
    const file = status.slots.find((s) => s.slot === slot)!.files.find((f) => f.endsWith('.csv'))!;
    const res = await daemon.get(`/runs/${runId}/file?path=${encodeURIComponent(file)}`);
    const { header, rows } = splitCsv(res.text);
    // Time (first column) and applied potential (last) come from the plan: equal in both runs when every row is there.
    const planColumns = rows.map((r) => `${r.slice(0, r.indexOf(','))},${r.slice(r.lastIndexOf(',') + 1)}`);
    return { rows: rows.length, digest: createHash('sha256').update(header + planColumns.join('\n')).digest('hex') };
  };
  const countersOf = (s: JobStatusLike) =>
    s.slots.map((x) => ({ slot: x.slot, status: x.status, points: x.points, expected_points: x.expected_points, lost: x.lost, dac_underruns: x.dac_underruns, adc_overflows: x.adc_overflows }));

  test('for 30 s changes neither the CSV, nor the counters, nor another client\'s stream', { timeout: 180_000 }, async () => {
    const SECONDS = 36;
    // Reference: the same run with one reading client.
    const ref = await startCv(SECONDS, 'SSE Ref');
    const refClient = await open(ref.run_id);
    await refClient.closed;
    const refStatus = await waitForJob(daemon, ref.run_id, undefined, 60_000);
    assert.equal(refStatus.status, 'done');

    const job = await startCv(SECONDS, 'SSE Stuck');
    // Loopback socket buffers absorb this run's stream (~1 MB) while the client does not read: the
    // daemon's own queue for it may not fill here (test/unit/jobs/live-feed.test.ts makes it drop).
    // Whatever it loses, `dropped` events must account for.
    const stuck = await open(job.run_id);
    const reader = await open(job.run_id);
    await stuck.waitFor((e) => e.event === 'points');
    stuck.pause();
    const pausedAt = performance.now();
    await sleep(30_000);
    const receivedWhilePaused = stuck.events.length;
    stuck.resume();
    await Promise.all([stuck.closed, reader.closed]);
    assert.ok(performance.now() - pausedAt >= 30_000);
    const final = await waitForJob(daemon, job.run_id, undefined, 60_000);

    // The reading client: every event, no gap, no drop, and live all along.
    const readerIds = idsOf(reader.events);
    assertNoGap(readerIds, 'the reading client');
    assert.ok(!reader.events.some((e) => e.event === 'dropped'));
    assert.equal(reader.events.at(-1)?.event, 'end');
    const gaps = reader.events.slice(1).map((e, k) => e.at - reader.events[k]!.at);
    assert.ok(Math.max(...gaps) < 3000, `longest silence for the reading client ${Math.round(Math.max(...gaps))} ms`);

    // The stuck client: ids it missed are exactly those its `dropped` events count.
    const stuckIds = idsOf(stuck.events);
    const dropped = stuck.events.filter((e) => e.event === 'dropped').reduce((a, e) => a + (e.data as { count: number }).count, 0);
    let missing = 0;
    for (let k = 1; k < stuckIds.length; k++) missing += stuckIds[k]! - stuckIds[k - 1]! - 1;
    assert.equal(missing, dropped, `ids missed (${missing}) = counted in dropped events (${dropped})`);
    assert.equal(stuck.events.at(-1)?.event, 'end');
    assert.equal(stuckIds.at(-1), readerIds.at(-1), 'both saw the same end');
    process.stdout.write(`# stuck client: ${stuck.events.length} events (${receivedWhilePaused} before it read again), ${dropped} dropped; reader: ${reader.events.length} events\n`);

    // CSV and counters as in the run without the stuck client.
    assert.deepEqual(countersOf(final), countersOf(refStatus));
    for (const slot of ['slot01', 'slot02']) {
      const [a, b] = [await csvOf(ref.run_id, slot), await csvOf(job.run_id, slot)];
      assert.equal(b.rows, a.rows, `${slot}: CSV rows`);
      assert.equal(b.digest, a.digest, `${slot}: CSV header, time and applied columns`);
      assert.equal(b.rows, final.slots.find((s) => s.slot === slot)!.points);
    }
  });
});
