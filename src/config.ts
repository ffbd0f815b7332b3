/** Daemon configuration from the environment (rest-api.md 2), validated at start-up. */
import { execFileSync } from 'node:child_process';
import { isIP } from 'node:net';
import { ValidationError } from './errors.js';
import { DEFAULT_HTTP_LIMITS, type HttpServerLimits } from './http/limits.js';
import { DEFAULT_RECORDS_IN_MEMORY } from './jobs/job-table.js';
import { parseHostAndPort } from './http/request-guard.js';

export interface DaemonConfig {
  apiKey: string;
  boxId: string;
  runsRoot: string;
  nasConfigPath: string;
  nasCredentialsPath: string;
  nasMountRoot: string;
  build: string;
  /** Listen address; loopback unless HOST says otherwise (and then a key is required). */
  host: string;
  port: number;
  /** BOX_ALLOWED_HOSTS: further names (`name` or `name:port`) accepted in the Host header. */
  allowedHosts: string[];
  /** HTTP server time limits and connection cap (HTTP_* variables). */
  httpLimits: HttpServerLimits;
  /** BEEP_PORTS: extra device paths or globs. */
  beepPorts: string;
  /** BEEP_SIMULATE=N: attach N virtual potentiostats (0 = none). */
  simulate: number;
  logLevel: string;
  plotPoolSize: number;
  chromiumPath: string | undefined;
  galPollIntervalMs: number;
  /**
   * BOX_MIN_FREE_MB: free space (MB = 10^6 bytes) RUNS_ROOT must have for POST /jobs to be
   * admitted; null = the default, a few minutes of full-rate data on every slot (storage/free-space.ts); 0 = no check.
   */
  minFreeMb: number | null;
  /**
   * BOX_JOBS_IN_MEMORY: full records of ended jobs kept in memory (default 500); older jobs keep
   * only their GET /jobs entry in memory and their record is read back from RUNS_ROOT/.jobs when
   * asked for, so memory stays flat however many jobs the box runs.
   */
  jobsInMemory: number;
}

function readInt(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) throw new ValidationError(name, `must be an integer ${min}..${max}, got '${raw}'`);
  return v;
}

/** Default listen address: this machine only. */
export const DEFAULT_HOST = '127.0.0.1';

/** Whether a listen address reaches only this machine (`localhost`, 127.0.0.0/8, ::1). */
export function isLoopbackHost(host: string): boolean {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h === 'localhost') return true;
  if (h.startsWith('::ffff:') && isIP(h.slice(7)) === 4) h = h.slice(7);
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1';
  return false;
}

/**
 * An open API (no BOX_API_KEY) may only listen on loopback: on any other address anyone who can
 * reach the box could start experiments or redirect NAS uploads.
 */
export function assertSafeListen(host: string, apiKey: string): void {
  if (apiKey !== '' || isLoopbackHost(host)) return;
  throw new ValidationError(
    'HOST',
    `HOST=${host} makes the API reachable from the network, but BOX_API_KEY is empty, so anyone who can reach ` +
      'the box could start experiments and change its NAS settings. Set a key, e.g. BOX_API_KEY=$(openssl rand -hex 24) ' +
      '(clients send it in the X-API-Key header; for the service put it in /etc/beepbox/beepbox.env), ' +
      'or leave HOST unset to listen on 127.0.0.1 only.',
  );
}

function readAllowedHosts(env: NodeJS.ProcessEnv): string[] {
  const entries = (env.BOX_ALLOWED_HOSTS ?? '').split(',').map((e) => e.trim()).filter((e) => e !== '');
  for (const entry of entries) {
    if (parseHostAndPort(entry) === null) {
      throw new ValidationError('BOX_ALLOWED_HOSTS', `'${entry}' is not a host name or host:port (comma-separated list, e.g. box.lab.example,box.lab.example:443)`);
    }
  }
  return entries;
}

function readHttpLimits(env: NodeJS.ProcessEnv): HttpServerLimits {
  const d = DEFAULT_HTTP_LIMITS;
  const limits: HttpServerLimits = {
    headersTimeoutMs: readInt(env, 'HTTP_HEADERS_TIMEOUT_MS', d.headersTimeoutMs, 100, 600_000),
    requestTimeoutMs: readInt(env, 'HTTP_REQUEST_TIMEOUT_MS', d.requestTimeoutMs, 100, 3_600_000),
    keepAliveTimeoutMs: readInt(env, 'HTTP_KEEP_ALIVE_TIMEOUT_MS', d.keepAliveTimeoutMs, 100, 600_000),
    idleTimeoutMs: readInt(env, 'HTTP_IDLE_TIMEOUT_MS', d.idleTimeoutMs, 1_000, 86_400_000),
    maxConnections: readInt(env, 'HTTP_MAX_CONNECTIONS', d.maxConnections, 1, 65_535),
  };
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new ValidationError('HTTP_HEADERS_TIMEOUT_MS', `must not exceed HTTP_REQUEST_TIMEOUT_MS (${limits.requestTimeoutMs})`);
  }
  return limits;
}

/** Short git hash of the installation, else the start-up time (rest-api 2). */
function defaultBuild(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: new URL('../..', import.meta.url), stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  }
}

/** Read and check the configuration; throws `ValidationError` naming the variable at fault. */
export function readConfig(env: NodeJS.ProcessEnv = process.env): DaemonConfig {
  const apiKey = env.BOX_API_KEY ?? '';
  const host = env.HOST || DEFAULT_HOST;
  assertSafeListen(host, apiKey);
  return {
    apiKey,
    boxId: env.BOX_ID ?? '',
    runsRoot: env.RUNS_ROOT || '/opt/box/runs',
    nasConfigPath: env.NAS_CONFIG_PATH || '/opt/box/nas_smb.json',
    nasCredentialsPath: env.NAS_CREDENTIALS_PATH || '/opt/box/.smbcredentials_nas',
    nasMountRoot: env.NAS_MOUNT_ROOT || '/mnt/nas_box',
    build: env.BOX_BUILD || env.BOX_BUILD_ID || defaultBuild(),
    host,
    port: readInt(env, 'PORT', 8000, 0, 65535),
    allowedHosts: readAllowedHosts(env),
    httpLimits: readHttpLimits(env),
    beepPorts: env.BEEP_PORTS ?? '',
    simulate: readInt(env, 'BEEP_SIMULATE', 0, 0, 256),
    logLevel: env.LOG_LEVEL || 'info',
    plotPoolSize: readInt(env, 'PLOT_POOL_SIZE', 1, 1, 16),
    chromiumPath: env.CHROMIUM_PATH || undefined,
    galPollIntervalMs: readInt(env, 'GAL_POLL_INTERVAL_MS', 2, 1, 1000),
    minFreeMb: (env.BOX_MIN_FREE_MB ?? '').trim() === '' ? null : readInt(env, 'BOX_MIN_FREE_MB', 0, 0, 100_000_000),
    jobsInMemory: readInt(env, 'BOX_JOBS_IN_MEMORY', DEFAULT_RECORDS_IN_MEMORY, 0, 1_000_000),
  };
}
