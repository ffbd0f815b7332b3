/**
 * FAKE in-memory implementations of the service interfaces of src/services/api.ts, for
 * driving the HTTP layer over real HTTP without devices, threads or disks. They follow the
 * interface docs (contract codes, shapes) only as far as the HTTP tests need; every call is
 * recorded in `calls` so a test can assert that a service was (not) reached.
 */
import { Readable } from 'node:stream';
import { DaemonError } from '../../src/errors.js';
import type { AppServices, DeviceApi, FileDownload, HealthApi, JobApi, ModeApi, NasApi, RunApi } from '../../src/services/api.js';
import type { DeviceInfo, DeviceStatusEntry, JobOverview, JobRequestBody, JobStatus } from '../../src/jobs/types.js';

export interface FakeCall {
  method: string;
  args: unknown[];
}

/** A ZIP body that keeps producing chunks until destroyed (to test streaming and aborts). */
export class FakeEndlessZipStream extends Readable {
  /** Set once the stream emitted 'close' (destroyed or ended). */
  wasClosed = false;
  readonly closedPromise: Promise<void>;
  #chunks = 0;
  constructor(readonly chunkBytes = 64 * 1024) {
    super();
    this.closedPromise = new Promise((resolve) => this.once('close', () => {
      this.wasClosed = true;
      resolve();
    }));
  }
  override _read(): void {
    this.#chunks += 1;
    // 'PK' local-file-header magic first, then filler: only the streaming matters here.
    const chunk = Buffer.alloc(this.chunkBytes, this.#chunks % 256);
    if (this.#chunks === 1) chunk.write('PK\u0003\u0004', 0, 'latin1');
    setImmediate(() => this.push(chunk));
  }
}

export interface FakeServiceOptions {
  apiKey?: string;
  devices?: DeviceInfo[];
  withNas?: boolean;
  /** Files per run_id: run-relative path → content. */
  files?: Record<string, Record<string, Buffer | string>>;
  /** ZIP body per run_id; default: a small finite buffer stream. */
  zipStream?: (runId: string) => Readable;
}

export interface FakeServices extends AppServices {
  calls: FakeCall[];
  /** Make the next call of `method` throw `error`. */
  failNext(method: string, error: unknown): void;
  /** Every stream handed out by runs.openFile / runs.openZip. */
  streams: Readable[];
}

function isoNow(): string {
  return new Date().toISOString();
}

/** Build the FAKE services. */
export function createFakeServices(options: FakeServiceOptions = {}): FakeServices {
  const calls: FakeCall[] = [];
  const failures = new Map<string, unknown>();
  const streams: Readable[] = [];
  const devices: DeviceInfo[] = options.devices ?? [
    { slot: 'slot02', port: '/dev/ttyACM1', sn: null },
    { slot: 'slot01', port: '/dev/ttyACM0', sn: '3A0F12345678' },
  ];
  const jobs = new Map<string, JobStatus>();
  const files = options.files ?? {};
  let counter = 0;

  const record = (method: string, ...args: unknown[]): void => {
    calls.push({ method, args });
    const failure = failures.get(method);
    if (failure !== undefined) {
      failures.delete(method);
      throw failure;
    }
  };

  const jobNotFound = (): DaemonError => new DaemonError('jobs.not_found', 'Unknown run_id');
  const runNotFound = (): DaemonError => new DaemonError('runs.not_found', 'Run not found');

  const deviceApi: DeviceApi = {
    list() {
      record('devices.list');
      return devices.map((d) => ({ ...d }));
    },
    status(): DeviceStatusEntry[] {
      record('devices.status');
      return devices.map((d) => ({
        slot: d.slot, status: 'idle', run_id: null, started_at: null, ended_at: null, message: null, files: [],
        current_mode: null, remaining_modes: [], progress_pct: 0, remaining_s: null,
        points: 0, expected_points: 0, nominal_points: 0, lost: 0, dac_underruns: 0, adc_overflows: 0, overloads: 0, results: [],
      }));
    },
    async rescan() {
      record('devices.rescan');
      return devices.map((d) => d.slot);
    },
  };

  const MODES = ['CA', 'LSV', 'CV', 'PSTEP', 'CP', 'GS', 'GCV', 'STEPSEQ', 'OCP', 'CDL', 'EIS'];
  const modeApi: ModeApi = {
    list() {
      record('modes.list');
      return [...MODES];
    },
    params(mode): Record<string, string> {
      record('modes.params', mode);
      if (mode.toUpperCase() !== 'CV') {
        if (!MODES.includes(mode.toUpperCase())) throw new DaemonError('modes.not_found', `Unsupported mode '${mode}'.`);
        return { duration: 'float' };
      }
      return { start: 'float', vertex1: 'float', vertex2: 'float', end: 'float', scan_rate: 'float', cycles: 'int' };
    },
    validate(mode, body) {
      record('modes.validate', mode, body);
      if (!MODES.includes(mode.toUpperCase())) throw new DaemonError('modes.not_found', `Unsupported mode '${mode}'.`);
      return { ok: true, errors: [], warnings: [], adjusted: body };
    },
  };

  const toOverview = (job: JobStatus): JobOverview => ({
    run_id: job.run_id, mode: job.mode, status: job.status, started_at: job.started_at, ended_at: job.ended_at,
    devices: job.slots.map((s) => s.slot), group_id: job.group_id,
  });

  const jobApi: JobApi = {
    async submit(request: JobRequestBody) {
      record('jobs.submit', request);
      counter += 1;
      const runId = request.run_name ?? `20251103T091531_${String(counter).padStart(6, '0')}`;
      const slots = request.devices === 'all' ? devices.map((d) => d.slot).sort() : request.devices;
      const modes = request.modes.map((m) => m.trim().toUpperCase());
      const job: JobStatus = {
        run_id: runId, mode: modes[0] ?? '', modes, current_mode: modes[0] ?? null, remaining_modes: modes.slice(1),
        status: 'queued', started_at: isoNow(), ended_at: null, progress_pct: 0, remaining_s: null,
        group_id: request.group_id ?? null,
        slots: slots.map((slot) => ({
          slot, status: 'queued', started_at: null, ended_at: null, message: null, files: [], current_mode: null,
          remaining_modes: modes, progress_pct: 0, remaining_s: null,
          points: 0, expected_points: 0, nominal_points: 0, lost: 0, dac_underruns: 0, adc_overflows: 0, overloads: 0, results: [],
        })),
        warnings: [],
        adjustments: [],
      };
      jobs.set(runId, job);
      return job;
    },
    get(runId) {
      record('jobs.get', runId);
      const job = jobs.get(runId);
      if (job === undefined) throw jobNotFound();
      return job;
    },
    statusMany(runIds) {
      record('jobs.statusMany', runIds);
      const unknown = [...new Set(runIds.filter((id) => !jobs.has(id)))].sort();
      if (unknown.length > 0) throw new DaemonError('jobs.run_ids_unknown', `Unknown run_ids: ${unknown.join(', ')}`);
      return runIds.map((id) => jobs.get(id) as JobStatus);
    },
    list(filter) {
      record('jobs.list', filter);
      return [...jobs.values()].map(toOverview);
    },
    cancel(runId) {
      record('jobs.cancel', runId);
      const job = jobs.get(runId);
      if (job === undefined) throw jobNotFound();
      return { run_id: runId, status: 'cancelled' };
    },
  };

  const runApi: RunApi = {
    async listFiles(runId) {
      record('runs.listFiles', runId);
      const run = files[runId];
      if (run === undefined) throw runNotFound();
      return Object.keys(run).sort();
    },
    async openFile(runId, path): Promise<FileDownload> {
      record('runs.openFile', runId, path);
      const run = files[runId];
      if (run === undefined) throw runNotFound();
      const content = run[path];
      if (content === undefined) throw new DaemonError('runs.file_not_found', 'File not found');
      const bytes = Buffer.from(content);
      const stream = Readable.from([bytes]);
      streams.push(stream);
      const name = path.split('/').pop() ?? path;
      // Deliberately a wrong type: the HTTP layer must set Content-Type by extension itself.
      return { stream, size: bytes.length, name };
    },
    async openZip(runId) {
      record('runs.openZip', runId);
      if (files[runId] === undefined) throw runNotFound();
      const stream = options.zipStream?.(runId) ?? Readable.from([Buffer.from('PK\u0005\u0006' + '\u0000'.repeat(18), 'latin1')]);
      streams.push(stream);
      return { stream, filename: `${runId}.zip` };
    },
  };

  const nasApi: NasApi = {
    async setup(body) {
      record('nas.setup', body);
      return { ok: true, message: 'ok' };
    },
    async health() {
      record('nas.health');
      return { ok: false, last_checked: isoNow(), message: 'not configured', transport: null };
    },
    async enqueueUpload(runId) {
      record('nas.enqueueUpload', runId);
      if (files[runId] === undefined) throw runNotFound();
      return { ok: true, enqueued: true, run_id: runId };
    },
    async uploadState(runId) {
      record('nas.uploadState', runId);
      if (files[runId] === undefined) throw runNotFound();
      return { run_id: runId, state: 'pending', message: null, attempts: 0, next_retry_at: null, uploaded_at: null };
    },
  };

  const healthApi: HealthApi = {
    details() {
      record('health.details');
      return { plotting: { available: true } };
    },
  };

  return {
    devices: deviceApi,
    modes: modeApi,
    jobs: jobApi,
    runs: runApi,
    nas: options.withNas === false ? null : nasApi,
    health: healthApi,
    config: { apiKey: options.apiKey ?? '', boxId: 'lab-box-01', build: 'a1b2c3d', driverVersion: '0.1.0', firmwareVersion: 'unknown' },
    calls,
    streams,
    failNext(method, error) {
      failures.set(method, error);
    },
  };
}
