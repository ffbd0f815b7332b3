/**
 * The services the HTTP routes call: these interfaces, and their implementations in this folder
 * (the composition root wires them). `src/http` imports from here and never the other way round.
 * Methods throw `DaemonError` with the contract's codes; routes never touch fs, threads or ports.
 */
import type { Readable } from 'node:stream';
import type { DeviceInfo, DeviceStatusEntry, JobOverview, JobRequestBody, JobStatus } from '../jobs/types.js';

export type { DeviceInfo, DeviceStatusEntry, JobOverview, JobRequestBody, JobStatus } from '../jobs/types.js';
export { RUN_ID_PATTERN_SOURCE, isValidRunId } from '../storage/run-id.js';

export interface DeviceApi {
  list(): DeviceInfo[];
  status(): DeviceStatusEntry[];
  /** 409 devices.busy while any slot is reserved; 500 devices.scan_failed. */
  rescan(): Promise<string[]>;
}

export interface ModeApi {
  /** Catalogue order, e.g. ["CA","LSV",...]. */
  list(): string[];
  /** Parameter name → type string (rest-api 8.3); throws modes.not_found. */
  params(mode: string): Record<string, string>;
  /** ValidationResult of rest-api 9.1; throws modes.not_found. */
  validate(mode: string, body: unknown): unknown;
}

export interface JobApi {
  submit(request: JobRequestBody): Promise<JobStatus>;
  get(runId: string): JobStatus;
  statusMany(runIds: string[]): JobStatus[];
  list(filter: { state?: 'incomplete' | 'completed'; groupId?: string }): JobOverview[];
  cancel(runId: string): { run_id: string; status: string };
}

export interface FileDownload {
  stream: Readable;
  size: number;
  name: string;
}

export interface RunApi {
  listFiles(runId: string): Promise<string[]>;
  openFile(runId: string, path: string): Promise<FileDownload>;
  /** Streams the ZIP; errors are detected before the first byte. */
  openZip(runId: string): Promise<{ stream: Readable; filename: string }>;
}

export interface NasApi {
  setup(body: unknown): Promise<{ ok: boolean; message: string }>;
  health(): Promise<{ ok: boolean; last_checked: string; message: string; transport: string | null }>;
  enqueueUpload(runId: string): Promise<{ ok: true; enqueued: boolean; run_id: string }>;
  uploadState(runId: string): Promise<Record<string, unknown>>;
}

export interface LiveApi {
  /**
   * The Server-Sent Events byte stream of a run (GET /runs/{run_id}/stream): the HTTP layer pipes
   * it into the response and destroys it when the client goes away. `lastEventId` is the raw
   * `Last-Event-ID` header. Throws runs.not_found for an unknown run or a slot not in it.
   */
  open(runId: string, options: { slot: string | null; lastEventId: string | undefined }): Readable;
}

export interface HealthApi {
  /** Extra health facts (plotting availability etc.). */
  details(): Record<string, unknown>;
}

/** GET /metrics and the HTTP request-duration histogram (src/metrics implements it). */
export interface MetricsApi {
  /** Content-Type of the exposition (Prometheus text format 0.0.4). */
  readonly contentType: string;
  render(): Promise<string>;
  /** One finished request: `route` is the route table's template, null when no route handled it. */
  observeRequest(method: string, route: string | null, status: number, seconds: number): void;
}

export interface AppServices {
  devices: DeviceApi;
  modes: ModeApi;
  jobs: JobApi;
  runs: RunApi;
  /** null until the NAS service is wired: NAS routes answer 503 nas.unavailable. */
  nas: NasApi | null;
  health: HealthApi;
  /** Live streams of running jobs; absent in harnesses without an engine (the stream route answers 404). */
  live?: LiveApi;
  /** Absent in apps built without metrics (unit tests): GET /metrics answers 404 there. */
  metrics?: MetricsApi;
  config: { apiKey: string; boxId: string; build: string; driverVersion: string; firmwareVersion: string };
}
