/**
 * "Write a file atomically": write a temp file in the same directory, fsync it, rename it over
 * the target, fsync the directory. A reader (or a daemon restarted after a crash or power cut)
 * sees either the old complete file or the new complete file, never a torn one.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** Temp file path (same directory as the target). Default: a unique `.<name>.<pid>-<hex>.tmp`. */
  tmpPath?: string;
  /** File mode of a newly created file (default 0o644, before umask). */
  mode?: number;
  /** Fsync the containing directory after the rename (default true) so the rename itself is durable. */
  syncDir?: boolean;
}

/** Suffix of the unique temp files; a directory scan may delete leftovers from a crashed writer. */
export const ATOMIC_TMP_SUFFIX = '.tmp';

/** Unique temp name next to `target`. */
export function makeTempPath(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}-${randomBytes(4).toString('hex')}${ATOMIC_TMP_SUFFIX}`);
}

async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some filesystems (and non-Linux platforms) refuse fsync on a directory; the rename is still atomic.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** Writes `data` to `target` atomically (temp file + fsync + rename). */
export async function writeFileAtomic(target: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const tmpPath = options.tmpPath ?? makeTempPath(target);
  const handle = await open(tmpPath, 'w', options.mode ?? 0o644);
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmpPath, target);
  } catch (err) {
    await unlink(tmpPath).catch(() => undefined);
    throw err;
  }
  if (options.syncDir !== false) await syncDirectory(dirname(target));
}

/**
 * Serialises `value` as pretty-printed JSON (2 spaces, trailing newline). With `sortKeys` the
 * keys of every object are written in code-unit order (Python's `sort_keys=True` for ASCII keys).
 */
export function formatJson(value: unknown, sortKeys = false): string {
  const replacer = sortKeys
    ? (_key: string, v: unknown): unknown => {
        if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
        // No prototype: a key such as `__proto__` stays a key (on a plain object its assignment is lost).
        const sorted = Object.create(null) as Record<string, unknown>;
        for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
        return sorted;
      }
    : undefined;
  return `${JSON.stringify(value, replacer, 2)}\n`;
}

/** {@link writeFileAtomic} of {@link formatJson}. */
export async function writeJsonAtomic(target: string, value: unknown, options: AtomicWriteOptions & { sortKeys?: boolean } = {}): Promise<void> {
  await writeFileAtomic(target, formatJson(value, options.sortKeys ?? false), options);
}
