import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ModbusClient } from '../../../src/driver/modbus-client.js';
import { createPortPair } from '../../../src/port/memory-port.js';
import { createRequestScanner, encodeReadRequest, encodeReadRequestInto, encodeReadResponse, encodeExceptionResponse } from '../../../src/protocol/index.js';
import { DeviceTimeoutError, PortError } from '../../../src/errors.js';

/** A device that answers every read with `count` registers holding the request's start address. */
function answeringDevice(options: { silentFor?: Set<number> } = {}) {
  const [host, dev] = createPortPair();
  const scanner = createRequestScanner();
  const seen: number[] = [];
  dev.onData((chunk) => {
    for (const f of scanner.push(chunk)) {
      const start = (f[2]! << 8) | f[3]!;
      const count = (f[4]! << 8) | f[5]!;
      seen.push(start);
      if (options.silentFor?.has(start)) continue;
      const data = new Uint8Array(2 * count);
      for (let i = 0; i < count; i++) {
        data[2 * i] = start >>> 8;
        data[2 * i + 1] = start & 0xff;
      }
      void dev.write(encodeReadResponse(f[0]!, f[1]!, data));
    }
  });
  return { host, dev, seen };
}

test('overlapping calls are serialised, and a request buffer reused at once is sent as it was', async () => {
  const { host, seen } = answeringDevice();
  const client = new ModbusClient(host);
  const buf = new Uint8Array(8);
  // Three callers encode into one buffer without waiting: the client copies the ones that queue.
  const replies = await Promise.all([0x100, 0x200, 0x300].map((start) => client.transact(encodeReadRequestInto(buf, start, 2))));
  assert.deepEqual(seen, [0x100, 0x200, 0x300]);
  assert.deepEqual(replies.map((r) => (r.data[0]! << 8) | r.data[1]!), [0x100, 0x200, 0x300]);
  assert.equal(client.stats.transactions, 3);
  await host.close();
});

test('a timeout rejects after the quiet time, and the next request waits for its end', async () => {
  const { host, seen } = answeringDevice({ silentFor: new Set([0x100]) });
  const client = new ModbusClient(host, { timeoutMs: 50, settleAfterTimeoutMs: 40 });
  const t0 = performance.now();
  const first = client.transact(encodeReadRequest(0x100, 2));
  const second = client.transact(encodeReadRequest(0x200, 2));
  await assert.rejects(first, DeviceTimeoutError);
  assert.ok(performance.now() - t0 >= 85, 'timeout plus quiet time');
  const r = await second;
  assert.equal(r.data[1], 0x00);
  assert.equal(r.data[0], 0x02);
  assert.deepEqual(seen, [0x100, 0x200]);
  assert.equal(client.stats.timeouts, 1);
  await host.close();
});

test('exception replies resolve at once; a stray reply is counted, not taken', async () => {
  const [host, dev] = createPortPair();
  const scanner = createRequestScanner();
  dev.onData((chunk) => {
    for (const f of scanner.push(chunk)) {
      // A stray write echo first, then the exception to the read.
      void dev.write(encodeReadResponse(1, 0x04, new Uint8Array(4)));
      void dev.write(encodeExceptionResponse(f[0]!, f[1]!, 6));
    }
  });
  const client = new ModbusClient(host);
  const r = await client.transact(encodeReadRequest(0x100, 2));
  assert.equal(r.exception, 6);
  assert.equal(client.stats.strayReplies, 1);
  assert.equal(client.stats.exceptions, 1);
  await host.close();
});

test('closing the port rejects the call in flight and every queued one', async () => {
  const { host, dev } = answeringDevice({ silentFor: new Set([0x100, 0x200]) });
  const client = new ModbusClient(host);
  const calls = [client.transact(encodeReadRequest(0x100, 2)), client.transact(encodeReadRequest(0x200, 2))];
  dev.disconnect();
  for (const c of calls) await assert.rejects(c, PortError);
  await assert.rejects(client.transact(encodeReadRequest(0x300, 2)), PortError);
});
