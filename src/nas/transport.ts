/**
 * One interface over the two ways of reaching the share (7, 3.16 `transport`): kernel CIFS mount
 * + rsync, or user-space smbclient. Both give the same messages and outcomes; the service writes
 * the markers. Transports return raw texts; the service scrubs the password out of them.
 */
import { promises as fs } from 'node:fs';
import type { NasConfig, TransportKind } from './config.js';
import type { LocalFile } from './local-files.js';

export interface ProbeOutcome {
  ok: boolean;
  /** `ok`, `base path not present: <path>` or `probe error: <text>` (7.3). */
  message: string;
  /** The mount itself was refused for lack of privilege or kernel support (auto falls back). */
  mountUnavailable?: boolean;
}

export interface UploadRequest {
  config: NasConfig;
  /** Absolute local run directory. */
  runDir: string;
  /** Destination below the base folder, `/`-separated (run dir relative to RUNS_ROOT, or run_id). */
  destRel: string;
  /** Regular files to send and verify (markers excluded). */
  files: readonly LocalFile[];
  /** Local subdirectories, parents first. */
  dirs: readonly string[];
  signal: AbortSignal;
}

export type UploadOutcome = { ok: true; mountUnavailable?: undefined } | { ok: false; reason: string; mountUnavailable?: boolean };

export interface NasTransport {
  readonly kind: TransportKind;
  /** Probe the share (7.3). `ensureBase` creates the base folder (setup), else checks it (health). */
  probe(config: NasConfig, ensureBase: boolean, signal?: AbortSignal): Promise<ProbeOutcome>;
  /** Send a run directory and verify it (7.5 steps 3-7, 10). Never throws for remote failures. */
  upload(request: UploadRequest): Promise<UploadOutcome>;
}

/** Facts that decide whether `auto` may use kernel CIFS. */
export interface MountSupportFacts {
  platform: NodeJS.Platform;
  uid: number | null;
  /** Text of /proc/filesystems, or null if unreadable. */
  procFilesystems: string | null;
  /** A cifs kernel module file exists for the running kernel (loadable on demand). */
  cifsModuleAvailable: boolean;
  mountCifsAvailable: boolean;
  rsyncAvailable: boolean;
}

/** `auto` picks mount only when every precondition holds (cheap checks, no mount attempt). */
export function decideMountSupport(facts: MountSupportFacts): { supported: boolean; reason: string } {
  if (facts.platform !== 'linux') return { supported: false, reason: `platform ${facts.platform}` };
  if (facts.uid !== 0) return { supported: false, reason: 'not running as root' };
  const cifsListed = (facts.procFilesystems ?? '').split('\n').some((l) => /(^|\s)(cifs|smb3)\s*$/.test(l));
  if (!cifsListed && !facts.cifsModuleAvailable) return { supported: false, reason: 'kernel has no CIFS support' };
  if (!facts.mountCifsAvailable) return { supported: false, reason: 'mount.cifs not installed' };
  if (!facts.rsyncAvailable) return { supported: false, reason: 'rsync not installed' };
  return { supported: true, reason: 'kernel CIFS available' };
}

async function anyExists(paths: readonly string[]): Promise<boolean> {
  for (const p of paths) {
    try {
      await fs.access(p);
      return true;
    } catch {
      // try the next candidate
    }
  }
  return false;
}

const SYSTEM_BIN_DIRS = ['/sbin', '/usr/sbin', '/bin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'];

/** Gather `MountSupportFacts` for this process (reads /proc and a few paths; never mounts). */
export async function collectMountSupportFacts(): Promise<MountSupportFacts> {
  let procFilesystems: string | null = null;
  try {
    procFilesystems = await fs.readFile('/proc/filesystems', 'utf8');
  } catch {
    procFilesystems = null;
  }
  let release = '';
  try {
    release = (await fs.readFile('/proc/sys/kernel/osrelease', 'utf8')).trim();
  } catch {
    release = '';
  }
  const moduleDirs = ['kernel/fs/smb/client', 'kernel/fs/cifs'];
  const moduleFiles = release === '' ? [] : moduleDirs.flatMap((d) => ['', '.xz', '.zst', '.gz'].map((z) => `/lib/modules/${release}/${d}/cifs.ko${z}`));
  return {
    platform: process.platform,
    uid: typeof process.getuid === 'function' ? process.getuid() : null,
    procFilesystems,
    cifsModuleAvailable: await anyExists(moduleFiles),
    mountCifsAvailable: await anyExists(SYSTEM_BIN_DIRS.map((d) => `${d}/mount.cifs`)),
    rsyncAvailable: await anyExists(SYSTEM_BIN_DIRS.map((d) => `${d}/rsync`)),
  };
}
