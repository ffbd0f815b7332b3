/**
 * The job engine (rest-api.md 4): validates and admits jobs, reserves slots, runs each
 * slot's mode sequence through its worker, records rows through the recorder thread,
 * renders plots, persists every state change and recovers after a restart.
 *
 * State machine per slot: queued → running → done | failed | cancelled (terminal states
 * are final); the job state is derived from its slots.
 */
import { lstat, mkdir, readdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { ApiError } from '../api-error.js';
import { DaemonError } from '../errors.js';
import type { IntegrityEvent } from '../driver/run-accounting.js';
import { resolveModeToken, UnsupportedModeError } from '../modes/catalogue.js';
import { countPlanPoints } from '../modes/plan.js';
import { POINT_INTERVAL_S } from '../modes/constants.js';
import { validateModeParams } from '../modes/validate.js';
import type { ModeName } from '../modes/types.js';
import type { PlotData } from '../plots/collect-plot-data.js';
import type { PlotService } from '../plots/plot-service.js';
import { plotKindForMode } from '../plots/plot-kind.js';
import type { RecordingResult } from '../recording/mode-recorder.js';
import type { RecorderThread } from '../recording/recorder.js';
import type { SlotRegistry } from '../slots/slot-registry.js';
import type { JobStore } from '../storage/job-store.js';
import { isValidRunId, type RunIndex } from '../storage/run-index.js';
import { assertNoExistingFiles, computeRunLayout, toRunRelative, type RunLayout } from '../storage/run-layout.js';
import { JOB_RECORD_SCHEMA, type JobRecord, type ModeResult } from './job-record.js';
import { computeJobProgress, computeSlotProgress, deriveJobState, isTerminal, type ModeEstimate } from './progress.js';
import type { JobOverview, JobRequestBody, JobStatus, SlotStatus } from './types.js';

const MAX_EVENTS_KEPT = 50;
const RUN_NAME_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

export interface JobEngineDeps {
  runsRoot: string;
  registry: SlotRegistry;
  recorder: RecorderThread;
  jobStore: JobStore<JobRecord>;
  runIndex: RunIndex;
  plots: PlotService | null;
  logger: Logger;
  versions: JobRecord['versions'];
  /** Called once when a job ends `done` (NAS upload). */
  onJobDone?: (runId: string, runDir: string) => void;
  galPollIntervalMs?: number;
}

interface LiveSlot {
  pointsDone: number;
  abort: (() => Promise<void>) | null;
}

interface JobRuntime {
  record: JobRecord;
  layout: { modeFiles: RunLayout['modeFiles'] } | null;
  cancelRequested: boolean;
  live: LiveSlot[];
  runners: Promise<void>[];
}

const nowIso = () => new Date().toISOString();

/** "12 points lost (ADC overflow), 3 DAC underruns (held points dropped)", or null when clean. */
function describeIntegrity(r: ModeResult): string | null {
  const parts: string[] = [];
  if (r.lost > 0) parts.push(`${r.lost} points lost${r.adc_overflows > 0 ? ' (ADC FIFO overflow)' : ''}`);
  if (r.dac_underruns > 0) parts.push(`${r.dac_underruns} DAC underrun ticks (held points dropped, alignment kept)`);
  if (r.duplicated > 0) parts.push(`${r.duplicated} duplicate points dropped`);
  return parts.length > 0 ? parts.join(', ') : null;
}

function formatRunIdTime(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '');
}

function invalidRequest(message: string): ApiError {
  return new ApiError('jobs.invalid_request', message, 'Check modes and params_by_mode.');
}

export class JobEngine {
  private readonly jobs = new Map<string, JobRuntime>();
  /** slot → run_id of the non-terminal job holding it. */
  private readonly reservations = new Map<string, string>();
  private shuttingDown = false;

  constructor(private readonly deps: JobEngineDeps) {}

  /** Loads persisted jobs; slots that were live when the daemon died become failed (4.8). */
  async recover(): Promise<void> {
    const stored = await this.deps.jobStore.loadAll();
    const at = nowIso();
    for (const { record } of stored) {
      const job: JobRuntime = { record, layout: this.recoverLayout(record), cancelRequested: false, live: record.slots.map(() => ({ pointsDone: 0, abort: null })), runners: [] };
      let changed = false;
      for (const s of record.slots) {
        if (!isTerminal(s.status)) {
          s.status = 'failed';
          s.message = 'interrupted by server restart';
          s.ended_at = at;
          if (s.started_at === null) s.started_at = at;
          // A mode's files are recorded when it ends; list the partial files of the interrupted one (4.3).
          if (job.layout !== null && s.mode_index >= 0) s.files = await this.listSlotFiles(job, s.slot, s.mode_index);
          changed = true;
        }
      }
      if (changed || !isTerminal(record.status)) {
        record.status = deriveJobState(record.slots.map((s) => s.status));
        record.ended_at ??= at;
        await this.deps.jobStore.save(record.run_id, record);
      }
      this.jobs.set(record.run_id, job);
    }
    if (stored.length > 0) this.deps.logger.info({ jobs: stored.length }, 'job records loaded');
  }

  /** The file layout of a persisted job (null if it no longer matches its run directory). */
  private recoverLayout(record: JobRecord): JobRuntime['layout'] {
    try {
      const layout = computeRunLayout(this.deps.runsRoot, { experiment_name: record.experiment_name, subdir: record.storage_subfolder, client_datetime: record.client_datetime });
      return layout.runDir === record.run_dir ? layout : null;
    } catch {
      return null;
    }
  }

  /** Slot → run_id of its reserving job (for /devices/status and rescan). */
  reservationOf(slot: string): string | undefined {
    return this.reservations.get(slot);
  }

  get busySlots(): string[] {
    return [...this.reservations.keys()].sort();
  }

  // ---- submission (rest-api 4.2) -------------------------------------------------

  async submit(body: JobRequestBody): Promise<JobStatus> {
    if (this.shuttingDown) throw new ApiError('internal.error', 'The daemon is shutting down', 'Retry after the restart.');
    const modes = this.normaliseModes(body.modes);
    const { params, requestParams, estimates } = this.validateParams(modes, body.params_by_mode ?? {});
    const runName = typeof body.run_name === 'string' && body.run_name.trim() !== '' ? body.run_name.trim() : null;
    if (runName !== null && !RUN_NAME_PATTERN.test(runName)) throw invalidRequest('run_name must match ^[A-Za-z0-9_-]{1,128}$');
    const devices = this.resolveDevices(body.devices);
    const layout = computeRunLayout(this.deps.runsRoot, body, { slots: devices, modes });
    await assertNoExistingFiles(layout, devices, modes);

    // Atomic section: no await between the checks and the reservation.
    const created = new Date();
    const runId = runName ?? `${formatRunIdTime(created)}_${randomBytes(3).toString('hex')}`;
    if (this.jobs.has(runId) || this.deps.runIndex.has(runId)) {
      throw new ApiError('jobs.run_id_conflict', 'run_id already exists', 'Choose another run_name or omit it.');
    }
    const busy = devices.filter((d) => this.reservations.has(d)).sort();
    if (busy.length > 0) throw new ApiError('jobs.slots_busy', `Slots busy: ${busy.join(', ')}`, 'Wait until the listed slots are free.');
    for (const d of devices) this.reservations.set(d, runId);

    const groupLabel = [body.group_id, body.folder_name, body.subdir].map((v) => (typeof v === 'string' ? v.trim() : '')).find((v) => v !== '') ?? null;
    const record: JobRecord = {
      schema: JOB_RECORD_SCHEMA,
      run_id: runId,
      created_at: created.toISOString(),
      ended_at: null,
      status: 'queued',
      modes,
      params_by_mode: params,
      request_params_by_mode: requestParams,
      mode_estimates: estimates,
      tia_gain: body.tia_gain === undefined ? 0 : body.tia_gain,
      sampling_interval: body.sampling_interval ?? null,
      make_plot: body.make_plot ?? true,
      experiment_name: body.experiment_name,
      subdir: body.subdir ?? null,
      client_datetime: body.client_datetime,
      group_label: groupLabel,
      storage_subfolder: layout.names.subfolder,
      run_dir: layout.runDir,
      run_dir_relative: layout.runDirRelative,
      versions: this.deps.versions,
      slots: devices.map((slot) => {
        const entry = this.deps.registry.get(slot);
        return { slot, port: entry?.port ?? '<unknown>', sn: entry?.sn ?? null, status: 'queued', started_at: null, ended_at: null, message: null, files: [], mode_index: -1, mode_started_at: null, results: [] };
      }),
    };
    const job: JobRuntime = { record, layout, cancelRequested: false, live: devices.map(() => ({ pointsDone: 0, abort: null })), runners: [] };
    this.jobs.set(runId, job);
    try {
      await mkdir(layout.runDir, { recursive: true });
      await this.deps.runIndex.add(runId, layout.runDir);
      await this.deps.jobStore.save(runId, record);
    } catch (err) {
      this.jobs.delete(runId);
      for (const d of devices) if (this.reservations.get(d) === runId) this.reservations.delete(d);
      await this.deps.runIndex.remove(runId).catch(() => undefined);
      throw err;
    }
    this.deps.logger.info({ runId, slots: devices, modes }, 'job started');
    job.runners = devices.map((_, i) => this.runSlot(job, i));
    return this.snapshot(job);
  }

  private normaliseModes(raw: string[]): ModeName[] {
    const tokens = raw.map((m) => m.trim().toUpperCase());
    if (tokens.length === 0 || tokens.some((t) => t === '')) throw invalidRequest('modes must not be empty');
    const seen = new Set<string>();
    for (const t of tokens) {
      if (seen.has(t)) throw invalidRequest(`duplicate mode ${t}`);
      seen.add(t);
    }
    return tokens as ModeName[];
  }

  private validateParams(modes: string[], raw: Record<string, unknown>) {
    const byKey = new Map<string, unknown>();
    for (const [key, value] of Object.entries(raw)) {
      const k = key.trim().toUpperCase();
      if (byKey.has(k)) throw invalidRequest(`params_by_mode keys collide: ${k}`);
      byKey.set(k, value);
    }
    const params: Record<string, Record<string, unknown>> = {};
    const requestParams: Record<string, unknown> = {};
    const estimates: ModeEstimate[] = [];
    const issues: Array<{ mode: string; field: string; code: string; message: string }> = [];
    for (const mode of modes) {
      const value = byKey.get(mode);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidRequest(`missing params for mode ${mode}`);
      let resolved: ModeName;
      try {
        resolved = resolveModeToken(mode, value).mode;
      } catch (err) {
        if (err instanceof UnsupportedModeError) throw invalidRequest(`unknown mode ${mode}`);
        throw err;
      }
      requestParams[mode] = value;
      const result = validateModeParams(mode, value);
      if (!result.ok || result.adjusted === null) {
        for (const e of result.errors) issues.push({ mode, field: e.field, code: e.code, message: e.message });
        continue;
      }
      params[mode] = result.adjusted as Record<string, unknown>;
      const points = countPlanPoints(resolved, result.adjusted as never);
      estimates.push({ points, plannedS: points * POINT_INTERVAL_S });
    }
    if (issues.length > 0) {
      const first = issues[0]!;
      // "Value must be greater than zero." on scan_rate → "scan_rate must be greater than zero" (rest-api 1.6).
      const text = first.message.replace(/^(Value|Field) /, '').replace(/\.$/, '');
      throw new ApiError('jobs.invalid_params', `Invalid parameters for ${first.mode}: ${first.field} ${text.charAt(0).toLowerCase()}${text.slice(1)}`, 'Validate parameters with POST /modes/{mode}/validate.', { errors: issues });
    }
    return { params, requestParams, estimates };
  }

  private resolveDevices(devices: string[] | 'all'): string[] {
    const known = this.deps.registry.list().map((e) => e.slot);
    let list: string[];
    if (devices === 'all') list = [...known].sort();
    else {
      list = [...new Set(devices.map((d) => d.trim()))];
      const unknown = list.filter((d) => !known.includes(d));
      if (unknown.length > 0) throw new ApiError('jobs.invalid_devices', `Unknown devices: ${unknown.join(', ')}`, 'Use slots from GET /devices or "all".');
    }
    if (list.length === 0) throw new ApiError('jobs.invalid_devices', 'No valid devices specified', 'Use slots from GET /devices or "all".');
    return list;
  }

  // ---- running ------------------------------------------------------------------

  private persist(job: JobRuntime): void {
    const r = job.record;
    const state = deriveJobState(r.slots.map((s) => s.status));
    if (state !== r.status) {
      r.status = state;
      if (isTerminal(state) && r.ended_at === null) {
        r.ended_at = nowIso();
        this.deps.logger.info({ runId: r.run_id, status: state }, 'job ended');
        if (state === 'done') this.deps.onJobDone?.(r.run_id, r.run_dir);
      }
    }
    this.deps.jobStore.save(r.run_id, r).catch((err: unknown) => this.deps.logger.error({ err, runId: r.run_id }, 'job record not saved'));
  }

  private endSlot(job: JobRuntime, i: number, status: 'done' | 'failed' | 'cancelled', message: string | null): void {
    const s = job.record.slots[i]!;
    if (isTerminal(s.status)) return;
    s.status = status;
    s.message = message;
    s.ended_at = nowIso();
    s.started_at ??= s.ended_at;
    if (this.reservations.get(s.slot) === job.record.run_id) this.reservations.delete(s.slot);
    this.deps.logger.info({ runId: job.record.run_id, slot: s.slot, status, message }, 'slot ended');
    this.persist(job);
  }

  private async runSlot(job: JobRuntime, i: number): Promise<void> {
    const r = job.record;
    const s = r.slots[i]!;
    const live = job.live[i]!;
    const log = this.deps.logger.child({ runId: r.run_id, slot: s.slot });
    /** Done, but worth telling: data-integrity events and skipped plots. */
    const notes: string[] = [];
    try {
      // queued → running only once the worker has acquired the device (rest-api 4.4).
      const worker = await this.deps.registry.ensureWorker(s.slot).catch((err: unknown) => {
        throw new DaemonError('DEVICE_STATE', `device for ${s.slot} is not available: ${(err as Error).message}`);
      });
      await worker.connect().catch((err: unknown) => {
        throw new DaemonError('DEVICE_STATE', `device for ${s.slot} does not answer: ${(err as Error).message}`);
      });
      for (let k = 0; k < r.modes.length; k++) {
        if (job.cancelRequested || this.shuttingDown) break;
        if (isTerminal(s.status)) return;
        const mode = r.modes[k]!;
        s.status = 'running';
        s.started_at ??= nowIso();
        s.mode_index = k;
        s.mode_started_at = nowIso();
        live.pointsDone = 0;
        this.persist(job);
        const files = job.layout!.modeFiles(s.slot, mode);
        await mkdir(files.dir, { recursive: true });
        const params = r.params_by_mode[mode]!;
        const recording = await this.deps.recorder.open({
          csvPath: files.csv,
          mode,
          params,
          samplingIntervalS: r.sampling_interval,
          spectrumPath: files.spectrumCsv ?? undefined,
          cdlPath: files.cdlCsv ?? undefined,
          plot: r.make_plot ? { kind: plotKindForMode(mode), maxCycles: maxCyclesToPlot(mode, params) } : null,
        });
        let recorded: RecordingResult | null = null;
        const events: IntegrityEvent[] = [];
        const result: ModeResult = {
          mode, points: 0, expected_points: r.mode_estimates[k]!.points, lost: 0, duplicated: 0, dac_underruns: 0, adc_overflows: 0,
          duration_s: 0, measured_interval_us: null, poll_rate_hz: null, aborted: false, events, plot: null, warnings: [], error: null,
        };
        s.results.push(result);
        live.abort = () => worker.abort();
        log.info({ mode }, 'mode started');
        try {
          const outcome = await worker.measure(
            { mode, params, tiaGain: r.tia_gain, galPollIntervalMs: this.deps.galPollIntervalMs },
            {
              onBlock: (b) => {
                live.pointsDone = Math.max(live.pointsDone, b.firstIndex + b.count);
                recording.write(b.firstIndex, b.current, b.potential, b.count);
              },
              onEvent: (e) => {
                if (events.length < MAX_EVENTS_KEPT) events.push(e);
                log.warn({ mode, event: e }, 'data integrity event');
              },
              onProgress: (p) => (live.pointsDone = Math.max(live.pointsDone, p)),
            },
          );
          const sum = outcome.summary;
          Object.assign(result, {
            points: outcome.integrity.rows,
            lost: sum.lost + outcome.integrity.missingMessages,
            duplicated: sum.duplicated + outcome.integrity.duplicatedRows,
            dac_underruns: sum.dac_underruns,
            adc_overflows: sum.adc_overflows,
            duration_s: sum.duration_s,
            measured_interval_us: sum.measured_interval_us,
            poll_rate_hz: sum.poll_rate_hz,
            aborted: sum.aborted,
          });
        } catch (err) {
          result.error = (err as Error).message;
          throw err;
        } finally {
          live.abort = null;
          const written = await recording.close().catch((err: unknown) => {
            log.error({ err, mode }, 'recording not closed cleanly');
            result.error ??= `writing ${mode} data failed: ${(err as Error).message}`;
            return null;
          });
          if (written) result.warnings.push(...written.warnings);
          recorded = written;
          s.files = await this.listSlotFiles(job, s.slot, k);
          this.persist(job);
        }
        log.info({ mode, points: result.points, expected: result.expected_points, lost: result.lost, underruns: result.dac_underruns, overflows: result.adc_overflows }, 'mode finished');
        // A CSV that could not be written completely is a failed measurement, never a done one.
        if (result.error) throw new DaemonError('INTERNAL', result.error);
        const integrity = describeIntegrity(result);
        if (integrity) notes.push(`${mode}: ${integrity}`);
        if (result.aborted || job.cancelRequested) break;
        if (r.make_plot) {
          const plot = await this.renderPlot(job, s.slot, mode, files, maxCyclesToPlot(mode, params), recorded?.plotData ?? null);
          result.plot = plot;
          if (plot !== 'ok') notes.push(plot);
          s.files = await this.listSlotFiles(job, s.slot, k);
        }
      }
      if (job.cancelRequested) this.endSlot(job, i, 'cancelled', 'cancelled');
      else if (this.shuttingDown) this.endSlot(job, i, 'failed', 'stopped by daemon shutdown');
      else this.endSlot(job, i, 'done', notes.length > 0 ? notes.join('; ') : null);
    } catch (err) {
      log.warn({ err }, 'slot failed');
      if (job.cancelRequested) this.endSlot(job, i, 'cancelled', 'cancelled');
      else this.endSlot(job, i, 'failed', err instanceof Error ? err.message : String(err));
    }
  }

  private async renderPlot(job: JobRuntime, slot: string, mode: string, files: ReturnType<RunLayout['modeFiles']>, maxCycles: number | null, data: PlotData | null): Promise<string> {
    if (!this.deps.plots) return 'plot skipped: plotting is not configured';
    const kind = plotKindForMode(mode);
    const result = await this.deps.plots.renderPlot({
      csvPath: kind === 'eis' && files.spectrumCsv ? files.spectrumCsv : files.csv,
      pngPath: files.png,
      bodePngPath: files.bodePng ?? undefined,
      kind,
      title: `${job.record.experiment_name} · ${slot} · ${mode}`,
      mode,
      maxCycles: maxCycles ?? undefined,
      data,
    });
    return result.ok ? 'ok' : result.reason;
  }

  /** Run-relative files in the mode directories of the modes this slot started. */
  private async listSlotFiles(job: JobRuntime, slot: string, lastModeIndex: number): Promise<string[]> {
    const out: string[] = [];
    for (let k = 0; k <= lastModeIndex; k++) {
      const files = job.layout!.modeFiles(slot, job.record.modes[k]!);
      let names: string[] = [];
      try {
        names = await readdir(files.dir);
      } catch {
        continue;
      }
      for (const name of names) {
        const abs = `${files.dir}/${name}`;
        if ((await lstat(abs).catch(() => null))?.isFile()) out.push(toRunRelative(job.record.run_dir, abs));
      }
    }
    return out.sort();
  }

  // ---- queries --------------------------------------------------------------------

  private find(runId: string): JobRuntime {
    const job = isValidRunId(runId) ? this.jobs.get(runId) : undefined;
    if (!job) throw new ApiError('jobs.not_found', 'Unknown run_id', 'Check the run_id or fetch the job list.');
    return job;
  }

  private slotStatus(job: JobRuntime, i: number, now: number): SlotStatus {
    const r = job.record;
    const s = r.slots[i]!;
    const live = job.live[i]!;
    const terminal = isTerminal(s.status);
    const running = s.status === 'running';
    const figures = computeSlotProgress({
      status: s.status,
      modes: r.mode_estimates,
      modeIndex: Math.max(0, s.mode_index),
      modeElapsedS: s.mode_started_at ? Math.max(0, (now - Date.parse(s.mode_started_at)) / 1000) : 0,
      modePointsDone: live.pointsDone,
    });
    const totals = s.results.reduce(
      (a, m) => ({ points: a.points + m.points, expected_points: a.expected_points + m.expected_points, lost: a.lost + m.lost, dac_underruns: a.dac_underruns + m.dac_underruns, adc_overflows: a.adc_overflows + m.adc_overflows }),
      { points: 0, expected_points: 0, lost: 0, dac_underruns: 0, adc_overflows: 0 },
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
    };
  }

  private snapshot(job: JobRuntime): JobStatus {
    const r = job.record;
    const now = Date.now();
    const slots = r.slots.map((_, i) => this.slotStatus(job, i, now));
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
    };
  }

  get(runId: string): JobStatus {
    return this.snapshot(this.find(runId));
  }

  statusMany(runIds: string[]): JobStatus[] {
    const ids = runIds.filter((id) => id !== '');
    if (ids.length === 0) throw new ApiError('jobs.missing_run_ids', 'No run_ids provided', 'Send at least one run_id.');
    const unknown = [...new Set(ids.filter((id) => !(isValidRunId(id) && this.jobs.has(id))))].sort();
    if (unknown.length > 0) throw new ApiError('jobs.run_ids_unknown', `Unknown run_ids: ${unknown.join(', ')}`, 'Only request known run_ids.');
    return ids.map((id) => this.snapshot(this.jobs.get(id)!));
  }

  list(filter: { state?: 'incomplete' | 'completed'; groupId?: string }): JobOverview[] {
    const group = filter.groupId?.trim().toLowerCase() ?? '';
    const out: JobOverview[] = [];
    for (const job of this.jobs.values()) {
      const s = this.snapshot(job);
      if (filter.state === 'incomplete' && isTerminal(s.status)) continue;
      if (filter.state === 'completed' && !isTerminal(s.status)) continue;
      if (group !== '') {
        const labels = [job.record.group_label, job.record.storage_subfolder].filter((v): v is string => !!v).map((v) => v.toLowerCase());
        if (!labels.includes(group)) continue;
      }
      out.push({ run_id: s.run_id, mode: s.mode, status: s.status, started_at: s.started_at, ended_at: s.ended_at, devices: job.record.slots.map((x) => x.slot), group_id: s.group_id });
    }
    return out.sort((a, b) => (a.started_at === b.started_at ? (a.run_id < b.run_id ? 1 : -1) : a.started_at < b.started_at ? 1 : -1));
  }

  /** Slots a run owns (for scoping file listings and ZIPs of shared run directories). */
  runScope(runId: string): { runDir: string; slots: string[] } | null {
    const job = isValidRunId(runId) ? this.jobs.get(runId) : undefined;
    return job ? { runDir: job.record.run_dir, slots: job.record.slots.map((s) => s.slot) } : null;
  }

  /** Run directories referenced by non-terminal jobs (NAS upload waits, retention skips). */
  isRunDirBusy(runDir: string): boolean {
    for (const job of this.jobs.values()) if (job.record.run_dir === runDir && !isTerminal(job.record.status)) return true;
    return false;
  }

  /** Retention removed a run directory: forget its jobs. */
  async forgetRunDir(runDir: string): Promise<string[]> {
    const ids = [...this.jobs.values()].filter((j) => j.record.run_dir === runDir && isTerminal(j.record.status)).map((j) => j.record.run_id);
    for (const id of ids) {
      this.jobs.delete(id);
      await this.deps.jobStore.delete(id);
    }
    return ids;
  }

  // ---- cancel and shutdown ----------------------------------------------------------

  cancel(runId: string): { run_id: string; status: string } {
    const job = this.find(runId);
    const state = deriveJobState(job.record.slots.map((s) => s.status));
    if (isTerminal(state)) return { run_id: runId, status: state };
    job.cancelRequested = true;
    job.record.slots.forEach((s, i) => {
      if (s.status === 'queued') {
        s.files = [];
        this.endSlot(job, i, 'cancelled', 'cancelled');
      } else if (s.status === 'running') {
        void job.live[i]!.abort?.().catch(() => undefined);
      }
    });
    this.persist(job);
    this.deps.logger.info({ runId }, 'job cancel requested');
    return { run_id: runId, status: 'cancelled' };
  }

  /** Stops running measurements (devices switched off, CSVs flushed) and marks the slots. */
  async shutdown(timeoutMs = 10_000): Promise<void> {
    this.shuttingDown = true;
    const runners: Promise<void>[] = [];
    for (const job of this.jobs.values()) {
      job.live.forEach((l) => void l.abort?.().catch(() => undefined));
      job.record.slots.forEach((s, i) => {
        if (s.status === 'queued') this.endSlot(job, i, 'failed', 'stopped by daemon shutdown');
      });
      runners.push(...job.runners);
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(runners), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    // A pending timer would keep the stopped daemon alive for the whole timeout.
    clearTimeout(timer);
    await this.deps.jobStore.flush();
  }
}

/** CV plots draw only the cycles the user asked for (modes.md 4 `cycles`). */
function maxCyclesToPlot(mode: string, params: Record<string, unknown>): number | null {
  return mode === 'CV' && typeof params.cycles === 'number' ? params.cycles : null;
}
