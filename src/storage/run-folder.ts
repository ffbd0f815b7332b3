/**
 * Creating a run folder so that a job that cannot start takes back exactly what it created:
 * the folders are made one level at a time and remembered; `removeCreatedFolders` removes them
 * deepest first and only while empty, so a folder shared with another run (one GUI batch, one
 * run directory) or one that something else wrote into meanwhile is never touched.
 */
import { mkdir, rmdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/**
 * Creates `dir` and its missing parents; returns the folders it created, outermost first (empty
 * when `dir` existed). When a level cannot be created, the ones created before are removed again
 * and the error is rethrown.
 */
export async function createRunFolder(dir: string): Promise<string[]> {
  const missing: string[] = [];
  let current = resolve(dir);
  for (;;) {
    const st = await stat(current).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (st !== null) {
      if (!st.isDirectory()) throw Object.assign(new Error(`not a directory: ${current}`), { code: 'ENOTDIR' });
      break;
    }
    missing.unshift(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  const created: string[] = [];
  try {
    for (const folder of missing) {
      try {
        await mkdir(folder);
        created.push(folder);
      } catch (err) {
        // Created by someone else in between (another job of the same batch): not ours to remove.
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
  } catch (err) {
    await removeCreatedFolders(created);
    throw err;
  }
  return created;
}

/** Removes folders made by {@link createRunFolder}, deepest first, each only if still empty. */
export async function removeCreatedFolders(created: readonly string[]): Promise<void> {
  for (const folder of [...created].reverse()) {
    try {
      await rmdir(folder);
    } catch {
      return; // not empty (someone else's content) or gone: stop, leave the outer ones
    }
  }
}
