/**
 * The virtual potentiostat over a real pty (socat), opened with the production TtyPort:
 * raw transactions, unplug and RESET re-enumeration.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { lstat, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { PortError } from '../../src/errors.js';
import { TtyPort } from '../../src/port/tty-port.js';
import {
  Command,
  encodeCommandRequest,
  encodeFloat32Words,
  encodeReadRequest,
  encodeWriteRequest,
  hasValidCrc,
  measureResponse,
  wordBytesToFloat32,
} from '../../src/protocol/index.js';
import { startSimulators } from '../../src/sim/run-sim.js';

/** One request, one reply (by length from its header), or a timeout. */
function transact(port: TtyPort, request: Uint8Array, timeoutMs = 500, expectBytes?: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    let buf = new Uint8Array(0);
    const timer = setTimeout(() => reject(new Error(`no reply within ${timeoutMs} ms (got ${buf.length} bytes)`)), timeoutMs);
    port.onData((chunk) => {
      const next = new Uint8Array(buf.length + chunk.length);
      next.set(buf);
      next.set(chunk, buf.length);
      buf = next;
      const length = expectBytes ?? measureResponse(buf, 0, buf.length);
      if (typeof length === 'number' && buf.length >= length) {
        clearTimeout(timer);
        resolve(buf.subarray(0, length));
      }
    });
    port.write(request).catch(reject);
  });
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0').toUpperCase()).join(' ');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function waitForClose(port: TtyPort, timeoutMs: number): Promise<PortError | null> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`port did not report a disconnect within ${timeoutMs} ms`)), timeoutMs);
    port.onClose((err) => {
      clearTimeout(timer);
      resolve(err);
    });
  });
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

function socatCount(dir: string): Promise<number> {
  return new Promise((resolve) => {
    execFile('pgrep', ['-f', `link=${dir}/`], (err, stdout) => resolve(err ? 0 : stdout.trim().split('\n').filter(Boolean).length));
  });
}

describe('virtual potentiostat over a pty', () => {
  it('answers raw transactions, streams a FIFO run, survives RESET and reports an unplug', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'beepbox-sim-test-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const sims = await startSimulators({ count: 2, dir, noise: 0, smoothing: false, reenumerateMs: 200 });
    t.after(() => sims.close());
    assert.deepEqual(sims.ports, [path.join(dir, 'ttyBEEP1'), path.join(dir, 'ttyBEEP2')]);
    assert.equal(await socatCount(dir), 2);

    const port = await TtyPort.open(sims.ports[0]!);
    t.after(() => port.close());

    // Status word, idle (2.5 G).
    assert.equal(hex(await transact(port, encodeReadRequest(0x0316, 2))), '01 03 04 00 00 00 00 FA 33');

    // Pre-fill 60 setpoints, FIFO_START 1, TEST_STOP → exactly 61 pairs, pair k under setpoint k−1.
    const setpoints = Float32Array.from({ length: 60 }, (_, i) => 0.01 * i - 0.3);
    const w = await transact(port, encodeWriteRequest(0x0200, encodeFloat32Words(setpoints)));
    assert.equal(hex(w), '01 10 02 00 00 78 C1 93');
    assert.equal((await transact(port, encodeCommandRequest(Command.FIFO_START, 1)))[1], 0x10);
    assert.equal((await transact(port, encodeCommandRequest(Command.TEST_STOP, 1)))[1], 0x10);
    await sleep(100);
    assert.equal(hex(await transact(port, encodeReadRequest(0x0316, 2))), '01 03 04 00 00 00 00 FA 33', 'run ended');
    const potentials: number[] = [];
    for (const pairs of [30, 30, 1]) {
      const reply = await transact(port, encodeReadRequest(0x0100, 4 * pairs));
      assert.ok(hasValidCrc(reply, 0, reply.length));
      assert.equal(reply[1], 0x03);
      for (let p = 0; p < pairs; p++) potentials.push(wordBytesToFloat32(reply, 3 + 8 * p + 4));
    }
    assert.deepEqual(potentials, [0, ...setpoints]);
    assert.equal(hex(await transact(port, encodeReadRequest(0x0100, 4))), '01 83 06 C1 32', 'FIFO empty → busy');

    // RESET: the reply goes out, the port drops, and reappears at the same path.
    const closed = waitForClose(port, 2000);
    assert.equal(hex(await transact(port, encodeCommandRequest(Command.RESET, 1))), '01 10 4F 00 00 02 57 1C');
    const resetError = await closed;
    assert.equal(resetError?.code, 'PORT_DISCONNECTED');
    await sims.endpoints[0]!.waitUntilUp(3000);
    assert.ok(await exists(sims.ports[0]!));
    const again = await TtyPort.open(sims.ports[0]!);
    t.after(() => again.close());
    assert.equal(hex(await transact(again, encodeReadRequest(0x0316, 2))), '01 03 04 00 00 00 00 FA 33');
    assert.equal(sims.devices[0]!.stats.reboots, 1);
    assert.equal(sims.devices[0]!.tiaGainIndex, 2, 'boot defaults');

    // Unplug mid-run: the host sees a disconnect within 2 s and the symlink is gone.
    const other = await TtyPort.open(sims.ports[1]!);
    t.after(() => other.close());
    assert.equal((await transact(other, encodeCommandRequest(Command.FIFO_START, 1)))[1], 0x10);
    const gone = waitForClose(other, 2000);
    const unpluggedAt = performance.now();
    sims.links[1]!.unplug();
    const unplugError = await gone;
    assert.equal(unplugError?.code, 'PORT_DISCONNECTED');
    assert.ok(performance.now() - unpluggedAt < 2000);
    for (let i = 0; i < 50 && (await exists(sims.ports[1]!)); i++) await sleep(20);
    assert.equal(await exists(sims.ports[1]!), false, 'symlink removed');
    await assert.rejects(TtyPort.open(sims.ports[1]!));

    await sims.close();
    assert.equal(await socatCount(dir), 0, 'no socat left behind');
    assert.equal(await exists(sims.ports[0]!), false);
  });

  it('applies the fault knobs on the real path: busy storm, stall, corrupt bytes', async (t) => {
    const sims = await startSimulators({ count: 1, noise: 0, smoothing: false, firstIndex: 31 });
    t.after(() => sims.close());
    const port = await TtyPort.open(sims.ports[0]!);
    t.after(() => port.close());
    const link = sims.links[0]!;
    assert.equal((await transact(port, encodeCommandRequest(Command.FIFO_START, 1)))[1], 0x10);
    await sleep(50);

    link.busyStorm(150);
    assert.equal(hex(await transact(port, encodeReadRequest(0x0100, 4))), '01 83 06 C1 32', 'busy although pairs are pending');
    assert.equal(hex(await transact(port, encodeWriteRequest(0x0200, encodeFloat32Words([0.1])))), '01 90 06 CC 02');
    assert.equal((await transact(port, encodeReadRequest(0x0316, 2)))[1], 0x03, 'other groups answer normally');
    await sleep(160);
    assert.equal((await transact(port, encodeReadRequest(0x0100, 4)))[1], 0x03);

    const ticksBefore = sims.devices[0]!.stats.ticks;
    const stallStart = performance.now();
    link.stall(200);
    const sentAt = performance.now();
    const late = await transact(port, encodeReadRequest(0x0316, 2), 1000);
    const latencyMs = performance.now() - sentAt;
    assert.equal(late[1], 0x03);
    assert.ok(latencyMs > 150 && latencyMs < 600, `reply after ${latencyMs.toFixed(0)} ms`);
    // Ticks may only resume after the stall, at the normal rate; a catch-up would add ~555 (200 ms / 0.36 ms).
    const sinceStallEndMs = Math.max(0, performance.now() - (stallStart + 200));
    const ticks = sims.devices[0]!.stats.ticks - ticksBefore;
    assert.ok(ticks < sinceStallEndMs / 0.36 + 20, `no ticks during the stall, no catch-up after it (${ticks} ticks, ${sinceStallEndMs.toFixed(0)} ms after the stall)`);

    link.corruptRate = 1;
    const corrupted = await transact(port, encodeReadRequest(0x0316, 2), 500, 9);
    assert.equal(hasValidCrc(corrupted, 0, corrupted.length), false);
    link.corruptRate = 0;
    assert.equal(hasValidCrc(await transact(port, encodeReadRequest(0x0316, 2)), 0, 9), true);
    assert.ok(link.counters.corruptedBytes >= 5);
  });

  it('without socat, starting says what is missing and how to install it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'beepbox-nosocat-'));
    try {
      await assert.rejects(startSimulators({ count: 1, dir, socatPath: path.join(dir, 'no-such-socat') }), /socat not found .*apt-get install socat/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
