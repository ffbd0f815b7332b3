import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuByRole, parseStatCpuTicks, snapshotThreads, threadRole, type CpuSnapshot } from '../../../bench/thread-cpu.js';
import { threadNameFor } from '../../../bench/thread-names.js';

/** A /proc/<pid>/task/<tid>/stat line with the given name, utime and stime (fields as in proc(5)). */
function statLine(comm: string, utime: number, stime: number): string {
  const after = ['S', '1', '1', '1', '0', '-1', '4194304', '100', '0', '0', '0', String(utime), String(stime), '0', '0', '20', '0', '12', '0', '1234'];
  return `4242 (${comm}) ${after.join(' ')}`;
}

test('parseStatCpuTicks adds utime and stime, whatever the command name holds', () => {
  assert.equal(parseStatCpuTicks(statLine('node', 150, 30)), 180);
  assert.equal(parseStatCpuTicks(statLine('a) b (c', 7, 5)), 12);
  assert.throws(() => parseStatCpuTicks('garbage'), /not a \/proc stat line/);
});

test('snapshotThreads reads this process\'s real stat files', { skip: process.platform !== 'linux' }, async () => {
  const snap = await snapshotThreads(process.pid);
  assert.ok(snap.processTicks >= 0);
  assert.ok(snap.threads.some((t) => t.tid === process.pid), 'the main thread is listed under task/');
});

test('threadRole: main thread by tid, workers by the names thread-names.ts gives', () => {
  assert.equal(threadRole(100, 100, 'node'), 'supervisor');
  assert.equal(threadRole(100, 101, 'bb-slot-12'), 'slots');
  assert.equal(threadRole(100, 102, 'bb-recorder'), 'recorder');
  assert.equal(threadRole(100, 103, 'bb-pool'), 'pool');
  assert.equal(threadRole(100, 104, 'node'), 'other');
  assert.equal(threadRole(100, 105, 'libuv-worker'), 'other');
});

test('threadNameFor names by the worker entry file and fits comm (15 bytes)', () => {
  assert.equal(threadNameFor('file:///app/dist/workers/slot.worker.js', 63), 'bb-slot-63');
  assert.equal(threadNameFor('/app/dist/workers/recorder.worker.js', 0), 'bb-recorder');
  assert.equal(threadNameFor('/app/node_modules/piscina/dist/worker.js', 0), 'bb-pool');
  assert.equal(threadNameFor('/app/dist/workers/other.js', 0), 'bb-worker');
  assert.ok(threadNameFor('/w/slot.worker.js', 999).length <= 15);
});

function snap(atMs: number, processTicks: number, threads: Array<[number, string, number]>): CpuSnapshot {
  return { pid: 10, atMs, processTicks, threads: threads.map(([tid, comm, ticks]) => ({ tid, comm, ticks })) };
}

test('cpuByRole: deltas per role, new threads from zero, the rest (unnamed and exited) is other', () => {
  const before = snap(0, 1000, [[10, 'node', 500], [11, 'bb-slot-0', 100], [12, 'bb-recorder', 50], [13, 'node', 300], [14, 'bb-slot-1', 40]]);
  // Over 2 s: main +20, slot-0 +30, recorder +10, a new slot thread 15, an unnamed +5; slot-1 exited (its +8 only in the process total).
  const after = snap(2000, 1000 + 20 + 30 + 10 + 15 + 5 + 8, [[10, 'node', 520], [11, 'bb-slot-0', 130], [12, 'bb-recorder', 60], [13, 'node', 305], [15, 'bb-slot-2', 15]]);
  const cpu = cpuByRole(before, after);
  assert.equal(cpu.wallS, 2);
  assert.equal(cpu.total, 0.88);
  assert.equal(cpu.slotThreads, 2);
  assert.deepEqual(cpu.seconds, { supervisor: 0.2, slots: 0.45, recorder: 0.1, pool: 0, other: 0.13 });
  const sum = Object.values(cpu.seconds).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - cpu.total) < 1e-9, 'roles add up to the process');
});
