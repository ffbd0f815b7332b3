/**
 * CPU per thread role of a Node process, from /proc/<pid>/task/<tid>/{stat,comm} (Linux).
 *
 * Roles come from thread names: the main thread is the one whose tid is the pid (the supervisor's
 * event loop); worker threads are named by bench/thread-names.ts ("bb-slot-<n>", "bb-recorder",
 * "bb-pool"), since Node 20 leaves every thread "node" even with `new Worker(file, { name })`.
 * Everything else (V8 platform and GC helper threads, libuv's pool, inspector, and threads that
 * exited during the window) is "other": it is the process's CPU minus the named threads', so the
 * roles always add up to the whole process.
 */
import { readdir, readFile } from 'node:fs/promises';

/** USER_HZ: the unit of utime/stime in /proc stat files (100 on every Linux Node runs on). */
export const CLK_TCK = 100;

export type ThreadRole = 'supervisor' | 'slots' | 'recorder' | 'pool' | 'other';
export const THREAD_ROLES: readonly ThreadRole[] = ['supervisor', 'slots', 'recorder', 'pool', 'other'];

/**
 * utime + stime (clock ticks) of one /proc stat line. The command name in parentheses may hold
 * spaces and parentheses itself, so fields are counted from the last ')'.
 */
export function parseStatCpuTicks(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the name: state(0) ppid(1) ... utime(11) stime(12) — fields 14 and 15 of proc(5).
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`not a /proc stat line: ${stat.slice(0, 80)}`);
  return utime + stime;
}

/** The role of one thread of process `pid`, from its tid and comm. */
export function threadRole(pid: number, tid: number, comm: string): ThreadRole {
  if (tid === pid) return 'supervisor';
  if (comm.startsWith('bb-slot')) return 'slots';
  if (comm === 'bb-recorder') return 'recorder';
  if (comm === 'bb-pool') return 'pool';
  return 'other';
}

export interface ThreadSample {
  tid: number;
  comm: string;
  ticks: number;
}

export interface CpuSnapshot {
  pid: number;
  /** performance.now() when taken. */
  atMs: number;
  /** The whole process, exited threads included. */
  processTicks: number;
  threads: ThreadSample[];
}

/** Reads every thread of `pid` once; threads that exit while being read are skipped. */
export async function snapshotThreads(pid: number): Promise<CpuSnapshot> {
  const atMs = performance.now();
  const processTicks = parseStatCpuTicks(await readFile(`/proc/${pid}/stat`, 'utf8'));
  const threads: ThreadSample[] = [];
  for (const name of await readdir(`/proc/${pid}/task`)) {
    try {
      const [stat, comm] = await Promise.all([readFile(`/proc/${pid}/task/${name}/stat`, 'utf8'), readFile(`/proc/${pid}/task/${name}/comm`, 'utf8')]);
      threads.push({ tid: Number(name), comm: comm.trim(), ticks: parseStatCpuTicks(stat) });
    } catch {
      // exited between readdir and read: its CPU still counts in processTicks, hence in "other"
    }
  }
  return { pid, atMs, processTicks, threads };
}

export interface RoleCpu {
  /** CPU seconds per role over the window; they add up to `total`. */
  seconds: Record<ThreadRole, number>;
  total: number;
  wallS: number;
  /** Named slot worker threads seen at the end (0 means the names are missing: see thread-names.ts). */
  slotThreads: number;
}

/** CPU seconds per role between two snapshots of the same process. */
export function cpuByRole(before: CpuSnapshot, after: CpuSnapshot): RoleCpu {
  const earlier = new Map(before.threads.map((t) => [t.tid, t.ticks]));
  const ticks: Record<ThreadRole, number> = { supervisor: 0, slots: 0, recorder: 0, pool: 0, other: 0 };
  let named = 0;
  let slotThreads = 0;
  for (const t of after.threads) {
    const role = threadRole(after.pid, t.tid, t.comm);
    if (role === 'slots') slotThreads++;
    if (role === 'other') continue;
    // A thread born inside the window counts from zero.
    const delta = Math.max(0, t.ticks - (earlier.get(t.tid) ?? 0));
    ticks[role] += delta;
    named += delta;
  }
  const totalTicks = Math.max(0, after.processTicks - before.processTicks);
  ticks.other = Math.max(0, totalTicks - named);
  const seconds = Object.fromEntries(THREAD_ROLES.map((r) => [r, ticks[r] / CLK_TCK])) as Record<ThreadRole, number>;
  return { seconds, total: totalTicks / CLK_TCK, wallS: (after.atMs - before.atMs) / 1000, slotThreads };
}

/** Percent of one core. */
export function pctOfCore(cpuSeconds: number, wallS: number): number {
  return wallS > 0 ? (cpuSeconds / wallS) * 100 : NaN;
}
