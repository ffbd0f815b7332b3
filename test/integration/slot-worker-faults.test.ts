/**
 * Issue #10 at the slot layer, on real threads and ptys:
 * - closing a slot worker while its port open (a native serialport call) is in flight never
 *   aborts the process (it used to: `terminate called after throwing an instance of 'Napi::Error'`);
 * - the watchdog notices a worker thread that stops answering, fails the measurement with
 *   SLOT_CRASHED and a clear message within its limit, and terminates the thread;
 * - the registry: concurrent rescans coalesce, `list` is never empty or half-built, a rescan
 *   never touches a reserved slot's worker, names are stable while a device is gone.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { hasErrorCode } from '../../src/errors.js';
import { parseModeRequest } from '../../src/modes/validate.js';
import { startSimulators, type SimulatorSet } from '../../src/sim/run-sim.js';
import type { PortCandidate } from '../../src/slots/discovery.js';
import { SlotRegistry } from '../../src/slots/slot-registry.js';
import { SlotWorker } from '../../src/slots/slot-worker.js';

let sims: SimulatorSet;
let tmp: string;

before(async () => {
  sims = await startSimulators({ count: 3 });
  tmp = await mkdtemp(path.join(os.tmpdir(), 'beepbox-slotfaults-'));
});

after(async () => {
  delete process.env.BEEPBOX_TEST_HANG_TRIGGER;
  await sims?.close();
  await rm(tmp, { recursive: true, force: true });
});

const candidates = (ports: readonly string[]): PortCandidate[] =>
  ports.map((p) => ({ path: p, source: 'config' as const, serialNumber: null, vendorId: null, productId: null, location: null }));

describe('slot worker', () => {
  test('closing workers while their port open is in flight never aborts the process', async () => {
    const rounds = 40;
    let opened = 0;
    for (let i = 0; i < rounds; i++) {
      const worker = SlotWorker.spawn(sims.ports[i % 2]!);
      // Let the thread start and reach the native open at a different point each round.
      const connecting = worker.connect().then(() => opened++, () => undefined);
      await new Promise((r) => setTimeout(r, i % 4 === 0 ? 0 : 20 + (i % 7) * 7));
      await worker.close();
      await connecting.catch(() => undefined);
    }
    // Still alive, and the ports open normally afterwards.
    const worker = SlotWorker.spawn(sims.ports[0]!);
    try {
      const identity = await worker.connect();
      assert.equal(identity.path, sims.ports[0]);
    } finally {
      await worker.close();
    }
    assert.ok(opened >= 0);
  });

  test('a thread terminated only after its native-call gate is sealed never aborts the process, even while it opens ports', async () => {
    // A bare thread that opens and closes the port as fast as it can, through the gate: whenever
    // it is terminated, an open is likely in flight. Terminating it without the seal aborts the
    // whole process ('Napi::Error'); with the seal it never does.
    const ttyPortUrl = new URL('../../src/port/tty-port.js', import.meta.url).href;
    const gateUrl = new URL('../../src/port/native-call-gate.js', import.meta.url).href;
    const code = `
      const { workerData, parentPort } = require('node:worker_threads');
      (async () => {
        const { TtyPort } = await import(${JSON.stringify(ttyPortUrl)});
        const { NativeCallGate } = await import(${JSON.stringify(gateUrl)});
        const gate = new NativeCallGate(workerData.gate);
        parentPort.postMessage('up');
        for (;;) {
          try { const p = await TtyPort.open(workerData.path, { gate }); await p.close(); } catch { if (gate.sealed) return; }
        }
      })();`;
    const { NativeCallGate } = await import('../../src/port/native-call-gate.js');
    const { Worker } = await import('node:worker_threads');
    let sealWaits = 0;
    for (let i = 0; i < 30; i++) {
      const gate = new NativeCallGate();
      const thread = new Worker(code, { eval: true, workerData: { path: sims.ports[i % 2]!, gate: gate.buffer } });
      await new Promise((r) => thread.once('message', r));
      await new Promise((r) => setTimeout(r, 5 + (i % 5) * 3));
      while (!gate.trySeal()) {
        sealWaits++;
        await new Promise((r) => setImmediate(r));
      }
      await thread.terminate();
    }
    assert.ok(sealWaits > 0, 'opens were in flight when the supervisor wanted to terminate');
  });

  test('a hung worker thread: the watchdog fails its measurement within the limit and terminates it', async () => {
    const trigger = path.join(tmp, 'hang');
    process.env.BEEPBOX_TEST_HANG_TRIGGER = trigger;
    const pingTimeoutMs = 1500;
    const worker = SlotWorker.spawn(sims.ports[2]!, { watchdog: { intervalMs: 250, pingTimeoutMs } });
    delete process.env.BEEPBOX_TEST_HANG_TRIGGER;
    let crashed: string | null = null;
    worker.onCrash((err) => (crashed = err.message));
    await worker.connect();
    await writeFile(trigger, sims.ports[2]!);
    let rows = 0;
    const request = parseModeRequest('CA', { potential: 0.1, duration: 10 });
    const started = Date.now();
    let hungAt = 0;
    const watcher = (async () => {
      while (!(await readdir(tmp)).some((n) => n.startsWith('hang.taken-'))) await new Promise((r) => setTimeout(r, 10));
      hungAt = Date.now();
    })();
    await assert.rejects(
      worker.measure({ mode: request.mode, params: request.params, tiaGain: 0 }, { onBlock: (b) => (rows += b.count) }),
      (err: unknown) => {
        assert.ok(hasErrorCode(err, 'SLOT_CRASHED'), String(err));
        assert.match((err as Error).message, /stopped answering \(watchdog: no reply to a control call within 2 s\)/);
        assert.match((err as Error).message, new RegExp(`\\(${rows} points of this mode were received before the failure\\)`));
        return true;
      },
    );
    await watcher;
    const detectedMs = Date.now() - hungAt;
    assert.ok(detectedMs <= pingTimeoutMs + 2 * 250 + 300, `detected ${detectedMs} ms after the hang`);
    assert.ok(Date.now() - started < 8000);
    assert.ok(rows > 0, 'rows arrived before the hang');
    assert.match(String(crashed), /stopped answering/);
    assert.equal(worker.isCrashed, true);
    await worker.close();
    // The port is usable by a new worker.
    const fresh = SlotWorker.spawn(sims.ports[2]!);
    try {
      await fresh.connect();
    } finally {
      await fresh.close();
    }
  });
});

describe('slot registry', () => {
  test('concurrent rescans coalesce; list is always complete; a reserved slot keeps its worker', async () => {
    let discoveries = 0;
    const reserved = new Set<string>();
    const registry = new SlotRegistry({
      logger: pino({ level: 'silent' }),
      discover: async () => {
        discoveries++;
        await new Promise((r) => setTimeout(r, 20));
        return candidates(sims.ports);
      },
    });
    registry.useReservations((slot) => reserved.has(slot));
    try {
      await registry.rescan();
      assert.deepEqual(registry.list().map((e) => [e.slot, e.state]), [['slot01', 'online'], ['slot02', 'online'], ['slot03', 'online']]);
      discoveries = 0;
      const worker = await registry.acquire('slot02');
      reserved.add('slot02');
      let checks = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          assert.deepEqual(registry.list().map((e) => e.slot), ['slot01', 'slot02', 'slot03']);
          checks++;
          await new Promise((r) => setImmediate(r));
        }
      })();
      const results = await Promise.all(Array.from({ length: 10 }, () => registry.rescan()));
      sampling = false;
      await sampler;
      assert.ok(discoveries <= 2, `10 concurrent rescans ran discovery ${discoveries} times`);
      for (const r of results) assert.deepEqual(r.map((e) => e.slot), ['slot01', 'slot02', 'slot03']);
      assert.ok(checks > 10);
      // The reserved slot's worker was not touched: the same, still usable, thread.
      assert.equal(await registry.acquire('slot02'), worker);
      assert.equal(worker.isUsable, true);
    } finally {
      await registry.close();
    }
  });

  test('a device that goes leaves its slot offline; no renumbering; a new device takes the lowest free name', async () => {
    let ports = [...sims.ports];
    const identityFile = path.join(tmp, '.slots.json');
    const registry = new SlotRegistry({ logger: pino({ level: 'silent' }), discover: async () => candidates(ports), identityFile });
    try {
      await registry.rescan();
      ports = [sims.ports[0]!, sims.ports[2]!];
      await registry.rescan();
      assert.deepEqual(registry.list().map((e) => [e.slot, e.port, e.state]), [
        ['slot01', sims.ports[0], 'online'],
        ['slot02', sims.ports[1], 'offline'],
        ['slot03', sims.ports[2], 'online'],
      ]);
      await assert.rejects(registry.acquire('slot02'), /slot02 is offline/);
      ports = [sims.ports[2]!, sims.ports[1]!, sims.ports[0]!];
      await registry.rescan();
      assert.deepEqual(registry.list().map((e) => [e.slot, e.port, e.state]), [
        ['slot01', sims.ports[0], 'online'],
        ['slot02', sims.ports[1], 'online'],
        ['slot03', sims.ports[2], 'online'],
      ]);
    } finally {
      await registry.close();
    }
    // Another registry on the same identity file: the names hold whatever order discovery gives.
    const second = new SlotRegistry({ logger: pino({ level: 'silent' }), discover: async () => candidates([sims.ports[2]!, sims.ports[0]!]), identityFile });
    try {
      await second.rescan();
      assert.deepEqual(second.list().map((e) => [e.slot, e.port, e.state]), [
        ['slot01', sims.ports[0], 'online'],
        ['slot02', sims.ports[1], 'offline'],
        ['slot03', sims.ports[2], 'online'],
      ]);
    } finally {
      await second.close();
    }
  });
});
