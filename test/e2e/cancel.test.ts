/**
 * E2E journeys 3 and 4: cancelling a queued slot (its device link stalled, so the worker cannot
 * acquire the device) and a running slot (partial CSV kept, device switched off and usable
 * again), and 409 jobs.slots_busy while a slot runs. Real daemon, virtual potentiostats on ptys.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSimulators, type SimulatorSet } from '../../src/sim/run-sim.js';
import {
  ISO_UTC,
  assertEnvelope,
  assertNothingLeftBehind,
  createCleanupScope,
  isTerminalStatus,
  sleep,
  splitCsv,
  startDaemon,
  submitJob,
  waitForJob,
  waitUntil,
  type DaemonHandle,
  type JobStatusLike,
  type SlotStatusLike,
} from '../helpers/daemon.js';

const DT = 0.00036;
/** Cell enable and RUN bits of the status word. */
const CELL_OR_RUN = 0x110;

const scope = createCleanupScope();
let sims: SimulatorSet;
let daemon: DaemonHandle;

before(async () => {
  sims = await startSimulators({ count: 2 });
  scope.defer(() => sims.close());
  daemon = await startDaemon(scope, { ports: sims.ports });
});

after(() => scope.run());

const job = (slot: string, durationS: number, clientDatetime: string, extra: Record<string, unknown> = {}) => ({
  devices: [slot],
  modes: ['CA'],
  params_by_mode: { CA: { potential: 0.15, duration: durationS } },
  experiment_name: 'Cancel',
  client_datetime: clientDatetime,
  make_plot: false,
  ...extra,
});

async function expectUsable(slot: string, clientDatetime: string): Promise<void> {
  const next = await submitJob(daemon, job(slot, 0.5, clientDatetime));
  const done = await waitForJob(daemon, next.run_id, undefined, 20_000);
  assert.equal(done.status, 'done', `a new job on ${slot} ends done: ${JSON.stringify(done)}`);
  const s = done.slots[0]!;
  assert.equal(s['points'], Math.trunc(0.5 / DT));
  assert.equal(s['lost'], 0);
  assert.equal(s['dac_underruns'], 0);
  assert.equal(s['adc_overflows'], 0);
}

describe('cancel', () => {
  test('a queued slot (device link stalled) is cancelled at once with message "cancelled" and no files', async () => {
    sims.links[0]!.stall(3000);
    const stalledAt = Date.now();
    const created = await submitJob(daemon, job('slot01', 1, '2025-11-06T09:00:00Z', { run_name: 'cancel-queued' }));
    assert.equal(created.slots[0]!.status, 'queued');
    await sleep(300);
    const stillQueued = (await daemon.get<JobStatusLike>('/jobs/cancel-queued')).json;
    assert.equal(stillQueued.status, 'queued', 'the slot cannot acquire its stalled device');
    assert.equal(stillQueued.slots[0]!.status, 'queued');
    const ds = (await daemon.get<SlotStatusLike[]>('/devices/status')).json;
    assert.deepEqual([ds[0]!.status, ds[0]!['run_id']], ['queued', 'cancel-queued']);

    const cancel = await daemon.post('/jobs/cancel-queued/cancel');
    assert.equal(cancel.status, 202);
    assert.deepEqual(cancel.json, { run_id: 'cancel-queued', status: 'cancelled' });
    // Immediately terminal: no waiting for the worker.
    const now = (await daemon.get<JobStatusLike>('/jobs/cancel-queued')).json;
    assert.ok(Date.now() - stalledAt < 2500, 'checked while the link is still stalled');
    assert.equal(now.status, 'cancelled');
    assert.match(now.ended_at ?? '', ISO_UTC);
    assert.equal(now.progress_pct, 0);
    assert.equal(now.remaining_s, 0);
    assert.equal(now.current_mode, null);
    assert.deepEqual(now.remaining_modes, []);
    const s = now.slots[0]!;
    assert.equal(s.status, 'cancelled');
    assert.equal(s.message, 'cancelled');
    assert.deepEqual(s.files, []);
    assert.match(s.started_at ?? '', ISO_UTC);
    assert.match(s.ended_at ?? '', ISO_UTC);
    assert.equal(s.progress_pct, 0);
    assert.equal(s.remaining_s, 0);
    // The reservation is released at once.
    const idle = (await daemon.get<SlotStatusLike[]>('/devices/status')).json;
    assert.equal(idle[0]!.status, 'idle');
    // A second cancel reports the terminal state.
    assert.deepEqual((await daemon.post('/jobs/cancel-queued/cancel')).json, { run_id: 'cancel-queued', status: 'cancelled' });

    // The slot stays cancelled once the link recovers, and nothing was measured.
    await sleep(Math.max(0, stalledAt + 3300 - Date.now()));
    const later = (await daemon.get<JobStatusLike>('/jobs/cancel-queued')).json;
    assert.equal(later.slots[0]!.status, 'cancelled', 'a worker never moves a cancelled slot back');
    assert.deepEqual(later.slots[0]!.files, []);
    assert.equal(sims.devices[0]!.status & CELL_OR_RUN, 0, 'the cell of the never-started slot is off');
    // Nothing was measured: only the run's provenance (run.json, saying cancelled) is there.
    const files = await daemon.get('/runs/cancel-queued/files');
    assert.deepEqual(files.json, { files: ['run.json'] });
    await expectUsable('slot01', '2025-11-06T09:01:00Z');
  });

  test('a running slot: 409 jobs.slots_busy meanwhile, cancel keeps the partial CSV, device off and usable again', async () => {
    const durationS = 30;
    const planned = Math.trunc(durationS / DT);
    const created = await submitJob(daemon, job('slot02', durationS, '2025-11-06T10:00:00Z', { run_name: 'cancel-running' }));
    assert.deepEqual(created.slots.map((s) => s.slot), ['slot02']);
    // ≥ 4 % of 31 s: past the 1 s setup, rows are arriving.
    const running = await waitForJob(daemon, 'cancel-running', (j) => j.slots[0]!.status === 'running' && j.progress_pct >= 4, 10_000);
    assert.equal(running.status, 'running');
    assert.ok((sims.devices[1]!.status & CELL_OR_RUN) !== 0, 'the cell is on while measuring');

    // Journey 4: the running slot is busy for everyone else.
    const busy = assertEnvelope(await daemon.post('/jobs', job('slot02', 1, '2025-11-06T10:05:00Z')), 409, 'jobs.slots_busy', 'Slots busy: slot02');
    assert.equal(busy.hint, 'Wait until the listed slots are free.');
    assertEnvelope(await daemon.post('/jobs', { ...job('slot02', 1, '2025-11-06T10:05:00Z'), devices: ['slot02', 'slot01'] }), 409, 'jobs.slots_busy', 'Slots busy: slot02');
    assertEnvelope(await daemon.post('/jobs', { ...job('slot02', 1, '2025-11-06T10:05:00Z'), devices: 'all' }), 409, 'jobs.slots_busy', 'Slots busy: slot02');
    assertEnvelope(await daemon.post('/admin/rescan'), 409, 'devices.busy', 'Rescan not possible while slots are busy: slot02');

    await sleep(1000);
    const cancelledAt = Date.now();
    const cancel = await daemon.post('/jobs/cancel-running/cancel');
    assert.equal(cancel.status, 202);
    assert.deepEqual(cancel.json, { run_id: 'cancel-running', status: 'cancelled' });
    const ended = await waitForJob(daemon, 'cancel-running', (j) => isTerminalStatus(j.status), 10_000);
    assert.ok(Date.now() - cancelledAt < 5000, 'the running slot stops promptly');
    assert.equal(ended.status, 'cancelled');
    assert.equal(ended.remaining_s, 0);
    assert.equal(ended.progress_pct, 0);
    const s = ended.slots[0]!;
    assert.equal(s.status, 'cancelled');
    assert.equal(s.message, 'cancelled');
    assert.match(s.ended_at ?? '', ISO_UTC);
    const csvRel = 'Wells/slot02/CA/Cancel_2025-11-06_10-00-00Z_slot02_CA.csv';
    assert.deepEqual(s.files, [csvRel], 'the partial CSV of the aborted mode is listed');

    // Partial CSV: header, whole rows only, fewer than planned, more than zero; download identical.
    const dl = await daemon.get(`/runs/cancel-running/file?path=${csvRel}`);
    assert.equal(dl.status, 200, dl.text);
    const disk = await readFile(path.join(daemon.runsRoot, 'Cancel', '2025-11-06T10-00-00Z', ...csvRel.split('/')));
    assert.ok(dl.body.equals(disk), 'download equals the file on disk');
    const csv = splitCsv(dl.body.toString('utf8'));
    assert.equal(csv.header, 'Time (s),Potential (V),Current (A),Exp,Applied potential (V)');
    assert.ok(csv.rows.length > 0 && csv.rows.length < planned, `partial rows: ${csv.rows.length} of ${planned}`);
    assert.ok(csv.rows.every((r) => r.split(',').length === 5), 'only complete rows');
    const lastTime = Number(csv.rows.at(-1)!.split(',')[0]);
    assert.ok(Math.abs(lastTime - (csv.rows.length - 1) * DT) < 1e-9, 'rows are the plan points 0..n-1 without gaps');
    assert.ok(csv.rows.length >= 0.5 / DT, `about a second was measured (${csv.rows.length} rows)`);
    const zip = await daemon.get('/runs/cancel-running/zip');
    assert.equal(zip.status, 200);

    // The device was stopped and switched off, and it measures again.
    await waitUntil('cell off after cancel', async () => ((sims.devices[1]!.status & CELL_OR_RUN) === 0 ? true : undefined), 3000, 50);
    assert.equal((await daemon.get<SlotStatusLike[]>('/devices/status')).json[1]!.status, 'idle');
    await expectUsable('slot02', '2025-11-06T10:01:00Z');
  });
});

describe('shutdown', () => {
  test('graceful stop leaves nothing behind; no log line contains the API key', async () => {
    await daemon.stop();
    await assertNothingLeftBehind(daemon);
    for (const line of daemon.logLines()) assert.ok(!line.includes(daemon.apiKey), line);
  });
});
