/**
 * Admission fills what a mode inherits from the job (#11): each step's final params hold the
 * tia_gain and charge_cutoff_c the mode runs with, and the device limits that depend on the job's
 * gain are checked there, naming the mode's field and the limit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { admitJob } from '../../../src/jobs/admission.js';
import type { JobRequestBody } from '../../../src/jobs/types.js';
import { DaemonError } from '../../../src/errors.js';

async function admit(overrides: Partial<JobRequestBody>): Promise<Awaited<ReturnType<typeof admitJob>>> {
  const runsRoot = await mkdtemp(path.join(tmpdir(), 'beepbox-admission-'));
  try {
    return await admitJob(
      { devices: ['slot01'], modes: ['CA'], params_by_mode: { CA: { potential: 0.1, duration: 1 } }, experiment_name: 'e', client_datetime: '2025-01-01T00:00:00Z', ...overrides },
      { runsRoot, devices: [{ slot: 'slot01', port: '/dev/null', sn: null }], minFreeBytes: 0 },
    );
  } finally {
    await rm(runsRoot, { recursive: true, force: true });
  }
}

async function refusal(overrides: Partial<JobRequestBody>): Promise<DaemonError> {
  try {
    await admit(overrides);
  } catch (err) {
    assert.ok(err instanceof DaemonError, String(err));
    return err;
  }
  assert.fail('admission accepted the job');
}

test('a step without its own tia_gain / charge_cutoff_c holds the job\'s; one with its own keeps it', async () => {
  const plan = await admit({
    modes: ['CA', 'OCP', 'CP'],
    tia_gain: 2,
    charge_cutoff_c: 0.5,
    params_by_mode: { CA: { potential: 0.1, duration: 1 }, OCP: { duration: 1 }, CP: { current: 1e-5, duration: 1, tia_gain: 1, charge_cutoff_c: 0.01 } },
  });
  const [ca, ocp, cp] = plan.steps.map((s) => s.params as unknown as Record<string, unknown>);
  assert.equal(ca!.tia_gain, 2);
  assert.equal(ca!.charge_cutoff_c, 0.5);
  assert.equal(ca!.rest_s, 0);
  assert.equal(ocp!.tia_gain, 2);
  assert.equal('charge_cutoff_c' in ocp!, false, 'OCP has no charge cut-off');
  assert.equal(cp!.tia_gain, 1);
  assert.equal(cp!.charge_cutoff_c, 0.01);
  assert.equal(cp!.potential_cutoff_action, 'stop_mode');
  assert.equal(plan.tiaGain, 2);
  assert.equal(plan.chargeCutoffC, 0.5);
  // The job record shows what runs.
  assert.equal(plan.steps[0]!.recordedParams.tia_gain, 2);
  assert.equal(plan.steps[0]!.recordedParams.charge_cutoff_c, 0.5);
});

test('defaults: absent job tia_gain is gain 0, absent charge_cutoff_c is none; null gain stays null', async () => {
  const plan = await admit({});
  const ca = plan.steps[0]!.params as unknown as Record<string, unknown>;
  assert.equal(ca.tia_gain, 0);
  assert.equal(ca.charge_cutoff_c, null);
  const unchanged = await admit({ tia_gain: null });
  assert.equal((unchanged.steps[0]!.params as unknown as Record<string, unknown>).tia_gain, null);
});

test('a per-mode tia_gain of 4 is refused, saying the firmware treats it as 3', async () => {
  const err = await refusal({ params_by_mode: { CA: { potential: 0.1, duration: 1, tia_gain: 4 } } });
  assert.equal(err.code, 'jobs.invalid_params');
  assert.match(err.message, /CA: tia_gain must be at most 3 \(the firmware treats 4 and 5 as 3 = 1 MΩ\)/);
});

test('a per-mode charge_cutoff_c ≤ 0 is refused', async () => {
  for (const c of [0, -1]) {
    const err = await refusal({ params_by_mode: { CA: { potential: 0.1, duration: 1, charge_cutoff_c: c } } });
    assert.equal(err.code, 'jobs.invalid_params');
    assert.match(err.message, /charge_cutoff_c must be greater than zero/);
  }
});

test('a CP that inherits the job\'s gain is checked against its full scale, naming the mode\'s field', async () => {
  const cp = { modes: ['CP'], params_by_mode: { CP: { current: 3e-3, duration: 1 } } };
  const err = await refusal({ ...cp, tia_gain: 1 });
  assert.equal(err.code, 'jobs.invalid_params');
  assert.match(err.message, /^Invalid parameters for CP: current 3 mA exceeds the current full scale ±495 µA of the job's tia_gain 1 .*tia_gain 0 \(±4\.95 mA\) allows it$/);
  assert.deepEqual((err.details?.issues as Array<{ field: string; code: string }>).map((i) => [i.field, i.code]), [['current', 'out_of_range']]);
  const accepted = await admit({ ...cp, tia_gain: 0 });
  assert.equal((accepted.steps[0]!.params as unknown as Record<string, unknown>).tia_gain, 0);
  // Its own gain wins over the job's.
  const own = await admit({ modes: ['CP'], params_by_mode: { CP: { current: 3e-3, duration: 1, tia_gain: 0 } }, tia_gain: 3 });
  assert.equal((own.steps[0]!.params as unknown as Record<string, unknown>).tia_gain, 0);
  // CP at 10 mA: refused whatever the gain.
  const tooMuch = await refusal({ modes: ['CP'], params_by_mode: { CP: { current: 0.01, duration: 1 } }, tia_gain: 0 });
  assert.match(tooMuch.message, /current 10 mA exceeds .*±4\.95 mA.*no gain allows it/);
});

test('job tia_gain null: the gain is unknown, the step warns unknown_gain', async () => {
  const plan = await admit({ modes: ['CP'], params_by_mode: { CP: { current: 1e-3, duration: 1 } }, tia_gain: null });
  assert.deepEqual(plan.steps[0]!.warnings.map((w) => [w.field, w.code]), [['tia_gain', 'unknown_gain']]);
});
