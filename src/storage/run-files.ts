/**
 * Files a run owns (rest-api.md 6.1, 6.5, 6.6): the regular files below `Wells/<slot>/` of the
 * run's own slots plus the NAS markers at the top of the run directory. Several runs may share a
 * run directory; each sees only its own slots.
 */
import { lstat, opendir, realpath, stat } from 'node:fs/promises';
import { join, posix, win32 } from 'node:path';
import { Readable } from 'node:stream';
import { DaemonError } from '../errors.js';
import { isPlainRunFile, isSingleLinkedFile, isStrictlyInside, openConfinedFile } from './confined-file.js';
import { RUN_ROOT_FILES, WELLS_DIR, sanitizeSegment } from './names.js';

export function fileNotFound(): DaemonError {
  return new DaemonError('runs.file_not_found', 'File not found');
}

/** Code-point order (what Python's `sorted` gives for str), not UTF-16 code-unit order. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    // Surrogates (0xD800–0xDFFF) encode code points above 0xFFFF, which sort after every BMP unit.
    const sa = ca >= 0xd800 && ca <= 0xdfff;
    const sb = cb >= 0xd800 && cb <= 0xdfff;
    if (sa !== sb) return sa ? 1 : -1;
    return ca - cb;
  }
  return a.length - b.length;
}

/** A name usable as one folder name as it is (not empty, `.`, `..`; no separator or NUL). */
function isPlainSegment(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !/[/\\\0]/.test(name);
}

/**
 * Folder names of the run's own slots: the slot name as the layout writes it (segment sanitiser),
 * and the name itself when it is a plain folder name (legacy runs pass the folders they found).
 * Names that are neither are ignored.
 */
function ownSlotDirs(slots: readonly string[]): string[] {
  const out = new Set<string>();
  for (const slot of slots) {
    if (isPlainSegment(slot)) out.add(slot);
    try {
      out.add(sanitizeSegment(slot, 'slot'));
    } catch {
      // not a usable slot name
    }
  }
  return [...out];
}

async function walkRegularFiles(absDir: string, relDir: string, out: string[]): Promise<void> {
  let dir;
  try {
    dir = await opendir(absDir, { bufferSize: 256 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return;
    throw err;
  }
  const subdirs: string[] = [];
  const files: string[] = [];
  for await (const entry of dir) {
    // Dirent types come from lstat semantics: a symlink is neither a file nor a directory here.
    if (entry.isFile()) files.push(entry.name);
    else if (entry.isDirectory()) subdirs.push(entry.name);
  }
  // A file with a second name (a hardlink) may be anyone's file: never part of a run.
  for (const name of files) if (await isPlainRunFile(join(absDir, name))) out.push(`${relDir}/${name}`);
  for (const name of subdirs) await walkRegularFiles(join(absDir, name), `${relDir}/${name}`, out);
}

async function isRealDirectory(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Every regular file the run owns, as run-relative `/` paths sorted by code point: a recursive,
 * asynchronous walk of `Wells/<slot>/` for each of `slots` (symbolic links are neither followed
 * nor listed, files with more than one name — hardlinks — are not listed) plus `UPLOAD_DONE` /
 * `upload_failed` and `run.json` when they are such files.
 */
export async function listRunFiles(runDir: string, slots: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const marker of RUN_ROOT_FILES) {
    try {
      if (isSingleLinkedFile(await lstat(join(runDir, marker)))) out.push(marker);
    } catch {
      // absent
    }
  }
  const wells = join(runDir, WELLS_DIR);
  if (await isRealDirectory(wells)) {
    for (const slot of ownSlotDirs(slots)) {
      const slotDir = join(wells, slot);
      if (await isRealDirectory(slotDir)) await walkRegularFiles(slotDir, `${WELLS_DIR}/${slot}`, out);
    }
  }
  return out.sort(compareCodePoints);
}

/**
 * Normalises a requested path (rest-api 6.6) to a run-relative `/` path inside the run's own
 * files, or `null`: empty, NUL byte, absolute (POSIX or Windows form), escaping via `..`, or
 * outside `Wells/<own slot>/` and the run's top-level files (markers, `run.json`).
 */
export function normaliseRunFilePath(requested: string, slots: readonly string[]): string | null {
  if (requested === '' || requested.includes('\0')) return null;
  if (posix.isAbsolute(requested) || win32.isAbsolute(requested)) return null;
  const normalised = posix.normalize(requested);
  if (normalised === '.' || normalised === '..' || normalised.startsWith('../') || normalised.endsWith('/')) return null;
  if (RUN_ROOT_FILES.includes(normalised)) return normalised;
  const parts = normalised.split('/');
  if (parts.length < 3 || parts[0] !== WELLS_DIR) return null;
  if (!ownSlotDirs(slots).includes(parts[1] as string)) return null;
  return normalised;
}


export interface ResolvedRunFile {
  /** Real path of the file (symlinks resolved, inside the run directory). */
  absPath: string;
  /** Real path of the run directory. */
  realRunDir: string;
  /** Run-relative `/` path as requested (after normalisation). */
  relPath: string;
  size: number;
  /** Base name of the requested path (for Content-Disposition). */
  name: string;
}

/**
 * Resolves a download path (rest-api 6.6). Every refusal is 404 `runs.file_not_found`, so the
 * existence of anything outside the run is never revealed: empty, absolute, NUL, `..` escaping,
 * outside the run's own files, missing, real path (all symlinks resolved) outside the real run
 * directory, not a regular file, or a file with a second name (a hardlink, which may be anyone's
 * file). A symlink whose target stays inside the run directory is served.
 */
export async function resolveRunFile(runDir: string, slots: readonly string[], requested: string): Promise<ResolvedRunFile> {
  const relPath = normaliseRunFilePath(requested, slots);
  if (relPath === null) throw fileNotFound();
  let realRunDir: string;
  let realFile: string;
  try {
    realRunDir = await realpath(runDir);
    realFile = await realpath(join(runDir, ...relPath.split('/')));
  } catch {
    throw fileNotFound();
  }
  if (!isStrictlyInside(realRunDir, realFile)) throw fileNotFound();
  let size: number;
  try {
    const st = await stat(realFile);
    if (!isSingleLinkedFile(st)) throw fileNotFound();
    size = st.size;
  } catch {
    throw fileNotFound();
  }
  const name = relPath.slice(relPath.lastIndexOf('/') + 1);
  return { absPath: realFile, realRunDir, relPath, size, name };
}

export interface OpenedRunFile extends ResolvedRunFile {
  /** File bytes; the file handle closes when the stream ends or is destroyed. */
  stream: Readable;
}

/**
 * {@link resolveRunFile}, then opens the real path so that whatever was swapped in since (a
 * symlink, a hardlink, a FIFO) is refused: the opened file must still be a one-name regular file
 * inside the real run directory (confined-file.ts); size from the handle.
 */
export async function openRunFile(runDir: string, slots: readonly string[], requested: string): Promise<OpenedRunFile> {
  const resolved = await resolveRunFile(runDir, slots, requested);
  let handle;
  try {
    handle = await openConfinedFile(resolved.realRunDir, resolved.absPath);
  } catch {
    throw fileNotFound();
  }
  if (handle === null) throw fileNotFound();
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw fileNotFound();
    if (st.size === 0) {
      await handle.close();
      return { ...resolved, size: 0, stream: Readable.from([]) };
    }
    // Bounded by the size now: a CSV still being written must not outgrow Content-Length.
    const stream = handle.createReadStream({ start: 0, end: st.size - 1, autoClose: true });
    return { ...resolved, size: st.size, stream };
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err instanceof DaemonError ? err : fileNotFound();
  }
}
