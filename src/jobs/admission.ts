/**
 * Admission (rest-api.md 4.2): takes a POST /jobs body whose envelope the HTTP layer already
 * checked against its schema, validates everything else once, applies the auto-adjustments and
 * returns an immutable {@link JobPlan}. Checks run in the contract's order: modes, params,
 * run_name, devices, storage names, existing files, then free space (507
 * storage.insufficient_space below the floor). Nothing is reserved or created here; the engine
 * does that atomically with the run_id and busy-slot checks.
 */
import { randomBytes } from 'node:crypto';
import { DaemonError } from '../errors.js';
import { UnsupportedModeError } from '../modes/catalogue.js';
import { POINT_INTERVAL_S } from '../modes/constants.js';
import { fillFromJob, type JobLevelParams } from '../modes/common-params.js';
import { countPlanPoints } from '../modes/plan.js';
import type { ModeName } from '../modes/types.js';
import { admitModeParams, checkInheritedGain } from '../modes/validate.js';
import { plotKindForMode } from '../plots/plot-kind.js';
import { RUN_ID_PATTERN, RUN_ID_PATTERN_SOURCE } from '../storage/run-id.js';
import { assertFreeSpace, defaultMinFreeBytes } from '../storage/free-space.js';
import { assertNoExistingFiles, computeRunLayout } from '../storage/run-layout.js';
import { freezePlan, type JobPlan, type ModeStep } from './job-plan.js';
import type { DeviceInfo, JobRequestBody } from './types.js';

export interface AdmissionContext {
  runsRoot: string;
  /** Registered slots, for `devices` and the device identities the record keeps. */
  devices: readonly DeviceInfo[];
  now?: Date;
  /**
   * Free space RUNS_ROOT must have for a job to be admitted (BOX_MIN_FREE_MB); default
   * {@link defaultMinFreeBytes} of the registered slots; 0 turns the check off.
   */
  minFreeBytes?: number | null;
}

function invalidRequest(message: string): DaemonError {
  return new DaemonError('jobs.invalid_request', message);
}

function normaliseModes(raw: readonly string[]): string[] {
  const tokens = raw.map((m) => m.trim().toUpperCase());
  if (tokens.length === 0 || tokens.some((t) => t === '')) throw invalidRequest('modes must not be empty');
  const seen = new Set<string>();
  for (const t of tokens) {
    if (seen.has(t)) throw invalidRequest(`duplicate mode ${t}`);
    seen.add(t);
  }
  return tokens;
}

/** params_by_mode keyed by upper-cased token; two keys that differ only in case collide. */
function indexParams(raw: Record<string, unknown>): Map<string, unknown> {
  const byKey = new Map<string, unknown>();
  for (const [key, value] of Object.entries(raw)) {
    const k = key.trim().toUpperCase();
    if (byKey.has(k)) throw invalidRequest(`params_by_mode keys collide: ${k}`);
    byKey.set(k, value);
  }
  return byKey;
}

/** CV plots draw only the cycles the user asked for (`cycles`). */
function maxCyclesToPlot(mode: ModeName, params: object): number | null {
  const cycles = (params as { cycles?: unknown }).cycles;
  return mode === 'CV' && typeof cycles === 'number' ? cycles : null;
}

type StepDraft = Omit<ModeStep, 'plot'>;

/**
 * Validates every mode's parameters, then fills what the mode inherits from the job (`tia_gain`,
 * `charge_cutoff_c`) so that a step's params hold exactly what it runs with.
 */
function admitSteps(tokens: readonly string[], rawParams: Record<string, unknown>, job: JobLevelParams): { steps: StepDraft[]; requestParams: Record<string, unknown> } {
  const byKey = indexParams(rawParams);
  const steps: StepDraft[] = [];
  const requestParams: Record<string, unknown> = {};
  const issues: Array<{ mode: string; field: string; code: string; message: string }> = [];
  for (const [index, token] of tokens.entries()) {
    const value = byKey.get(token);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidRequest(`missing params for mode ${token}`);
    let verdict;
    try {
      verdict = admitModeParams(token, value);
    } catch (err) {
      if (err instanceof UnsupportedModeError) throw invalidRequest(`unknown mode ${token}`);
      throw err;
    }
    requestParams[token] = value;
    if (!verdict.ok) {
      for (const e of verdict.errors) issues.push({ mode: token, field: e.field, code: e.code, message: e.message });
      continue;
    }
    // Limits that depend on the job's gain, for a mode that inherits it (the field is the mode's).
    const inherited = checkInheritedGain(verdict.mode, verdict.params, verdict.params.tia_gain, job.tiaGain);
    if (inherited.errors.length > 0) {
      for (const e of inherited.errors) issues.push({ mode: token, field: e.field, code: e.code, message: e.message });
      continue;
    }
    const params = fillFromJob(verdict.mode, verdict.params, job);
    const recordedParams = { ...verdict.adjusted, ...params };
    const points = countPlanPoints(verdict.mode, params as never);
    const warnings = [...verdict.warnings, ...inherited.warnings];
    steps.push({ index, token, mode: verdict.mode, params, recordedParams, points, plannedS: points * POINT_INTERVAL_S, warnings });
  }
  if (issues.length > 0) {
    const first = issues[0]!;
    // "Value must be greater than zero." on scan_rate → "scan_rate must be greater than zero" (rest-api 1.6).
    const text = first.message.replace(/^(Value|Field) /, '').replace(/\.$/, '');
    const message = `Invalid parameters for ${first.mode}: ${first.field} ${text.charAt(0).toLowerCase()}${text.slice(1)}`;
    throw new DaemonError('jobs.invalid_params', message, { details: { issues } });
  }
  return { steps, requestParams };
}

function resolveRunName(raw: unknown): string | null {
  const name = typeof raw === 'string' && raw.trim() !== '' ? raw.trim() : null;
  if (name !== null && !RUN_ID_PATTERN.test(name)) throw invalidRequest(`run_name must match ${RUN_ID_PATTERN_SOURCE}`);
  return name;
}

/**
 * `all` is every slot whose device is online; a named slot must exist (400 jobs.invalid_devices)
 * and be online (409 jobs.devices_offline: its device is gone, the name is kept for it).
 */
function resolveDevices(requested: readonly string[] | 'all', known: readonly DeviceInfo[]): DeviceInfo[] {
  const bySlot = new Map(known.map((d) => [d.slot, d]));
  let slots: string[];
  if (requested === 'all') slots = known.filter((d) => d.state !== 'offline').map((d) => d.slot).sort();
  else {
    slots = [...new Set(requested.map((d) => d.trim()))];
    const unknown = slots.filter((d) => !bySlot.has(d));
    if (unknown.length > 0) throw new DaemonError('jobs.invalid_devices', `Unknown devices: ${unknown.join(', ')}`);
    const offline = slots.filter((d) => bySlot.get(d)!.state === 'offline').sort();
    if (offline.length > 0) {
      const reasons = offline.map((d) => `${d} (${bySlot.get(d)!.state_reason ?? 'device offline'})`);
      throw new DaemonError('jobs.devices_offline', `Devices offline: ${reasons.join('; ')}`, { details: { slots: offline } });
    }
  }
  if (slots.length === 0) throw new DaemonError('jobs.invalid_devices', 'No valid devices specified');
  return slots.map((s) => bySlot.get(s)!);
}

function formatRunIdTime(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '');
}

/** Validates a job request and resolves it into a frozen plan (throws coded errors). */
export async function admitJob(body: JobRequestBody, ctx: AdmissionContext): Promise<JobPlan> {
  const tokens = normaliseModes(body.modes);
  // Absent tia_gain is gain 0 (the contract's default); null leaves the device setting unchanged.
  const tiaGain = body.tia_gain === undefined ? 0 : body.tia_gain;
  const { steps, requestParams } = admitSteps(tokens, body.params_by_mode ?? {}, { tiaGain, chargeCutoffC: body.charge_cutoff_c ?? null });
  const runName = resolveRunName(body.run_name);
  const devices = resolveDevices(body.devices, ctx.devices);
  const slotNames = devices.map((d) => d.slot);
  const layout = computeRunLayout(ctx.runsRoot, body, { slots: slotNames, modes: tokens });
  await assertNoExistingFiles(layout, slotNames, tokens);
  await assertFreeSpace(ctx.runsRoot, ctx.minFreeBytes ?? defaultMinFreeBytes(ctx.devices.length));

  const created = ctx.now ?? new Date();
  const makePlot = body.make_plot ?? true;
  const groupLabel = [body.group_id, body.folder_name, body.subdir].map((v) => (typeof v === 'string' ? v.trim() : '')).find((v) => v !== '') ?? null;
  return freezePlan({
    runId: runName ?? `${formatRunIdTime(created)}_${randomBytes(3).toString('hex')}`,
    createdAt: created.toISOString(),
    steps: steps.map((s) => ({ ...s, plot: makePlot ? { kind: plotKindForMode(s.token), maxCycles: maxCyclesToPlot(s.mode, s.params) } : null })),
    slots: devices.map((d) => ({ slot: d.slot, port: d.port, sn: d.sn, files: tokens.map((t) => layout.modeFiles(d.slot, t)) })),
    requestParams,
    request: structuredClone(body),
    tiaGain,
    chargeCutoffC: body.charge_cutoff_c ?? null,
    samplingIntervalS: body.sampling_interval ?? null,
    makePlot,
    experimentName: body.experiment_name,
    subdir: body.subdir ?? null,
    clientDatetime: body.client_datetime,
    groupLabel,
    storageSubfolder: layout.names.subfolder,
    runDir: layout.runDir,
    runDirRelative: layout.runDirRelative,
  });
}
