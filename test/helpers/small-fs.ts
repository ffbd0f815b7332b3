/**
 * A small file system of its own for full-disk tests: a tmpfs of the given size mounted on a
 * fresh temporary directory, or, where mounting tmpfs is not permitted, an ext4 image on a loop
 * device. `smallFsSkipReason()` says why neither works (the tests then skip with that reason).
 * Needs root. Unmounted and removed by `close()`.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, open, rm, rmdir, statfs, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SmallFs {
  /** The mount point (empty file system). */
  dir: string;
  kind: 'tmpfs' | 'loop';
  /** Bytes available to unprivileged writers now (statfs bavail × bsize). */
  available(): Promise<number>;
  /**
   * Writes a filler file until the file system has at most `leaveBytes` available (0: full, the
   * last write failed with ENOSPC). Returns the filler's path (delete it to free the space).
   */
  fill(leaveBytes?: number, name?: string): Promise<string>;
  close(): Promise<void>;
}

export async function availableBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

async function fillUp(dir: string, leaveBytes: number, name: string): Promise<string> {
  const file = path.join(dir, name);
  const handle = await open(file, 'a');
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  try {
    for (;;) {
      const room = (await availableBytes(dir)) - leaveBytes;
      if (room <= 0) break;
      try {
        await handle.write(chunk, 0, Math.min(chunk.length, room));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw err;
      }
    }
    await handle.sync().catch(() => undefined);
  } finally {
    await handle.close();
  }
  return file;
}

let cachedSkip: string | false | undefined;

/** Why no small file system can be mounted here, or false. */
export async function smallFsSkipReason(): Promise<string | false> {
  if (cachedSkip !== undefined) return cachedSkip;
  if (process.platform !== 'linux') cachedSkip = 'full-disk tests need Linux (tmpfs or a loop device)';
  else if (typeof process.getuid !== 'function' || process.getuid() !== 0) cachedSkip = 'full-disk tests need root to mount a small tmpfs (or loop device)';
  else {
    try {
      const fs = await mountSmallFs(1024 * 1024);
      await fs.close();
      cachedSkip = false;
    } catch (err) {
      cachedSkip = `cannot mount a small file system: ${(err as Error).message}`;
    }
  }
  return cachedSkip;
}

/** Mounts a file system of `sizeBytes` (tmpfs, else an ext4 loop image). */
export async function mountSmallFs(sizeBytes: number): Promise<SmallFs> {
  const base = await mkdtemp(path.join(os.tmpdir(), 'beepbox-smallfs-'));
  const dir = path.join(base, 'mnt');
  await mkdir(dir);
  let kind: SmallFs['kind'];
  let image: string | null = null;
  const problems: string[] = [];
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${Math.ceil(sizeBytes / 4096) * 4}k,mode=0755`, 'tmpfs', dir]);
    kind = 'tmpfs';
  } catch (err) {
    problems.push(`tmpfs: ${(err as Error).message.trim()}`);
    try {
      image = path.join(base, 'fs.img');
      await run('truncate', ['-s', String(Math.max(sizeBytes, 2 * 1024 * 1024)), image]);
      await run('mkfs.ext4', ['-q', '-F', '-m', '0', image]);
      await run('mount', ['-o', 'loop', image, dir]);
      kind = 'loop';
    } catch (loopErr) {
      problems.push(`loop device: ${(loopErr as Error).message.trim()}`);
      await rm(base, { recursive: true, force: true });
      throw new Error(problems.join('; '));
    }
  }
  let closed = false;
  return {
    dir,
    kind,
    available: () => availableBytes(dir),
    fill: (leaveBytes = 0, name = 'filler.bin') => fillUp(dir, leaveBytes, name),
    async close() {
      if (closed) return;
      closed = true;
      // A daemon or thread may still hold a file open for a moment: lazy unmount then.
      await run('umount', [dir]).catch(() => run('umount', ['-l', dir]));
      await rmdir(dir).catch(() => undefined);
      if (image !== null) await unlink(image).catch(() => undefined);
      await rm(base, { recursive: true, force: true });
    },
  };
}
