/** Daemon configuration from the environment (rest-api.md 2), validated at start-up. */
import { execFileSync } from 'node:child_process';
import { ValidationError } from './errors.js';

export interface DaemonConfig {
  apiKey: string;
  boxId: string;
  runsRoot: string;
  nasConfigPath: string;
  nasCredentialsPath: string;
  nasMountRoot: string;
  build: string;
  host: string;
  port: number;
  /** BEEP_PORTS: extra device paths or globs. */
  beepPorts: string;
  /** BEEP_SIMULATE=N: attach N virtual potentiostats (0 = none). */
  simulate: number;
  logLevel: string;
  plotPoolSize: number;
  chromiumPath: string | undefined;
  galPollIntervalMs: number;
}

function readInt(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) throw new ValidationError(name, `must be an integer ${min}..${max}, got '${raw}'`);
  return v;
}

/** Short git hash of the installation, else the start-up time (rest-api 2). */
function defaultBuild(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: new URL('../..', import.meta.url), stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  }
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): DaemonConfig {
  return {
    apiKey: env.BOX_API_KEY ?? '',
    boxId: env.BOX_ID ?? '',
    runsRoot: env.RUNS_ROOT || '/opt/box/runs',
    nasConfigPath: env.NAS_CONFIG_PATH || '/opt/box/nas_smb.json',
    nasCredentialsPath: env.NAS_CREDENTIALS_PATH || '/opt/box/.smbcredentials_nas',
    nasMountRoot: env.NAS_MOUNT_ROOT || '/mnt/nas_box',
    build: env.BOX_BUILD || env.BOX_BUILD_ID || defaultBuild(),
    host: env.HOST || '0.0.0.0',
    port: readInt(env, 'PORT', 8000, 0, 65535),
    beepPorts: env.BEEP_PORTS ?? '',
    simulate: readInt(env, 'BEEP_SIMULATE', 0, 0, 256),
    logLevel: env.LOG_LEVEL || 'info',
    plotPoolSize: readInt(env, 'PLOT_POOL_SIZE', 1, 1, 16),
    chromiumPath: env.CHROMIUM_PATH || undefined,
    galPollIntervalMs: readInt(env, 'GAL_POLL_INTERVAL_MS', 2, 1, 1000),
  };
}
