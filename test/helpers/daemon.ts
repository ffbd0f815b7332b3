/**
 * End-to-end harness: runs the BUILT daemon (`dist/src/cli/main.js serve`) as a child process on
 * 127.0.0.1, port 0, with its own temporary RUNS_ROOT (or a given one, for restart tests), waits for
 * the "beepbox listening" log line, and talks to it over real HTTP. Every spawned process and
 * temporary directory is released through a cleanup scope, in reverse order of creation.
 *
 * Every 2xx JSON answer is checked against the OpenAPI document (its operation by method and
 * path template, its schema by status): a mismatch rejects the request with the route, the status
 * and the first schema error, so every e2e test also checks the documented types.
 *
 * Also: a small ZIP central-directory reader and CSV helpers used by the e2e tests.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';
import { sharedResponseValidator } from './openapi-validator.js';
import { DAEMON_NODE_FLAGS } from '../../src/cli/node-flags.js';

/** dist/test/helpers/daemon.js → dist/src/cli/main.js */
export const CLI_PATH = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

// ---- cleanup scopes --------------------------------------------------------------------------

/** Collects cleanup steps and runs them in reverse order (last created, first released). */
export interface CleanupScope {
  defer(step: () => unknown): void;
  run(): Promise<void>;
}

export function createCleanupScope(): CleanupScope {
  const steps: Array<() => unknown> = [];
  let ran = false;
  return {
    defer(step) {
      steps.push(step);
    },
    async run() {
      if (ran) return;
      ran = true;
      const errors: unknown[] = [];
      while (steps.length > 0) {
        const step = steps.pop()!;
        try {
          await step();
        } catch (err) {
          errors.push(err);
        }
      }
      if (errors.length > 0) throw errors[0];
    },
  };
}

const scopes = new WeakMap<object, CleanupScope>();

/** The cleanup scope of a test context: one `t.after` that releases everything in reverse order. */
export function cleanupOf(t: { after(fn: () => unknown): void }): CleanupScope {
  let scope = scopes.get(t);
  if (!scope) {
    const created = createCleanupScope();
    scope = created;
    scopes.set(t, created);
    t.after(() => created.run());
  }
  return scope;
}

export async function makeTempDir(scope: CleanupScope, prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  // Retries: a browser the daemon started for plots may still be writing its profile while it exits.
  scope.defer(() => rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }));
  return dir;
}

// ---- the daemon ------------------------------------------------------------------------------

export interface DaemonOptions {
  /** Device paths for BEEP_PORTS (pty symlinks of in-process simulators). Default none. */
  ports?: readonly string[];
  /** RUNS_ROOT; default a fresh temporary directory owned by the harness. */
  runsRoot?: string;
  /** BOX_API_KEY. Default: a random key. Pass '' for an open API. */
  apiKey?: string;
  boxId?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  startTimeoutMs?: number;
  /** Node flags before the script; default the daemon's own (src/cli/node-flags.ts). */
  nodeArgs?: readonly string[];
}

export interface RequestOptions {
  /** A Buffer/string is sent as is; anything else (not undefined) as JSON. */
  body?: unknown;
  /** API key to send: undefined = the daemon's key, null = no header, a string = that value. */
  key?: string | null;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/**
 * `T` is the shape the caller expects of the JSON body (`daemon.get<HealthLike>('/health')`). It is
 * not checked: the tests' assertions do that. Without it the body is `unknown`.
 */
export interface DaemonResponse<T = unknown> {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  /** Parsed body when the response is JSON, else undefined. */
  json: T;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StopInfo extends ExitInfo {
  /** Milliseconds from SIGTERM to the process exit. */
  elapsedMs: number;
}

export interface DaemonHandle {
  url: string;
  port: number;
  runsRoot: string;
  /** TMPDIR of the daemon. */
  tmpDir: string;
  apiKey: string;
  boxId: string;
  pid: number;
  child: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<ExitInfo>;
  /** Raw stdout lines captured so far. */
  logLines(): string[];
  /** stdout lines that parse as JSON objects. */
  logRecords(): Array<Record<string, unknown>>;
  stderr(): string;
  request<T = unknown>(method: string, pathAndQuery: string, options?: RequestOptions): Promise<DaemonResponse<T>>;
  get<T = unknown>(pathAndQuery: string, options?: RequestOptions): Promise<DaemonResponse<T>>;
  post<T = unknown>(pathAndQuery: string, body?: unknown, options?: RequestOptions): Promise<DaemonResponse<T>>;
  /** SIGTERM, wait for the exit, assert exit code 0. */
  stop(timeoutMs?: number): Promise<StopInfo>;
  /** SIGKILL, wait for the exit. */
  kill(): Promise<ExitInfo>;
  running(): boolean;
}

function waitExit(child: ChildProcess): Promise<ExitInfo> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/**
 * Spawns `node dist/src/cli/main.js serve` and resolves once it logged "beepbox listening".
 * The process is SIGKILLed by the scope if the test did not stop it.
 */
export async function startDaemon(scope: CleanupScope, options: DaemonOptions = {}): Promise<DaemonHandle> {
  const own = await makeTempDir(scope, 'beepbox-e2e-');
  const runsRoot = options.runsRoot ?? path.join(own, 'runs');
  await mkdir(path.join(own, 'mnt'), { recursive: true });
  // The daemon's own temporary directory (os.tmpdir()): what it leaves there after a stop is visible.
  const tmpDir = path.join(own, 'tmp');
  await mkdir(tmpDir, { recursive: true });
  const apiKey = options.apiKey ?? `e2e-key-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}`;
  const boxId = options.boxId ?? 'e2e-box';
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TMPDIR: tmpDir,
    HOST: '127.0.0.1',
    PORT: '0',
    RUNS_ROOT: runsRoot,
    NAS_CONFIG_PATH: path.join(own, 'nas', 'nas_smb.json'),
    NAS_CREDENTIALS_PATH: path.join(own, 'nas', '.smbcredentials_nas'),
    NAS_MOUNT_ROOT: path.join(own, 'mnt'),
    BOX_API_KEY: apiKey,
    BOX_ID: boxId,
    BOX_BUILD: 'e2e-build',
    BEEP_PORTS: (options.ports ?? []).join(','),
    ...options.env,
  };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? DAEMON_NODE_FLAGS), CLI_PATH, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = waitExit(child);
  scope.defer(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });

  const lines: string[] = [];
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const reader = createInterface({ input: child.stdout! });
  const stdoutClosed = new Promise<void>((r) => reader.once('close', () => r()));
  const listening = new Promise<number>((resolve, reject) => {
    reader.on('line', (line) => {
      lines.push(line);
      if (!line.includes('beepbox listening')) return;
      try {
        const rec = JSON.parse(line) as { msg?: string; address?: { port?: number } };
        if (rec.msg === 'beepbox listening' && typeof rec.address?.port === 'number') resolve(rec.address.port);
      } catch {
        // not JSON
      }
    });
    void exited.then((info) =>
      reject(new Error(`daemon exited before listening (code ${info.code}, signal ${info.signal}):\n${stderr}\n${lines.join('\n')}`)),
    );
  });
  const port = await withTimeout(listening, options.startTimeoutMs ?? 30_000, 'daemon start');
  const url = `http://127.0.0.1:${port}`;
  // Keep-alive, like the GUI's HTTP session: a body the server never reads (401 before the body)
  // is drained by Node instead of the connection being closed under a client still sending.
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  scope.defer(() => agent.destroy());

  const request = (method: string, pathAndQuery: string, opts: RequestOptions = {}): Promise<DaemonResponse> => {
    const headers: Record<string, string> = { ...opts.headers };
    const key = opts.key === undefined ? apiKey : opts.key;
    if (key !== null && !Object.keys(headers).some((h) => h.toLowerCase() === 'x-api-key')) headers['X-API-Key'] = key;
    let payload: Buffer | null = null;
    if (opts.body !== undefined) {
      if (Buffer.isBuffer(opts.body)) payload = opts.body;
      else if (typeof opts.body === 'string') payload = Buffer.from(opts.body, 'utf8');
      else {
        payload = Buffer.from(JSON.stringify(opts.body), 'utf8');
        if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
      }
      headers['Content-Length'] = String(payload.length);
    }
    return new Promise<DaemonResponse>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, method, path: pathAndQuery, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          const text = body.toString('utf8');
          let json: unknown;
          const contentType = res.headers['content-type'];
          if (/^application\/json/.test(contentType ?? '')) {
            try {
              json = JSON.parse(text);
            } catch (err) {
              reject(new Error(`invalid JSON from ${method} ${pathAndQuery}: ${(err as Error).message}\n${text}`));
              return;
            }
          }
          const status = res.statusCode ?? 0;
          const mismatch = sharedResponseValidator().check(method, pathAndQuery, status, contentType, json);
          if (mismatch !== null) {
            reject(new Error(`${mismatch}\n(request ${method} ${pathAndQuery}; body: ${text.slice(0, 2000)})`));
            return;
          }
          resolve({ status, headers: res.headers, body, text, json });
        });
      });
      req.setTimeout(opts.timeoutMs ?? 20_000, () => req.destroy(new Error(`${method} ${pathAndQuery}: no answer`)));
      // A server answering early (413) may close before the whole body is written.
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EPIPE' || err.code === 'ECONNRESET') return;
        reject(err);
      });
      req.on('close', () => reject(new Error(`${method} ${pathAndQuery}: connection closed without a response`)));
      req.end(payload ?? undefined);
    });
  };

  const handle: DaemonHandle = {
    url,
    port,
    runsRoot,
    tmpDir,
    apiKey,
    boxId,
    pid: child.pid!,
    child,
    exited,
    logLines: () => [...lines],
    logRecords: () =>
      lines.flatMap((l) => {
        try {
          const v = JSON.parse(l) as unknown;
          return v !== null && typeof v === 'object' ? [v as Record<string, unknown>] : [];
        } catch {
          return [];
        }
      }),
    stderr: () => stderr,
    request: <T>(method: string, p: string, o?: RequestOptions) => request(method, p, o) as Promise<DaemonResponse<T>>,
    get: <T>(p: string, o?: RequestOptions) => request('GET', p, o) as Promise<DaemonResponse<T>>,
    post: <T>(p: string, body?: unknown, o?: RequestOptions) => request('POST', p, { ...o, body }) as Promise<DaemonResponse<T>>,
    async stop(timeoutMs = 20_000) {
      const t0 = performance.now();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const info = await withTimeout(exited, timeoutMs, 'graceful stop (SIGTERM)');
      const elapsedMs = performance.now() - t0;
      await withTimeout(stdoutClosed, 5_000, 'stdout of the stopped daemon');
      assert.deepEqual(info, { code: 0, signal: null }, `daemon must exit 0 after SIGTERM; stderr:\n${stderr}`);
      return { ...info, elapsedMs };
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      const info = await withTimeout(exited, 10_000, 'SIGKILL');
      await withTimeout(stdoutClosed, 5_000, 'stdout of the killed daemon');
      assert.equal(info.signal, 'SIGKILL');
      return info;
    },
    running: () => child.exitCode === null && child.signalCode === null,
  };
  return handle;
}

/** PIDs of live processes whose command line mentions `needle` (e.g. a daemon's TMPDIR). */
export async function findProcessesMentioning(needle: string): Promise<Array<{ pid: number; cmd: string }>> {
  const out: Array<{ pid: number; cmd: string }> = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmd = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(needle)) out.push({ pid: Number(entry), cmd: cmd.replace(/\0/g, ' ').slice(0, 200) });
  }
  return out;
}

/** After a stop: the daemon left no process behind and nothing in its TMPDIR. */
export async function assertNothingLeftBehind(daemon: DaemonHandle): Promise<void> {
  assert.ok(!daemon.running(), 'the daemon has exited');
  assert.deepEqual(await findProcessesMentioning(daemon.tmpDir), [], 'no child process (Chromium, simulator) outlives the daemon');
  assert.deepEqual(await readdir(daemon.tmpDir), [], 'the daemon removed its temporary files');
}

// ---- polling ---------------------------------------------------------------------------------

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Calls `probe` every `intervalMs` until it returns a value other than undefined. */
export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

const TERMINAL = new Set(['done', 'failed', 'cancelled']);

export function isTerminalStatus(s: string): boolean {
  return TERMINAL.has(s);
}

/** GET /jobs/{id} until `accept(job)`; returns that JobStatus. */
export async function waitForJob(
  daemon: DaemonHandle,
  runId: string,
  accept: (job: JobStatusLike) => boolean = (j) => isTerminalStatus(j.status),
  timeoutMs = 30_000,
): Promise<JobStatusLike> {
  return waitUntil(`job ${runId}`, async () => {
    const res = await daemon.get<JobStatusLike>(`/jobs/${runId}`);
    assert.equal(res.status, 200, res.text);
    return accept(res.json) ? res.json : undefined;
  }, timeoutMs);
}

export interface SlotStatusLike {
  slot: string;
  status: string;
  started_at: string | null;
  ended_at: string | null;
  message: string | null;
  files: string[];
  current_mode: string | null;
  remaining_modes: string[];
  progress_pct: number;
  remaining_s: number | null;
  [extra: string]: unknown;
}

export interface JobStatusLike {
  run_id: string;
  mode: string;
  modes: string[];
  current_mode: string | null;
  remaining_modes: string[];
  status: string;
  started_at: string;
  ended_at: string | null;
  progress_pct: number;
  remaining_s: number | null;
  group_id: string | null;
  slots: SlotStatusLike[];
  warnings?: Array<{ mode: string; field: string; code: string; message: string }>;
  adjustments?: Array<{ mode: string; field: string; code: string; message: string; requested: unknown; applied: unknown }>;
}

/** The 1.4 error envelope. */
export interface EnvelopeLike {
  code: string;
  message: string;
  hint: string;
  detail: { code: string; message: string; hint: string };
  [extra: string]: unknown;
}

/** GET /health. */
export interface HealthLike {
  ok: boolean;
  devices: number;
  box_id: string;
  plotting?: { available: boolean; reason?: string };
  [extra: string]: unknown;
}

/** GET /nas/health. */
export interface NasHealthLike {
  ok: boolean;
  message: string;
  last_checked: string;
  transport: string | null;
}

/** POST /modes/{mode}/validate. */
export interface ModeValidationLike {
  ok: boolean;
  errors: Array<{ field: string; code: string; message: string }>;
  warnings: Array<{ field?: string; code: string; message: string }>;
  adjusted: Record<string, unknown> | null;
}

/** POST /jobs and assert 200. */
export async function submitJob(daemon: DaemonHandle, body: Record<string, unknown>): Promise<JobStatusLike> {
  const res = await daemon.post<JobStatusLike>('/jobs', body);
  assert.equal(res.status, 200, `POST /jobs: ${res.status} ${res.text}`);
  return res.json;
}

// ---- assertions ------------------------------------------------------------------------------

export const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;

/** The 1.4 envelope: JSON, code/message/hint strings, detail = the same triple (an object). */
export function assertEnvelope(res: DaemonResponse, status: number, code: string, message?: string | RegExp): Record<string, unknown> {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status}: ${res.text}`);
  assert.match(String(res.headers['content-type']), /^application\/json/, 'error bodies are JSON');
  const body = res.json as Record<string, unknown>;
  assert.equal(body.code, code, res.text);
  assert.equal(typeof body.message, 'string');
  assert.equal(typeof body.hint, 'string');
  assert.ok((body.message as string).length > 0, 'message is not empty');
  assert.deepEqual(body.detail, { code: body.code, message: body.message, hint: body.hint }, 'detail repeats the triple as an object');
  assert.ok(!/\bat .+\(.*:\d+:\d+\)/.test(res.text), 'no stack trace in an error body');
  if (message instanceof RegExp) assert.match(body.message as string, message);
  else if (message !== undefined) assert.equal(body.message, message);
  return body;
}

// ---- CSV -------------------------------------------------------------------------------------

/** Splits a CSV written with CRLF line ends (each line, the last included, ends with CRLF). */
export function splitCsv(text: string): { header: string; rows: string[] } {
  assert.ok(text.endsWith('\r\n'), 'the CSV ends with CRLF');
  const lines = text.slice(0, -2).split('\r\n');
  assert.ok(lines.every((l) => !l.includes('\n') && !l.includes('\r')), 'only CRLF line ends');
  return { header: lines[0]!, rows: lines.slice(1) };
}

// ---- ZIP -------------------------------------------------------------------------------------

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  crc32: number;
  data: Buffer;
}

/** Reads a ZIP's central directory (ZIP64 aware) and inflates every entry. */
export function readZip(zip: Buffer): ZipEntry[] {
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65_535); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  assert.ok(eocd >= 0, 'end of central directory record present');
  let count = zip.readUInt16LE(eocd + 10);
  let cdOffset = zip.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdOffset === 0xffffffff) {
    const locator = eocd - 20;
    assert.equal(zip.readUInt32LE(locator), 0x07064b50, 'ZIP64 locator');
    const z64 = Number(zip.readBigUInt64LE(locator + 8));
    assert.equal(zip.readUInt32LE(z64), 0x06064b50, 'ZIP64 end of central directory');
    count = Number(zip.readBigUInt64LE(z64 + 32));
    cdOffset = Number(zip.readBigUInt64LE(z64 + 48));
  }
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    assert.equal(zip.readUInt32LE(p), 0x02014b50, 'central directory header');
    const method = zip.readUInt16LE(p + 10);
    const crc32 = zip.readUInt32LE(p + 16);
    let compressedSize = zip.readUInt32LE(p + 20);
    let size = zip.readUInt32LE(p + 24);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    let localOffset = zip.readUInt32LE(p + 42);
    const name = zip.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    // ZIP64 extra field: the 0xFFFFFFFF fields follow in order size, compressed size, offset.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = zip.readUInt16LE(e);
      const len = zip.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff) (size = Number(zip.readBigUInt64LE(q))), (q += 8);
        if (compressedSize === 0xffffffff) (compressedSize = Number(zip.readBigUInt64LE(q))), (q += 8);
        if (localOffset === 0xffffffff) localOffset = Number(zip.readBigUInt64LE(q));
      }
      e += 4 + len;
    }
    assert.equal(zip.readUInt32LE(localOffset), 0x04034b50, `local header of ${name}`);
    const dataStart = localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
    const raw = zip.subarray(dataStart, dataStart + compressedSize);
    const data = method === 8 ? inflateRawSync(raw) : method === 0 ? Buffer.from(raw) : assert.fail(`unexpected method ${method} for ${name}`);
    assert.equal(data.length, size, `size of ${name}`);
    entries.push({ name, method, compressedSize, size, crc32, data });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}
