/**
 * Run directory layout (rest-api.md 6.1, 6.2):
 *
 *   RUNS_ROOT/<experiment>/[<subfolder>/]<timestamp_dir>/Wells/<slot>/<MODE>/<prefix>_<slot>_<MODE>.csv
 *
 * The run directory depends only on the names, never on the run_id, so several runs (one per
 * well in the GUI's batches) share it; each owns only `Wells/<slot>/` of its own slots.
 */
import { lstat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { DaemonError } from '../errors.js';
import {
  WELLS_DIR,
  assertNamesFit,
  buildFileBase,
  listModeSuffixes,
  resolveStorageNames,
  sanitizeSegment,
  type StorageNameRequest,
  type StorageNames,
} from './names.js';

/** Paths of one mode of one slot. `*Relative` paths are run-relative with `/` separators. */
export interface ModeFiles {
  slot: string;
  mode: string;
  /** Absolute mode directory `<runDir>/Wells/<slot>/<MODE>`. */
  dir: string;
  /** `Wells/<slot>/<MODE>/` (trailing slash). */
  dirRelative: string;
  /** `<prefix>_<slot>_<MODE>`, without extension. */
  base: string;
  /** Absolute path of the measurement CSV. */
  csv: string;
  /** Absolute path of the plot (written only when `make_plot`). */
  png: string;
  /** EIS: `<base>_spectrum.csv`; otherwise `null`. */
  spectrumCsv: string | null;
  /** EIS: `<base>_bode.png`; otherwise `null`. */
  bodePng: string | null;
  /** CDL: `<base>_cdl.csv`; otherwise `null`. */
  cdlCsv: string | null;
  /** CDL: `<base>_cdl.json` (the analysis); otherwise `null`. */
  cdlJson: string | null;
  /** CDL: `<base>_cdl.png` (capacitive current vs scan rate); otherwise `null`. */
  cdlPng: string | null;
  /** Every file this mode may write, run-relative, in the order csv, png, extras. */
  allRelative: string[];
}

export interface RunLayout {
  runsRoot: string;
  names: StorageNames;
  /** Absolute run directory. */
  runDir: string;
  /** Run directory relative to `runsRoot`, `/` separators (what the run index stores). */
  runDirRelative: string;
  /** `Wells/<slot>/<MODE>/` for a slot and a normalised mode (both pass the segment sanitiser). */
  modeDir(slot: string, mode: string): string;
  /** Every path of one mode of one slot. */
  modeFiles(slot: string, mode: string): ModeFiles;
  /** `Wells/<slot>/` of one slot (the part of the run directory a run owns). */
  slotDir(slot: string): string;
  /** Absolute path of a run-relative `/` path. */
  toAbsolute(relativePath: string): string;
}

/** Slots and modes a job will write; when given, every file name is checked against 255 bytes. */
export interface RunScope {
  slots: readonly string[];
  modes: readonly string[];
}

/**
 * Computes the run directory and file names of a request. Throws `storage.invalid_name` for a
 * blank/invalid name and, when `scope` is given, "names too long" if any file the job would write
 * has a name longer than 255 bytes. Touches no file.
 */
export function computeRunLayout(runsRoot: string, request: StorageNameRequest, scope?: RunScope): RunLayout {
  const root = resolve(runsRoot);
  const names = resolveStorageNames(request);
  const segments = names.subfolder === null ? [names.experiment, names.timestampDir] : [names.experiment, names.subfolder, names.timestampDir];
  const runDir = join(root, ...segments);
  const runDirRelative = segments.join('/');

  const modeFiles = (slot: string, mode: string): ModeFiles => {
    const s = sanitizeSegment(slot, 'slot');
    const m = sanitizeSegment(mode, 'mode');
    const dirRelative = `${WELLS_DIR}/${s}/${m}/`;
    const dir = join(runDir, WELLS_DIR, s, m);
    const base = buildFileBase(names.prefix, s, m);
    const suffixes = listModeSuffixes(m);
    const abs = (suffix: string): string => join(dir, base + suffix);
    return {
      slot: s,
      mode: m,
      dir,
      dirRelative,
      base,
      csv: abs('.csv'),
      png: abs('.png'),
      spectrumCsv: suffixes.includes('_spectrum.csv') ? abs('_spectrum.csv') : null,
      bodePng: suffixes.includes('_bode.png') ? abs('_bode.png') : null,
      cdlCsv: suffixes.includes('_cdl.csv') ? abs('_cdl.csv') : null,
      cdlJson: suffixes.includes('_cdl.json') ? abs('_cdl.json') : null,
      cdlPng: suffixes.includes('_cdl.png') ? abs('_cdl.png') : null,
      allRelative: suffixes.map((suffix) => dirRelative + base + suffix),
    };
  };

  const layout: RunLayout = {
    runsRoot: root,
    names,
    runDir,
    runDirRelative,
    modeDir: (slot, mode) => modeFiles(slot, mode).dirRelative,
    modeFiles,
    slotDir: (slot) => `${WELLS_DIR}/${sanitizeSegment(slot, 'slot')}/`,
    toAbsolute: (relativePath) => join(runDir, ...relativePath.split('/').filter((p) => p !== '')),
  };

  if (scope !== undefined) {
    const fileNames: string[] = [];
    for (const slot of scope.slots) {
      for (const mode of scope.modes) {
        const files = modeFiles(slot, mode);
        fileNames.push(files.slot, files.mode);
        for (const rel of files.allRelative) fileNames.push(rel.slice(rel.lastIndexOf('/') + 1));
      }
    }
    assertNamesFit(fileNames);
  }
  return layout;
}

/** Run-relative `/` path of an absolute path inside the run directory. */
export function toRunRelative(runDir: string, absPath: string): string {
  return relative(runDir, absPath).split(sep).join('/');
}

/**
 * Run index value for a run directory: relative to `runsRoot` with `/` separators, or the
 * absolute path when the directory is not below `runsRoot` (rest-api 6.4).
 */
export function toIndexPath(runsRoot: string, runDir: string): string {
  const rel = relative(resolve(runsRoot), resolve(runDir));
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return resolve(runDir);
  return rel.split(sep).join('/');
}

/**
 * First file (run-relative, in slot → mode → csv, png, extras order) that a job over these
 * slots and modes would write and that already exists (any kind, a dangling symlink included);
 * `null` when none does.
 */
export async function findExistingFiles(layout: RunLayout, slots: readonly string[], modes: readonly string[]): Promise<string | null> {
  const targets = slots.flatMap((slot) => modes.flatMap((mode) => layout.modeFiles(slot, mode).allRelative));
  const exists = await Promise.all(
    targets.map(async (rel) => {
      try {
        await lstat(layout.toAbsolute(rel));
        return true;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return false;
        throw err;
      }
    }),
  );
  const first = exists.indexOf(true);
  return first < 0 ? null : (targets[first] ?? null);
}

/** 409 `storage.exists` naming the first existing target file (rest-api 6.1), before anything is reserved. */
export async function assertNoExistingFiles(layout: RunLayout, slots: readonly string[], modes: readonly string[]): Promise<void> {
  const existing = await findExistingFiles(layout, slots, modes);
  if (existing !== null) {
    throw new DaemonError('storage.exists', `Run data already exists: ${existing}`);
  }
}
