/** Spawns the built daemon as a child process for benchmarks (loopback only). */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DAEMON_NODE_FLAGS } from '../src/cli/node-flags.js';

/** BENCH_DAEMON_CLI: another build's dist/src/cli/main.js, to run that build's daemon (A/B runs alternated by hand). */
const CLI = process.env.BENCH_DAEMON_CLI ?? fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

export interface DaemonProcess {
  child: ChildProcess;
  url: string;
  /** SIGTERM, then SIGKILL if it has not exited within `killAfterMs` (default: wait forever). */
  stop(killAfterMs?: number): Promise<void>;
}

/**
 * `cli`: another build's dist/src/cli/main.js, to compare two builds in one run. `onLogLine`
 * receives each stdout line (pino JSON) after the listening line; without it they are dropped.
 * `nodeArgs`: Node flags the bench itself needs (e.g. `--require` of bench/thread-names.ts).
 */
export async function spawnDaemon(env: Record<string, string>, cli = CLI, onLogLine?: (line: string) => void, nodeArgs: readonly string[] = []): Promise<DaemonProcess> {
  // BENCH_DAEMON_NODE_ARGS: extra Node flags for the daemon, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const extra = (process.env.BENCH_DAEMON_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, ...nodeArgs, ...extra, cli, 'serve'], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  let port = 0;
  for await (const line of lines) {
    if (line.includes('beepbox listening')) {
      port = (JSON.parse(line) as { address: { port: number } }).address.port;
      break;
    }
  }
  if (!port) throw new Error('daemon exited before listening');
  // BENCH_DAEMON_STDOUT=FILE keeps every later stdout line (e.g. --trace-gc output asked for in BENCH_DAEMON_NODE_ARGS).
  const keep = process.env.BENCH_DAEMON_STDOUT ? createWriteStream(process.env.BENCH_DAEMON_STDOUT) : null;
  lines.on('line', (line) => {
    keep?.write(`${line}\n`);
    onLogLine?.(line);
  });
  child.once('exit', () => keep?.end());
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    stop: async (killAfterMs?: number) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Resident set size of a process in bytes (Linux). */
export async function readRssBytes(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}
