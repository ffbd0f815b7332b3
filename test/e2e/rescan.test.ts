/**
 * Issue #10, the device registry over real HTTP: bursts of concurrent POST /admin/rescan mixed
 * with jobs and cancels never take the daemon down, never empty or renumber the registry, never
 * touch a running job and never make POST /jobs see a false "unknown device"; slot names stay
 * with their devices when one in the middle goes away and comes back, and across a restart.
 * Real daemon, virtual potentiostats on ptys (their fault knobs in this process).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSimulators, type SimulatorSet } from '../../src/sim/run-sim.js';
import {
  assertEnvelope,
  createCleanupScope,
  sleep,
  splitCsv,
  startDaemon,
  waitForJob,
  waitUntil,
  type DaemonHandle,
  type DaemonResponse,
  type JobStatusLike,
  type SlotStatusLike,
} from '../helpers/daemon.js';

const DT = 0.00036;
const SLOTS = ['slot01', 'slot02', 'slot03', 'slot04'];
const ROUNDS = 6;
const RESCANS_PER_ROUND = 8;

interface DeviceLike {
  slot: string;
  port: string;
  sn: string | null;
  state?: string;
  state_reason?: string | null;
}
interface DevicesBody {
  devices: DeviceLike[];
  slots: string[];
  count: number;
}

const scope = createCleanupScope();
let sims: SimulatorSet;
let daemon: DaemonHandle;
let runsRoot: string;

before(async () => {
  sims = await startSimulators({ count: SLOTS.length });
  scope.defer(() => sims.close());
  daemon = await startDaemon(scope, { ports: sims.ports });
  runsRoot = daemon.runsRoot;
});

after(() => scope.run());

const caJob = (slot: string, durationS: number, name: string, clientDatetime: string) => ({
  devices: [slot],
  modes: ['CA'],
  params_by_mode: { CA: { potential: 0.1, duration: durationS } },
  experiment_name: name,
  client_datetime: clientDatetime,
  make_plot: false,
});

async function devices(d: DaemonHandle = daemon): Promise<DevicesBody> {
  const res = await d.get<DevicesBody>('/devices');
  assert.equal(res.status, 200, res.text);
  return res.json;
}

/** The CSV rows of a slot's only mode, fetched over HTTP. */
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

describe('concurrent rescans, jobs and cancels', () => {
  let initial: DevicesBody;

  test('the registry starts complete', async () => {
    initial = await devices();
    assert.deepEqual(initial.slots, SLOTS);
    assert.deepEqual(initial.devices.map((d) => [d.slot, d.port, d.state]), SLOTS.map((s, i) => [s, sims.ports[i], 'online']));
  });

  test(`${ROUNDS} rounds of ${RESCANS_PER_ROUND} concurrent rescans with 2 jobs and a cancel each: daemon up, registry complete, jobs untouched`, async (t) => {
    const tally = { rescanOk: 0, rescanBusy: 0, jobs: 0, cancels: 0, devicePolls: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const keep = SLOTS[round % SLOTS.length]!;
      const cancelled = SLOTS[(round + 2) % SLOTS.length]!;
      const stamp = `2026-02-0${1 + (round % 9)}T1${round % 10}:00:00Z`;
      const keepDurationS = 1.2;
      const cancelDurationS = 5;
      // Every GET /devices during the round must show the whole registry.
      let polling = true;
      const poller = (async () => {
        while (polling) {
          const body = await devices();
          tally.devicePolls++;
          assert.deepEqual(body.slots, SLOTS, `GET /devices during round ${round} shows the whole registry`);
          assert.ok(body.devices.every((d) => d.state === 'online'), `every slot online during round ${round}: ${JSON.stringify(body.devices)}`);
          await sleep(15);
        }
      })();
      const rescan = () => daemon.post<{ devices: string[] }>('/admin/rescan');
      const half = RESCANS_PER_ROUND / 2;
      const requests: Array<Promise<DaemonResponse<unknown>>> = [];
      for (let i = 0; i < half; i++) requests.push(rescan());
      const keepRes = daemon.post<JobStatusLike>('/jobs', caJob(keep, keepDurationS, `Keep${round}`, stamp));
      const cancelRes = daemon.post<JobStatusLike>('/jobs', caJob(cancelled, cancelDurationS, `Cancel${round}`, stamp));
      for (let i = half; i < RESCANS_PER_ROUND; i++) requests.push(rescan());
      const [keepJob, cancelJob, ...rescans] = await Promise.all([keepRes, cancelRes, ...requests]);
      // No false 400 (or anything else) for a job that names free, registered slots.
      assert.equal(keepJob!.status, 200, `POST /jobs during a rescan: ${keepJob!.text}`);
      assert.equal(cancelJob!.status, 200, `POST /jobs during a rescan: ${cancelJob!.text}`);
      tally.jobs += 2;
      for (const r of rescans) {
        if (r.status === 200) {
          tally.rescanOk++;
          assert.deepEqual((r.json as { devices: string[] }).devices, SLOTS, 'a rescan answers every slot');
        } else {
          tally.rescanBusy++;
          assertEnvelope(r, 409, 'devices.busy');
        }
      }
      const keepId = (keepJob!.json as JobStatusLike).run_id;
      const cancelId = (cancelJob!.json as JobStatusLike).run_id;
      // More rescans while both run (all refused: slots are reserved), then the cancel.
      await waitForJob(daemon, cancelId, (j) => j.slots[0]!.status === 'running' && j.progress_pct > 10, 15_000);
      for (const r of await Promise.all([rescan(), rescan()])) {
        assertEnvelope(r, 409, 'devices.busy');
        tally.rescanBusy++;
      }
      const cancel = await daemon.post(`/jobs/${cancelId}/cancel`);
      assert.equal(cancel.status, 202, cancel.text);
      tally.cancels++;

      const kept = await waitForJob(daemon, keepId, undefined, 20_000);
      const gone = await waitForJob(daemon, cancelId, undefined, 20_000);
      polling = false;
      await poller;

      // The job a rescan raced with ran to the end, clean, with every planned row in its CSV.
      const planned = Math.trunc(keepDurationS / DT);
      assert.equal(kept.status, 'done', `round ${round}: ${JSON.stringify(kept.slots[0])}`);
      const s = kept.slots[0]!;
      assert.deepEqual([s['points'], s['expected_points'], s['lost'], s['dac_underruns'], s['adc_overflows']], [planned, planned, 0, 0, 0], `counters of ${keep}`);
      const rows = await csvRows(keepId, s.files[0]!);
      assert.equal(rows.length, planned, 'every planned row is in the CSV');
      assertContiguous(rows, `${keep} round ${round}`);
      // The cancelled one: cancelled, its partial CSV whole rows from index 0.
      assert.equal(gone.status, 'cancelled');
      const c = gone.slots[0]!;
      assert.equal(c.message, 'cancelled');
      const partial = await csvRows(cancelId, c.files[0]!);
      assert.ok(partial.length > 0 && partial.length < Math.trunc(cancelDurationS / DT), `partial rows: ${partial.length}`);
      assertContiguous(partial, `${cancelled} round ${round} (cancelled)`);

      // After every round: the same complete registry, nothing reserved.
      assert.deepEqual(await devices(), initial, `registry after round ${round}`);
      const status = (await daemon.get<SlotStatusLike[]>('/devices/status')).json;
      assert.deepEqual(status.map((e) => [e.slot, e.status, e['state']]), SLOTS.map((sl) => [sl, 'idle', 'online']));
    }
    // Pure bursts, as the issue reported them (no job in the way): all answered, nothing lost.
    for (let burst = 0; burst < 2; burst++) {
      const all = await Promise.all(Array.from({ length: RESCANS_PER_ROUND }, () => daemon.post<{ devices: string[] }>('/admin/rescan')));
      for (const r of all) {
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.json.devices, SLOTS);
        tally.rescanOk++;
      }
      assert.deepEqual(await devices(), initial);
    }
    assert.ok(daemon.running(), 'the daemon is alive');
    assert.equal((await daemon.get<{ ok: boolean }>('/health')).json.ok, true);
    assert.doesNotMatch(daemon.stderr(), /Napi|terminate called|Aborted/);
    assert.ok(tally.rescanOk >= ROUNDS, `some rescans ran in every round: ${JSON.stringify(tally)}`);
    t.diagnostic(`rescans/jobs/cancels: ${JSON.stringify(tally)}`);
  });
});

describe('stable slot names', () => {
  test('a device in the middle goes: its slot is offline, no renumbering; it comes back under its old name', async () => {
    sims.links[1]!.unplug();
    await waitUntil('pty of device 2 gone', async () => (sims.endpoints[1]!.isUp ? undefined : true), 5000, 20);
    const rescan = await daemon.post<{ devices: string[] }>('/admin/rescan');
    assert.equal(rescan.status, 200, rescan.text);
    assert.deepEqual(rescan.json.devices, ['slot01', 'slot03', 'slot04'], 'the rescan answers the slots that are online');
    const body = await devices();
    assert.deepEqual(body.slots, SLOTS, 'slot02 stays listed');
    assert.deepEqual(body.devices.map((d) => [d.slot, d.port, d.state]), [
      ['slot01', sims.ports[0], 'online'],
      ['slot02', sims.ports[1], 'offline'],
      ['slot03', sims.ports[2], 'online'],
      ['slot04', sims.ports[3], 'online'],
    ]);
    assert.match(String(body.devices[1]!.state_reason), /not found/);
    const status = (await daemon.get<SlotStatusLike[]>('/devices/status')).json;
    assert.deepEqual(status.map((e) => [e.slot, e.status, e['state']]), [['slot01', 'idle', 'online'], ['slot02', 'idle', 'offline'], ['slot03', 'idle', 'online'], ['slot04', 'idle', 'online']]);
    assert.match(String(status[1]!.message), /not found/);

    // A job naming it is refused with a clear error; "all" means the online slots.
    const refused = assertEnvelope(await daemon.post('/jobs', caJob('slot02', 0.2, 'Offline', '2026-03-01T10:00:00Z')), 409, 'jobs.devices_offline');
    assert.match(String(refused.message), /slot02/);
    const refusedMixed = await daemon.post('/jobs', { ...caJob('slot01', 0.2, 'Offline', '2026-03-01T10:00:00Z'), devices: ['slot01', 'slot02'] });
    assertEnvelope(refusedMixed, 409, 'jobs.devices_offline');
    const all = await daemon.post<JobStatusLike>('/jobs', { ...caJob('slot01', 0.3, 'AllOnline', '2026-03-01T10:01:00Z'), devices: 'all' });
    assert.equal(all.status, 200, all.text);
    assert.deepEqual(all.json.slots.map((s) => s.slot), ['slot01', 'slot03', 'slot04']);
    const allDone = await waitForJob(daemon, all.json.run_id, undefined, 20_000);
    assert.equal(allDone.status, 'done');
    // slot03 still measures on device 3 (its name did not move to another cell).
    assert.ok(allDone.slots[1]!.files[0]!.includes('slot03'));

    // The device comes back at the same path: its old name, not a new one.
    const back = await startSimulators({ count: 1, dir: sims.dir, firstIndex: 2 });
    scope.defer(() => back.close());
    assert.equal(back.ports[0], sims.ports[1]);
    const again = await daemon.post<{ devices: string[] }>('/admin/rescan');
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(again.json.devices, SLOTS);
    assert.deepEqual((await devices()).devices.map((d) => [d.slot, d.port, d.state]), SLOTS.map((s, i) => [s, sims.ports[i], 'online']));
    const job = await daemon.post<JobStatusLike>('/jobs', caJob('slot02', 0.3, 'Back', '2026-03-01T11:00:00Z'));
    assert.equal(job.status, 200, job.text);
    const done = await waitForJob(daemon, job.json.run_id, undefined, 20_000);
    assert.equal(done.status, 'done', JSON.stringify(done.slots[0]));
    assert.ok(back.links[0]!.counters.requests > 0, 'slot02 measured on the device that came back');
  });

  test('names survive a restart (RUNS_ROOT/.slots.json), whatever order the ports are given in', async () => {
    const map = JSON.parse(await readFile(path.join(runsRoot, '.slots.json'), 'utf8')) as { slots: Array<{ slot: string; port: string }> };
    assert.deepEqual(map.slots.map((s) => [s.slot, s.port]), SLOTS.map((s, i) => [s, sims.ports[i]]));
    await daemon.stop();
    // Reversed order, device 1 left out: slot02..04 keep their names, slot01 is offline.
    const ports = [sims.ports[3]!, sims.ports[2]!, sims.ports[1]!];
    const second = await startDaemon(scope, { ports, runsRoot });
    const body = await devices(second);
    assert.deepEqual(body.devices.map((d) => [d.slot, d.port, d.state]), [
      ['slot01', sims.ports[0], 'offline'],
      ['slot02', sims.ports[1], 'online'],
      ['slot03', sims.ports[2], 'online'],
      ['slot04', sims.ports[3], 'online'],
    ]);
    // A port never seen before takes the lowest free name... and there is none below slot05.
    const extra = await startSimulators({ count: 1, dir: sims.dir, firstIndex: 9 });
    scope.defer(() => extra.close());
    await second.stop();
    const third = await startDaemon(scope, { ports: [...ports, extra.ports[0]!], runsRoot });
    const names = (await devices(third)).devices.map((d) => [d.slot, d.port, d.state]);
    assert.deepEqual(names.at(-1), ['slot05', extra.ports[0], 'online']);
    assert.deepEqual(names[0], ['slot01', sims.ports[0], 'offline']);
    await third.stop();
  });
});
