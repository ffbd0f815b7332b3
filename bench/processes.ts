/** Processes a bench starts and measures: simulator processes, and CPU time read from /proc (Linux). */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DAEMON_NODE_FLAGS } from '../src/cli/node-flags.js';
import { CLK_TCK, parseStatCpuTicks } from './thread-cpu.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

export interface SimProcess {
  child: ChildProcess;
  ports: string[];
}

/** How simulated devices are laid out: devices per process, and the pty kind (`beepbox sim --pty`; default: the simulator's). */
export interface SimLayout {
  perProcess: number;
  pty?: string;
}

/** `beepbox sim --slots count` in its own process; resolves with its pty paths. */
export async function startSimProcess(count: number, dir: string, pty?: string): Promise<SimProcess> {
  const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, CLI, 'sim', '--slots', String(count), '--dir', dir, ...(pty ? ['--pty', pty] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const parsed = JSON.parse(line) as { ports?: string[] };
    if (parsed.ports) return { child, ports: parsed.ports };
  }
  throw new Error('simulator exited before reporting its ports');
}

/**
 * `slots` virtual potentiostats spread over simulator processes of at most `layout.perProcess`
 * each (folders p0, p1, … under `dir`); their ports in order.
 */
export async function startSimProcesses(slots: number, layout: SimLayout, dir: string): Promise<SimProcess[]> {
  const procs: SimProcess[] = [];
  const per = layout.perProcess;
  try {
    for (let left = slots, i = 0; left > 0; i++, left -= per) procs.push(await startSimProcess(Math.min(per, left), join(dir, `p${i}`), layout.pty));
  } catch (err) {
    await Promise.all(procs.map(stopSimProcess));
    throw err;
  }
  return procs;
}

export async function stopSimProcess(p: SimProcess): Promise<void> {
  // exitCode stays null when the process died of a signal: then 'exit' has been and gone.
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  await new Promise((r) => p.child.once('exit', r));
}

/** CPU seconds (user + system) from a /proc stat file (a process, or one thread under task/). */
async function statCpuSeconds(path: string): Promise<number> {
  try {
    return parseStatCpuTicks(await readFile(path, 'utf8')) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** CPU seconds of a whole process (all its threads). */
export function procCpuSeconds(pid: number): Promise<number> {
  return statCpuSeconds(`/proc/${pid}/stat`);
}

/** CPU seconds of a process's main thread only (the supervisor's event loop in the daemon). */
export function mainThreadCpuSeconds(pid: number): Promise<number> {
  return statCpuSeconds(`/proc/${pid}/task/${pid}/stat`);
}

/** Every live descendant (children, grandchildren, …) of the given processes, from /proc's parent links. */
export async function descendantPids(rootPids: readonly number[]): Promise<number[]> {
  const childrenOf = new Map<number, number[]>();
  try {
    for (const d of await readdir('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const stat = await readFile(`/proc/${d}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        const siblings = childrenOf.get(ppid);
        if (siblings) siblings.push(Number(d));
        else childrenOf.set(ppid, [Number(d)]);
      } catch {
        // gone
      }
    }
  } catch {
    // no /proc
  }
  const seen = new Set(rootPids);
  const out: number[] = [];
  for (let queue = [...rootPids]; queue.length > 0; ) {
    const next: number[] = [];
    for (const pid of queue) {
      for (const child of childrenOf.get(pid) ?? []) {
        if (seen.has(child)) continue;
        seen.add(child);
        out.push(child);
        next.push(child);
      }
    }
    queue = next;
  }
  return out;
}

/** A process's command name (/proc/<pid>/comm), or null when it is gone. */
export async function procName(pid: number): Promise<string | null> {
  try {
    return (await readFile(`/proc/${pid}/comm`, 'utf8')).trim();
  } catch {
    return null;
  }
}

/** Sums CPU of processes and their descendants (simulators and their socat relays). */
export async function treeCpuSeconds(rootPids: number[]): Promise<number> {
  let total = 0;
  for (const pid of [...rootPids, ...(await descendantPids(rootPids))]) total += await procCpuSeconds(pid);
  return total;
}
