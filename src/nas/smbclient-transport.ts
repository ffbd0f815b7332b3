/**
 * User-space SMB3 transport through the `smbclient` program [NEW]: needs no root and no kernel
 * CIFS module. Credentials come from the credentials file (`-A`), commands from stdin.
 * probe = connect + create/check the base folder; upload = recursive mkdir + put;
 * verify = recursive listing with sizes.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import { describeAbnormalEnd, trimOutput, type CommandResult, type RunCommand } from './command.js';
import type { NasConfig } from './config.js';
import { describeVerifyMismatch } from './local-files.js';
import {
  buildListScript,
  buildProbeScript,
  buildSmbclientArgv,
  buildUploadScript,
  findStatusErrors,
  parsePwd,
  parseSmbclientListing,
  sameSharePath,
  statusOf,
  toSharePath,
} from './smbclient-script.js';
import type { NasTransport, ProbeOutcome, UploadOutcome, UploadRequest } from './transport.js';

const ABSENT_STATUSES = new Set(['NT_STATUS_OBJECT_NAME_NOT_FOUND', 'NT_STATUS_OBJECT_PATH_NOT_FOUND', 'NT_STATUS_NOT_A_DIRECTORY']);

/** Output lines that carry no information about a failure. */
function isNoise(line: string): boolean {
  return (
    line.startsWith('Try "help"') ||
    line.startsWith('putting file ') ||
    line.startsWith('Current directory is ') ||
    /^\s*\d+ blocks of size \d+\./.test(line)
  );
}

/** The most useful failure text of a run: NT_STATUS lines, else stderr, else stdout. */
export function describeSmbclientFailure(result: CommandResult): string {
  const combined = `${result.stdout}\n${result.stderr}`;
  const statuses = findStatusErrors(combined);
  if (statuses.length > 0) return trimOutput(statuses.join('\n'));
  const meaningful = (text: string): string =>
    trimOutput(
      text
        .split(/\r?\n/)
        .filter((l) => !isNoise(l.trim()))
        .join('\n'),
    );
  return meaningful(result.stderr) || meaningful(result.stdout) || 'no output';
}

export interface SmbclientTransportOptions {
  runCommand: RunCommand;
  logger: Logger;
  /** Timeout of a probe or listing session (contract: 30 s for probes). */
  commandTimeoutMs: number;
  /** Timeout of one upload session. */
  transferTimeoutMs: number;
  /** Program to run (default `smbclient`). */
  program?: string;
}

export class SmbclientTransport implements NasTransport {
  readonly kind = 'smbclient' as const;
  readonly #run: RunCommand;
  readonly #logger: Logger;
  readonly #commandTimeoutMs: number;
  readonly #transferTimeoutMs: number;
  readonly #program: string;

  constructor(options: SmbclientTransportOptions) {
    this.#run = options.runCommand;
    this.#logger = options.logger;
    this.#commandTimeoutMs = options.commandTimeoutMs;
    this.#transferTimeoutMs = options.transferTimeoutMs;
    this.#program = options.program ?? 'smbclient';
  }

  async #session(config: NasConfig, script: string, timeoutMs: number, signal?: AbortSignal): Promise<CommandResult> {
    // smbclient's own per-operation timeout stays below ours so it reports first when it can.
    const args = buildSmbclientArgv(config, Math.min(30, Math.max(1, timeoutMs / 1000 - 1)));
    this.#logger.debug({ cmd: this.#program, args, commands: script.split('\n').length - 1 }, 'nas command');
    return this.#run(this.#program, args, { timeoutMs, input: script, ...(signal ? { signal } : {}) });
  }

  async probe(config: NasConfig, ensureBase: boolean, signal?: AbortSignal): Promise<ProbeOutcome> {
    const base = toSharePath(config.base_subdir);
    const shown = `//${config.host}/${config.share}${base === '\\' ? '' : base.split('\\').join('/')}`;
    let script: string;
    try {
      script = buildProbeScript(base, ensureBase);
    } catch (err) {
      return { ok: false, message: `probe error: ${(err as Error).message}` };
    }
    const result = await this.#session(config, script, this.#commandTimeoutMs, signal);
    const abnormal = describeAbnormalEnd(result, this.#program);
    if (abnormal !== null) return { ok: false, message: `probe error: ${abnormal}` };
    if (result.code !== 0) {
      return { ok: false, message: `probe error: smbclient failed rc=${result.code ?? -1} err=${describeSmbclientFailure(result)}` };
    }
    const errors = findStatusErrors(`${result.stdout}\n${result.stderr}`);
    const mkdirError = errors.find((l) => l.includes('making remote directory'));
    if (mkdirError) return { ok: false, message: `probe error: mkdir failed: ${mkdirError}` };
    const cdError = errors.find((l) => l.startsWith('cd '));
    if (cdError) {
      const status = statusOf(cdError);
      if (status !== null && ABSENT_STATUSES.has(status)) return { ok: false, message: `base path not present: ${shown}` };
      return { ok: false, message: `probe error: ${cdError}` };
    }
    const pwd = parsePwd(result.stdout);
    if (pwd === null || !sameSharePath(pwd, base)) {
      const detail = errors[0] ?? describeSmbclientFailure(result);
      return { ok: false, message: `probe error: smbclient did not confirm the base folder (${detail})` };
    }
    return { ok: true, message: 'ok' };
  }

  async upload(request: UploadRequest): Promise<UploadOutcome> {
    const { config } = request;
    const dest = toSharePath(config.base_subdir, request.destRel);
    let script: string;
    try {
      const remoteDirs = [dest, ...request.dirs.map((d) => toSharePath(config.base_subdir, request.destRel, d))];
      const files = request.files.map((f) => ({
        localPath: path.join(request.runDir, ...f.rel.split('/')),
        remotePath: toSharePath(config.base_subdir, request.destRel, f.rel),
      }));
      script = buildUploadScript(remoteDirs, files);
    } catch (err) {
      return { ok: false, reason: `upload error: ${(err as Error).message}` };
    }

    const put = await this.#session(config, script, this.#transferTimeoutMs, request.signal);
    const putAbnormal = describeAbnormalEnd(put, this.#program);
    if (putAbnormal !== null) return { ok: false, reason: `upload error: ${putAbnormal}` };
    const putOutput = `${put.stdout}\n${put.stderr}`;
    const localErrors = putOutput.split(/\r?\n/).filter((l) => /^Error opening local file/i.test(l.trim()));
    if (put.code !== 0 || findStatusErrors(putOutput).length > 0 || localErrors.length > 0) {
      const err = localErrors.length > 0 ? trimOutput(localErrors.join('\n')) : describeSmbclientFailure(put);
      return { ok: false, reason: `smbclient rc=${put.code ?? -1}, err=${err}` };
    }

    const list = await this.#session(config, buildListScript(dest), Math.max(this.#commandTimeoutMs, 60_000), request.signal);
    const listAbnormal = describeAbnormalEnd(list, this.#program);
    if (listAbnormal !== null) return { ok: false, reason: `upload error: verify listing ${listAbnormal}` };
    if (list.code !== 0) {
      return { ok: false, reason: `upload error: verify listing failed rc=${list.code ?? -1} err=${describeSmbclientFailure(list)}` };
    }
    const pwd = parsePwd(list.stdout);
    const listing = parseSmbclientListing(list.stdout, dest);
    if (pwd === null || !sameSharePath(pwd, dest) || listing.errors.length > 0) {
      const detail = listing.errors[0] ?? 'destination folder not confirmed';
      return { ok: false, reason: `upload error: verify listing failed: ${detail}` };
    }
    const remote = new Map<string, number>();
    for (const entry of listing.entries) if (!entry.isDir) remote.set(entry.path, entry.size);
    const mismatch = describeVerifyMismatch(request.files, remote);
    return mismatch === null ? { ok: true } : { ok: false, reason: mismatch };
  }
}
