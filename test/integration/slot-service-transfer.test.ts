/**
 * SlotService on the main thread over an in-memory port pair to the simulator device:
 * sample blocks leave as transferred buffers (the sender's copies are detached), numbered,
 * and covering the plan exactly once. (The real tty path is tested in test/integration.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { createPortPair } from '../../src/port/memory-port.js';
import { VirtualPotentiostat } from '../../src/sim/device.js';
import { DeviceLink } from '../../src/sim/link.js';
import { SlotService } from '../../src/slots/slot-service.js';
import type { SampleMessage } from '../../src/slots/slot-api.js';
import { parseModeParams } from '../../src/modes/validate.js';

test('blocks are transferred, numbered and cover the plan exactly once', async (t) => {
  const [host, dev] = createPortPair();
  const device = new VirtualPotentiostat({ noise: 0, smoothing: false });
  const link = new DeviceLink(device);
  link.connect((bytes) => void dev.write(bytes));
  dev.onData((chunk) => link.receive(chunk));
  const pacer = setInterval(() => device.advanceTo(performance.now() * 1000), 2);
  t.after(() => {
    clearInterval(pacer);
    link.close();
  });

  const service = new SlotService('memory:a', async () => host);
  const { port1, port2 } = new MessageChannel();
  const detached: boolean[] = [];
  const realPost = port2.postMessage.bind(port2);
  // Observe the sender's buffers right after posting: transferred ones are detached.
  (port2 as unknown as { postMessage: MessagePort['postMessage'] }).postMessage = (msg: SampleMessage, transfer?: readonly unknown[]) => {
    realPost(msg, transfer as never);
    if (msg.kind === 'block') detached.push(msg.current.byteLength === 0 && msg.potential.byteLength === 0);
  };
  const received: SampleMessage[] = [];
  port1.on('message', (m: SampleMessage) => received.push(m));
  const closed = new Promise((r) => port1.once('close', r));

  const params = parseModeParams('CA', { potential: 0.25, duration: 0.5 });
  const summary = await service.measure({ mode: 'CA', params, tiaGain: 0 }, port2 as unknown as Parameters<SlotService['measure']>[1]);
  await closed;

  assert.ok(detached.length > 0);
  assert.ok(detached.every(Boolean), 'every block buffer was transferred, not copied');
  assert.deepEqual(received.map((m) => m.seq), received.map((_, i) => i), 'sequence numbers without gaps');
  const blocks = received.filter((m): m is Extract<SampleMessage, { kind: 'block' }> => m.kind === 'block');
  let next = 0;
  for (const b of blocks) {
    assert.equal(b.firstIndex, next);
    next += b.count;
    for (let i = 0; i < b.count; i++) assert.equal(b.potential[i], Math.fround(0.25));
  }
  assert.equal(next, 1388);
  assert.equal(summary.points, 1388);
  await service.close();
});
