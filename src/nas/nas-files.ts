/**
 * Files the NAS service owns: the credentials file and the config file (7.1, 7.2), both written
 * atomically with mode 0600 from creation on.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseCredentialsPassword, parseNasConfig, type NasConfig } from './config.js';

/**
 * Write `content` to `target` atomically: a uniquely named temp file in the same directory,
 * created exclusively with `mode` (so it is never more permissive, whatever the umask), fsynced,
 * then renamed over the target. The temp file is removed on failure.
 */
export async function writeFileAtomic(target: string, content: string, mode = 0o600): Promise<void> {
  const dir = path.dirname(target);
  const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(tmp, 'wx', mode);
    // open() applies the umask, which can only remove bits; restore exactly `mode`.
    await handle.chmod(mode);
    await handle.writeFile(content, 'utf8');
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(tmp, target);
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

export type ConfigReadResult =
  | { status: 'ok'; config: NasConfig }
  | { status: 'missing' }
  | { status: 'invalid'; reason: string };

/** Read and parse the config file. Missing and invalid are distinct so the caller can log the latter. */
export async function readNasConfigFile(configPath: string): Promise<ConfigReadResult> {
  let text: string;
  try {
    text = await fs.readFile(configPath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { status: 'missing' };
    return { status: 'invalid', reason: `cannot read config file: ${code ?? (err as Error).message}` };
  }
  const parsed = parseNasConfig(text);
  return parsed.config === null ? { status: 'invalid', reason: parsed.reason } : { status: 'ok', config: parsed.config };
}

/** The password from the credentials file (for scrubbing output only), or null. */
export async function readCredentialsPassword(credentialsPath: string): Promise<string | null> {
  try {
    return parseCredentialsPassword(await fs.readFile(credentialsPath, 'utf8'));
  } catch {
    return null;
  }
}
