/**
 * The dashboard's view of the JSON API: the shapes it reads (a subset of the daemon's answers) and
 * one client that sends the API key with every call. The key is typed in once and kept in
 * sessionStorage, so it lives as long as the browser tab and is never written to disk.
 */

export type SlotState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface DeviceInfo {
  slot: string;
  port: string;
  sn: string | null;
  state?: 'online' | 'offline';
  state_reason?: string | null;
}

export interface DeviceStatusEntry {
  slot: string;
  status: 'idle' | 'queued' | 'running';
  run_id: string | null;
  state?: 'online' | 'offline';
  current_mode: string | null;
  progress_pct: number;
  remaining_s: number | null;
}

export interface JobOverview {
  run_id: string;
  mode: string;
  status: SlotState;
  started_at: string;
  ended_at: string | null;
  devices: string[];
  group_id: string | null;
}

export interface SlotStatus {
  slot: string;
  status: SlotState;
  message: string | null;
  files: string[];
  current_mode: string | null;
  progress_pct: number;
  remaining_s: number | null;
  points: number;
  expected_points: number;
  lost: number;
}

export interface ModeWarning {
  mode: string;
  field: string;
  code: string;
  message: string;
}

export interface JobStatus {
  run_id: string;
  mode: string;
  modes: string[];
  current_mode: string | null;
  status: SlotState;
  started_at: string;
  ended_at: string | null;
  progress_pct: number;
  remaining_s: number | null;
  group_id: string | null;
  slots: SlotStatus[];
  warnings: ModeWarning[];
  adjustments: Array<ModeWarning & { requested: unknown; applied: unknown }>;
}

export interface Issue {
  field: string;
  code: string;
  message: string;
}

export interface ValidationResult {
  ok: boolean;
  errors: Issue[];
  warnings: Issue[];
  adjusted: Record<string, unknown> | null;
}

export interface Health {
  ok: boolean;
  devices: number;
  box_id: string;
}

/** A JSON Schema as far as the dashboard reads it (see schema-check.ts). */
export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
}

/** One entry of an error envelope's `errors`: {mode, field, code, message} or {loc, msg, type}. */
export interface ErrorEntry {
  mode?: string;
  field?: string;
  message?: string;
  loc?: unknown[];
  msg?: string;
}

/** A non-2xx answer: the daemon's error envelope {code, message, hint, errors?}. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint: string,
    readonly errors: readonly ErrorEntry[],
  ) {
    super(message);
  }

  /** Message, hint and each listed problem, for showing to the user. */
  describe(): string {
    const problems = this.errors.map((e) =>
      e.loc !== undefined ? `${e.loc.map(String).join('.')}: ${e.msg ?? ''}` : `${[e.mode, e.field].filter(Boolean).join('.')}: ${e.message ?? ''}`,
    );
    return [this.message, this.hint, problems.slice(0, 5).join('; ')].filter((s) => s !== '').join(' — ');
  }
}

const KEY_STORAGE = 'beepbox.apiKey';

export class ApiClient {
  private apiKey: string;

  constructor(private readonly storage: Storage = sessionStorage) {
    this.apiKey = storage.getItem(KEY_STORAGE) ?? '';
  }

  get key(): string {
    return this.apiKey;
  }

  setKey(key: string): void {
    this.apiKey = key;
    if (key === '') this.storage.removeItem(KEY_STORAGE);
    else this.storage.setItem(KEY_STORAGE, key);
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.apiKey === '' ? extra : { ...extra, 'X-API-Key': this.apiKey };
  }

  async fetch(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Response> {
    const init: RequestInit = { method, headers: this.headers(body === undefined ? {} : { 'Content-Type': 'application/json' }) };
    if (body !== undefined) init.body = JSON.stringify(body);
    const res = await fetch(path, init);
    if (!res.ok) throw await toApiError(res);
    return res;
  }

  async json<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const res = await this.fetch(method, path, body);
    return (await res.json()) as T;
  }

  get<T>(path: string): Promise<T> {
    return this.json<T>('GET', path);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.json<T>('POST', path, body);
  }
}

async function toApiError(res: Response): Promise<ApiError> {
  try {
    const body = (await res.json()) as { code?: unknown; message?: unknown; hint?: unknown; errors?: unknown };
    const errors = Array.isArray(body.errors) ? (body.errors as ErrorEntry[]) : [];
    return new ApiError(res.status, String(body.code ?? `http.${res.status}`), String(body.message ?? res.statusText), String(body.hint ?? ''), errors);
  } catch {
    return new ApiError(res.status, `http.${res.status}`, res.statusText || `HTTP ${res.status}`, '', []);
  }
}

/** `/runs/{id}/...` with the id encoded. */
export function runPath(runId: string, rest: string): string {
  return `/runs/${encodeURIComponent(runId)}/${rest}`;
}

export function filePath(runId: string, file: string): string {
  return `${runPath(runId, 'file')}?path=${encodeURIComponent(file)}`;
}

/** What to tell the user about a failed call. */
export function messageOf(err: unknown): string {
  if (err instanceof ApiError) return err.describe();
  return err instanceof Error ? err.message : String(err);
}
