/**
 * Kernel CIFS transport, as the references did it (7.3-7.5): `mount -t cifs` with the
 * credentials file, `rsync -a --partial` into the mounted share, verify by stat, `umount -l`
 * always. Needs root and kernel CIFS support.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { describeAbnormalEnd, trimOutput, type CommandResult, type RunCommand } from './command.js';
import type { NasConfig } from './config.js';
import { describeVerifyMismatch, UPLOAD_DONE_MARKER, UPLOAD_FAILED_MARKER } from './local-files.js';
import type { NasTransport, ProbeOutcome, UploadOutcome, UploadRequest } from './transport.js';

export interface MountCommand {
  file: string;
  args: string[];
}

/** `mount -t cifs //host/share <mp> -o <options>` (7.4). The password is in the credentials file only. */
export function buildMountCommand(
  config: Pick<NasConfig, 'host' | 'share' | 'cred_path' | 'cifs_vers' | 'port'>,
  mountPoint: string,
  ids: { uid: number; gid: number },
  readOnly: boolean,
): MountCommand {
  const options = [
    `credentials=${config.cred_path}`,
    `vers=${config.cifs_vers}`,
    'iocharset=utf8',
    `uid=${ids.uid}`,
    `gid=${ids.gid}`,
    'file_mode=0644',
    'dir_mode=0755',
    'noserverino',
    `port=${config.port}`,
    readOnly ? 'ro' : 'rw',
  ];
  return { file: 'mount', args: ['-t', 'cifs', `//${config.host}/${config.share}`, mountPoint, '-o', options.join(',')] };
}

/** `umount -l <mp>`: lazy, tolerates open handles (7.4). */
export function buildUmountCommand(mountPoint: string): MountCommand {
  return { file: 'umount', args: ['-l', mountPoint] };
}

/** `rsync -a --partial <run>/ <dest>/`, markers excluded (7.5 step 5). */
export function buildRsyncCommand(runDir: string, destDir: string): MountCommand {
  return {
    file: 'rsync',
    args: [
      '-a',
      '--partial',
      `--exclude=/${UPLOAD_DONE_MARKER}`,
      `--exclude=/${UPLOAD_FAILED_MARKER}`,
      `${runDir.replace(/\/+$/, '')}/`,
      `${destDir.replace(/\/+$/, '')}/`,
    ],
  };
}

/**
 * A mount refused for lack of privilege or kernel support (EPERM, ENODEV, unknown fs type), as
 * opposed to a refused login (EACCES, "error(13)"), which must be reported, not worked around.
 */
export function isMountUnavailable(result: CommandResult): boolean {
  if (result.error?.code === 'ENOENT') return true;
  const text = `${result.stderr}\n${result.stdout}`;
  return /operation not permitted|no such device|unknown filesystem type|not superuser|must be superuser|only root|error\((1|19)\)/i.test(
    text,
  );
}

/** Decode the octal escapes of /proc/self/mounts (`\040` = space). */
function decodeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Default `isMountPoint`: is `dir` listed as a mount target in /proc/self/mounts? */
export async function isListedMountPoint(dir: string): Promise<boolean> {
  let text: string;
  try {
    text = await fs.readFile('/proc/self/mounts', 'utf8');
  } catch {
    return false;
  }
  const target = path.resolve(dir);
  return text.split('\n').some((line) => {
    const field = line.split(' ')[1];
    return field !== undefined && decodeMountField(field) === target;
  });
}

export interface MountTransportOptions {
  runCommand: RunCommand;
  logger: Logger;
  /** Timeout of mount and umount (contract: 30 s). */
  commandTimeoutMs: number;
  /** Timeout of one rsync run. */
  transferTimeoutMs: number;
  isMountPoint?: (dir: string) => Promise<boolean>;
  uid?: number;
  gid?: number;
}

export class MountTransport implements NasTransport {
  readonly kind = 'mount' as const;
  readonly #run: RunCommand;
  readonly #logger: Logger;
  readonly #commandTimeoutMs: number;
  readonly #transferTimeoutMs: number;
  readonly #isMountPoint: (dir: string) => Promise<boolean>;
  readonly #ids: { uid: number; gid: number };

  constructor(options: MountTransportOptions) {
    this.#run = options.runCommand;
    this.#logger = options.logger;
    this.#commandTimeoutMs = options.commandTimeoutMs;
    this.#transferTimeoutMs = options.transferTimeoutMs;
    this.#isMountPoint = options.isMountPoint ?? isListedMountPoint;
    this.#ids = {
      uid: options.uid ?? (typeof process.getuid === 'function' ? process.getuid() : 0),
      gid: options.gid ?? (typeof process.getgid === 'function' ? process.getgid() : 0),
    };
  }

  async #exec(cmd: MountCommand, timeoutMs: number, signal?: AbortSignal): Promise<CommandResult> {
    this.#logger.debug({ cmd: cmd.file, args: cmd.args }, 'nas command');
    return this.#run(cmd.file, cmd.args, { timeoutMs, ...(signal ? { signal } : {}) });
  }

  /** Mount at `mountPoint` (unmounting a stale mount first). Returns an error text or null. */
  async #mount(config: NasConfig, mountPoint: string, readOnly: boolean, signal?: AbortSignal): Promise<{ error: string; unavailable: boolean } | null> {
    await fs.mkdir(mountPoint, { recursive: true });
    if (await this.#isMountPoint(mountPoint)) await this.#umount(mountPoint);
    const result = await this.#exec(buildMountCommand(config, mountPoint, this.#ids, readOnly), this.#commandTimeoutMs, signal);
    const abnormal = describeAbnormalEnd(result, 'mount');
    if (abnormal === 'timeout' || abnormal === 'aborted') return { error: abnormal, unavailable: false };
    if (result.code !== 0) {
      const err = abnormal ?? trimOutput(result.stderr || result.stdout);
      return { error: `mount failed rc=${result.code ?? -1} err=${err}`, unavailable: isMountUnavailable(result) };
    }
    if (!(await this.#isMountPoint(mountPoint))) {
      return { error: `mount failed: ${mountPoint} is not a mount point after mount`, unavailable: false };
    }
    return null;
  }

  async #umount(mountPoint: string): Promise<void> {
    const result = await this.#exec(buildUmountCommand(mountPoint), this.#commandTimeoutMs);
    if (result.code !== 0) {
      this.#logger.warn({ mountPoint, rc: result.code, err: trimOutput(result.stderr) }, 'umount failed');
    }
  }

  async probe(config: NasConfig, ensureBase: boolean, signal?: AbortSignal): Promise<ProbeOutcome> {
    const mountPoint = path.join(config.mount_root, 'health');
    let mounted = false;
    try {
      const failure = await this.#mount(config, mountPoint, !ensureBase, signal);
      if (failure) return { ok: false, message: `probe error: ${failure.error}`, mountUnavailable: failure.unavailable };
      mounted = true;
      const basePath = config.base_subdir === '' ? mountPoint : path.join(mountPoint, ...config.base_subdir.split('/'));
      if (ensureBase) await fs.mkdir(basePath, { recursive: true });
      const st = await fs.stat(basePath).catch(() => null);
      if (st?.isDirectory()) return { ok: true, message: 'ok' };
      return { ok: false, message: `base path not present: ${basePath}` };
    } catch (err) {
      return { ok: false, message: `probe error: ${(err as Error).message}` };
    } finally {
      if (mounted || (await this.#isMountPoint(mountPoint))) await this.#umount(mountPoint);
    }
  }

  async upload(request: UploadRequest): Promise<UploadOutcome> {
    const { config } = request;
    const mountPoint = path.join(config.mount_root, 'upload');
    let mounted = false;
    try {
      const failure = await this.#mount(config, mountPoint, false, request.signal);
      if (failure) return { ok: false, reason: `upload error: ${failure.error}`, mountUnavailable: failure.unavailable };
      mounted = true;
      const dest = path.join(mountPoint, ...config.base_subdir.split('/').filter(Boolean), ...request.destRel.split('/'));
      await fs.mkdir(dest, { recursive: true });

      const result = await this.#exec(buildRsyncCommand(request.runDir, dest), this.#transferTimeoutMs, request.signal);
      const abnormal = describeAbnormalEnd(result, 'rsync');
      if (abnormal === 'timeout' || abnormal === 'aborted') return { ok: false, reason: `upload error: ${abnormal}` };
      if (result.code !== 0) {
        return { ok: false, reason: `rsync rc=${result.code ?? -1}, err=${abnormal ?? trimOutput(result.stderr)}` };
      }

      const remote = new Map<string, number>();
      for (const file of request.files) {
        const st = await fs.stat(path.join(dest, ...file.rel.split('/'))).catch(() => null);
        if (st?.isFile()) remote.set(file.rel, st.size);
      }
      const mismatch = describeVerifyMismatch(request.files, remote);
      return mismatch === null ? { ok: true } : { ok: false, reason: mismatch };
    } catch (err) {
      return { ok: false, reason: `upload error: ${(err as Error).message}` };
    } finally {
      if (mounted || (await this.#isMountPoint(mountPoint))) await this.#umount(mountPoint);
    }
  }
}
