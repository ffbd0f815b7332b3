/**
 * The status views of the API, computed at read time from the engine's state: JobStatus
 * (GET /jobs/{id}, POST /jobs/status), JobOverview (GET /jobs) and the per-slot entries of
 * GET /devices/status. Nothing here changes state.
 */
import { DaemonError } from '../errors.js';
import type { JobEngine } from './engine.js';
import type { LiveProgress } from './subscribers/progress-subscriber.js';
import { computeJobProgress, computeSlotProgress, deriveJobState, isTerminal } from './progress.js';
import type { JobRecord, ModeResult } from './job-record.js';
import type { DeviceInfo, DeviceStatusEntry, JobOverview, JobStatus, SlotModeResult, SlotStatus } from './types.js';

/**
 * What a view is built from: the job's record and, while its slots run, their live progress. A
 * job that ended and whose runners finished has no live side any more (`runs` empty): its views
 * come from the record alone, the same whether the record is in memory or read back from its file.
 */
export interface JobView {
  readonly record: JobRecord;
  readonly runs: ReadonlyArray<{ readonly live: LiveProgress }>;
}

/** The live progress of a slot that has none (ended, or recovered after a restart). */
const NO_LIVE: LiveProgress = Object.freeze({ pointsDone: 0, rows: 0 });

function slotStatus(job: JobView, i: number, now: number): SlotStatus {
  const r = job.record;
  const s = r.slots[i]!;
  const live = job.runs[i]?.live ?? NO_LIVE;
  const terminal = isTerminal(s.status);
  const running = s.status === 'running';
  const figures = computeSlotProgress({
    status: s.status,
    modes: r.mode_estimates,
    modeIndex: Math.max(0, s.mode_index),
    modeElapsedS: s.mode_started_at ? Math.max(0, (now - Date.parse(s.mode_started_at)) / 1000) : 0,
    modePointsDone: live.modeIndex === s.mode_index ? live.pointsDone : 0,
  });
  const results = s.results.map((m, k) => withLivePoints(m, k, live));
  const totals = results.reduce(
    (a, m) => ({
      points: a.points + m.points,
      expected_points: a.expected_points + m.expected_points,
      // Records written before nominal_points and overloads existed have neither.
      nominal_points: a.nominal_points + (m.nominal_points ?? m.expected_points),
      lost: a.lost + m.lost,
      dac_underruns: a.dac_underruns + m.dac_underruns,
      adc_overflows: a.adc_overflows + m.adc_overflows,
      overloads: a.overloads + (m.overloads ?? 0),
    }),
    { points: 0, expected_points: 0, nominal_points: 0, lost: 0, dac_underruns: 0, adc_overflows: 0, overloads: 0 },
  );
  return {
    slot: s.slot,
    status: s.status,
    started_at: s.started_at,
    ended_at: s.ended_at,
    message: s.message,
    files: s.status === 'cancelled' && s.mode_index < 0 ? [] : s.files,
    current_mode: running ? (r.modes[s.mode_index] ?? null) : null,
    remaining_modes: terminal ? [] : s.status === 'queued' ? [...r.modes] : r.modes.slice(s.mode_index + 1),
    ...figures,
    ...totals,
    results: results.map(modeResultView),
  };
}

/**
 * A mode's result with the rows received so far while it runs: the record holds its points only
 * from the mode's end. At the end the live figure is the ended counters' own, so the value never
 * jumps whichever of the two consumers has handled `mode-ended` first.
 */
function withLivePoints(r: ModeResult, modeIndex: number, live: LiveProgress): ModeResult {
  if (live.modeIndex !== modeIndex) return r;
  const points = live.endedPoints ?? live.rows;
  return points === r.points ? r : { ...r, points };
}

/** A mode's entry in the slot status: the record's result without its counters' detail and integrity events. */
function modeResultView(r: ModeResult): SlotModeResult {
  return {
    mode: r.mode,
    points: r.points,
    expected_points: r.expected_points,
    // Records written before these fields existed have none of them.
    nominal_points: r.nominal_points ?? r.expected_points,
    lost: r.lost,
    overloads: r.overloads ?? 0,
    first_overload_index: r.first_overload_index ?? null,
    stop_reason: r.stop_reason ?? (r.aborted ? 'aborted' : 'completed'),
    stop_detail: r.stop_detail ?? null,
    charge_c: r.charge_c ?? null,
    poll_rate_hz: r.poll_rate_hz,
    warnings: r.warnings,
    error: r.error,
    analysis: r.analysis ?? null,
  };
}

export function buildJobStatus(job: JobView, now = Date.now()): JobStatus {
  const r = job.record;
  const slots = r.slots.map((_, i) => slotStatus(job, i, now));
  const status = deriveJobState(slots.map((s) => s.status));
  const terminal = isTerminal(status);
  const started = r.slots.map((s) => s.mode_index).filter((k) => k >= 0);
  let k = 0;
  if (!terminal) {
    const live = r.slots.filter((s) => !isTerminal(s.status)).map((s) => (s.status === 'queued' ? 0 : Math.max(0, s.mode_index)));
    k = Math.min(...live);
  }
  const mode = terminal ? r.modes[started.length > 0 ? Math.max(...started) : 0]! : r.modes[k]!;
  return {
    run_id: r.run_id,
    mode,
    modes: [...r.modes],
    current_mode: terminal ? null : r.modes[k]!,
    remaining_modes: terminal ? [] : r.modes.slice(k + 1),
    status,
    started_at: r.created_at,
    ended_at: r.ended_at,
    ...computeJobProgress(status, slots),
    group_id: r.group_label,
    slots,
    warnings: r.warnings ?? [],
    adjustments: r.adjustments ?? [],
  };
}

export function jobNotFound(): DaemonError {
  return new DaemonError('jobs.not_found', 'Unknown run_id');
}

export function getJobStatus(engine: JobEngine, runId: string): JobStatus {
  const job = engine.job(runId);
  if (!job) throw jobNotFound();
  return buildJobStatus(job);
}

export function getJobStatuses(engine: JobEngine, runIds: readonly string[]): JobStatus[] {
  const ids = runIds.filter((id) => id !== '');
  if (ids.length === 0) throw new DaemonError('jobs.missing_run_ids', 'No run_ids provided');
  const unknown = [...new Set(ids.filter((id) => !engine.knownJob(id)))].sort();
  if (unknown.length > 0) throw new DaemonError('jobs.run_ids_unknown', `Unknown run_ids: ${unknown.join(', ')}`, { details: { run_ids: unknown } });
  const now = Date.now();
  return ids.map((id) => buildJobStatus(engine.job(id)!, now));
}

/** A job's entry in GET /jobs. */
export function buildJobOverview(job: JobView, now = Date.now()): JobOverview {
  const s = buildJobStatus(job, now);
  return { run_id: s.run_id, mode: s.mode, status: s.status, started_at: s.started_at, ended_at: s.ended_at, devices: job.record.slots.map((x) => x.slot), group_id: s.group_id };
}

/** The group keys GET /jobs?group_id= matches a job by, lower-cased: its group label and storage subfolder. */
export function jobGroupKeys(record: Pick<JobRecord, 'group_label' | 'storage_subfolder'>): string[] {
  return [record.group_label, record.storage_subfolder].filter((v): v is string => !!v).map((v) => v.toLowerCase());
}

/**
 * GET /jobs, newest first (started_at, then run_id, descending: the engine keeps its jobs in that
 * order). An ended job's entry is the one the engine fixed when it ended; no record is read.
 */
export function listJobs(engine: JobEngine, filter: { state?: 'incomplete' | 'completed'; groupId?: string }): JobOverview[] {
  const group = filter.groupId?.trim().toLowerCase() ?? '';
  const out: JobOverview[] = [];
  const now = Date.now();
  for (const job of engine.knownJobs()) {
    if (group !== '' && !job.groups.includes(group)) continue;
    const overview = job.live === null ? job.overview : buildJobOverview(job.live, now);
    if (filter.state === 'incomplete' && isTerminal(overview.status)) continue;
    if (filter.state === 'completed' && !isTerminal(overview.status)) continue;
    out.push(overview);
  }
  return out;
}

const IDLE_FIGURES = {
  started_at: null, ended_at: null, message: null, files: [], current_mode: null, remaining_modes: [],
  progress_pct: 0, remaining_s: null, points: 0, expected_points: 0, nominal_points: 0, lost: 0, dac_underruns: 0, adc_overflows: 0, overloads: 0,
} as const;

/**
 * One entry per registered slot: the live slot of its reserving job, or idle. `state` says
 * whether the slot's device is there (`offline`: gone or not answering at the last rescan; an
 * idle offline entry carries the reason in `message`).
 */
export function buildDeviceStatus(engine: JobEngine, devices: readonly DeviceInfo[]): DeviceStatusEntry[] {
  return devices.map(({ slot, state, state_reason }) => {
    const presence = state ?? 'online';
    const runId = engine.reservationOf(slot);
    const job = runId ? engine.job(runId) : undefined;
    const i = job ? job.record.slots.findIndex((x) => x.slot === slot) : -1;
    if (job && i >= 0) {
      const s = slotStatus(job, i, Date.now());
      if (s.status === 'queued' || s.status === 'running') return { ...s, status: s.status, run_id: job.record.run_id, state: presence };
    }
    const message = presence === 'offline' ? (state_reason ?? 'device offline') : null;
    return { slot, status: 'idle', run_id: null, ...IDLE_FIGURES, message, files: [], remaining_modes: [], results: [], state: presence };
  });
}
