/**
 * Issue #10: the simulator and its socat processes must not outlive the daemon, even after a
 * SIGKILL. The daemon starts `beepbox sim --watch-parent` with a stdin pipe it holds; the
 * simulator stops (and removes its ptys) when that pipe closes. Each socat is started under
 * PR_SET_PDEATHSIG (`setpriv --pdeathsig KILL`), so it dies with the simulator whatever it is doing.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { lstat, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { CLI_PATH, cleanupOf, startDaemon } from '../helpers/daemon.js';

interface ProcInfo {
  pid: number;
  state: string;
  ppid: number;
  cmdline: string;
}

function readProc(pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    return { pid, state: state!, ppid: Number(ppid), cmdline };
  } catch {
    return null;
  }
}

/** Live (not zombie) processes whose command line mentions `needle`. */
function liveProcessesMentioning(needle: string): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const p = readProc(Number(entry));
    if (p && p.state !== 'Z' && p.cmdline.includes(needle)) out.push(p);
  }
  return out;
}

const isAlive = (pid: number): boolean => {
  const p = readProc(pid);
  return p !== null && p.state !== 'Z';
};

const isLink = (p: string) => lstat(p).then((s) => s.isSymbolicLink(), () => false);

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The processes of one simulator: the `sim` node process and its socats (found by their --dir / link= paths). */
function simChain(dir: string): { sims: ProcInfo[]; socats: ProcInfo[] } {
  const all = liveProcessesMentioning(dir);
  return { sims: all.filter((p) => p.cmdline.startsWith(`${process.execPath} `) && p.cmdline.includes(` ${CLI_PATH} sim `)), socats: all.filter((p) => /\bsocat\b/.test(p.cmdline)) };
}

function describe(ps: ProcInfo[]): string {
  return ps.map((p) => `${p.pid} (${p.state}, ppid ${p.ppid}) ${p.cmdline.trim()}`).join('; ');
}

async function assertChainGone(dir: string, pids: number[], timeoutMs = 5000): Promise<void> {
  try {
    await waitFor('simulator chain gone', () => pids.every((pid) => !isAlive(pid)) && liveProcessesMentioning(dir).length === 0, timeoutMs);
  } catch {
    const left = new Map([...pids.filter(isAlive).map((pid) => readProc(pid)!), ...liveProcessesMentioning(dir)].map((p) => [p.pid, p]));
    assert.fail(`still running ${timeoutMs} ms after the SIGKILL: ${describe([...left.values()])}`);
  }
}

function killIfAlive(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

test('SIGKILL of the daemon-like parent: the simulator removes its ptys and exits, its socats go with it', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'beepbox-sim-orphans-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // The parent does exactly what the daemon's startSimulatorProcess does: stdin a pipe it holds.
  const parentScript = `
    const { spawn } = require('node:child_process');
    const sim = spawn(process.execPath, [${JSON.stringify(CLI_PATH)}, 'sim', '--watch-parent', '--slots', '2', '--dir', ${JSON.stringify(dir)}], { stdio: ['pipe', 'pipe', 'inherit'] });
    console.log(JSON.stringify({ simPid: sim.pid }));
    sim.stdout.pipe(process.stdout);
  `;
  const parent = spawn(process.execPath, ['-e', parentScript], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => killIfAlive(parent));
  const parentExited = new Promise((resolve) => parent.once('exit', resolve));
  let simPid = 0;
  let ports: string[] = [];
  for await (const line of createInterface({ input: parent.stdout! })) {
    const msg = JSON.parse(line) as { simPid?: number; ports?: string[] };
    if (msg.simPid) simPid = msg.simPid;
    if (msg.ports) {
      ports = msg.ports;
      break;
    }
  }
  t.after(() => {
    // never leave a simulator behind, even when the assertions fail
    for (const p of [simPid, ...simChain(dir).socats.map((s) => s.pid)]) if (p && isAlive(p)) process.kill(p, 'SIGKILL');
  });
  assert.equal(ports.length, 2);
  for (const p of ports) assert.ok(await isLink(p), `${p} exists`);
  const before = simChain(dir);
  assert.deepEqual(before.sims.map((p) => p.pid), [simPid]);
  assert.equal(before.socats.length, 2, `two socats: ${describe(before.socats)}`);
  assert.ok(before.socats.every((s) => s.ppid === simPid), 'socats are children of the simulator');

  parent.kill('SIGKILL');
  await parentExited;
  await assertChainGone(dir, [simPid, ...before.socats.map((s) => s.pid)]);
  // A clean shutdown, not a crash: the simulator removed its ptys.
  for (const p of ports) assert.equal(await isLink(p), false, `${p} removed`);
  t.diagnostic(`processes checked: simulator ${simPid}, socats ${before.socats.map((s) => s.pid).join(', ')}`);
});

test('SIGKILL of the simulator itself: its socats die too, even a stopped one', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'beepbox-sim-orphans-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const sim = spawn(process.execPath, [CLI_PATH, 'sim', '--slots', '2', '--dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => killIfAlive(sim));
  const simExited = new Promise((resolve) => sim.once('exit', resolve));
  const lines = createInterface({ input: sim.stdout! });
  const [first] = await Promise.race([
    (async () => {
      for await (const line of lines) return [line];
      return [''];
    })(),
    simExited.then(() => ['']),
  ]);
  const { ports } = JSON.parse(first || '{}') as { ports?: string[] };
  assert.equal(ports?.length, 2, 'the simulator announced its ports');
  const { socats } = simChain(dir);
  assert.equal(socats.length, 2, `two socats: ${describe(socats)}`);
  t.after(() => {
    for (const s of socats) if (isAlive(s.pid)) process.kill(s.pid, 'SIGKILL');
  });
  // A stopped socat cannot notice the EOF on its stdin: only the kernel's parent-death signal ends it.
  process.kill(socats[0]!.pid, 'SIGSTOP');
  await waitFor('socat stopped', () => readProc(socats[0]!.pid)?.state === 'T', 2000);

  sim.kill('SIGKILL');
  await simExited;
  await assertChainGone(dir, socats.map((s) => s.pid));
  t.diagnostic(`processes checked: simulator ${sim.pid}, socats ${socats.map((s) => s.pid).join(', ')} (${socats[0]!.pid} stopped)`);
});

test('SIGKILL of the real daemon (BEEP_SIMULATE=2): no simulator or socat of it remains', async (t) => {
  const scope = cleanupOf(t);
  const runsRoot = await mkdtemp(path.join(os.tmpdir(), 'beepbox-sim-orphans-daemon-'));
  t.after(() => rm(runsRoot, { recursive: true, force: true }));
  const simDir = path.join(runsRoot, '.sim');
  const daemon = await startDaemon(scope, { runsRoot, env: { BEEP_SIMULATE: '2' } });
  t.after(() => {
    for (const p of liveProcessesMentioning(simDir)) process.kill(p.pid, 'SIGKILL');
  });
  const before = simChain(simDir);
  assert.equal(before.sims.length, 1, `one simulator: ${describe(before.sims)}`);
  assert.equal(before.socats.length, 2, `two socats: ${describe(before.socats)}`);
  assert.equal(before.sims[0]!.ppid, daemon.pid, 'the simulator is the daemon’s child');
  assert.ok(before.socats.every((s) => s.ppid === before.sims[0]!.pid), 'socats are children of the simulator');

  await daemon.kill();
  await assertChainGone(simDir, [...before.sims, ...before.socats].map((p) => p.pid));
  for (const n of [1, 2]) assert.equal(await isLink(path.join(simDir, `ttyBEEP${n}`)), false, `ttyBEEP${n} removed`);
  t.diagnostic(`processes checked: simulator ${before.sims[0]!.pid}, socats ${before.socats.map((s) => s.pid).join(', ')}`);
});
