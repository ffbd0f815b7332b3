/** The device link: firmware-like framing over a byte stream, and the fault knobs. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command, crc16Modbus, encodeCommandRequest, encodeReadRequest, encodeWriteRequest } from '../../../src/protocol/index.js';
import { VirtualPotentiostat } from '../../../src/sim/device.js';
import { type DisconnectReason, DeviceLink, type LinkTimers } from '../../../src/sim/link.js';
import { hex, toHex } from './harness.js';

/** Fake timers on the same fake clock as the device (µs). */
class FakeTime implements LinkTimers {
  t = 1_000_000;
  private seq = 0;
  private pending: Array<{ at: number; id: number; cb: () => void }> = [];

  setTimeout(cb: () => void, delayMs: number): unknown {
    const id = ++this.seq;
    this.pending.push({ at: this.t + delayMs * 1000, id, cb });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending = this.pending.filter((p) => p.id !== handle);
  }

  advanceMs(ms: number): void {
    const end = this.t + ms * 1000;
    for (;;) {
      this.pending.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.pending[0];
      if (!next || next.at > end) break;
      this.pending.shift();
      this.t = Math.max(this.t, next.at);
      next.cb();
    }
    this.t = end;
  }
}

function setup(options: { corruptRate?: number } = {}) {
  const time = new FakeTime();
  const device = new VirtualPotentiostat({ now: () => time.t, noise: 0, smoothing: false });
  const link = new DeviceLink(device, { timers: time, ...options });
  const replies: Uint8Array[] = [];
  const events: DisconnectReason[] = [];
  link.connect((b) => replies.push(b));
  link.on('disconnect', (r) => events.push(r));
  return { time, device, link, replies, events };
}

const A_REQ = hex('01 10 4F 00 00 02 04 00 E5 00 01 53 AB');
const STATUS_REQ = hex('01 03 03 16 00 02 25 8B');

describe('device link framing', () => {
  it('processes a complete request at once and discards the bytes that came with it', () => {
    const { link, replies, device } = setup();
    link.receive(new Uint8Array([...A_REQ, 0x01, 0x03, 0x03]));
    assert.equal(replies.length, 1);
    assert.equal(toHex(replies[0]!), '01 10 4F 00 00 02 57 1C');
    assert.equal(link.counters.trailingBytes, 3);
    assert.equal(device.status, 0x114);
  });

  it('reassembles a request split across chunks when the rest arrives in time', () => {
    const { link, replies, time } = setup();
    link.receive(STATUS_REQ.subarray(0, 3));
    time.advanceMs(1);
    assert.equal(replies.length, 0);
    link.receive(STATUS_REQ.subarray(3));
    assert.equal(toHex(replies[0]!), '01 03 04 00 00 00 00 FA 33');
  });

  it('processes a partial request as-is after ~2 ms of silence (CRC exception)', () => {
    const { link, replies, time } = setup();
    link.receive(STATUS_REQ.subarray(0, 5));
    time.advanceMs(1.9);
    assert.equal(replies.length, 0);
    time.advanceMs(0.2);
    assert.equal(toHex(replies[0]!), '01 83 03 01 31');
    assert.equal(link.counters.partialFrames, 1);
  });

  it('answers an unknown function at once without waiting for more bytes', () => {
    const { link, replies } = setup();
    link.receive(hex('01 06 00'));
    assert.equal(toHex(replies[0]!), '01 86 01 83 A0');
  });

  it('counts and drops a buffer that would exceed 256 bytes', () => {
    const { link, replies, time } = setup();
    link.receive(new Uint8Array(300).fill(0x01));
    link.receive(hex('01 10 02 00 00 7B F6'));
    link.receive(new Uint8Array(250));
    time.advanceMs(5);
    assert.equal(link.counters.rxOverflows, 2);
    assert.equal(replies.length, 0);
    link.receive(STATUS_REQ);
    assert.equal(replies.length, 1, 'recovers with the next request');
  });

  it('stays silent for foreign addresses and counts them', () => {
    const { link, replies } = setup();
    link.receive(encodeReadRequest(0x0316, 2, 0x00));
    assert.equal(replies.length, 0);
    assert.equal(link.counters.silent, 1);
  });

  it('counts requests, replies and exceptions by code; exposes the device tick counters', () => {
    const { link, time } = setup();
    link.receive(A_REQ);
    time.advanceMs(3.6);
    link.receive(encodeReadRequest(0x0100, 120));
    link.receive(encodeReadRequest(0x0700, 1));
    const c = link.snapshot();
    assert.equal(c.requests, 3);
    assert.equal(c.replies, 3);
    assert.deepEqual(c.exceptions, { 2: 1, 6: 1 });
    assert.equal(c.ticks, 10);
    assert.equal(c.underruns, 10);
  });
});

describe('fault knobs', () => {
  it('corruptRate flips reply bits', () => {
    const { link, replies } = setup({ corruptRate: 1 });
    link.receive(STATUS_REQ);
    const clean = hex('01 03 04 00 00 00 00 FA 33');
    assert.equal(replies[0]!.length, clean.length);
    for (let i = 0; i < clean.length; i++) {
      const diff = replies[0]![i]! ^ clean[i]!;
      assert.ok(diff !== 0 && (diff & (diff - 1)) === 0, `byte ${i}: exactly one bit flipped`);
    }
    link.corruptRate = 0;
    link.receive(STATUS_REQ);
    assert.equal(toHex(replies[1]!), toHex(clean));
  });

  it('busyStorm answers every FIFO read and write with 0x06 for its duration', () => {
    const { link, replies, time } = setup();
    link.receive(A_REQ);
    time.advanceMs(20);
    link.busyStorm(10);
    link.receive(encodeReadRequest(0x0100, 4));
    link.receive(encodeWriteRequest(0x0200, new Uint8Array(4)));
    link.receive(STATUS_REQ);
    assert.deepEqual(replies.slice(1).map((r) => r[1]), [0x83, 0x90, 0x03]);
    assert.equal(replies[1]![2], 0x06);
    assert.equal(replies[2]![2], 0x06);
    time.advanceMs(10);
    link.receive(encodeReadRequest(0x0100, 4));
    assert.equal(replies[4]![1], 0x03);
  });

  it('stall: no ticks and no replies for its duration, then the buffered request is answered; no catch-up', () => {
    const { link, replies, time, device } = setup();
    link.receive(A_REQ);
    time.advanceMs(3.6);
    device.advanceTo(time.t);
    assert.equal(device.stats.ticks, 10);
    link.stall(50);
    time.advanceMs(10);
    link.receive(STATUS_REQ);
    time.advanceMs(39);
    device.advanceTo(time.t);
    assert.equal(replies.length, 1, 'no reply during the stall');
    assert.equal(device.stats.ticks, 10, 'no ticks during the stall');
    time.advanceMs(1.5);
    assert.equal(replies.length, 2);
    assert.equal(toHex(replies[1]!.subarray(0, 3)), '01 03 04');
    time.advanceMs(36);
    device.advanceTo(time.t);
    // 10 before, then one per 360 µs from the end of the stall (53.6 ms → 90.1 ms); none for the stall.
    assert.equal(device.stats.ticks, 10 + Math.floor((90.1 - 53.6) / 0.36) + 1);
  });

  it('unplug: the device vanishes for good', () => {
    const { link, replies, events } = setup();
    link.unplug();
    assert.deepEqual(events, ['unplug']);
    assert.equal(link.connected, false);
    assert.equal(link.isGone, true);
    link.receive(STATUS_REQ);
    assert.equal(replies.length, 0);
    assert.throws(() => link.connect(() => undefined));
  });

  it('RESET: the reply goes out, the link drops ~25 ms later with the device rebooted, and can reconnect', () => {
    const { link, replies, events, time, device } = setup();
    link.receive(hex('01 10 02 00 00 02 04 00 00 3F 00 FB 3F'));
    link.receive(encodeCommandRequest(Command.RESET, 1));
    assert.equal(toHex(replies[1]!), '01 10 4F 00 00 02 57 1C', 'the reply goes out first');
    time.advanceMs(24);
    assert.deepEqual(events, []);
    time.advanceMs(2);
    assert.deepEqual(events, ['reset']);
    assert.equal(link.connected, false);
    assert.equal(device.stats.reboots, 1);
    assert.equal(device.dacPendingSetpoints, 0);
    link.connect((b) => replies.push(b));
    link.receive(STATUS_REQ);
    assert.equal(toHex(replies[2]!), '01 03 04 00 00 00 00 FA 33');
  });

  it('bootloader hazard: a USB packet that is a prefix of BOOT_DFU_MODE enters the bootloader', () => {
    const { link, replies, events, time } = setup();
    link.receive(new TextEncoder().encode('BOOT'));
    assert.equal(new TextDecoder().decode(replies[0]!), 'ACK:BOOT: 0xDEADBEEF\r\n');
    time.advanceMs(100);
    assert.deepEqual(events, ['bootloader']);
    assert.equal(link.isGone, true);
  });

  it('bootloader hazard: a 28-register write whose final one-byte USB packet is 0x42', () => {
    // Find register data that makes the CRC high byte (the 65th byte) 0x42 ('B').
    const frame = new Uint8Array(9 + 56);
    frame.set([0x01, 0x10, 0x02, 0x00, 0x00, 0x1c, 0x38]);
    let k = 0;
    for (;; k++) {
      frame[7] = k & 0xff;
      frame[8] = k >>> 8;
      const crc = crc16Modbus(frame, 0, 63);
      frame[63] = crc & 0xff;
      frame[64] = crc >>> 8;
      if (frame[64] === 0x42) break;
    }
    const { link, replies } = setup();
    link.receive(frame);
    assert.equal(new TextDecoder().decode(replies[0]!), 'ACK:BOOT: 0xDEADBEEF\r\n');
    // The same write one register shorter is harmless.
    const safe = setup();
    safe.link.receive(encodeWriteRequest(0x0200, new Uint8Array(54)));
    assert.equal(safe.replies[0]![1], 0x10);
  });
});
