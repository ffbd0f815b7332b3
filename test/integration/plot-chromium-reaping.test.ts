/**
 * Issue #10: a long-running daemon collected `<defunct>` Chromium processes. A browser spawned by a
 * pool thread that ended (idle timeout, cancelled render, pool destroy) exited after its thread and
 * was never reaped. Here: several plots on two pool threads, a browser crash and relaunch, a
 * cancelled render, threads ending on their idle timeout, then the pool destroyed and the service
 * closed — after each stage no Chromium may be left, and no child of this process (the daemon's
 * stand-in) may be a zombie.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { createPlotService } from '../../src/plots/plot-service.js';
import type { PlotResult } from '../../src/plots/types.js';
import { createWorkerPool } from '../../src/pool/worker-pool.js';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

interface ProcInfo {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  cmdline: string;
}

/** Every process in /proc (fields from /proc/<pid>/stat: comm, state, ppid). */
function listProcesses(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const [state, ppid] = stat.slice(close + 2).split(' ');
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      out.push({ pid: Number(entry), comm: stat.slice(stat.indexOf('(') + 1, close), state: state!, ppid: Number(ppid), cmdline });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Children of this process that are zombies, or Chromiums (any parent) that use the profile root. */
function leftovers(profileRoot: string): { zombies: ProcInfo[]; chromiums: ProcInfo[]; children: ProcInfo[] } {
  const all = listProcesses();
  const children = all.filter((p) => p.ppid === process.pid);
  return {
    children,
    zombies: children.filter((p) => p.state === 'Z'),
    chromiums: all.filter((p) => p.state !== 'Z' && (p.cmdline.includes(profileRoot) || (p.ppid === process.pid && /chrom/i.test(p.comm)))),
  };
}

function describe(ps: ProcInfo[]): string {
  return ps.map((p) => `${p.pid} ${p.comm} ${p.state} ppid ${p.ppid}`).join('; ') || 'none';
}

async function waitFor(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until nothing is left; fails with the list of what is. */
async function assertNothingLeft(stage: string, profileRoot: string): Promise<void> {
  try {
    await waitFor(stage, () => {
      const l = leftovers(profileRoot);
      return l.zombies.length === 0 && l.chromiums.length === 0;
    }, 15_000);
  } catch {
    const l = leftovers(profileRoot);
    assert.fail(`${stage}: zombie children: ${describe(l.zombies)}; Chromium left: ${describe(l.chromiums)}`);
  }
}

function assertOk(result: PlotResult): asserts result is Extract<PlotResult, { ok: true }> {
  assert.ok(result.ok, `render failed: ${result.ok ? '' : result.reason}`);
}

test('every Chromium the plot service starts is reaped: renders, crash and relaunch, cancel, idle threads, pool destroy', { skip: existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`, timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'beepbox-plots-reap-'));
  const profileRoot = join(dir, 'profiles');
  const logger = pino({ level: 'warn' }, new Writable({ write: (_c, _e, cb) => cb() }));
  const pool = createWorkerPool({ size: 2, idleTimeoutMs: 1000, logger });
  const plots = createPlotService({ pool, logger, chromiumPath: CHROMIUM, profileRoot });
  let destroyed = false;
  t.after(async () => {
    if (!destroyed) {
      await pool.destroy();
      await plots.close();
    }
    await rm(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  });

  let csv = 'Time (s),Potential (V),Current (A),Exp,Applied potential (V)\r\n';
  for (let i = 0; i < 2000; i++) csv += `${(i * 0.00036).toFixed(5)},0.5,${(Math.sin(i / 80) * 1e-5).toExponential(6)},1,0.5\r\n`;
  const csvPath = join(dir, 'ca.csv');
  await writeFile(csvPath, csv);
  let n = 0;
  const render = (signal?: AbortSignal) => plots.renderPlot({ csvPath, pngPath: join(dir, `p${n++}.png`), kind: 'time-series', title: 'reap', ...(signal ? { signal } : {}) });
  const browsersSeen = new Set<number>();
  const note = (r: PlotResult): void => {
    assertOk(r);
    assert.ok(typeof r.stats?.browserPid === 'number');
    browsersSeen.add(r.stats.browserPid);
  };

  // 1. Several plots on two pool threads. The browsers are children of this (the service's) thread's
  //    process, started by the host, whatever thread draws with them.
  for (const r of await Promise.all(Array.from({ length: 6 }, () => render()))) note(r);
  const first = [...browsersSeen];
  for (const pid of first) {
    const p = listProcesses().find((q) => q.pid === pid);
    assert.equal(p?.ppid, process.pid, `browser ${pid} is a child of this process`);
    assert.notEqual(p?.state, 'Z');
  }

  // 2. A browser crashes: it is reaped (gone from /proc, not a zombie), and the next render relaunches.
  const crashed = first[0]!;
  process.kill(crashed, 'SIGKILL');
  await waitFor(`crashed browser ${crashed} reaped`, () => !listProcesses().some((p) => p.pid === crashed && p.ppid === process.pid), 5000);
  for (const r of await Promise.all(Array.from({ length: 4 }, () => render()))) note(r);
  assert.ok(browsersSeen.size > first.length, 'a new browser was launched after the crash');

  // 3. A cancelled render: the pool ends the thread running it (and its browser's ports close).
  const ac = new AbortController();
  const cancelled = render(ac.signal);
  setTimeout(() => ac.abort(), 30);
  assert.equal((await cancelled).ok, false);
  for (const r of await Promise.all(Array.from({ length: 2 }, () => render()))) note(r);

  // 4. The threads end on their idle timeout: their browsers exit and are reaped.
  await waitFor('pool threads idle-terminated', () => pool.stats().threads === 0, 15_000);
  await assertNothingLeft('after idle timeout', profileRoot);

  // 5. Plots again on fresh threads, then the daemon's shutdown order: pool destroyed, service closed.
  for (const r of await Promise.all(Array.from({ length: 3 }, () => render()))) note(r);
  assert.ok(leftovers(profileRoot).chromiums.length > 0, 'browsers running before the shutdown');
  await pool.destroy();
  await plots.close();
  destroyed = true;
  await assertNothingLeft('after pool destroy and service close', profileRoot);
  for (const pid of browsersSeen) assert.ok(!listProcesses().some((p) => p.pid === pid && p.ppid === process.pid), `browser ${pid} reaped`);
  const { children } = leftovers(profileRoot);
  t.diagnostic(`browsers launched: ${browsersSeen.size}, renders: ${n}; processes checked at the end: ${listProcesses().length} (children of this process: ${children.length}, zombies among them: 0)`);
});
