/**
 * Issue #10, devices that misbehave never take the daemon down: a device that answers late at
 * start (its slot offline, the others fine, back under its name later), a device unplugged
 * mid-run (its slot failed with a clear message and every point that reached the host in the
 * CSV, the other slot done), bursts of corrupted replies, and a slot worker thread that hangs
 * (the watchdog fails the slot within its limit, replaces the worker, the slot works again).
 * Real daemon over HTTP, virtual potentiostats on ptys with their fault knobs in this process.
 */
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSimulators, type SimulatorSet } from '../../src/sim/run-sim.js';
import {
  createCleanupScope,
  makeTempDir,
  sleep,
  splitCsv,
  startDaemon,
  waitForJob,
  waitUntil,
  type DaemonHandle,
  type JobStatusLike,
} from '../helpers/daemon.js';

const DT = 0.00036;
/** The daemon's watchdog: no reply to a ping within 5 s, checked every second. */
const WATCHDOG_LIMIT_MS = 5000 + 1000;
/** How long device 3 does not answer from before the daemon starts. */
const START_STALL_MS = 7000;

interface DeviceLike {
  slot: string;
  port: string;
  state?: string;
  state_reason?: string | null;
}

const scope = createCleanupScope();
let sims: SimulatorSet;
let daemon: DaemonHandle;
let hangTrigger: string;
let stallEndsAt = 0;

before(async () => {
  sims = await startSimulators({ count: 4 });
  scope.defer(() => sims.close());
  const dir = await makeTempDir(scope, 'beepbox-faults-');
  hangTrigger = path.join(dir, 'hang-trigger');
  // Device 3 answers nothing while the daemon starts and probes it.
  sims.links[2]!.stall(START_STALL_MS);
  stallEndsAt = Date.now() + START_STALL_MS;
  daemon = await startDaemon(scope, { ports: sims.ports, env: { BEEPBOX_TEST_HANG_TRIGGER: hangTrigger } });
});

after(() => scope.run());

const caJob = (devices: string[], durationS: number, name: string, clientDatetime: string) => ({
  devices,
  modes: ['CA'],
  params_by_mode: { CA: { potential: 0.1, duration: durationS } },
  experiment_name: name,
  client_datetime: clientDatetime,
  make_plot: false,
});

async function submit(body: Record<string, unknown>): Promise<JobStatusLike> {
  const res = await daemon.post<JobStatusLike>('/jobs', body);
  assert.equal(res.status, 200, res.text);
  return res.json;
}

async function csvRows(runId: string, file: string): Promise<string[]> {
  const res = await daemon.get(`/runs/${runId}/file?path=${encodeURIComponent(file)}`);
  assert.equal(res.status, 200, res.text);
  // The recorder writes the header with the first rows: a mode that ended before any is empty.
  return res.body.length === 0 ? [] : splitCsv(res.body.toString('utf8')).rows;
}

function assertContiguous(rows: string[], what: string): void {
  rows.forEach((r, i) => {
    const t = Number(r.split(',')[0]);
    if (Math.abs(t - i * DT) > 1e-9) assert.fail(`${what}: row ${i} has time ${t}, expected ${i * DT}`);
  });
}

async function devices(): Promise<DeviceLike[]> {
  return (await daemon.get<{ devices: DeviceLike[] }>('/devices')).json.devices;
}

function assertClean(slot: Record<string, unknown>, planned: number, what: string): void {
  assert.equal(slot['status'], 'done', `${what}: ${JSON.stringify(slot)}`);
  assert.deepEqual([slot['points'], slot['expected_points'], slot['lost'], slot['dac_underruns'], slot['adc_overflows']], [planned, planned, 0, 0, 0], what);
}

describe('misbehaving devices', () => {
  test('a device that does not answer at start: daemon up, its slot offline, the others online', async () => {
    assert.ok(daemon.running());
    const list = await devices();
    assert.deepEqual(list.map((d) => [d.slot, d.state]), [['slot01', 'online'], ['slot02', 'online'], ['slot03', 'offline'], ['slot04', 'online']]);
    assert.match(String(list[2]!.state_reason), /did not answer/);
    assert.equal((await daemon.get<{ ok: boolean }>('/health')).json.ok, true);
  });

  test('unplug mid-run: that slot fails with a clear message and keeps every point that arrived; the other slot is done', async () => {
    const durationS = 3;
    const job = await submit(caJob(['slot01', 'slot04'], durationS, 'Unplug', '2026-04-01T10:00:00Z'));
    await waitForJob(daemon, job.run_id, (j) => j.slots[1]!.status === 'running' && j.slots[1]!.progress_pct > 40, 15_000);
    sims.links[3]!.unplug();
    const ended = await waitForJob(daemon, job.run_id, undefined, 20_000);
    const [kept, unplugged] = ended.slots;
    assertClean(kept!, Math.trunc(durationS / DT), 'slot01 next to the unplugged device');
    assert.equal(unplugged!.status, 'failed');
    const message = String(unplugged!.message);
    assert.match(message, /ttyBEEP4 is gone/, message);
    const received = /\((\d+) points of this mode were received before the failure\)/.exec(message);
    assert.ok(received, `the message says how many points arrived: ${message}`);
    const rows = await csvRows(job.run_id, unplugged!.files[0]!);
    assert.equal(rows.length, Number(received[1]), 'every point that reached the host is in the CSV');
    assert.ok(rows.length > 0.2 * durationS / DT, `rows before the unplug: ${rows.length}`);
    assertContiguous(rows, 'unplugged slot');
    assert.ok(daemon.running());
  });

  test('bursts of corrupted replies: the slot ends with every point accounted for, the neighbour is clean', async () => {
    const durationS = 3;
    const planned = Math.trunc(durationS / DT);
    const job = await submit(caJob(['slot01', 'slot02'], durationS, 'Garbage', '2026-04-01T11:00:00Z'));
    await waitForJob(daemon, job.run_id, (j) => j.slots[0]!.status === 'running' && j.progress_pct > 10, 15_000);
    const link = sims.links[0]!;
    for (let burst = 0; burst < 3; burst++) {
      link.corruptRate = 0.004;
      await sleep(250);
      link.corruptRate = 0;
      await sleep(300);
    }
    assert.ok(link.counters.corruptedBytes > 0, 'replies were corrupted');
    const ended = await waitForJob(daemon, job.run_id, undefined, 20_000);
    const [garbled, neighbour] = ended.slots;
    assertClean(neighbour!, planned, 'slot02 next to the garbled link');
    // Corrupted replies are lost reads: declared gaps (or, past the driver's limit, a clear failure).
    if (garbled!.status === 'done') {
      assert.equal(Number(garbled!['points']) + Number(garbled!['lost']), planned, `rows + lost = plan: ${JSON.stringify(garbled)}`);
      const rows = await csvRows(job.run_id, garbled!.files[0]!);
      assert.equal(rows.length, garbled!['points']);
    } else {
      assert.equal(garbled!.status, 'failed');
      assert.match(String(garbled!.message), /ttyBEEP1/);
    }
    // The slot measures cleanly again.
    const next = await submit(caJob(['slot01'], 0.5, 'AfterGarbage', '2026-04-01T11:05:00Z'));
    assertClean((await waitForJob(daemon, next.run_id, undefined, 20_000)).slots[0]!, Math.trunc(0.5 / DT), 'slot01 after the bursts');
  });

  test('the late device comes back under its name at the next rescan', async () => {
    await sleep(Math.max(0, stallEndsAt - Date.now() + 200));
    const res = await daemon.post<{ devices: string[] }>('/admin/rescan');
    assert.equal(res.status, 200, res.text);
    const list = await devices();
    assert.deepEqual(list.map((d) => [d.slot, d.port, d.state]), [
      ['slot01', sims.ports[0], 'online'],
      ['slot02', sims.ports[1], 'online'],
      ['slot03', sims.ports[2], 'online'],
      ['slot04', sims.ports[3], 'offline'],
    ]);
  });

  test('a hung slot worker: the watchdog fails its slot within its limit, the neighbour is done, the slot works again', async () => {
    const durationS = 8;
    await writeFile(hangTrigger, sims.ports[1]!);
    const job = await submit(caJob(['slot02', 'slot03'], durationS, 'Hang', '2026-04-01T12:00:00Z'));
    // The worker claims the trigger (renames it) just before it stops answering.
    const dir = path.dirname(hangTrigger);
    await waitUntil('the slot02 worker hangs', async () => ((await readdir(dir)).some((n) => n.startsWith('hang-trigger.taken-')) ? true : undefined), 15_000, 20);
    const hungAt = Date.now();
    const failed = await waitForJob(daemon, job.run_id, (j) => j.slots[0]!.status === 'failed', WATCHDOG_LIMIT_MS + 4000);
    const detectedMs = Date.now() - hungAt;
    assert.ok(detectedMs <= WATCHDOG_LIMIT_MS + 1500, `the watchdog failed the slot ${detectedMs} ms after the hang`);
    assert.match(String(failed.slots[0]!.message), /stopped answering \(watchdog/);
    assert.equal(failed.slots[1]!.status, 'running', 'the neighbour goes on');
    const ended = await waitForJob(daemon, job.run_id, undefined, 20_000);
    assertClean(ended.slots[1]!, Math.trunc(durationS / DT), 'slot03 next to the hung worker');
    // The partial CSV holds whole rows from index 0.
    assertContiguous(await csvRows(job.run_id, ended.slots[0]!.files[0]!), 'hung slot');

    const next = await submit(caJob(['slot02'], 0.5, 'AfterHang', '2026-04-01T12:10:00Z'));
    assertClean((await waitForJob(daemon, next.run_id, undefined, 20_000)).slots[0]!, Math.trunc(0.5 / DT), 'slot02 with its new worker');
    const log = daemon.logRecords().find((r) => r['msg'] === 'slot worker crashed or hung: terminated, replacing it');
    assert.ok(log, 'the replacement is logged');
    assert.equal(log['slot'], 'slot02');
  });

  test('the daemon is alive and stops cleanly', async () => {
    assert.ok(daemon.running());
    assert.doesNotMatch(daemon.stderr(), /Napi|terminate called|Aborted/);
    await daemon.stop();
  });
});
