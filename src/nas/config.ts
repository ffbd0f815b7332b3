/**
 * NAS configuration: the setup request (rest-api.md 3.16), the persisted config file (7.2)
 * and the credentials file (7.1). Pure functions only; file I/O lives in `nas-files.ts`.
 */
import { NasError } from './errors.js';

export type TransportSetting = 'auto' | 'mount' | 'smbclient';
export type TransportKind = 'mount' | 'smbclient';

export const TRANSPORT_SETTINGS: readonly TransportSetting[] = ['auto', 'mount', 'smbclient'];

/** Contract defaults (rest-api.md section 2). */
export const DEFAULT_NAS_CONFIG_PATH = '/opt/box/nas_smb.json';
export const DEFAULT_NAS_CREDENTIALS_PATH = '/opt/box/.smbcredentials_nas';
export const DEFAULT_NAS_MOUNT_ROOT = '/mnt/nas_box';
export const DEFAULT_RETENTION_DAYS = 14;
export const DEFAULT_SMB_PORT = 445;
export const CIFS_VERSION = '3.0';

/** Body of `POST /nas/setup` after JSON parsing; fields are checked by `validateSetupRequest`. */
export interface NasSetupRequest {
  host: string;
  share: string;
  username: string;
  password: string;
  base_subdir?: string | null;
  retention_days?: number | null;
  domain?: string | null;
  port?: number | null;
  transport?: TransportSetting | null;
}

/** Validated setup input. Holds the password: never log or persist this object as a whole. */
export interface NasSetup {
  host: string;
  share: string;
  username: string;
  password: string;
  baseSubdir: string;
  retentionDays: number;
  domain: string | null;
  port: number;
  transport: TransportSetting;
}

/** The config file (7.2). Never contains the password. Keys are the contract's. */
export interface NasConfig {
  host: string;
  share: string;
  username: string;
  cred_path: string;
  base_subdir: string;
  mount_root: string;
  retention_days: number;
  cifs_vers: string;
  domain: string | null;
  port: number;
  transport: TransportSetting;
}

/** Characters SMB forbids in names, plus control characters (they would break the smbclient script). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point: they are refused
const INVALID_PATH_CHARS = /["*:<>?|\\\u0000-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex -- NUL and line breaks are what this pattern looks for
const LINE_BREAKING_CHARS = /[\u0000\r\n]/;

function invalid(message: string): NasError {
  return new NasError('nas.invalid_config', message);
}

function stripSlashes(value: string): string {
  return value.replace(/^[/\\]+|[/\\]+$/g, '');
}

function readOptionalString(body: Record<string, unknown>, field: string): string | null {
  const value = body[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw invalid(`${field} must be a string`);
  return value;
}

function readOptionalInteger(body: Record<string, unknown>, field: string): number | null {
  const value = body[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(`${field} must be an integer`);
  return value;
}

/**
 * Check a setup request (3.16) and normalise it. Throws `NasError('nas.invalid_config')`; messages
 * name fields but never echo values, so a misplaced password cannot leak through them.
 */
export function validateSetupRequest(input: unknown): NasSetup {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalid('host/share/username/password required');
  }
  const body = input as Record<string, unknown>;
  const raw = {
    host: readOptionalString(body, 'host'),
    share: readOptionalString(body, 'share'),
    username: readOptionalString(body, 'username'),
    password: readOptionalString(body, 'password'),
  };
  const host = stripSlashes((raw.host ?? '').trim());
  const share = stripSlashes((raw.share ?? '').trim());
  const username = (raw.username ?? '').trim();
  const password = raw.password ?? '';
  if (host === '' || share === '' || username === '' || password === '') {
    throw invalid('host/share/username/password required');
  }
  if (/[\s/\\]/.test(host) || host.startsWith('-')) throw invalid('host is invalid');
  if (/[/\\]/.test(share) || INVALID_PATH_CHARS.test(share)) throw invalid('share is invalid');
  if (LINE_BREAKING_CHARS.test(username)) throw invalid('username is invalid');
  // The credentials file is line based; a line break cannot be represented in it.
  if (LINE_BREAKING_CHARS.test(password)) throw invalid('password must not contain line breaks');

  const baseSubdir = stripSlashes((readOptionalString(body, 'base_subdir') ?? '').trim());
  const segments = baseSubdir === '' ? [] : baseSubdir.split('/');
  if (segments.some((s) => s === '..')) throw invalid('base_subdir must not contain ".."');
  if (segments.some((s) => s === '' || s === '.')) throw invalid('base_subdir is invalid');
  if (INVALID_PATH_CHARS.test(baseSubdir)) throw invalid('base_subdir contains characters SMB does not allow');

  const retentionDays = readOptionalInteger(body, 'retention_days') ?? DEFAULT_RETENTION_DAYS;
  if (retentionDays < 1) throw invalid('retention_days must be at least 1');

  const port = readOptionalInteger(body, 'port') ?? DEFAULT_SMB_PORT;
  if (port < 1 || port > 65535) throw invalid('port must be between 1 and 65535');

  const domainRaw = (readOptionalString(body, 'domain') ?? '').trim();
  if (LINE_BREAKING_CHARS.test(domainRaw)) throw invalid('domain is invalid');

  const transportRaw = body['transport'];
  let transport: TransportSetting = 'auto';
  if (transportRaw !== undefined && transportRaw !== null) {
    if (typeof transportRaw !== 'string' || !TRANSPORT_SETTINGS.includes(transportRaw as TransportSetting)) {
      throw invalid('transport must be "auto", "mount" or "smbclient"');
    }
    transport = transportRaw as TransportSetting;
  }

  return {
    host,
    share,
    username,
    password,
    baseSubdir,
    retentionDays,
    domain: domainRaw === '' ? null : domainRaw,
    port,
    transport,
  };
}

/** The config file's object (7.2) for a validated setup. */
export function buildNasConfig(setup: NasSetup, paths: { credentialsPath: string; mountRoot: string }): NasConfig {
  return {
    host: setup.host,
    share: setup.share,
    username: setup.username,
    cred_path: paths.credentialsPath,
    base_subdir: setup.baseSubdir,
    mount_root: paths.mountRoot,
    retention_days: setup.retentionDays,
    cifs_vers: CIFS_VERSION,
    domain: setup.domain,
    port: setup.port,
    transport: setup.transport,
  };
}

/** Pretty-printed JSON with sorted keys (7.2), trailing newline. */
export function serializeNasConfig(config: NasConfig): string {
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(config).sort()) sorted[key] = config[key as keyof NasConfig];
  return `${JSON.stringify(sorted, null, 2)}\n`;
}

/**
 * Parse a config file's text. Returns null with a reason for anything unusable (the caller logs
 * it and treats NAS as not configured, 7.2). Optional [NEW] fields default as in 3.16.
 */
export function parseNasConfig(text: string): { config: NasConfig } | { config: null; reason: string } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { config: null, reason: 'config file is not valid JSON' };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { config: null, reason: 'config file is not a JSON object' };
  }
  const d = data as Record<string, unknown>;
  const str = (k: string): string | null => (typeof d[k] === 'string' ? (d[k] as string) : null);
  const host = str('host');
  const share = str('share');
  const username = str('username');
  const credPath = str('cred_path');
  const mountRoot = str('mount_root');
  if (!host || !share || !username || !credPath || !mountRoot) {
    return { config: null, reason: 'config file lacks host, share, username, cred_path or mount_root' };
  }
  const baseSubdir = str('base_subdir') ?? '';
  if (baseSubdir.split('/').includes('..') || INVALID_PATH_CHARS.test(baseSubdir)) {
    return { config: null, reason: 'config file has an invalid base_subdir' };
  }
  const retention = d['retention_days'] ?? DEFAULT_RETENTION_DAYS;
  if (typeof retention !== 'number' || !Number.isInteger(retention) || retention < 1) {
    return { config: null, reason: 'config file has an invalid retention_days' };
  }
  const port = d['port'] ?? DEFAULT_SMB_PORT;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    return { config: null, reason: 'config file has an invalid port' };
  }
  const transport = d['transport'] ?? 'auto';
  if (typeof transport !== 'string' || !TRANSPORT_SETTINGS.includes(transport as TransportSetting)) {
    return { config: null, reason: 'config file has an invalid transport' };
  }
  return {
    config: {
      host,
      share,
      username,
      cred_path: credPath,
      base_subdir: stripSlashes(baseSubdir),
      mount_root: mountRoot,
      retention_days: retention,
      cifs_vers: str('cifs_vers') ?? CIFS_VERSION,
      domain: str('domain'),
      port,
      transport: transport as TransportSetting,
    },
  };
}

/** Credentials file text (7.1): `username=`, `password=`, optional `domain=`, each newline-terminated. */
export function formatCredentials(setup: Pick<NasSetup, 'username' | 'password' | 'domain'>): string {
  let text = `username=${setup.username}\npassword=${setup.password}\n`;
  if (setup.domain !== null) text += `domain=${setup.domain}\n`;
  return text;
}

/** The password stored in a credentials file, or null. Used only to scrub subprocess output. */
export function parseCredentialsPassword(text: string): string | null {
  for (const line of text.split('\n')) {
    const m = /^\s*password\s*=(.*)$/.exec(line);
    if (m) return m[1] ?? '';
  }
  return null;
}
