/**
 * The live feed of one run: `GET /runs/{id}/stream` (Server-Sent Events) through EventSource.
 * EventSource cannot send headers, so with an API key the page first asks `POST /auth/stream-token`
 * for a short-lived read-only token and passes it as `?access_token=`; the browser's own reconnects
 * reuse it (it lasts minutes), and a refused reconnect (expired token) gets a fresh token.
 * When the daemon has no stream (older daemon) the feed falls back to polling GET /jobs/{id}: the
 * progress moves, the curve does not.
 */
import { ApiError, runPath, type ApiClient, type JobStatus } from './api.js';

export interface ModeEvent {
  slot: string;
  mode_index: number;
  mode: string;
  state: 'started' | 'ended';
  plan?: { points: number; planned_s: number };
}

export interface PointsEvent {
  slot: string;
  mode_index: number;
  mode: string;
  first_index: number;
  t: number[];
  e: number[];
  i: number[];
  cycle: number[] | null;
  step: number[] | null;
}

export interface ProgressEvent {
  slot: string;
  mode_index: number;
  points: number;
  expected_points: number;
  progress_pct: number;
  remaining_s: number | null;
}

export interface DroppedEvent {
  slot: string;
  count: number;
  reason: string;
}

export interface StreamHandlers {
  status(job: JobStatus): void;
  mode(ev: ModeEvent): void;
  points(ev: PointsEvent): void;
  progress(ev: ProgressEvent): void;
  dropped(ev: DroppedEvent): void;
  /** The job reached a terminal state (the feed is closed). */
  end(): void;
  /** 'live' = SSE connected; 'polling' = no stream, GET /jobs/{id} every few seconds; 'reconnecting'. */
  connection(state: 'live' | 'polling' | 'reconnecting'): void;
}

const POLL_MS = 2000;
const TERMINAL = new Set(['done', 'failed', 'cancelled']);
/** Fresh tokens tried in a row after refused reconnects before falling back to polling. */
const MAX_TOKEN_RETRIES = 3;

export class RunStream {
  private source: EventSource | null = null;
  private pollTimer: number | null = null;
  private closed = false;
  private tokenRetries = 0;

  constructor(
    private readonly api: ApiClient,
    private readonly runId: string,
    private readonly handlers: StreamHandlers,
  ) {}

  start(): void {
    void this.open();
  }

  close(): void {
    this.closed = true;
    this.source?.close();
    this.source = null;
    if (this.pollTimer !== null) window.clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }

  private async open(): Promise<void> {
    let query = '';
    if (this.api.key !== '') {
      try {
        const { token } = await this.api.post<{ token: string; expires_at: string }>('/auth/stream-token', {});
        query = `?access_token=${encodeURIComponent(token)}`;
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) {
          this.poll(); // a daemon without streams
          return;
        }
        this.retryLater();
        return;
      }
    }
    if (this.closed) return;
    const source = new EventSource(runPath(this.runId, 'stream') + query);
    this.source = source;
    const on = <T>(type: string, handle: (data: T) => void): void => {
      source.addEventListener(type, (ev) => {
        if (this.closed) return;
        handle(JSON.parse((ev as MessageEvent<string>).data) as T);
      });
    };
    source.addEventListener('open', () => {
      this.tokenRetries = 0;
      this.handlers.connection('live');
    });
    on<JobStatus>('status', (s) => this.handlers.status(s));
    on<ModeEvent>('mode', (e) => this.handlers.mode(e));
    on<PointsEvent>('points', (e) => this.handlers.points(e));
    on<ProgressEvent>('progress', (e) => this.handlers.progress(e));
    on<DroppedEvent>('dropped', (e) => this.handlers.dropped(e));
    on<unknown>('end', () => {
      this.close();
      this.handlers.end();
    });
    source.addEventListener('error', () => {
      if (this.closed) return;
      if (source.readyState === EventSource.CONNECTING) {
        this.handlers.connection('reconnecting'); // the browser retries by itself (Last-Event-ID resumes)
        return;
      }
      // Closed for good: the server refused (expired token, 404 on an older daemon) or went away.
      source.close();
      this.source = null;
      this.retryLater();
    });
  }

  private retryLater(): void {
    if (this.closed) return;
    this.tokenRetries++;
    if (this.tokenRetries > MAX_TOKEN_RETRIES) {
      this.poll();
      return;
    }
    this.handlers.connection('reconnecting');
    window.setTimeout(() => void this.open(), 1000 * this.tokenRetries);
  }

  private poll(): void {
    if (this.closed) return;
    this.handlers.connection('polling');
    const tick = async (): Promise<void> => {
      this.pollTimer = null;
      try {
        const job = await this.api.get<JobStatus>(`/jobs/${encodeURIComponent(this.runId)}`);
        if (this.closed) return;
        this.handlers.status(job);
        if (TERMINAL.has(job.status)) {
          this.close();
          this.handlers.end();
          return;
        }
      } catch {
        // keep polling: a busy daemon or a network blip
      }
      if (!this.closed) this.pollTimer = window.setTimeout(() => void tick(), POLL_MS);
    };
    void tick();
  }
}
