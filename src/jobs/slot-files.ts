/** The files a slot has on disk: run-relative paths of regular files in its mode folders. */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { toRunRelative, type ModeFiles } from '../storage/run-layout.js';

export async function listSlotFiles(runDir: string, modes: readonly ModeFiles[]): Promise<string[]> {
  const out: string[] = [];
  for (const files of modes) {
    let names: string[];
    try {
      names = await readdir(files.dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const abs = join(files.dir, name);
      if ((await lstat(abs).catch(() => null))?.isFile()) out.push(toRunRelative(runDir, abs));
    }
  }
  return out.sort();
}
