/**
 * TtyPort over a real pty to the simulator: the blocking reply path (`exchange`) a slot worker
 * uses, and descriptors: every open/close gives back every descriptor it took.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { startSimulators, type SimulatorSet } from '../../src/sim/run-sim.js';
import { TtyPort } from '../../src/port/tty-port.js';

let sims: SimulatorSet;
before(async () => {
  sims = await startSimulators({ count: 1, noise: 0, smoothing: false });
});
after(() => sims.close());

const openFds = () => readdirSync('/proc/self/fd').length;

test('open and close give back every descriptor (with and without blocking replies)', async () => {
  // Warm up once: the first open loads the binding and may keep descriptors of its own.
  await (await TtyPort.open(sims.ports[0]!)).close();
  const before = openFds();
  for (let i = 0; i < 20; i++) {
    const port = await TtyPort.open(sims.ports[0]!, { blockingReplies: i % 2 === 0 });
    await port.close();
  }
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(openFds(), before, 'descriptors left open after 20 open/close cycles');
});

/**
 * Runs `body` in a worker thread with a TtyPort opened with blocking replies, as a slot worker
 * does: the simulator answers from this thread, which must keep running while the worker blocks.
 */
function inWorker(body: string): Promise<Record<string, unknown>> {
  const url = (rel: string) => JSON.stringify(new URL(rel, import.meta.url).href);
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    (async () => {
      const { TtyPort } = await import(${url('../../src/port/tty-port.js')});
      const { ModbusClient } = await import(${url('../../src/driver/modbus-client.js')});
      const { BeepDevice } = await import(${url('../../src/driver/beep-device.js')});
      const port = await TtyPort.open(workerData.path, { blockingReplies: true });
      const client = new ModbusClient(port);
      const device = new BeepDevice(client);
      try {
        parentPort.postMessage(await (async () => { ${body} })());
      } catch (err) {
        parentPort.postMessage({ error: String(err), code: err.code });
      } finally {
        await port.close();
      }
    })();`;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { path: sims.ports[0]! } });
    w.once('message', (m: Record<string, unknown>) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

test('blocking replies: the client waits in read(2), replies and device reads are exact', async () => {
  const r = await inWorker(`
    const exchange = typeof port.exchange === 'function';
    let idle = 0;
    for (let i = 0; i < 50; i++) if (((await device.readPotValues()).status & 1) === 0) idle++;
    const live = await device.readLiveValues();
    return { exchange, blocking: client.blocking, idle, live: Number.isFinite(live.reoutV), ...client.stats };`);
  assert.equal(r.exchange, true, 'a second, blocking descriptor was opened');
  assert.equal(r.blocking, true);
  assert.equal(r.idle, 50);
  assert.equal(r.live, true);
  assert.equal(r.transactions, 51);
  assert.equal(r.timeouts, 0);
  assert.equal(r.crcErrors, 0);
  assert.equal(r.strayReplies, 0);
});

test('blocking replies: a request on a closed port fails with PortError, no hang', async () => {
  const r = await inWorker(`
    await port.close();
    try { await device.readStatus(); return { error: null }; } catch (err) { return { error: err.name, code: err.code }; }`);
  assert.equal(r.code, 'PORT_CLOSED');
});
