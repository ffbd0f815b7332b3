/**
 * Soak: a box left running with nobody watching. Many short jobs on every slot for a long time,
 * with the GUI's status polling, cancels, rescans, plots and downloads, while the daemon's
 * resources are watched for leaks.
 *   npm run bench -- soak [--minutes 5] [--slots 8] [--poll-rate 20] [--cancel-every 5]
 *     [--plot-every 3] [--csv-every 4] [--zip-every 8] [--warmup-s 30] [--report-every-s 60] [--seed N]
 *     [--daemon-log FILE]
 * Virtual potentiostats run in separate processes (4 slots each), the built daemon in its own
 * process (loopback, no API key, temp RUNS_ROOT and NAS files). The load:
 * - jobs: whenever a slot is free a new job starts on it (1 in 5 over 2–4 free slots at once),
 *   a random recipe of short modes (CA, CV, OCP, CP, EIS over a small frequency range, and
 *   multi-mode sequences), `make_plot` on 1 job in `--plot-every`; 1 job in `--cancel-every`
 *   is cancelled at a random moment of its planned duration;
 * - polling: GET /jobs (plain and ?state=incomplete), GET /jobs/{id}, POST /jobs/status,
 *   GET /devices/status and GET /health in turn at `--poll-rate` requests/s (open loop), plus
 *   POST /jobs/status on the jobs in flight every 0.5 s to follow them;
 * - downloads: the mode CSVs of one slot of 1 finished job in `--csv-every` (read fully; their
 *   data lines must equal the slot's `points`) and the ZIP of 1 in `--zip-every` (read fully;
 *   local header and end-of-central-directory signatures checked);
 * - checkpoints: after the warm-up (`start`), every `--report-every-s` and at the end. Each one
 *   first tries POST /admin/rescan with jobs running (409 devices.busy expected, counted apart),
 *   then lets the running jobs finish (no new ones), samples the daemon in that quiet state
 *   (RSS, fds, threads, descendant processes, simulators' RSS, and from GET /metrics the jobs it
 *   knows and the full job records it keeps in memory, bounded by BOX_JOBS_IN_MEMORY) and rescans for real
 *   (200 and every slot back expected), then resumes. The event-loop delay of a checkpoint is
 *   the median of the daemon's 10 s windows (GET /health `event_loop_delay`) seen under load
 *   since the previous checkpoint.
 * The soak lasts `--minutes` after the warm-up. Checkpoints print a line on stderr; at the end
 * a table of start/end figures with a verdict each (printed, never failing the bench: a human
 * judges) and the runner's JSON line. A failed request is counted, never fatal. On SIGINT or
 * SIGTERM the soak stops early, still reports, and cleans up (daemon, simulators, temp folder);
 * a second signal kills everything at once.
 */
import { readdir, readFile, readlink, rm } from 'node:fs/promises';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { readRssBytes, spawnDaemon, type DaemonProcess } from './daemon-process.js';
import { descendantPids, procName, startSimProcess, stopSimProcess, type SimProcess } from './processes.js';
import { median, percentile } from './stats.js';

const SLOTS_PER_SIM_PROCESS = 4;
const TRACK_INTERVAL_MS = 500;
const LAUNCH_INTERVAL_MS = 200;
const POLL_TIMEOUT_MS = 15_000;
const DOWNLOAD_TIMEOUT_MS = 180_000;
/** Open-loop polling stops adding requests when this many are unanswered (counted as skipped). */
const MAX_POLLS_IN_FLIGHT = 50;
/** A job still not ended this long after its planned duration is reported stuck and cancelled. */
const STUCK_AFTER_S = 60;
/** A checkpoint waits this long for running jobs to end before cancelling them. */
const DRAIN_TIMEOUT_S = 90;
/** How long the daemon's descendants may outlive it before they count as left behind. */
const LEFTOVER_GRACE_MS = 5000;
/** Quiet time between the last job's end and a checkpoint's sample. */
const SETTLE_MS = 2000;
/** The daemon's bound on full job records of ended jobs (its BOX_JOBS_IN_MEMORY, inherited from this environment). */
const RECORDS_BOUND = Number(process.env.BOX_JOBS_IN_MEMORY?.trim() || 500);
/** Records read back from the job store that the daemon may cache on top of the bound (job-table.ts). */
const READ_BACK_CACHE = 16;

const MIB = 2 ** 20;
const round = (x: number, digits = 2) => Number(x.toFixed(digits));

// ---------------------------------------------------------------------------------------------
// Randomness (seeded, so a soak's choices can be replayed; its timing cannot)

type Random = () => number;

function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const between = (r: Random, lo: number, hi: number, digits = 3) => round(lo + (hi - lo) * r(), digits);
const pick = <T>(r: Random, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

// ---------------------------------------------------------------------------------------------
// Job recipes: short modes, 1–6 s each

type Params = Record<string, Record<string, number | string>>;

const MODE_PARAMS: Record<string, (r: Random) => Record<string, number | string>> = {
  CA: (r) => ({ potential: between(r, -0.5, 0.5), duration: between(r, 1, 4, 2) }),
  CV: (r) => ({ start: 0, vertex1: 0.4, vertex2: -0.4, end: 0, scan_rate: between(r, 0.8, 1.6, 2), cycles: r() < 0.5 ? 1 : 2 }),
  OCP: (r) => ({ duration: between(r, 1, 3, 2) }),
  CP: (r) => ({ current: between(r, 1e-6, 5e-6, 9), duration: between(r, 1, 3, 2) }),
  EIS: (r) => ({ start_freq: 250, end_freq: between(r, 5, 20, 1), points_per_decade: 3, cycles_per_freq: 2, amplitude: 0.01 }),
};

const RECIPES: ReadonlyArray<{ modes: string[]; weight: number }> = [
  { modes: ['CA'], weight: 3 },
  { modes: ['CV'], weight: 3 },
  { modes: ['OCP'], weight: 2 },
  { modes: ['CP'], weight: 2 },
  { modes: ['EIS'], weight: 2 },
  { modes: ['CA', 'CV'], weight: 1 },
  { modes: ['OCP', 'EIS'], weight: 1 },
  { modes: ['CV', 'CP', 'OCP'], weight: 1 },
];

function pickRecipe(r: Random): { modes: string[]; params: Params } {
  let x = r() * RECIPES.reduce((a, rc) => a + rc.weight, 0);
  const recipe = RECIPES.find((rc) => (x -= rc.weight) < 0) ?? RECIPES[0]!;
  return { modes: recipe.modes, params: Object.fromEntries(recipe.modes.map((m) => [m, MODE_PARAMS[m]!(r)])) };
}

// ---------------------------------------------------------------------------------------------
// API shapes (only the fields the soak reads; unknown fields are ignored)

interface SlotView {
  slot: string;
  status: string;
  message: string | null;
  files: string[];
  points: number;
  expected_points: number;
  lost: number;
  dac_underruns: number;
  adc_overflows: number;
}
interface JobView {
  run_id: string;
  status: string;
  remaining_s: number | null;
  slots: SlotView[];
}
interface LoopDelay {
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

const isTerminal = (status: string) => status !== 'queued' && status !== 'running';

// ---------------------------------------------------------------------------------------------
// HTTP client: every answer counted by status class and code; a failure is counted, not thrown

interface Reply {
  status: number;
  /** Parsed JSON body, or null (not JSON, or raw). */
  json: unknown;
  /** The body bytes when asked for raw. */
  raw: Buffer | null;
  contentLength: number | null;
}

class Counters {
  readonly http = new Map<string, number>();
  readonly codes = new Map<string, number>();
  readonly unexpected = new Map<string, number>();
  readonly samples: Array<{ at_s: number; what: string; detail: string }> = [];
  readonly latencies = new Map<string, number[]>();

  constructor(private readonly t0: number) {}

  add(map: Map<string, number>, key: string, n = 1): void {
    map.set(key, (map.get(key) ?? 0) + n);
  }

  /** An unexpected event: counted by kind, the first 100 kept with their details. */
  fail(what: string, detail: string): void {
    this.add(this.unexpected, what);
    if (this.samples.length < 100) this.samples.push({ at_s: round((performance.now() - this.t0) / 1000, 1), what, detail: detail.slice(0, 400) });
  }

  get unexpectedTotal(): number {
    return [...this.unexpected.values()].reduce((a, b) => a + b, 0);
  }

  get fiveXX(): number {
    return this.http.get('5xx') ?? 0;
  }
}

class Api {
  constructor(
    readonly base: string,
    private readonly c: Counters,
  ) {}

  /**
   * One request. `expected`: error codes (`409 devices.busy`) that are part of the load and not
   * failures. Returns null when no answer came (network error or timeout).
   */
  async call(kind: string, method: string, path: string, opts: { body?: unknown; raw?: boolean; timeoutMs?: number; expected?: string[] } = {}): Promise<Reply | null> {
    const started = performance.now();
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        // No Origin header: the daemon refuses cross-origin requests; this is a same-host client.
        headers: opts.body === undefined ? {} : { 'content-type': 'application/json' },
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: AbortSignal.timeout(opts.timeoutMs ?? POLL_TIMEOUT_MS),
      });
      const buf = Buffer.from(await res.arrayBuffer());
      const ms = performance.now() - started;
      const lat = this.c.latencies.get(kind);
      if (lat) lat.push(ms);
      else this.c.latencies.set(kind, [ms]);
      const cls = `${Math.floor(res.status / 100)}xx`;
      this.c.add(this.c.http, cls);
      let json: unknown = null;
      if (!opts.raw && buf.length > 0) {
        try {
          json = JSON.parse(buf.toString('utf8'));
        } catch {
          json = null;
        }
      }
      if (res.status >= 400) {
        const code = (json as { code?: string } | null)?.code ?? '?';
        const key = `${res.status} ${code}`;
        this.c.add(this.c.codes, `${kind}: ${key}`);
        if (res.status >= 500) this.c.fail('http 5xx', `${method} ${path}: ${key} ${buf.toString('utf8', 0, 300)}`);
        else if (!(opts.expected ?? []).includes(key)) this.c.fail(`http ${key}`, `${method} ${path}: ${buf.toString('utf8', 0, 300)}`);
      }
      const len = res.headers.get('content-length');
      return { status: res.status, json, raw: opts.raw ? buf : null, contentLength: len === null ? null : Number(len) };
    } catch (err) {
      this.c.add(this.c.http, 'no answer');
      this.c.fail(`no answer (${kind})`, `${method} ${path}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
      return null;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Process figures (Linux /proc)

interface ProcFigures {
  daemon_rss_mib: number;
  /** Of the RSS: anonymous memory (heaps, malloc arenas) and file-backed pages (code, mapped files). */
  daemon_rss_anon_mib: number;
  daemon_rss_file_mib: number;
  /** All open descriptors of the daemon. */
  daemon_fds: number;
  /** Of those, TCP connections of HTTP clients (ours, keep-alive): they come and go with the load. */
  daemon_fds_http: number;
  /** Descriptors by kind (file, socket, pipe, tty, anon…), HTTP connections apart. */
  daemon_fd_kinds: Record<string, number>;
  daemon_threads: number;
  daemon_children: number;
  daemon_children_by_name: Record<string, number>;
  sims_rss_mib: number;
  sims_processes: number;
}

/** Inodes of established TCP connections whose local port is the daemon's (its HTTP clients). */
async function httpConnectionInodes(pid: number, port: number): Promise<Set<number>> {
  const inodes = new Set<number>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = await readFile(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const localPort = f[1]!.split(':').at(-1);
      if (localPort === hexPort && f[3] !== '0A') inodes.add(Number(f[9]));
    }
  }
  return inodes;
}

async function readFdKinds(pid: number, port: number): Promise<{ total: number; http: number; kinds: Record<string, number> }> {
  const http = await httpConnectionInodes(pid, port);
  const kinds: Record<string, number> = {};
  let total = 0;
  let httpCount = 0;
  let fds: string[] = [];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return { total: 0, http: 0, kinds };
  }
  for (const fd of fds) {
    let target: string;
    try {
      target = await readlink(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    total++;
    const socket = /^socket:\[(\d+)\]$/.exec(target);
    let kind: string;
    if (socket && http.has(Number(socket[1]))) {
      httpCount++;
      continue;
    } else if (socket) kind = 'socket';
    else if (target.startsWith('pipe:')) kind = 'pipe';
    else if (target.startsWith('anon_inode:')) kind = target.slice('anon_inode:'.length).replace(/[[\]]/g, '');
    else if (target.startsWith('/dev/pts/') || target === '/dev/ptmx' || target.includes('ttyBEEP')) kind = 'tty';
    else if (target.startsWith('/dev/')) kind = 'dev';
    else kind = 'file';
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return { total, http: httpCount, kinds };
}

/** A process's state letter (R, S, Z…) from /proc/<pid>/stat, or null when it is gone. */
async function procState(pid: number): Promise<string | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

/** One `Name:   N kB` figure of /proc/<pid>/status, in MiB (0 when gone). */
async function statusMib(pid: number, name: string): Promise<number> {
  try {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(await readFile(`/proc/${pid}/status`, 'utf8'));
    return m ? round(Number(m[1]) / 1024, 1) : 0;
  } catch {
    return 0;
  }
}

async function rssMibOrZero(pid: number): Promise<number> {
  try {
    return (await readRssBytes(pid)) / MIB;
  } catch {
    return 0;
  }
}

async function readProcFigures(daemonPid: number, port: number, simPids: number[]): Promise<ProcFigures> {
  const fds = await readFdKinds(daemonPid, port);
  let threads = 0;
  try {
    threads = (await readdir(`/proc/${daemonPid}/task`)).length;
  } catch {
    // gone
  }
  const children = await descendantPids([daemonPid]);
  const byName: Record<string, number> = {};
  for (const pid of children) {
    const name = `${(await procName(pid)) ?? '?'}${(await procState(pid)) === 'Z' ? ' (zombie)' : ''}`;
    byName[name] = (byName[name] ?? 0) + 1;
  }
  let simsRss = 0;
  for (const pid of simPids) simsRss += await rssMibOrZero(pid);
  return {
    daemon_rss_mib: round(await rssMibOrZero(daemonPid), 1),
    daemon_rss_anon_mib: await statusMib(daemonPid, 'RssAnon'),
    daemon_rss_file_mib: await statusMib(daemonPid, 'RssFile'),
    daemon_fds: fds.total,
    daemon_fds_http: fds.http,
    daemon_fd_kinds: fds.kinds,
    daemon_threads: threads,
    daemon_children: children.length,
    daemon_children_by_name: byName,
    sims_rss_mib: round(simsRss, 1),
    sims_processes: simPids.length + (await descendantPids(simPids)).length,
  };
}

// ---------------------------------------------------------------------------------------------
// The soak

interface Options {
  minutes: number;
  slots: number;
  pollRate: number;
  cancelEvery: number;
  plotEvery: number;
  csvEvery: number;
  zipEvery: number;
  warmupS: number;
  reportEveryS: number;
  seed: number;
}

interface ActiveJob {
  runId: string;
  slots: string[];
  startedAt: number;
  plannedS: number;
  cancelTimer: NodeJS.Timeout | null;
  /** When the cancel was sent (set before the request, so a fast end is not taken for a cancel nobody asked for). */
  cancelledAt: number | null;
  stuckReported: boolean;
}

interface Totals {
  jobs_started: number;
  jobs_by_state: Record<string, number>;
  slot_runs_by_state: Record<string, number>;
  points: number;
  expected_points: number;
  lost: number;
  dac_underruns: number;
  adc_overflows: number;
  cancels_sent: number;
  cancel_to_end_s: number[];
  slots_busy_refusals: number;
  rescans_ok: number;
  rescans_busy: number;
  rescans_failed: number;
  csv_downloads: number;
  csv_bytes: number;
  zip_downloads: number;
  zip_bytes: number;
  polls_skipped: number;
  slot_messages: Record<string, number>;
  daemon_log: Record<string, number>;
  daemon_stdout_other: number;
}

interface Checkpoint extends ProcFigures {
  label: string;
  /** From GET /metrics: jobs the daemon knows (`beepbox_jobs`, all states) and full records it keeps (null: not read). */
  jobs_known: number | null;
  job_records_in_memory: number | null;
  at_s: number;
  eld_p99_ms: number | null;
  eld_max_ms: number | null;
  latency_ms: Record<string, { n: number; p50: number; p99: number }>;
  jobs_ended: number;
  points: number;
  lost: number;
  http: Record<string, number>;
  unexpected_errors: number;
  daemon_alive: boolean;
  /** Wall time the checkpoint waited for running jobs to end. */
  drain_s: number;
  /** The machine's 1-minute load average (other work on the box shows here). */
  loadavg_1m: number;
  /**
   * Since the previous checkpoint: the longest stall of the load generator's own event loop and
   * the host's CPU steal. A daemon stall seen here too was the machine's, not the daemon's.
   */
  bench_eld_max_ms: number;
  cpu_steal_pct: number;
}

/** Total and steal jiffies of all CPUs (/proc/stat), or null off Linux. */
async function readCpuSteal(): Promise<{ total: number; steal: number } | null> {
  try {
    const f = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    return { total: f.reduce((a, b) => a + b, 0), steal: f[7] ?? 0 };
  } catch {
    return null;
  }
}

class Soak {
  readonly t0 = performance.now();
  readonly c = new Counters(this.t0);
  readonly api: Api;
  readonly random: Random;
  readonly totals: Totals = {
    jobs_started: 0, jobs_by_state: {}, slot_runs_by_state: {}, points: 0, expected_points: 0, lost: 0, dac_underruns: 0, adc_overflows: 0,
    cancels_sent: 0, cancel_to_end_s: [], slots_busy_refusals: 0, rescans_ok: 0, rescans_busy: 0, rescans_failed: 0,
    csv_downloads: 0, csv_bytes: 0, zip_downloads: 0, zip_bytes: 0, polls_skipped: 0, slot_messages: {}, daemon_log: {}, daemon_stdout_other: 0,
  };
  readonly checkpoints: Checkpoint[] = [];
  slots: string[] = [];
  readonly busy = new Set<string>();
  readonly active = new Map<string, ActiveJob>();
  /** Run ids seen, for the polling mix (the last 200 are enough). */
  readonly known: string[] = [];
  /** The daemon's event-loop delay windows, each once, in order (paused: seen during a checkpoint's drain). */
  readonly eld: Array<{ at: number; paused: boolean } & LoopDelay> = [];
  /** The load generator's event loop since the last checkpoint. */
  readonly ownLoop = monitorEventLoopDelay({ resolution: 5 });
  private lastCpu: { total: number; steal: number } | null = null;
  /** Rescans, ZIP downloads, checkpoints: to line up with the event-loop delay windows afterwards. */
  readonly events: Array<{ at_s: number; what: string }> = [];
  paused = false;
  stopped = false;
  private jobSeq = 0;
  private pollsInFlight = 0;
  private downloadsInFlight = 0;
  private readonly background = new Set<Promise<void>>();
  private readonly wake = new Set<() => void>();

  constructor(
    readonly opts: Options,
    readonly daemon: DaemonProcess,
    readonly sims: SimProcess[],
  ) {
    this.api = new Api(daemon.url, this.c);
    this.random = seededRandom(opts.seed);
  }

  /** Starts the per-checkpoint watch of the load generator's loop and the host's CPU steal. */
  async watchHost(): Promise<void> {
    this.ownLoop.enable();
    this.lastCpu = await readCpuSteal();
  }

  get elapsedS(): number {
    return (performance.now() - this.t0) / 1000;
  }

  note(what: string): void {
    if (this.events.length < 5000) this.events.push({ at_s: round(this.elapsedS, 1), what });
  }

  get daemonAlive(): boolean {
    return this.daemon.child.exitCode === null && this.daemon.child.signalCode === null;
  }

  /** Ends every loop: their sleeps return at once. */
  stop(): void {
    this.stopped = true;
    for (const w of this.wake) w();
  }

  sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.wake.add(done);
    });
  }

  /** Fire and forget, but tracked so the end can wait for it; never rejects. */
  spawn(task: () => Promise<void>): void {
    const p = task().catch((err: unknown) => this.c.fail('bench bug', err instanceof Error ? (err.stack ?? err.message) : String(err)));
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
  }

  async settleBackground(): Promise<void> {
    while (this.background.size > 0) await Promise.all([...this.background]);
  }

  onDaemonLog(line: string): void {
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string };
      const level = entry.level ?? 0;
      if (level < 40) return;
      const name = level >= 60 ? 'fatal' : level >= 50 ? 'error' : 'warn';
      const key = `${name}: ${(entry.msg ?? '').slice(0, 120)}`;
      this.totals.daemon_log[key] = (this.totals.daemon_log[key] ?? 0) + 1;
      if (level >= 50) this.c.fail(`daemon log ${name}`, line);
    } catch {
      this.totals.daemon_stdout_other++; // not pino JSON: e.g. --trace-gc output asked for in BENCH_DAEMON_NODE_ARGS
    }
  }

  // --- jobs ----------------------------------------------------------------------------------

  async launchLoop(): Promise<void> {
    while (!this.stopped) {
      if (!this.paused) {
        const free = this.slots.filter((s) => !this.busy.has(s));
        while (free.length > 0 && !this.paused && !this.stopped) {
          const take = free.length >= 2 && this.random() < 0.2 ? Math.min(free.length, 2 + Math.floor(this.random() * 3)) : 1;
          const chosen: string[] = [];
          for (let i = 0; i < take; i++) chosen.push(free.splice(Math.floor(this.random() * free.length), 1)[0]!);
          await this.startJob(chosen);
        }
      }
      await this.sleep(LAUNCH_INTERVAL_MS);
    }
  }

  async startJob(slots: string[]): Promise<void> {
    const { modes, params } = pickRecipe(this.random);
    const n = ++this.jobSeq;
    for (const s of slots) this.busy.add(s);
    const reply = await this.api.call('POST /jobs', 'POST', '/jobs', {
      body: {
        devices: slots, modes, params_by_mode: params, experiment_name: `soak${n}`, subdir: 'soak',
        client_datetime: new Date().toISOString(), make_plot: n % this.opts.plotEvery === 0,
      },
      expected: ['409 jobs.slots_busy'],
    });
    const job = reply?.status === 200 ? (reply.json as JobView) : null;
    if (!job) {
      if (reply?.status === 409) this.totals.slots_busy_refusals++;
      // The slots go back to the pool after a pause (a reservation may outlive its job's end briefly).
      this.spawn(async () => {
        await this.sleep(1000);
        for (const s of slots) this.busy.delete(s);
      });
      return;
    }
    this.totals.jobs_started++;
    this.known.push(job.run_id);
    if (this.known.length > 200) this.known.shift();
    const plannedS = job.remaining_s ?? 10;
    const active: ActiveJob = { runId: job.run_id, slots, startedAt: performance.now(), plannedS, cancelTimer: null, cancelledAt: null, stuckReported: false };
    if (this.random() * this.opts.cancelEvery < 1) {
      active.cancelTimer = setTimeout(() => this.spawn(() => this.cancel(active, 'random')), this.random() * plannedS * 1000);
    }
    this.active.set(job.run_id, active);
  }

  async cancel(job: ActiveJob, why: string): Promise<void> {
    if (!this.active.has(job.runId)) return;
    this.totals.cancels_sent++;
    job.cancelledAt ??= performance.now();
    const reply = await this.api.call('POST /jobs/{id}/cancel', 'POST', `/jobs/${job.runId}/cancel`);
    // Errors and silence are counted by the client; 202 is the only success the API documents.
    if (reply && reply.status < 300 && reply.status !== 202) this.c.fail('cancel answer', `${job.runId} (${why}): ${reply.status}`);
  }

  /** Follows the jobs in flight with the GUI's batch call; ends them when terminal. */
  async trackLoop(): Promise<void> {
    while (!this.stopped || this.active.size > 0) {
      await this.trackOnce();
      if (this.stopped && !this.daemonAlive) break;
      await new Promise((r) => setTimeout(r, TRACK_INTERVAL_MS));
    }
  }

  async trackOnce(): Promise<void> {
    const ids = [...this.active.keys()];
    if (ids.length === 0) return;
    const reply = await this.api.call('POST /jobs/status (tracking)', 'POST', '/jobs/status', { body: { run_ids: ids } });
    if (reply?.status !== 200 || !Array.isArray(reply.json)) return;
    const now = performance.now();
    for (const view of reply.json as JobView[]) {
      const job = this.active.get(view.run_id);
      if (!job) continue;
      if (isTerminal(view.status)) {
        this.finish(job, view);
        continue;
      }
      const overdueS = (now - job.startedAt) / 1000 - job.plannedS;
      if (overdueS > STUCK_AFTER_S && !job.stuckReported) {
        job.stuckReported = true;
        this.c.fail('job stuck', `${job.runId} still ${view.status} ${Math.round(overdueS)} s after its planned ${job.plannedS} s; cancelling`);
        this.spawn(() => this.cancel(job, 'stuck'));
      }
      if (overdueS > 3 * STUCK_AFTER_S) {
        // Given up: forget it so the soak goes on (its slots may stay reserved: counted as 409s).
        this.c.fail('job abandoned', `${job.runId} still ${view.status} after cancel`);
        this.release(job);
      }
    }
  }

  release(job: ActiveJob): void {
    if (job.cancelTimer) clearTimeout(job.cancelTimer);
    this.active.delete(job.runId);
    for (const s of job.slots) this.busy.delete(s);
  }

  finish(job: ActiveJob, view: JobView): void {
    this.release(job);
    const t = this.totals;
    t.jobs_by_state[view.status] = (t.jobs_by_state[view.status] ?? 0) + 1;
    if (job.cancelledAt !== null && view.status === 'cancelled') t.cancel_to_end_s.push((performance.now() - job.cancelledAt) / 1000);
    for (const s of view.slots) {
      t.slot_runs_by_state[s.status] = (t.slot_runs_by_state[s.status] ?? 0) + 1;
      t.points += s.points;
      t.expected_points += s.expected_points;
      t.lost += s.lost;
      t.dac_underruns += s.dac_underruns;
      t.adc_overflows += s.adc_overflows;
      if (s.message) t.slot_messages[`${s.status}: ${s.message.slice(0, 160)}`] = (t.slot_messages[`${s.status}: ${s.message.slice(0, 160)}`] ?? 0) + 1;
      if (s.status === 'failed') this.c.fail('slot failed', `${view.run_id} ${s.slot}: ${s.message ?? ''}`);
      if (s.status === 'cancelled' && job.cancelledAt === null) this.c.fail('cancelled unasked', `${view.run_id} ${s.slot}: ${s.message ?? ''}`);
    }
    if (view.status === 'done' && !this.stopped) {
      const slot = view.slots[Math.floor(this.random() * view.slots.length)];
      if (slot && this.random() * this.opts.csvEvery < 1) this.download(() => this.downloadCsvs(view.run_id, slot));
      if (this.random() * this.opts.zipEvery < 1) this.download(() => this.downloadZip(view.run_id));
    }
  }

  // --- downloads -----------------------------------------------------------------------------

  download(task: () => Promise<void>): void {
    if (this.downloadsInFlight >= 4) return; // the box is slower than the load: skip, do not pile up
    this.downloadsInFlight++;
    this.spawn(async () => {
      try {
        await task();
      } finally {
        this.downloadsInFlight--;
      }
    });
  }

  /** Every mode CSV of one slot (EIS spectra and CDL tables aside): data lines must equal `points`. */
  async downloadCsvs(runId: string, slot: SlotView): Promise<void> {
    const listing = await this.api.call('GET /runs/{id}/files', 'GET', `/runs/${runId}/files`);
    const files = (listing?.json as { files?: string[] } | null)?.files;
    if (!files) return;
    const csvs = files.filter((f) => f.startsWith(`Wells/${slot.slot}/`) && f.endsWith(`_${slot.slot}_${f.split('/')[2]}.csv`));
    if (csvs.length === 0) {
      this.c.fail('csv missing', `${runId} ${slot.slot}: no mode CSV among ${files.length} files`);
      return;
    }
    let rows = 0;
    for (const f of csvs) {
      const reply = await this.api.call('GET /runs/{id}/file (csv)', 'GET', `/runs/${runId}/file?path=${encodeURIComponent(f)}`, { raw: true, timeoutMs: DOWNLOAD_TIMEOUT_MS });
      if (reply?.status !== 200 || !reply.raw) return;
      if (reply.contentLength !== null && reply.contentLength !== reply.raw.length) this.c.fail('csv truncated', `${f}: ${reply.raw.length} of ${reply.contentLength} bytes`);
      this.totals.csv_downloads++;
      this.totals.csv_bytes += reply.raw.length;
      let lines = 0;
      for (let i = reply.raw.indexOf(0x0a); i >= 0; i = reply.raw.indexOf(0x0a, i + 1)) lines++;
      rows += Math.max(0, lines - 1); // header + one CRLF-ended line per row; an empty file has no header
    }
    if (rows !== slot.points) this.c.fail('csv rows != points', `${runId} ${slot.slot}: ${rows} data lines in ${csvs.length} CSVs, job says ${slot.points} points`);
  }

  async downloadZip(runId: string): Promise<void> {
    this.note(`zip ${runId} start`);
    const reply = await this.api.call('GET /runs/{id}/zip', 'GET', `/runs/${runId}/zip`, { raw: true, timeoutMs: DOWNLOAD_TIMEOUT_MS });
    this.note(`zip ${runId} end (${reply?.raw?.length ?? 0} bytes)`);
    if (reply?.status !== 200 || !reply.raw) return;
    const zip = reply.raw;
    this.totals.zip_downloads++;
    this.totals.zip_bytes += zip.length;
    const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    if (zip.readUInt32LE(0) !== 0x04034b50 || eocd < 0 || eocd < zip.length - 22 - 0xffff) this.c.fail('zip malformed', `${runId}: ${zip.length} bytes, EOCD at ${eocd}`);
  }

  // --- polling -------------------------------------------------------------------------------

  async pollLoop(): Promise<void> {
    const kinds = ['GET /jobs', 'GET /jobs/{id}', 'POST /jobs/status', 'GET /devices/status', 'GET /health', 'GET /jobs?state=incomplete', 'GET /jobs/{id}', 'POST /jobs/status', 'GET /devices/status', 'GET /health'];
    const start = performance.now();
    for (let i = 0; !this.stopped; i++) {
      await this.sleep(start + (i * 1000) / this.opts.pollRate - performance.now());
      if (this.stopped) break;
      if (this.pollsInFlight >= MAX_POLLS_IN_FLIGHT) {
        this.totals.polls_skipped++;
        continue;
      }
      this.pollsInFlight++;
      this.spawn(async () => {
        try {
          await this.pollOnce(kinds[i % kinds.length]!);
        } finally {
          this.pollsInFlight--;
        }
      });
    }
  }

  async pollOnce(kind: string): Promise<void> {
    const someId = () => pick(this.random, this.known);
    switch (kind) {
      case 'GET /jobs':
        await this.api.call(kind, 'GET', '/jobs');
        return;
      case 'GET /jobs?state=incomplete':
        await this.api.call(kind, 'GET', '/jobs?state=incomplete');
        return;
      case 'GET /jobs/{id}':
        if (this.known.length > 0) await this.api.call(kind, 'GET', `/jobs/${someId()}`);
        return;
      case 'POST /jobs/status':
        if (this.known.length > 0) await this.api.call(kind, 'POST', '/jobs/status', { body: { run_ids: Array.from({ length: 1 + Math.floor(this.random() * 5) }, someId) } });
        return;
      case 'GET /devices/status':
        await this.api.call(kind, 'GET', '/devices/status');
        return;
      case 'GET /health': {
        const reply = await this.api.call(kind, 'GET', '/health');
        const loop = (reply?.json as { event_loop_delay?: LoopDelay } | null)?.event_loop_delay;
        const prev = this.eld.at(-1);
        const same = prev && prev.p50_ms === loop?.p50_ms && prev.p99_ms === loop.p99_ms && prev.max_ms === loop.max_ms;
        if (loop && !same) this.eld.push({ at: performance.now(), p50_ms: loop.p50_ms, p99_ms: loop.p99_ms, max_ms: loop.max_ms, paused: this.paused });
        return;
      }
    }
  }

  // --- rescans and checkpoints ---------------------------------------------------------------

  /** POST /admin/rescan; 409 devices.busy is expected while jobs run. Returns the slots on 200. */
  async rescan(expectIdle: boolean): Promise<string[] | null> {
    this.note('rescan start');
    const reply = await this.api.call('POST /admin/rescan', 'POST', '/admin/rescan', { expected: expectIdle ? [] : ['409 devices.busy'], timeoutMs: 60_000 });
    this.note(`rescan end: ${reply?.status ?? 'no answer'}`);
    if (reply?.status === 409) this.totals.rescans_busy++;
    if (reply?.status !== 200) {
      if (expectIdle) this.totals.rescans_failed++;
      return null;
    }
    this.totals.rescans_ok++;
    const devices = (reply.json as { devices?: string[] } | null)?.devices ?? [];
    if (devices.length !== this.opts.slots) this.c.fail('rescan lost slots', `rescan found ${devices.length} of ${this.opts.slots}: ${devices.join(', ')}`);
    return devices;
  }

  /** Lets the jobs in flight end (no new ones); cancels them after `cancelAfterS`, forgets them after `giveUpAfterS`. */
  async drain(cancelAfterS = DRAIN_TIMEOUT_S, giveUpAfterS = 2 * DRAIN_TIMEOUT_S): Promise<void> {
    this.paused = true;
    const started = performance.now();
    let cancelled = false;
    while (this.active.size > 0 && this.daemonAlive) {
      if (!cancelled && (performance.now() - started) / 1000 > cancelAfterS) {
        cancelled = true;
        if (!this.stopped) this.c.fail('drain timeout', `${this.active.size} jobs still running after ${cancelAfterS} s: ${[...this.active.keys()].join(', ')}`);
        for (const job of this.active.values()) this.spawn(() => this.cancel(job, 'drain'));
      }
      if ((performance.now() - started) / 1000 > giveUpAfterS) {
        for (const job of [...this.active.values()]) this.release(job);
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Jobs known and job records kept in memory, from the daemon's GET /metrics. */
  async readJobsInMemory(): Promise<Pick<Checkpoint, 'jobs_known' | 'job_records_in_memory'>> {
    const reply = this.daemonAlive ? await this.api.call('GET /metrics', 'GET', '/metrics', { raw: true }) : null;
    const text = reply?.status === 200 ? (reply.raw?.toString('utf8') ?? '') : '';
    const values = (name: string) => [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].map((m) => Number(m[1]));
    const jobs = values('beepbox_jobs');
    const records = values('beepbox_job_records_in_memory');
    return { jobs_known: jobs.length > 0 ? jobs.reduce((a, b) => a + b, 0) : null, job_records_in_memory: records[0] ?? null };
  }

  async checkpoint(label: string, rescanAfter: boolean): Promise<Checkpoint> {
    const since = this.checkpoints.at(-1)?.at_s ?? this.opts.warmupS / 3;
    const windows = this.eld.filter((e) => !e.paused && (e.at - this.t0) / 1000 >= since);
    this.note(`checkpoint ${label}`);
    const latencies = new Map(this.c.latencies);
    this.c.latencies.clear();
    // A rescan with jobs running must be refused.
    if (this.active.size > 0 && this.daemonAlive) await this.rescan(false);
    const drainStart = performance.now();
    await this.drain();
    const drainS = (performance.now() - drainStart) / 1000;
    if (!this.stopped) await this.sleep(SETTLE_MS);
    const proc = await readProcFigures(this.daemon.child.pid!, Number(new URL(this.daemon.url).port), this.sims.map((s) => s.child.pid!));
    const jobsInMemory = await this.readJobsInMemory();
    const cpu = await readCpuSteal();
    const cp: Checkpoint = {
      label,
      ...jobsInMemory,
      at_s: round(this.elapsedS, 1),
      ...proc,
      eld_p99_ms: windows.length > 0 ? round(median(windows.map((w) => w.p99_ms))) : null,
      eld_max_ms: windows.length > 0 ? round(Math.max(...windows.map((w) => w.max_ms))) : null,
      latency_ms: Object.fromEntries(
        [...latencies].filter(([, xs]) => xs.length > 0).map(([k, xs]) => {
          const s = [...xs].sort((a, b) => a - b);
          return [k, { n: s.length, p50: round(percentile(s, 50), 1), p99: round(percentile(s, 99), 1) }];
        }),
      ),
      jobs_ended: Object.values(this.totals.jobs_by_state).reduce((a, b) => a + b, 0),
      points: this.totals.points,
      lost: this.totals.lost,
      http: Object.fromEntries(this.c.http),
      unexpected_errors: this.c.unexpectedTotal,
      daemon_alive: this.daemonAlive,
      drain_s: round(drainS, 1),
      loadavg_1m: round(loadavg()[0] ?? 0),
      bench_eld_max_ms: round(this.ownLoop.max / 1e6, 1),
      cpu_steal_pct: cpu && this.lastCpu && cpu.total > this.lastCpu.total ? round((100 * (cpu.steal - this.lastCpu.steal)) / (cpu.total - this.lastCpu.total), 1) : 0,
    };
    this.ownLoop.reset();
    this.lastCpu = cpu;
    this.checkpoints.push(cp);
    process.stderr.write(`${describeCheckpoint(cp)}\n`);
    if (rescanAfter && this.daemonAlive && !this.stopped) {
      let devices: string[] | null = null;
      for (let attempt = 0; attempt < 5 && !devices; attempt++) {
        devices = await this.rescan(true);
        if (!devices) await this.sleep(1000);
      }
      if (devices && devices.length > 0) this.slots = devices;
    }
    this.paused = false;
    return cp;
  }
}

function describeCheckpoint(cp: Checkpoint): string {
  const m = Math.floor(cp.at_s / 60);
  const s = Math.round(cp.at_s % 60);
  const children = Object.entries(cp.daemon_children_by_name).map(([k, v]) => `${k} ${v}`).join(', ');
  const http = Object.entries(cp.http).map(([k, v]) => `${k} ${v}`).join(' ');
  return (
    `[soak ${m}:${String(s).padStart(2, '0')} ${cp.label}] daemon RSS ${cp.daemon_rss_mib} MiB (anon ${cp.daemon_rss_anon_mib}), fds ${cp.daemon_fds} (${cp.daemon_fds_http} HTTP), ` +
    `threads ${cp.daemon_threads}, children ${cp.daemon_children}${children ? ` (${children})` : ''}, sims RSS ${cp.sims_rss_mib} MiB, ` +
    `ELD p99 ${cp.eld_p99_ms ?? '-'} ms (max ${cp.eld_max_ms ?? '-'}), jobs ended ${cp.jobs_ended}, jobs kept in memory ${cp.job_records_in_memory ?? '-'} of ${cp.jobs_known ?? '-'} known, points ${cp.points}, lost ${cp.lost}, ` +
    `HTTP ${http}, unexpected ${cp.unexpected_errors}, drain ${cp.drain_s} s, load ${cp.loadavg_1m}, steal ${cp.cpu_steal_pct} %, bench ELD max ${cp.bench_eld_max_ms} ms${cp.daemon_alive ? '' : ', DAEMON DEAD'}`
  );
}

// ---------------------------------------------------------------------------------------------
// Verdicts

interface Row {
  figure: string;
  start: string;
  end: string;
  change: string;
  verdict: string;
}

function flatness(start: Checkpoint, end: Checkpoint): Row[] {
  const rows: Row[] = [];
  const growth = (figure: string, a: number, b: number, limitPct: number) => {
    const pct = a > 0 ? (100 * (b - a)) / a : 0;
    rows.push({ figure, start: String(a), end: String(b), change: `${b - a >= 0 ? '+' : ''}${round(b - a, 1)} (${pct >= 0 ? '+' : ''}${round(pct, 1)} %)`, verdict: pct < limitPct ? `ok (< ${limitPct} %)` : `GROWING (≥ ${limitPct} %)` });
  };
  const equal = (figure: string, a: number, b: number, tolerance: number) => {
    rows.push({ figure, start: String(a), end: String(b), change: `${b - a >= 0 ? '+' : ''}${b - a}`, verdict: Math.abs(b - a) <= tolerance ? `ok (±${tolerance})` : `CHANGED (> ±${tolerance})` });
  };
  growth('daemon RSS (MiB)', start.daemon_rss_mib, end.daemon_rss_mib, 20);
  const kept = end.job_records_in_memory;
  rows.push({
    figure: 'jobs kept in memory (full records) of jobs known',
    start: `${start.job_records_in_memory ?? '-'} of ${start.jobs_known ?? '-'}`,
    end: `${kept ?? '-'} of ${end.jobs_known ?? '-'}`,
    change: `bound ${RECORDS_BOUND} (+${READ_BACK_CACHE} read back)`,
    verdict: kept === null ? 'no data' : kept <= RECORDS_BOUND + READ_BACK_CACHE ? 'ok (within the bound)' : 'ABOVE THE BOUND',
  });
  rows.push({ figure: 'of it anonymous (MiB)', start: String(start.daemon_rss_anon_mib), end: String(end.daemon_rss_anon_mib), change: `${end.daemon_rss_anon_mib - start.daemon_rss_anon_mib >= 0 ? '+' : ''}${round(end.daemon_rss_anon_mib - start.daemon_rss_anon_mib, 1)}`, verdict: 'info' });
  equal('daemon fds, HTTP connections aside', start.daemon_fds - start.daemon_fds_http, end.daemon_fds - end.daemon_fds_http, 2);
  rows.push({ figure: 'daemon fds, all (HTTP connections)', start: `${start.daemon_fds} (${start.daemon_fds_http})`, end: `${end.daemon_fds} (${end.daemon_fds_http})`, change: `${end.daemon_fds - start.daemon_fds >= 0 ? '+' : ''}${end.daemon_fds - start.daemon_fds}`, verdict: 'info' });
  equal('daemon threads', start.daemon_threads, end.daemon_threads, 2);
  equal('daemon child processes', start.daemon_children, end.daemon_children, 2);
  growth('simulators RSS (MiB)', start.sims_rss_mib, end.sims_rss_mib, 20);
  equal('simulator processes (with socat)', start.sims_processes, end.sims_processes, 0);
  const ratio = (figure: string, a: number | null, b: number | null, limit: number | null) => {
    if (a === null || b === null) {
      rows.push({ figure, start: String(a ?? '-'), end: String(b ?? '-'), change: '-', verdict: 'no data' });
      return;
    }
    const r = a > 0 ? b / a : b > 0 ? Infinity : 1;
    rows.push({ figure, start: String(a), end: String(b), change: `×${round(r, 2)}`, verdict: limit === null ? 'info' : r <= limit ? `ok (≤ ${limit}×)` : `GROWING (> ${limit}×)` });
  };
  ratio('daemon ELD p99 (ms, median of 10 s windows)', start.eld_p99_ms, end.eld_p99_ms, 2);
  ratio('daemon ELD max (ms, of all windows)', start.eld_max_ms, end.eld_max_ms, null); // one stall decides it: shown, not judged
  for (const kind of ['GET /jobs', 'GET /jobs/{id}', 'POST /jobs/status']) ratio(`${kind} p99 latency (ms)`, start.latency_ms[kind]?.p99 ?? null, end.latency_ms[kind]?.p99 ?? null, 2);
  return rows;
}

function renderTable(rows: Row[]): string {
  const lines = ['| figure | start | end | change | verdict |', '|---|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.figure} | ${r.start} | ${r.end} | ${r.change} | ${r.verdict} |`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------

export async function run(argv: string[]): Promise<object> {
  const { values } = parseArgs({
    args: argv,
    options: {
      minutes: { type: 'string', default: '5' },
      slots: { type: 'string', default: '8' },
      'poll-rate': { type: 'string', default: '20' },
      'cancel-every': { type: 'string', default: '5' },
      'plot-every': { type: 'string', default: '3' },
      'csv-every': { type: 'string', default: '4' },
      'zip-every': { type: 'string', default: '8' },
      'warmup-s': { type: 'string', default: '30' },
      'report-every-s': { type: 'string', default: '60' },
      'daemon-log': { type: 'string' },
      seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
    },
  });
  const opts: Options = {
    minutes: Number(values.minutes),
    slots: Number(values.slots),
    pollRate: Number(values['poll-rate']),
    cancelEvery: Number(values['cancel-every']),
    plotEvery: Number(values['plot-every']),
    csvEvery: Number(values['csv-every']),
    zipEvery: Number(values['zip-every']),
    warmupS: Number(values['warmup-s']),
    reportEveryS: Number(values['report-every-s']),
    seed: Number(values.seed),
  };
  for (const [k, v] of Object.entries(opts)) if (!Number.isFinite(v) || v < 0 || (k !== 'warmupS' && k !== 'seed' && v === 0)) throw new Error(`soak: bad --${k}: ${v}`);

  const dir = mkdtempSync(join(tmpdir(), 'beepbox-soak-'));
  const sims: SimProcess[] = [];
  let daemon: DaemonProcess | null = null;
  let soak: Soak | null = null;
  let interrupted: string | null = null;
  /** Descendants of the daemon seen at the last look (Chromium…), to reap if it dies without them. */
  let daemonDescendants: number[] = [];

  const killEverythingNow = () => {
    for (const pid of daemonDescendants) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    if (daemon && daemon.child.exitCode === null && daemon.child.signalCode === null) daemon.child.kill('SIGKILL');
    for (const s of sims) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGTERM'); // lets them take their socats along
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      process.stderr.write(`soak: second ${signal}, killing everything\n`);
      killEverythingNow();
      process.exit(130);
    }
    interrupted = signal;
    process.stderr.write(`soak: ${signal}, stopping early (again to kill at once)\n`);
    soak?.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', killEverythingNow);

  try {
    for (let left = opts.slots, i = 0; left > 0; i++, left -= SLOTS_PER_SIM_PROCESS) sims.push(await startSimProcess(Math.min(SLOTS_PER_SIM_PROCESS, left), join(dir, `sim${i}`)));
    let logSink: (line: string) => void = () => undefined;
    daemon = await spawnDaemon(
      {
        HOST: '127.0.0.1',
        RUNS_ROOT: join(dir, 'runs'),
        BEEP_PORTS: sims.flatMap((s) => s.ports).join(','),
        NAS_CONFIG_PATH: join(dir, 'nas.json'),
        NAS_CREDENTIALS_PATH: join(dir, 'cred'),
        NAS_MOUNT_ROOT: join(dir, 'mnt'),
        CHROMIUM_PATH: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
        BEEPBOX_LOOP_WINDOW_S: '10',
      },
      undefined,
      (line) => logSink(line),
    );
    const s = new Soak(opts, daemon, sims);
    soak = s;
    // --daemon-log FILE keeps the daemon's stdout (pino JSON; also --trace-gc output given through BENCH_DAEMON_NODE_ARGS).
    const logFile = values['daemon-log'] ? createWriteStream(values['daemon-log'], { flags: 'a' }) : null;
    logSink = (line) => {
      logFile?.write(`${line}\n`);
      s.onDaemonLog(line);
    };
    daemon.child.once('exit', () => logFile?.end());
    if (interrupted) s.stop();
    daemon.child.once('exit', (code, signal) => {
      if (!s.stopped) s.c.fail('daemon exited', `code ${code}, signal ${signal}`);
      s.stop();
    });
    const devices = await s.api.call('GET /devices', 'GET', '/devices');
    s.slots = ((devices?.json as { slots?: string[] } | null)?.slots ?? []).slice();
    if (s.slots.length !== opts.slots) throw new Error(`daemon found ${s.slots.length} of ${opts.slots} devices`);
    process.stderr.write(`soak: ${opts.slots} slots, ${opts.minutes} min after a ${opts.warmupS} s warm-up, seed ${opts.seed}, daemon pid ${daemon.child.pid} at ${daemon.url}, temp ${dir}\n`);

    const selfLoop = monitorEventLoopDelay({ resolution: 5 });
    selfLoop.enable();
    await s.watchHost();
    const loops = [s.launchLoop(), s.trackLoop(), s.pollLoop()];
    const watchDescendants = setInterval(() => void descendantPids([daemon!.child.pid!]).then((p) => (daemonDescendants = p)).catch(() => undefined), 5000);
    try {
      const endS = opts.warmupS + opts.minutes * 60;
      for (let k = 0; !s.stopped; k++) {
        const dueS = Math.min(endS, opts.warmupS + k * opts.reportEveryS);
        await s.sleep((dueS - s.elapsedS) * 1000);
        if (s.stopped) break;
        const last = dueS >= endS;
        await s.checkpoint(k === 0 ? 'start' : last ? 'end' : `minute ${round((k * opts.reportEveryS) / 60, 2)}`, !last);
        if (last) break;
      }
      if (s.stopped && s.checkpoints.at(-1)?.label !== 'end') {
        // Interrupted (or the daemon died): cancel what runs and take the end figures as they are.
        await s.drain(0, 15);
        if (s.daemonAlive) await s.checkpoint('end (interrupted)', false);
      }
    } finally {
      s.stop();
      await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 30_000))]);
      await Promise.race([s.settleBackground(), new Promise((r) => setTimeout(r, 30_000))]);
      clearInterval(watchDescendants);
      selfLoop.disable();
      s.ownLoop.disable();
    }

    // Alive at the end? Then a graceful stop, timed, and nothing of it left behind.
    const healthAtEnd = s.daemonAlive ? await s.api.call('GET /health', 'GET', '/health') : null;
    const aliveAtEnd = s.daemonAlive && healthAtEnd?.status === 200;
    daemonDescendants = await descendantPids([daemon.child.pid!]);
    const stopStarted = performance.now();
    const wasAlive = s.daemonAlive;
    await daemon.stop(30_000);
    const shutdownS = round((performance.now() - stopStarted) / 1000, 1);
    const exit = { code: daemon.child.exitCode, signal: daemon.child.signalCode };
    // Its descendants get LEFTOVER_GRACE_MS to go on their own (a browser's helpers follow it out).
    const liveDescendants = async () => (await Promise.all(daemonDescendants.map(async (pid) => ({ pid, name: await procName(pid), state: await procState(pid) })))).filter((p) => p.name !== null && p.state !== 'Z');
    for (const waitStart = performance.now(); (await liveDescendants()).length > 0 && performance.now() - waitStart < LEFTOVER_GRACE_MS; ) await new Promise((r) => setTimeout(r, 100));
    const leftovers: string[] = [];
    for (const { pid, name } of await liveDescendants()) {
      leftovers.push(`${pid} ${name}`);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    daemonDescendants = [];

    const t = s.totals;
    const start = s.checkpoints[0];
    const end = s.checkpoints.at(-1);
    const rows: Row[] = start && end && end !== start ? flatness(start, end) : [];
    const jobsEnded = Object.values(t.jobs_by_state).reduce((a, b) => a + b, 0);
    const httpTotal = Object.fromEntries(s.c.http);
    const expected409 = `rescan busy ${t.rescans_busy}, slots busy ${t.slots_busy_refusals}`;
    const cancelSorted = [...t.cancel_to_end_s].sort((a, b) => a - b);
    const flag = (ok: boolean, bad = 'CHECK') => (ok ? 'ok' : bad);
    rows.push(
      { figure: 'jobs ended (by state)', start: String(start?.jobs_ended ?? '-'), end: `${jobsEnded} (${Object.entries(t.jobs_by_state).map(([k, v]) => `${k} ${v}`).join(', ')})`, change: `${t.jobs_started} started`, verdict: flag(!t.jobs_by_state.failed && jobsEnded === t.jobs_started) },
      { figure: 'slot runs (by state)', start: '', end: Object.entries(t.slot_runs_by_state).map(([k, v]) => `${k} ${v}`).join(', '), change: '', verdict: flag(!t.slot_runs_by_state.failed) },
      { figure: 'points recorded', start: String(start?.points ?? '-'), end: String(t.points), change: `${t.expected_points} planned`, verdict: 'info' },
      { figure: 'points lost', start: String(start?.lost ?? '-'), end: String(t.lost), change: '', verdict: flag(t.lost === 0) },
      { figure: 'DAC underruns / ADC overflows', start: '', end: `${t.dac_underruns} / ${t.adc_overflows}`, change: '', verdict: flag(t.dac_underruns === 0 && t.adc_overflows === 0) },
      { figure: 'cancels sent; cancel → ended p99 (s, seen at 0.5 s)', start: '', end: `${t.cancels_sent}; ${cancelSorted.length > 0 ? round(percentile(cancelSorted, 99), 1) : '-'}`, change: '', verdict: flag(cancelSorted.length === 0 || percentile(cancelSorted, 99) < 5) },
      { figure: 'rescans: ok / refused busy (expected) / failed when idle', start: '', end: `${t.rescans_ok} / ${t.rescans_busy} / ${t.rescans_failed}`, change: '', verdict: flag(t.rescans_failed === 0 && t.rescans_ok > 0) },
      { figure: 'downloads: CSV files / ZIPs (MiB)', start: '', end: `${t.csv_downloads} (${round(t.csv_bytes / MIB, 1)}) / ${t.zip_downloads} (${round(t.zip_bytes / MIB, 1)})`, change: '', verdict: 'info' },
      { figure: 'HTTP requests by class', start: start ? Object.entries(start.http).map(([k, v]) => `${k} ${v}`).join(' ') : '-', end: Object.entries(httpTotal).map(([k, v]) => `${k} ${v}`).join(' '), change: `409s expected: ${expected409}`, verdict: 'info' },
      { figure: 'HTTP 5xx', start: '', end: String(s.c.fiveXX), change: '', verdict: flag(s.c.fiveXX === 0, 'FAIL') },
      { figure: 'polls skipped (50 unanswered)', start: '', end: String(t.polls_skipped), change: '', verdict: flag(t.polls_skipped === 0) },
      { figure: 'unexpected errors', start: String(start?.unexpected_errors ?? '-'), end: String(s.c.unexpectedTotal), change: Object.entries(Object.fromEntries(s.c.unexpected)).map(([k, v]) => `${k} ${v}`).join(', '), verdict: flag(s.c.unexpectedTotal === 0, 'FAIL') },
      { figure: 'daemon log lines: warn / error+fatal (other stdout)', start: '', end: `${Object.entries(t.daemon_log).filter(([k]) => k.startsWith('warn')).reduce((a, [, v]) => a + v, 0)} / ${Object.entries(t.daemon_log).filter(([k]) => !k.startsWith('warn')).reduce((a, [, v]) => a + v, 0)} (${t.daemon_stdout_other})`, change: '', verdict: flag(Object.keys(t.daemon_log).length === 0, Object.keys(t.daemon_log).every((k) => k.startsWith('warn')) ? 'CHECK' : 'FAIL') },
      { figure: 'daemon alive at end', start: '', end: aliveAtEnd ? 'yes' : 'NO', change: '', verdict: flag(aliveAtEnd, 'FAIL') },
      { figure: `daemon stop (s, exit) and processes left ${LEFTOVER_GRACE_MS / 1000} s later`, start: '', end: `${shutdownS} s, ${exit.signal ?? `code ${exit.code}`}, ${leftovers.length} left`, change: leftovers.join(', '), verdict: flag(!wasAlive || (exit.code === 0 && leftovers.length === 0 && shutdownS < 20)) },
      { figure: 'load generator ELD p99 / max (ms); worst CPU steal of an interval (%)', start: '', end: `${round(selfLoop.percentile(99) / 1e6, 1)} / ${round(selfLoop.max / 1e6, 1)}; ${Math.max(0, ...s.checkpoints.map((c) => c.cpu_steal_pct))}`, change: '', verdict: 'info' },
    );
    const table = renderTable(rows);
    const counts = (m: Record<string, number>) => Object.entries(m).sort((a, b) => b[1] - a[1]).slice(0, 15);
    process.stderr.write(
      `\nsoak ${interrupted ? `interrupted by ${interrupted} ` : ''}after ${round(s.elapsedS / 60, 1)} min (${opts.slots} slots, seed ${opts.seed}):\n${table}\n` +
        (s.c.samples.length > 0 ? `unexpected (first ${Math.min(10, s.c.samples.length)}):\n${s.c.samples.slice(0, 10).map((e) => `  ${e.at_s}s ${e.what}: ${e.detail}`).join('\n')}\n` : '') +
        (Object.keys(t.slot_messages).length > 0 ? `slot messages:\n${counts(t.slot_messages).map(([k, v]) => `  ${v}× ${k}`).join('\n')}\n` : '') +
        (Object.keys(t.daemon_log).length > 0 ? `daemon log:\n${counts(t.daemon_log).map(([k, v]) => `  ${v}× ${k}`).join('\n')}\n` : '') +
        (s.c.codes.size > 0 ? `4xx/5xx answers:\n${[...s.c.codes].map(([k, v]) => `  ${v}× ${k}`).join('\n')}\n` : ''),
    );
    return {
      options: opts,
      interrupted,
      duration_s: round(s.elapsedS, 1),
      verdicts: rows,
      checkpoints: s.checkpoints,
      totals: { ...t, cancel_to_end_s: undefined, cancel_to_end_p99_s: cancelSorted.length > 0 ? round(percentile(cancelSorted, 99), 2) : null },
      http: httpTotal,
      error_answers: Object.fromEntries(s.c.codes),
      unexpected: Object.fromEntries(s.c.unexpected),
      unexpected_samples: s.c.samples,
      eld_windows: s.eld.map((e) => ({ seen_at_s: round((e.at - s.t0) / 1000, 1), p50_ms: e.p50_ms, p99_ms: e.p99_ms, max_ms: e.max_ms, during_drain: e.paused })),
      events: s.events,
      daemon: { alive_at_end: aliveAtEnd, shutdown_s: shutdownS, exit, leftover_processes: leftovers },
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await daemon?.stop(30_000);
    for (const pid of daemonDescendants) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (const sim of sims) await Promise.race([stopSimProcess(sim), new Promise((r) => setTimeout(r, 10_000))]);
    for (const sim of sims) if (sim.child.exitCode === null && sim.child.signalCode === null) sim.child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    process.off('exit', killEverythingNow);
  }
}
