/**
 * Storage names (rest-api.md 6.2, 6.3): the path-segment and client_datetime sanitisers, the
 * subfolder rule, `timestamp_name`, the file prefix and the file names a mode writes.
 * Pure functions; every refusal is an `DaemonError('storage.invalid_name', ...)` with the
 * contract's message.
 */
import { DaemonError } from '../errors.js';

/** Longest file or directory name, in UTF-8 bytes, that beepbox creates (ext4/xfs/btrfs limit). */
export const MAX_NAME_BYTES = 255;

/** The NAS markers at the top of a run directory (rest-api 6.1, 7.5). */
export const RUN_MARKER_FILES = ['UPLOAD_DONE', 'upload_failed'] as const;

/** Provenance of the jobs whose files live in a run directory (written by the daemon, see run-metadata-file.ts). */
export const RUN_METADATA_FILE = 'run.json';

/** Files at the top of a run directory that belong to its runs: listed, downloadable, zipped. */
export const RUN_ROOT_FILES: readonly string[] = [...RUN_MARKER_FILES, RUN_METADATA_FILE];

/** Folder below the run directory that holds one folder per slot. */
export const WELLS_DIR = 'Wells';

/** Field names used in `storage.invalid_name` messages. */
export type NameField = 'experiment_name' | 'subdir' | 'slot' | 'mode';

function invalidName(message: string): DaemonError {
  return new DaemonError('storage.invalid_name', message);
}

/**
 * Path-segment sanitiser (rest-api 6.3): trim; every maximal run of characters outside ASCII
 * `[0-9A-Za-z_-]` becomes one `_`; runs of `_` and of `-` collapse; leading/trailing `_`/`-`
 * are stripped. Throws "`<field>` must not be empty" for a blank value and "`<field>` is
 * invalid" when nothing is left.
 */
export function sanitizeSegment(value: string, field: NameField): string {
  const trimmed = value.trim();
  if (trimmed === '') throw invalidName(`${field} must not be empty`);
  const out = trimmed
    .replace(/[^0-9A-Za-z_-]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/-+/g, '-')
    .replace(/^[_-]+|[_-]+$/g, '');
  if (out === '') throw invalidName(`${field} is invalid`);
  return out;
}

/**
 * `client_datetime` sanitiser (rest-api 6.3): trim; `:` `/` `\` `.` become `-`, space becomes
 * `_`; every other run outside ASCII `[0-9A-Za-z_-]` becomes `-`; runs of `-` and of `_`
 * collapse; leading/trailing `_`/`-` are stripped.
 * `2025-11-03T10:15:31Z` → `2025-11-03T10-15-31Z`.
 */
export function sanitizeClientDatetime(value: string): string {
  const trimmed = value.trim();
  if (trimmed === '') throw invalidName('client_datetime must not be empty');
  const out = trimmed
    .replace(/[:/\\.]/g, '-')
    .replace(/ /g, '_')
    .replace(/[^0-9A-Za-z_-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/_+/g, '_')
    .replace(/^[_-]+|[_-]+$/g, '');
  if (out === '') throw invalidName('client_datetime is invalid');
  return out;
}

function isBlank(value: string | null | undefined): value is null | undefined {
  return value === null || value === undefined || value.trim() === '';
}

/**
 * Storage subfolder (rest-api 6.2): sanitised `subdir`, or sanitised `folder_name` when
 * `subdir` is blank; `null` when both are blank. Messages name the field `subdir` in both cases.
 */
export function resolveSubfolder(request: { subdir?: string | null; folder_name?: string | null }): string | null {
  const raw = !isBlank(request.subdir) ? request.subdir : !isBlank(request.folder_name) ? request.folder_name : null;
  return raw === null || raw === undefined ? null : sanitizeSegment(raw, 'subdir');
}

/** `timestamp_name` = the sanitised timestamp with every `T` replaced by `_` (rest-api 6.2). */
export function toTimestampName(timestampDir: string): string {
  return timestampDir.replace(/T/g, '_');
}

/** `<experiment>[_<subfolder>]_<timestamp_name>` (rest-api 6.2). */
export function buildPrefix(experiment: string, subfolder: string | null, timestampName: string): string {
  return subfolder === null ? `${experiment}_${timestampName}` : `${experiment}_${subfolder}_${timestampName}`;
}

/** The sanitised names of one run directory. */
export interface StorageNames {
  experiment: string;
  /** `null` when neither `subdir` nor `folder_name` was given. */
  subfolder: string | null;
  /** Sanitised `client_datetime`, the last folder of the run directory. */
  timestampDir: string;
  timestampName: string;
  prefix: string;
}

/** The request fields that name a run directory (rest-api 4.1). */
export interface StorageNameRequest {
  experiment_name: string;
  subdir?: string | null;
  folder_name?: string | null;
  client_datetime: string;
}

/**
 * Sanitises the naming fields in contract order (experiment_name, subfolder, client_datetime)
 * and checks that every directory name fits in {@link MAX_NAME_BYTES}.
 */
export function resolveStorageNames(request: StorageNameRequest): StorageNames {
  const experiment = sanitizeSegment(request.experiment_name, 'experiment_name');
  const subfolder = resolveSubfolder(request);
  const timestampDir = sanitizeClientDatetime(request.client_datetime);
  const timestampName = toTimestampName(timestampDir);
  const names = { experiment, subfolder, timestampDir, timestampName, prefix: buildPrefix(experiment, subfolder, timestampName) };
  assertNamesFit([experiment, subfolder ?? '', timestampDir]);
  return names;
}

/**
 * Suffixes (after `<prefix>_<slot>_<MODE>`) of every file a mode writes: the CSV and its plot,
 * plus EIS's spectrum and Bode plot and CDL's analysis (modes.md 3.5, 7.6).
 */
const BASE_SUFFIXES = ['.csv', '.png'] as const;
const EXTRA_SUFFIXES: Readonly<Record<string, readonly string[]>> = {
  EIS: ['_spectrum.csv', '_bode.png'],
  CDL: ['_cdl.csv', '_cdl.json', '_cdl.png'],
};

/** `<prefix>_<slot>_<MODE>` for an already-sanitised slot and mode. */
export function buildFileBase(prefix: string, slot: string, mode: string): string {
  return `${prefix}_${slot}_${mode}`;
}

/** `<prefix>_<slot>_<MODE><suffix>`, e.g. suffix `.csv`, `.png`, `_spectrum.csv`. */
export function buildFileName(prefix: string, slot: string, mode: string, suffix = '.csv'): string {
  return `${buildFileBase(prefix, slot, mode)}${suffix}`;
}

/** Every file-name suffix the mode may write (`.csv`, `.png`, then the mode's extras). */
export function listModeSuffixes(mode: string): readonly string[] {
  return [...BASE_SUFFIXES, ...(EXTRA_SUFFIXES[mode] ?? [])];
}

/** Throws `storage.invalid_name` "names too long" when any name exceeds {@link MAX_NAME_BYTES}. */
export function assertNamesFit(names: Iterable<string>): void {
  for (const name of names) {
    if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) throw invalidName('names too long');
  }
}
