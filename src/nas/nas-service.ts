/**
 * NAS service layer (rest-api.md section 7): setup, health, the upload queue and local
 * retention. No HTTP here; routes call these methods and map `NasError` codes to statuses.
 *
 * Secrets: the password lives only in the credentials file. It is never logged (the child logger
 * redacts `password` keys, and every subprocess text is scrubbed before it is logged, stored in
 * a marker or returned), never passed on a command line, never written to the config file.
 *
 * Longer than our ~400-line guide on purpose: this is the facade that owns the NAS state shared
 * by setup, health, uploads and retention (configuration, transport choice, last probe, busy
 * runs, shutdown); the work itself already lives in its own modules (config, transports,
 * upload queue, retention, marker files).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { ValidationError } from '../errors.js';
import { openConfinedFile } from '../storage/confined-file.js';
import { RUN_ID_PATTERN_SOURCE, isValidRunId } from '../storage/run-id.js';
import { runCommand as defaultRunCommand, scrubSecret, type RunCommand } from './command.js';
import {
  buildNasConfig,
  DEFAULT_NAS_CONFIG_PATH,
  DEFAULT_NAS_CREDENTIALS_PATH,
  DEFAULT_NAS_MOUNT_ROOT,
  formatCredentials,
  serializeNasConfig,
  validateSetupRequest,
  type NasConfig,
  type TransportKind,
} from './config.js';
import { NasError, UNSUPPORTED_PLATFORM_MESSAGE } from './errors.js';
import { listRunDir, UPLOAD_DONE_MARKER, UPLOAD_FAILED_MARKER } from './local-files.js';
import { MountTransport } from './mount-transport.js';
import { readCredentialsPassword, readNasConfigFile, writeFileAtomic } from './nas-files.js';
import { findFailedUploadDirs, runRetention, type RetentionPassResult } from './retention.js';
import { SmbclientTransport } from './smbclient-transport.js';
import { collectMountSupportFacts, decideMountSupport, type MountSupportFacts, type NasTransport, type ProbeOutcome, type UploadOutcome } from './transport.js';
import { UploadQueue, type UploadAttemptResult, type UploadPhase, type UploadQueueStats } from './upload-queue.js';

/** `GET /nas/health` body (3.17). */
export interface NasHealth {
  ok: boolean;
  /** ISO-8601 UTC time of this probe. */
  last_checked: string;
  message: string;
  /** Transport that performed the probe; null when not configured or unsupported. */
  transport: TransportKind | null;
}

/** `POST /nas/setup` body (3.16). */
export interface NasSetupResult {
  ok: boolean;
  message: string;
}

/** `GET /runs/{run_id}/upload` body without `run_id` (7.5). */
export interface UploadState {
  state: UploadPhase | 'none';
  message: string | null;
  attempts: number;
  next_retry_at: string | null;
  uploaded_at: string | null;
}

export interface NasServiceOptions {
  /** Root logger; the service derives a child with `task: 'nas'` that redacts `password`. */
  logger: Logger;
  /** RUNS_ROOT: destinations are run directories relative to it; retention walks it. */
  runsRoot: string;
  /** NAS_CONFIG_PATH, default /opt/box/nas_smb.json. */
  configPath?: string;
  /** NAS_CREDENTIALS_PATH, default /opt/box/.smbcredentials_nas. Must not contain a comma. */
  credentialsPath?: string;
  /** NAS_MOUNT_ROOT, default /mnt/nas_box. */
  mountRoot?: string;
  /** True while a non-terminal job references the directory (absolute, resolved path). */
  isRunDirBusy?: (dir: string) => boolean;
  /** Called after retention deleted a run directory (drop index entries and job records). */
  onRunDirDeleted?: (dir: string) => void | Promise<void>;
  /** First automatic retry after this delay, doubling per failure. Default 30 s. */
  retryBaseDelayMs?: number;
  /** Cap of the retry delay. Default 1 h. */
  retryMaxDelayMs?: number;
  /** Retention period. Default 6 h. */
  retentionIntervalMs?: number;
  /** Re-check of uploads waiting for busy run directories. Default 5 s. */
  busyRecheckIntervalMs?: number;
  /** Timeout of mount, umount and probe sessions. Default 30 s. */
  commandTimeoutMs?: number;
  /** Timeout of one rsync run or smbclient upload session. Default 2 h. */
  transferTimeoutMs?: number;
  /** Start-up probe: attempts and pause between them. Defaults 3 and 5 s. */
  startupProbeAttempts?: number;
  startupProbeDelayMs?: number;
  /** Defaults to `process.platform`; `win32` disables every NAS feature (7.8). */
  platform?: NodeJS.Platform;
  /** Subprocess runner for both transports (tests replace single steps such as `mount`). */
  runCommand?: RunCommand;
  /** Mount-table check of the mount transport (default: /proc/self/mounts). */
  isMountPoint?: (dir: string) => Promise<boolean>;
  /** Facts for `auto` (default: /proc/filesystems, uid, mount.cifs, rsync). */
  collectMountSupport?: () => Promise<MountSupportFacts>;
  /** smbclient program (default `smbclient`). */
  smbclientProgram?: string;
}

/** NAS paths from the environment with the contract's defaults (section 2). */
export function readNasPathsFromEnv(env: NodeJS.ProcessEnv = process.env): { configPath: string; credentialsPath: string; mountRoot: string } {
  const pick = (value: string | undefined, fallback: string): string => (value !== undefined && value.trim() !== '' ? value : fallback);
  return {
    configPath: pick(env['NAS_CONFIG_PATH'], DEFAULT_NAS_CONFIG_PATH),
    credentialsPath: pick(env['NAS_CREDENTIALS_PATH'], DEFAULT_NAS_CREDENTIALS_PATH),
    mountRoot: pick(env['NAS_MOUNT_ROOT'], DEFAULT_NAS_MOUNT_ROOT),
  };
}

/** Longest marker text read (an upload failure reason is short). */
const MAX_MARKER_BYTES = 64 * 1024;

const REDACT_PATHS = ['password', '*.password', 'req.body.password', 'request.body.password'];

function nowIso(): string {
  return new Date().toISOString();
}

export class NasService {
  readonly #log: Logger;
  readonly #runsRoot: string;
  readonly #configPath: string;
  readonly #credentialsPath: string;
  readonly #mountRoot: string;
  readonly #platform: NodeJS.Platform;
  readonly #isRunDirBusy: (dir: string) => boolean;
  readonly #onRunDirDeleted: (dir: string) => void | Promise<void>;
  readonly #retentionIntervalMs: number;
  readonly #commandTimeoutMs: number;
  readonly #startupProbeAttempts: number;
  readonly #startupProbeDelayMs: number;
  readonly #collectMountSupport: () => Promise<MountSupportFacts>;
  readonly #mount: MountTransport;
  readonly #smbclient: SmbclientTransport;
  readonly #queue: UploadQueue;
  readonly #closing = new AbortController();

  #config: NasConfig | null = null;
  #secret: string | null = null;
  #disabledReason: string | null = null;
  #started = false;
  #closed = false;
  #autoFallback = false;
  #mountSupport: Promise<{ supported: boolean; reason: string }> | null = null;
  #lastProbe: NasHealth | null = null;
  #lockTail: Promise<void> = Promise.resolve();
  #retentionTimer: NodeJS.Timeout | null = null;
  #retentionRunning: Promise<RetentionPassResult> | null = null;
  readonly #background = new Set<Promise<unknown>>();

  constructor(options: NasServiceOptions) {
    const paths = readNasPathsFromEnv({});
    this.#runsRoot = path.resolve(options.runsRoot);
    this.#configPath = path.resolve(options.configPath ?? paths.configPath);
    this.#credentialsPath = path.resolve(options.credentialsPath ?? paths.credentialsPath);
    this.#mountRoot = path.resolve(options.mountRoot ?? paths.mountRoot);
    if (this.#credentialsPath.includes(',')) {
      // It goes into `mount -o credentials=...`, where a comma starts the next option.
      throw new ValidationError('credentialsPath', 'must not contain a comma');
    }
    this.#platform = options.platform ?? process.platform;
    this.#isRunDirBusy = options.isRunDirBusy ?? (() => false);
    this.#onRunDirDeleted = options.onRunDirDeleted ?? (() => undefined);
    this.#retentionIntervalMs = options.retentionIntervalMs ?? 6 * 60 * 60 * 1000;
    this.#commandTimeoutMs = options.commandTimeoutMs ?? 30_000;
    this.#startupProbeAttempts = options.startupProbeAttempts ?? 3;
    this.#startupProbeDelayMs = options.startupProbeDelayMs ?? 5_000;
    this.#collectMountSupport = options.collectMountSupport ?? collectMountSupportFacts;
    this.#log = options.logger.child({ task: 'nas' }, { redact: { paths: REDACT_PATHS, censor: '[redacted]' } });

    const run = options.runCommand ?? defaultRunCommand;
    const transferTimeoutMs = options.transferTimeoutMs ?? 2 * 60 * 60 * 1000;
    this.#mount = new MountTransport({
      runCommand: run,
      logger: this.#log,
      commandTimeoutMs: this.#commandTimeoutMs,
      transferTimeoutMs,
      ...(options.isMountPoint ? { isMountPoint: options.isMountPoint } : {}),
    });
    this.#smbclient = new SmbclientTransport({
      runCommand: run,
      logger: this.#log,
      commandTimeoutMs: this.#commandTimeoutMs,
      transferTimeoutMs,
      ...(options.smbclientProgram ? { program: options.smbclientProgram } : {}),
    });
    this.#queue = new UploadQueue({
      perform: (dir, runId, signal) => this.#performUpload(dir, runId, signal),
      isRunDirBusy: (dir) => this.#isRunDirBusy(dir),
      dirExists: async (dir) => (await fs.stat(dir).catch(() => null))?.isDirectory() ?? false,
      logger: this.#log,
      retryBaseDelayMs: options.retryBaseDelayMs ?? 30_000,
      retryMaxDelayMs: options.retryMaxDelayMs ?? 60 * 60 * 1000,
      busyRecheckIntervalMs: options.busyRecheckIntervalMs ?? 5_000,
    });
  }

  /** False on Windows (7.8). */
  get supported(): boolean {
    return this.#platform !== 'win32';
  }

  /** Configuration as last loaded (start-up, setup or an upload); null = not configured. */
  get configured(): boolean {
    return this.supported && this.#config !== null;
  }

  /** Result of the start-up probe or the latest health probe, whichever came last. */
  get lastProbe(): NasHealth | null {
    return this.#lastProbe;
  }

  /** The upload queue's figures (GET /metrics): read-only. */
  uploadStats(): UploadQueueStats {
    return this.#queue.stats();
  }

  /**
   * Start-up: create the NAS directories (failure only disables NAS, with a warning), load the
   * config, and if configured run the background probe (3 tries, 5 s apart), the first retention
   * pass and the resumption of failed uploads. Retention then repeats every 6 h.
   */
  async start(): Promise<void> {
    if (this.#started || this.#closed) return;
    this.#started = true;
    if (!this.supported) {
      this.#log.info('NAS/SMB disabled on this platform');
      return;
    }
    if (!(await this.#ensureDirs())) return;
    this.#config = await this.#loadConfig();
    this.#retentionTimer = setInterval(() => this.#track(this.runRetentionPass()), this.#retentionIntervalMs);
    this.#retentionTimer.unref();
    if (this.#config === null) return;
    this.#track(this.#startupProbe());
    this.#track(this.runRetentionPass());
    this.#track(this.#resumeFailedUploads());
  }

  /** `POST /nas/setup` (7.1): validate, write credentials and config, probe with `ensure_base`. */
  async setup(request: unknown): Promise<NasSetupResult> {
    if (!this.supported) throw new NasError('nas.unsupported_platform', UNSUPPORTED_PLATFORM_MESSAGE);
    const setup = validateSetupRequest(request);
    if (this.#closed) throw new NasError('INTERNAL', 'NAS service is shut down');
    if (!(await this.#ensureDirs())) {
      throw new NasError('INTERNAL', `NAS is disabled: ${this.#disabledReason ?? 'cannot create its directories'}`);
    }
    const config = buildNasConfig(setup, { credentialsPath: this.#credentialsPath, mountRoot: this.#mountRoot });
    try {
      await writeFileAtomic(this.#credentialsPath, formatCredentials(setup), 0o600);
      this.#secret = setup.password;
      await writeFileAtomic(this.#configPath, serializeNasConfig(config), 0o600);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      this.#log.error({ err }, 'cannot write NAS configuration');
      throw new NasError('INTERNAL', `cannot write NAS configuration: ${code}`, { cause: err });
    }
    this.#config = config;
    this.#autoFallback = false;
    this.#log.info(
      { host: config.host, share: config.share, port: config.port, baseSubdir: config.base_subdir, transport: config.transport, retentionDays: config.retention_days },
      'NAS configured',
    );
    const { transport, outcome } = await this.#probe(config, true);
    this.#recordProbe(outcome, transport, nowIso());
    return { ok: outcome.ok, message: outcome.message };
  }

  /** `GET /nas/health` (7.3): always a fresh read-only probe. */
  async health(): Promise<NasHealth> {
    const checkedAt = nowIso();
    if (!this.supported) return { ok: false, last_checked: checkedAt, message: UNSUPPORTED_PLATFORM_MESSAGE, transport: null };
    if (this.#disabledReason !== null && !(await this.#ensureDirs())) {
      return { ok: false, last_checked: checkedAt, message: `NAS disabled: ${this.#disabledReason}`, transport: null };
    }
    const config = await this.#loadConfig();
    this.#config = config;
    if (config === null) return { ok: false, last_checked: checkedAt, message: 'not configured', transport: null };
    const { transport, outcome } = await this.#probe(config, false);
    return this.#recordProbe(outcome, transport, checkedAt);
  }

  /**
   * `POST /runs/{run_id}/upload` and the automatic trigger when a job ends `done` (7.5). Returns
   * `enqueued: false` when a pass for the directory is already pending. Throws
   * `nas.unsupported_platform` on Windows and `nas.not_configured` without configuration.
   */
  enqueueUpload(runId: string, runDir: string): { enqueued: boolean } {
    if (!this.supported) throw new NasError('nas.unsupported_platform', UNSUPPORTED_PLATFORM_MESSAGE);
    if (!isValidRunId(runId)) throw new ValidationError('run_id', `must match ${RUN_ID_PATTERN_SOURCE}`);
    if (this.#config === null) throw new NasError('nas.not_configured', 'NAS is not configured');
    if (this.#closed) return { enqueued: false };
    const dir = path.resolve(runDir);
    const enqueued = this.#queue.enqueue(dir, runId);
    this.#log.info({ runId, dir, enqueued }, 'upload requested');
    return { enqueued };
  }

  /** Upload state of a run directory (`GET /runs/{run_id}/upload`): memory first, then markers. */
  async uploadState(runDir: string): Promise<UploadState> {
    const dir = path.resolve(runDir);
    const snap = this.#queue.snapshot(dir);
    if (snap !== null) {
      return { state: snap.state, message: snap.message, attempts: snap.attempts, next_retry_at: snap.nextRetryAt, uploaded_at: snap.uploadedAt };
    }
    const done = await this.#readMarker(path.join(dir, UPLOAD_DONE_MARKER));
    if (done !== null) {
      const parsed = Date.parse(done.text);
      const uploadedAt = Number.isNaN(parsed) ? done.mtime.toISOString() : new Date(parsed).toISOString();
      return { state: 'done', message: null, attempts: 0, next_retry_at: null, uploaded_at: uploadedAt };
    }
    const failed = await this.#readMarker(path.join(dir, UPLOAD_FAILED_MARKER));
    if (failed !== null) {
      return { state: 'failed', message: this.#scrub(failed.text.trim()), attempts: 0, next_retry_at: null, uploaded_at: null };
    }
    return { state: 'none', message: null, attempts: 0, next_retry_at: null, uploaded_at: null };
  }

  /** Tell the queue that jobs changed state: uploads waiting for busy directories are re-checked. */
  notifyRunDirsChanged(): void {
    this.#queue.notifyRunDirsChanged();
  }

  /** Resolves when no upload is running or about to start (waiting or retrying ones may remain). */
  async whenUploadsIdle(): Promise<void> {
    await this.#queue.whenIdle();
  }

  /**
   * Retention (7.6): delete run directories with `UPLOAD_DONE` older than `retention_days`. Only
   * when NAS is configured; directories of non-terminal jobs and queued uploads are kept.
   */
  async runRetentionPass(): Promise<RetentionPassResult> {
    const empty: RetentionPassResult = { deleted: [], kept: [], failures: 0 };
    if (!this.supported || this.#closed || this.#disabledReason !== null) return empty;
    if (this.#retentionRunning) return this.#retentionRunning;
    const pass = (async (): Promise<RetentionPassResult> => {
      const config = await this.#loadConfig();
      if (config === null) return empty;
      const result = await runRetention({
        runsRoot: this.#runsRoot,
        retentionDays: config.retention_days,
        nowMs: Date.now(),
        isProtected: (dir) => this.#isBusy(dir) || this.#queue.isQueuedOrActive(dir),
        onDeleted: async (dir) => {
          this.#queue.forget(dir);
          await this.#onRunDirDeleted(dir);
        },
        logger: this.#log,
      });
      this.#log.info({ deleted: result.deleted.length, kept: result.kept.length, failures: result.failures }, 'retention pass finished');
      return result;
    })();
    this.#retentionRunning = pass;
    try {
      return await pass;
    } catch (err) {
      this.#log.warn({ err }, 'retention pass failed');
      return { ...empty, failures: 1 };
    } finally {
      this.#retentionRunning = null;
    }
  }

  /** Stop timers, abort a running upload and wait for background work. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort();
    if (this.#retentionTimer) clearInterval(this.#retentionTimer);
    this.#retentionTimer = null;
    await this.#queue.close();
    await Promise.allSettled([...this.#background]);
  }

  // ---- internals -------------------------------------------------------------------------

  #track(promise: Promise<unknown>): void {
    const p = promise.catch((err: unknown) => this.#log.warn({ err }, 'NAS background task failed'));
    this.#background.add(p);
    void p.finally(() => this.#background.delete(p));
  }

  #scrub(text: string): string {
    return scrubSecret(text, this.#secret);
  }

  #isBusy(dir: string): boolean {
    try {
      return this.#isRunDirBusy(dir);
    } catch (err) {
      this.#log.warn({ err, dir }, 'isRunDirBusy failed; treating the directory as busy');
      return true;
    }
  }

  /** Create the parents of the config and credentials files. False (NAS disabled) on failure. */
  async #ensureDirs(): Promise<boolean> {
    const dirs = [...new Set([path.dirname(this.#configPath), path.dirname(this.#credentialsPath)])];
    for (const dir of dirs) {
      try {
        await fs.mkdir(dir, { recursive: true });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'error';
        this.#disabledReason = `cannot create ${dir} (${code})`;
        this.#log.warn({ dir, code }, 'NAS features disabled: cannot create directory');
        return false;
      }
    }
    this.#disabledReason = null;
    return true;
  }

  async #loadConfig(): Promise<NasConfig | null> {
    const result = await readNasConfigFile(this.#configPath);
    if (result.status === 'missing') return null;
    if (result.status === 'invalid') {
      this.#log.warn({ configPath: this.#configPath, reason: result.reason }, 'NAS config unusable; treating NAS as not configured');
      return null;
    }
    const secret = await readCredentialsPassword(result.config.cred_path);
    if (secret !== null) this.#secret = secret;
    return result.config;
  }

  async #transportFor(config: NasConfig): Promise<NasTransport> {
    if (config.transport === 'mount') return this.#mount;
    if (config.transport === 'smbclient' || this.#autoFallback) return this.#smbclient;
    this.#mountSupport ??= this.#collectMountSupport().then(decideMountSupport, (err: unknown) => ({
      supported: false,
      reason: `detection failed: ${(err as Error).message}`,
    }));
    const support = await this.#mountSupport;
    return support.supported ? this.#mount : this.#smbclient;
  }

  /** Probes, setups and uploads through the mount transport share one lock (7.3). */
  async #withMountLock<T>(kind: TransportKind, fn: () => Promise<T>): Promise<T> {
    if (kind !== 'mount') return fn();
    const previous = this.#lockTail;
    let release!: () => void;
    this.#lockTail = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /**
   * Run `op` on the configured transport; under `auto`, a mount refused for lack of privilege or
   * kernel support switches to smbclient for the rest of the process and `op` is repeated.
   */
  async #onTransport<T extends { mountUnavailable?: boolean }>(
    config: NasConfig,
    op: (t: NasTransport) => Promise<T>,
  ): Promise<{ transport: TransportKind; result: T }> {
    const transport = await this.#transportFor(config);
    const result = await this.#withMountLock(transport.kind, () => op(transport));
    if (transport.kind === 'mount' && result.mountUnavailable === true && config.transport === 'auto') {
      this.#autoFallback = true;
      this.#log.warn('mount not permitted or CIFS unsupported; auto transport falls back to smbclient');
      return { transport: 'smbclient', result: await op(this.#smbclient) };
    }
    return { transport: transport.kind, result };
  }

  async #probe(config: NasConfig, ensureBase: boolean): Promise<{ transport: TransportKind; outcome: ProbeOutcome }> {
    try {
      const { transport, result } = await this.#onTransport(config, (t) => t.probe(config, ensureBase, this.#closing.signal));
      return { transport, outcome: { ok: result.ok, message: this.#scrub(result.message) } };
    } catch (err) {
      return { transport: config.transport === 'mount' ? 'mount' : 'smbclient', outcome: { ok: false, message: this.#scrub(`probe error: ${(err as Error).message}`) } };
    }
  }

  #recordProbe(outcome: ProbeOutcome, transport: TransportKind, checkedAt: string): NasHealth {
    const health: NasHealth = { ok: outcome.ok, last_checked: checkedAt, message: outcome.message, transport };
    this.#lastProbe = health;
    if (outcome.ok) this.#log.info({ transport }, 'NAS probe ok');
    else this.#log.warn({ transport, message: outcome.message }, 'NAS probe failed');
    return health;
  }

  async #startupProbe(): Promise<void> {
    const config = this.#config;
    if (config === null) return;
    for (let attempt = 1; attempt <= this.#startupProbeAttempts && !this.#closed; attempt++) {
      const checkedAt = nowIso();
      const { transport, outcome } = await this.#probe(config, false);
      if (this.#closed) return;
      this.#recordProbe(outcome, transport, checkedAt);
      if (outcome.ok || attempt === this.#startupProbeAttempts) return;
      try {
        await sleep(this.#startupProbeDelayMs, undefined, { signal: this.#closing.signal, ref: false });
      } catch {
        return; // closed
      }
    }
  }

  async #resumeFailedUploads(): Promise<void> {
    const dirs = await findFailedUploadDirs(this.#runsRoot, this.#log);
    for (const dir of dirs) {
      if (this.#closed) return;
      this.#queue.enqueue(dir, path.basename(dir));
    }
    if (dirs.length > 0) this.#log.info({ count: dirs.length }, 'resuming failed uploads');
  }

  /**
   * A marker's text, if the marker is a one-name regular file of the run directory: a symlink or
   * hardlink placed there is never read (its text would be answered as the upload message).
   */
  async #readMarker(file: string): Promise<{ text: string; mtime: Date } | null> {
    let handle;
    try {
      handle = await openConfinedFile(await fs.realpath(path.dirname(file)), file);
      if (handle === null) return null;
      const st = await handle.stat();
      const buf = Buffer.alloc(Math.min(st.size, MAX_MARKER_BYTES));
      const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
      return { text: buf.subarray(0, bytesRead).toString('utf8'), mtime: st.mtime };
    } catch {
      return null;
    } finally {
      await handle?.close().catch(() => undefined);
    }
  }

  /** Destination below the base folder: run directory relative to RUNS_ROOT, else the run_id. */
  #destinationOf(dir: string, runId: string): string {
    const rel = path.relative(this.#runsRoot, dir);
    if (rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel)) return rel.split(path.sep).join('/');
    return runId;
  }

  /** One upload pass (7.5 steps 2-10). Never throws. */
  async #performUpload(dir: string, runId: string, signal: AbortSignal): Promise<UploadAttemptResult> {
    const log = this.#log.child({ runId, dir });
    const config = await this.#loadConfig();
    this.#config = config;
    if (config === null) return { outcome: 'dropped', message: 'NAS is not configured' };
    const st = await fs.stat(dir).catch(() => null);
    if (!st?.isDirectory()) return { outcome: 'dropped', message: 'run directory does not exist' };

    let reason: string;
    let transportUsed: TransportKind | null = null;
    try {
      // A new pass means the directory may hold unsent data: the old marker no longer vouches for it.
      await fs.rm(path.join(dir, UPLOAD_DONE_MARKER), { force: true });
      const { files, dirs } = await listRunDir(dir);
      const destRel = this.#destinationOf(dir, runId);
      log.info({ files: files.length, bytes: files.reduce((n, f) => n + f.size, 0), destRel }, 'upload started');
      const { transport, result } = await this.#onTransport<UploadOutcome>(config, (t) => t.upload({ config, runDir: dir, destRel, files, dirs, signal }));
      transportUsed = transport;
      if (result.ok) {
        const uploadedAt = nowIso();
        await fs.writeFile(path.join(dir, UPLOAD_DONE_MARKER), uploadedAt);
        await fs.rm(path.join(dir, UPLOAD_FAILED_MARKER), { force: true });
        log.info({ transport, files: files.length, uploadedAt }, 'upload done');
        return { outcome: 'done', uploadedAt };
      }
      reason = result.reason;
    } catch (err) {
      reason = `upload error: ${(err as Error).message}`;
    }
    reason = this.#scrub(reason);
    try {
      await fs.rm(path.join(dir, UPLOAD_DONE_MARKER), { force: true });
      await fs.writeFile(path.join(dir, UPLOAD_FAILED_MARKER), reason);
    } catch (err) {
      log.warn({ err }, 'cannot write upload_failed marker');
    }
    log.warn({ transport: transportUsed, reason }, 'upload failed');
    return { outcome: 'failed', message: reason };
  }
}
