/**
 * Pure helpers for the smbclient transport: argv, command scripts (fed on stdin, one command per
 * line, so `;` in names is harmless) and parsers for smbclient's `ls`, `pwd` and error output.
 *
 * smbclient exits 0 after a script even when commands in it failed; failures show up only as
 * `NT_STATUS_*` text. Every caller therefore inspects the output, not just the exit code.
 */
import type { NasConfig } from './config.js';

/** Line of `ls` output: `"  " + name.padEnd(30) + attrs.padStart(7) + " " + size.padStart(8) + "  " + date`. */
const ENTRY_LINE = /^ {2}(.*?) +(\d+) {2}(\S+ \S+ +\d{1,2} \d{1,2}:\d{2}:\d{2} \d{4})\s*$/;
const SUMMARY_LINE = /^\s*\d+ blocks of size \d+\. \d+ blocks available\s*$/;
const NT_STATUS = /NT_STATUS_[A-Z0-9_]+/;
const NAME_FIELD_WIDTH = 30;
const ATTR_FIELD_WIDTH = 7;

export interface SmbListingEntry {
  /** Path relative to the listed directory, `/`-separated. */
  path: string;
  size: number;
  isDir: boolean;
  attrs: string;
}

export interface SmbListing {
  entries: SmbListingEntry[];
  /** Lines reporting an `NT_STATUS_*` error, in output order. */
  errors: string[];
  /** Directory headers that were not below the listed directory (a failed `cd`). */
  foreignDirs: string[];
}

/** smbclient argv: credentials come from the auth file (`-A`), never from the command line. */
export function buildSmbclientArgv(config: Pick<NasConfig, 'host' | 'share' | 'cred_path' | 'port'>, operationTimeoutS: number): string[] {
  return [
    `//${config.host}/${config.share}`,
    '-A',
    config.cred_path,
    '-p',
    String(config.port),
    '-m',
    'SMB3',
    '-t',
    String(Math.max(1, Math.ceil(operationTimeoutS))),
  ];
}

/** Quote one argument of a script line. smbclient has no escape for `"`, so such names are refused. */
export function quoteSmbArg(value: string): string {
  // eslint-disable-next-line no-control-regex -- control characters would break the script line, so they are refused
  if (/["\u0000-\u001f]/.test(value)) throw new Error(`unsupported character in path: ${JSON.stringify(value)}`);
  return `"${value}"`;
}

/** Share-absolute path (`\a\b`) from `/`-separated parts; empty parts are skipped. */
export function toSharePath(...parts: string[]): string {
  const segments = parts.flatMap((p) => p.split(/[/\\]+/)).filter((s) => s !== '');
  return `\\${segments.join('\\')}`;
}

/**
 * Probe script (7.3): optionally create the base folder (with `recurse ON`, smbclient's mkdir
 * creates missing parents), then change into it and print the working directory as proof.
 */
export function buildProbeScript(baseSharePath: string, ensureBase: boolean): string {
  const lines: string[] = [];
  if (ensureBase && baseSharePath !== '\\') {
    lines.push('recurse ON', `mkdir ${quoteSmbArg(baseSharePath)}`, 'recurse OFF');
  }
  lines.push(`cd ${quoteSmbArg(baseSharePath)}`, 'pwd');
  return `${lines.join('\n')}\n`;
}

export interface SmbPutFile {
  /** Absolute local path. */
  localPath: string;
  /** Share-absolute destination path. */
  remotePath: string;
}

/**
 * Upload script: create every destination directory (parents first; `recurse ON` makes mkdir
 * skip existing components), then put each file by absolute local and remote path, so a failed
 * mkdir can never redirect a file to another folder.
 */
export function buildUploadScript(remoteDirs: readonly string[], files: readonly SmbPutFile[]): string {
  const lines: string[] = ['recurse ON'];
  for (const dir of remoteDirs) if (dir !== '\\') lines.push(`mkdir ${quoteSmbArg(dir)}`);
  lines.push('recurse OFF');
  for (const f of files) lines.push(`put ${quoteSmbArg(f.localPath)} ${quoteSmbArg(f.remotePath)}`);
  return `${lines.join('\n')}\n`;
}

/** Verification script: change into the destination, prove it with `pwd`, list recursively. */
export function buildListScript(dirSharePath: string): string {
  return `cd ${quoteSmbArg(dirSharePath)}\npwd\nrecurse ON\nls\n`;
}

/** Lines of combined output that report an `NT_STATUS_*` failure. */
export function findStatusErrors(output: string): string[] {
  return output
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => NT_STATUS.test(l));
}

/** The `NT_STATUS_*` token of a line, or null. */
export function statusOf(line: string): string | null {
  return NT_STATUS.exec(line)?.[0] ?? null;
}

/**
 * Share-relative directory printed by `pwd` ("Current directory is \\host\share\a\b\"), as a
 * share-absolute path (`\a\b`, `\` for the root), or null if no such line was printed.
 */
export function parsePwd(output: string): string | null {
  const m = /^Current directory is \\\\[^\\]+\\[^\\]+(\\.*)$/m.exec(output);
  if (!m) return null;
  const rest = (m[1] ?? '\\').replace(/\\+$/, '');
  return rest === '' ? '\\' : rest;
}

/** Case-insensitive comparison of share paths (SMB names are case-insensitive). */
export function sameSharePath(a: string, b: string): boolean {
  const norm = (p: string): string => toSharePath(p).toLowerCase();
  return norm(a) === norm(b);
}

function splitNameAndAttrs(prefix: string): { name: string; attrs: string } {
  // Name padded to 30 columns, then attributes right-aligned in 7 columns. Samba prints at least
  // one attribute letter for every entry (N for "normal"), so the last 7 columns are the field;
  // anything shorter can only be a name with no attribute field.
  if (prefix.length >= NAME_FIELD_WIDTH + ATTR_FIELD_WIDTH) {
    const tail = prefix.slice(-ATTR_FIELD_WIDTH);
    if (/^ *[A-Z]+$/.test(tail)) {
      return { name: prefix.slice(0, -ATTR_FIELD_WIDTH).replace(/ +$/, ''), attrs: tail.trim() };
    }
  }
  return { name: prefix.replace(/ +$/, ''), attrs: '' };
}

/**
 * Parse the output of `cd <dir>; recurse ON; ls` into entries relative to `dirSharePath`.
 * The first block (no header) is the directory itself; each later block starts with a header
 * line holding its share-absolute path. `.`/`..`, banners and the free-space line are skipped.
 */
export function parseSmbclientListing(output: string, dirSharePath: string): SmbListing {
  const base = toSharePath(dirSharePath);
  const baseLower = base.toLowerCase();
  const entries: SmbListingEntry[] = [];
  const errors: string[] = [];
  const foreignDirs: string[] = [];
  let current: string | null = ''; // relative dir of the current block, null = outside base

  for (const rawLine of output.split(/\r?\n/)) {
    const line = rawLine.replace(/\r$/, '');
    if (line.trim() === '') continue;
    if (NT_STATUS.test(line)) {
      errors.push(line.trim());
      continue;
    }
    if (line.startsWith('\\')) {
      const header = toSharePath(line);
      const headerLower = header.toLowerCase();
      if (headerLower === baseLower) current = '';
      else if (baseLower === '\\' || headerLower.startsWith(`${baseLower}\\`)) {
        current = header
          .slice(baseLower === '\\' ? 1 : base.length + 1)
          .split('\\')
          .join('/');
      } else {
        current = null;
        foreignDirs.push(header);
      }
      continue;
    }
    if (SUMMARY_LINE.test(line)) continue;
    const m = ENTRY_LINE.exec(line);
    if (!m) continue;
    const { name, attrs } = splitNameAndAttrs(m[1] ?? '');
    if (name === '.' || name === '..' || name === '' || current === null) continue;
    entries.push({
      path: current === '' ? name : `${current}/${name}`,
      size: Number(m[2]),
      isDir: attrs.includes('D'),
      attrs,
    });
  }
  return { entries, errors, foreignDirs };
}
