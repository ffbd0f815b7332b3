/**
 * The local side of an upload: which files a run directory holds, and its NAS markers (7.5).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

/** Written after a verified upload; content = UTC timestamp, no trailing newline. */
export const UPLOAD_DONE_MARKER = 'UPLOAD_DONE';
/** Written after a failed upload; content = the reason. */
export const UPLOAD_FAILED_MARKER = 'upload_failed';
export const MARKER_NAMES: readonly string[] = [UPLOAD_DONE_MARKER, UPLOAD_FAILED_MARKER];

export interface LocalFile {
  /** Path relative to the run directory, `/`-separated. */
  rel: string;
  size: number;
}

export interface RunDirContents {
  /** Regular files, markers at the top level excluded, sorted by `rel`. */
  files: LocalFile[];
  /** Every subdirectory (`/`-separated, relative), parents before children. */
  dirs: string[];
}

/**
 * Walk a run directory asynchronously without following symbolic links. Symlinks, hardlinked
 * files (more than one name) and other non-regular entries are not part of the upload and not
 * verified.
 */
export async function listRunDir(runDir: string): Promise<RunDirContents> {
  const files: LocalFile[] = [];
  const dirs: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const abs = rel === '' ? runDir : path.join(runDir, ...rel.split('/'));
    const entries = await fs.readdir(abs, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        dirs.push(childRel);
        await walk(childRel);
      } else if (entry.isFile()) {
        if (rel === '' && MARKER_NAMES.includes(entry.name)) continue;
        const st = await fs.lstat(path.join(abs, entry.name));
        // A file with a second name (a hardlink) may be anyone's file: never uploaded.
        if (st.isFile() && st.nlink === 1) files.push({ rel: childRel, size: st.size });
      }
    }
  };
  await walk('');
  files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return { files, dirs };
}

/**
 * Compare local files with what the destination holds (`remoteSizes`: relative path → size of a
 * regular file). Returns null when everything matches, else the contract's failure text (7.5).
 */
export function describeVerifyMismatch(local: readonly LocalFile[], remoteSizes: ReadonlyMap<string, number>): string | null {
  const bad = local.filter((f) => remoteSizes.get(f.rel) !== f.size);
  if (bad.length === 0) return null;
  return `verify mismatch: ${bad.length} files missing or different, first: ${bad[0]?.rel ?? ''}`;
}
