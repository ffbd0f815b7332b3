/**
 * Subprocesses for the NAS transports: always asynchronous, always with a timeout, output
 * captured. Arguments are passed as an argv array (no shell); secrets are never arguments.
 */
import { spawn } from 'node:child_process';

export interface CommandResult {
  /** Exit code, or null when the process was killed or could not be started. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The timeout expired and the process was killed. */
  timedOut: boolean;
  /** The abort signal fired and the process was killed. */
  aborted: boolean;
  /** Spawn failure (e.g. ENOENT when the program is missing). */
  error: NodeJS.ErrnoException | null;
}

export interface RunCommandOptions {
  timeoutMs: number;
  /** Written to stdin, which is then closed. Without it stdin is closed at once. */
  input?: string;
  signal?: AbortSignal;
}

/** How transports start programs. Injected so tests can replace single steps (e.g. `mount`). */
export type RunCommand = (file: string, args: readonly string[], options: RunCommandOptions) => Promise<CommandResult>;

/** Output beyond this many characters per stream is dropped (keeps the tail's beginning intact). */
const MAX_CAPTURE_CHARS = 64 * 1024 * 1024;
const KILL_GRACE_MS = 2000;

/** Start `file` with `args`, collect its output, kill it on timeout or abort. Never rejects. */
export const runCommand: RunCommand = (file, args, options) =>
  new Promise<CommandResult>((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let aborted = false;
    let settled = false;
    let killTimer: NodeJS.Timeout | undefined;

    const child = spawn(file, [...args], { stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      if (stdout.length < MAX_CAPTURE_CHARS) stdout += chunk;
    });
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < MAX_CAPTURE_CHARS) stderr += chunk;
    });
    // The child may exit before reading its input (connection refused): ignore EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');

    const kill = (): void => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
      killTimer.unref();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, options.timeoutMs);
    timer.unref();
    const onAbort = (): void => {
      aborted = true;
      kill();
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    const finish = (code: number | null, signal: NodeJS.Signals | null, error: NodeJS.ErrnoException | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ code, signal, stdout, stderr, timedOut, aborted, error });
    };
    child.on('error', (err: NodeJS.ErrnoException) => finish(null, null, err));
    child.on('close', (code, signal) => finish(code, signal, null));
  });

/** A secret at least this long is masked wherever it occurs, even inside a longer word. */
export const SCRUB_ANYWHERE_MIN_LENGTH = 8;
/** A secret at least this long (and shorter than the above) is masked where it stands as a word of its own. */
export const SCRUB_WORD_MIN_LENGTH = 4;

const WORD_CHAR = /[\p{L}\p{N}]/u;
/** Where a credential's value follows (`password=x`, `pass: x`, `user%x` of smbclient -U, `user:x@` of a URL). */
const CREDENTIAL_PREFIX = /(?:pass(?:word|wd)?|pwd?|secret)\s*[=:]\s*["']?$|%$|:\/\/[^\s/:@]*:$/i;

/** The forms in which a secret can appear in output: as is, URL-encoded, JSON/backslash-escaped. */
function secretForms(secret: string): string[] {
  const forms = new Set<string>([secret]);
  forms.add(encodeURIComponent(secret));
  forms.add(encodeURI(secret));
  forms.add(JSON.stringify(secret).slice(1, -1));
  forms.add(secret.replace(/[\\"'$`\s]/g, '\\$&'));
  // Longest first, so a short form never cuts into a longer one.
  return [...forms].filter((f) => f !== '').sort((a, b) => b.length - a.length);
}

function isWordChar(ch: string | undefined): boolean {
  return ch !== undefined && WORD_CHAR.test(ch);
}

/**
 * Replace the secret (and its URL-encoded and escaped forms) in `text` by `***`. Only whole
 * occurrences of the secret are ever masked, never single characters, so a short password can
 * neither mangle a message nor, by what gets masked, reveal which characters it contains:
 *
 * - {@link SCRUB_ANYWHERE_MIN_LENGTH} characters or more: every occurrence;
 * - {@link SCRUB_WORD_MIN_LENGTH} or more: occurrences not inside a longer word (no letter or digit
 *   right before or after them), e.g. `password=abcd`, `'abcd'`, `/abcd/`;
 * - shorter: only where a credential's value stands (`password=e`, `pass: e`, `user%e`,
 *   `smb://user:e@host`) and the occurrence is not followed by a letter or digit.
 *
 * No-op for a null/empty secret.
 */
export function scrubSecret(text: string, secret: string | null | undefined): string {
  if (!secret) return text;
  const length = [...secret].length;
  let out = text;
  for (const form of secretForms(secret)) {
    let result = '';
    let from = 0;
    for (let at = out.indexOf(form); at >= 0; at = out.indexOf(form, at + 1)) {
      if (at < from) continue;
      const end = at + form.length;
      const before = out.slice(Math.max(0, at - 64), at);
      const bounded = !isWordChar(before.at(-1)) && !isWordChar(out[end]);
      const mask =
        length >= SCRUB_ANYWHERE_MIN_LENGTH ||
        (length >= SCRUB_WORD_MIN_LENGTH && bounded) ||
        (!isWordChar(out[end]) && CREDENTIAL_PREFIX.test(before));
      if (!mask) continue;
      result += `${out.slice(from, at)}***`;
      from = end;
    }
    out = result + out.slice(from);
  }
  return out;
}

/**
 * Make subprocess output fit into a one-line message: trim, drop blank lines, join lines with
 * "; ", cap the length.
 */
export function trimOutput(text: string, maxChars = 500): string {
  const joined = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join('; ');
  return joined.length > maxChars ? `${joined.slice(0, maxChars)}…` : joined;
}

/** Short text for a result that failed to start, timed out, was aborted or was killed by a signal; null otherwise. */
export function describeAbnormalEnd(result: CommandResult, program: string): string | null {
  if (result.timedOut) return 'timeout';
  if (result.aborted) return 'aborted';
  if (result.error) {
    return result.error.code === 'ENOENT' ? `${program} not found` : `${program}: ${result.error.message}`;
  }
  // Killed by a signal nobody here sent (SIGPIPE when the server went away mid-transfer, OOM, ...).
  if (result.code === null && result.signal !== null) return `${program} killed by ${result.signal}${result.signal === 'SIGPIPE' ? ' (connection lost)' : ''}`;
  return null;
}
