/**
 * Reading a run's files so that nothing outside the run is ever read, whatever was placed in it:
 * a symlink (final component or any directory on the way), a hardlink to a file elsewhere on the
 * same file system, a FIFO or device, or any of these swapped in between a check and the open.
 *
 * The open itself does not follow a final symlink (O_NOFOLLOW) and does not block on a FIFO
 * (O_NONBLOCK); the opened handle must then be a regular file with exactly one name (`nlink` 1: a
 * hardlink's other name may be anywhere), and that one name must lie inside the real run
 * directory: the real path of the requested path, with every symlink resolved, is inside it and
 * names the very inode that was opened (same device and inode number). A file with one name that
 * is inside the run cannot be anything but the run's.
 */
import { constants as fsConstants, type Stats } from 'node:fs';
import { lstat, open, realpath, stat, type FileHandle } from 'node:fs/promises';
import { sep } from 'node:path';

/** Whether `child` is strictly inside `parent` (both real, absolute paths). */
export function isStrictlyInside(parent: string, child: string): boolean {
  return child !== parent && child.startsWith(parent.endsWith(sep) ? parent : parent + sep);
}

/** A regular file with one name (no other hardlink to it anywhere). */
export function isSingleLinkedFile(st: Stats): boolean {
  return st.isFile() && st.nlink === 1;
}

/** Whether `path` (not followed if a symlink) is a regular file with one name. */
export async function isPlainRunFile(path: string): Promise<boolean> {
  try {
    return isSingleLinkedFile(await lstat(path));
  } catch {
    return false;
  }
}

const NOT_THERE = new Set(['ENOENT', 'ELOOP', 'ENOTDIR', 'EISDIR', 'ENXIO', 'EMLINK', 'EINVAL']);

/**
 * Opens `path` for reading if it is a file of the run whose real directory is `realRunDir` (see
 * the module comment); null when it is missing or not such a file. Other errors (EIO, EACCES, ...)
 * reject.
 */
export async function openConfinedFile(realRunDir: string, path: string): Promise<FileHandle | null> {
  let handle: FileHandle;
  try {
    handle = await open(path, fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0) | (fsConstants.O_NONBLOCK ?? 0));
  } catch (err) {
    if (NOT_THERE.has((err as NodeJS.ErrnoException).code ?? '')) return null;
    throw err;
  }
  try {
    const opened = await handle.stat();
    if (!isSingleLinkedFile(opened)) {
      await handle.close();
      return null;
    }
    const real = await realpath(path).catch(() => null);
    const named = real === null ? null : await stat(real).catch(() => null);
    if (real === null || named === null || !isStrictlyInside(realRunDir, real) || named.ino !== opened.ino || named.dev !== opened.dev) {
      await handle.close();
      return null;
    }
    return handle;
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
}
