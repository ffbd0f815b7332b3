/**
 * Golden frames of beep-protocol.md 2.5 (A–H), typed in from the spec, against the
 * virtual potentiostat; and the order of checks of 2.3.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { appendCrc, encodeReadRequest, encodeReadWriteRequest, encodeWriteRequest } from '../../../src/protocol/index.js';
import { Harness, constantCell, hex, toHex } from './harness.js';

const A_REQ = '01 10 4F 00 00 02 04 00 E5 00 01 53 AB';
const A_RESP = '01 10 4F 00 00 02 57 1C';
const F_REQ = '01 10 02 00 00 02 04 00 00 3F 00 FB 3F';
const F_RESP = '01 10 02 00 00 02 40 70';
const STATUS_REQ = '01 03 03 16 00 02 25 8B';

function expectReply(h: Harness, request: string, reply: string): void {
  assert.equal(toHex(h.send(hex(request))), toHex(hex(reply)), `request ${request}`);
}

describe('beep-protocol.md 2.5 worked examples', () => {
  it('A: FIFO_START with parameter 1', () => {
    const h = new Harness();
    expectReply(h, A_REQ, A_RESP);
    assert.equal(h.device.status, 0x114);
  });

  it('B: PID_START with target +1.0 mA', () => {
    const h = new Harness();
    expectReply(h, '01 10 4F 00 00 03 06 00 E6 12 6F 3A 83 EC E7', '01 10 4F 00 00 03 96 DC');
    assert.equal(h.device.status & 0x1c, 0x1c);
    // PID state group: target float32 at 0x0600.
    assert.equal(h.readFloat(0x0600), Math.fround(0.001));
  });

  it('C: read 120 registers (30 pairs of 1.0 µA, 0.5 V) from the ADC FIFO, unit 1 and 0xFF', () => {
    const h = new Harness({ cell: constantCell(1e-6, 0.5) });
    expectReply(h, A_REQ, A_RESP);
    h.ticks(30);
    assert.equal(h.device.adcPendingPairs, 30);
    const pair = '37 BD 35 86 00 00 3F 00 ';
    expectReply(h, '01 03 01 00 00 78 44 14', `01 03 F0 ${pair.repeat(30)} B7 45`);
    assert.equal(h.device.adcPendingPairs, 0);
    h.ticks(30);
    const reply = h.send(hex('FF 03 01 00 00 78 51 CA'));
    assert.ok(reply);
    assert.equal(reply.length, 245);
    assert.equal(toHex(reply.subarray(0, 3)), 'FF 03 F0');
    assert.equal(toHex(reply.subarray(3, 243)), toHex(hex(pair.repeat(30))));
  });

  it('D: SLAVE_DEVICE_BUSY on a short ADC FIFO (unit 1 and 0xFF) and a full DAC FIFO', () => {
    const h = new Harness();
    expectReply(h, A_REQ, A_RESP);
    h.ticks(29);
    expectReply(h, '01 03 01 00 00 78 44 14', '01 83 06 C1 32');
    expectReply(h, 'FF 03 01 00 00 78 51 CA', 'FF 83 06 A0 C2');
    assert.equal(h.device.adcPendingPairs, 29, 'a busy read removes nothing');

    const idle = new Harness();
    for (let i = 0; i < 4096; i++) expectReply(idle, F_REQ, F_RESP);
    expectReply(idle, F_REQ, '01 90 06 CC 02');
    assert.equal(idle.device.dacPendingSetpoints, 4096);
  });

  it('E: other exceptions', () => {
    const h = new Harness();
    expectReply(h, '01 03 03 16 00 02 25 8C', '01 83 03 01 31'); // bad CRC on a read
    expectReply(h, '01 10 4F 00 00 02 04 00 E5 00 01 53 AC', '01 90 03 0C 01'); // bad CRC on a write
    assert.equal(h.device.status, 0, 'a write with a bad CRC has no effect');
    expectReply(h, '01 03 00 00 00 0A C5 CD', '01 83 02 C0 F1'); // group 0x00 (the 2.1 check-value frame)
    assert.equal(toHex(h.send(encodeWriteRequest(0x0300, hex('00 00')))), '01 90 02 CD C1'); // read-only group
    expectReply(h, '01 06 00 00 00 01 00 00', '01 86 01 83 A0'); // function 0x06, CRC never looked at
  });

  it('F: one setpoint of 0.5 V, and a full 60-setpoint write', () => {
    const h = new Harness();
    expectReply(h, F_REQ, F_RESP);
    expectReply(h, `01 10 02 00 00 78 F0 ${'00 00 3F 00 '.repeat(60)} 35 19`, '01 10 02 00 00 78 C1 93');
    assert.equal(h.device.dacPendingSetpoints, 61);
  });

  it('G: status polling', () => {
    const h = new Harness();
    expectReply(h, STATUS_REQ, '01 03 04 00 00 00 00 FA 33');
    expectReply(h, F_REQ, F_RESP);
    expectReply(h, A_REQ, A_RESP);
    expectReply(h, STATUS_REQ, '01 03 04 01 14 00 00 BB CB');
    h.ticks(3); // pops the one setpoint, then underruns
    expectReply(h, '01 03 03 12 00 02 64 4A', '01 03 04 FF FF FF FF FB A7');
    const last8 = h.send(hex('01 03 03 10 00 08 45 8D'));
    assert.equal(toHex(last8?.subarray(0, 3) ?? null), '01 03 10');
    assert.equal(toHex(last8?.subarray(15, 19) ?? null), '01 14 00 00', 'st is the last register pair');
    const all = h.send(hex('01 03 03 00 00 18 45 84'));
    assert.equal(all?.length, 5 + 48);
    assert.equal(toHex(all?.subarray(3 + 28, 3 + 32) ?? null), '60 F3 47 C1', 'gx of the boot gain (index 2, 99009.9 = 0x47C160F3)');
  });

  it('H: invalid commands', () => {
    const h = new Harness();
    expectReply(h, '01 10 4F 00 00 02 04 00 E3 00 06 F2 68', '01 90 03 0C 01');
    assert.equal(h.device.tiaGainIndex, 2, 'gain unchanged');
    expectReply(h, '01 10 4F 00 00 02 04 00 E9 00 00 52 68', '01 90 03 0C 01');
  });
});

describe('order of checks (2.3)', () => {
  it('stays silent for every address but 1 and 0xFF, including broadcast 0, whatever follows', () => {
    const h = new Harness();
    for (const address of [0x00, 0x02, 0x7f, 0xfe]) {
      assert.equal(h.send(encodeReadRequest(0x0316, 2, address)), null);
      assert.equal(h.send(hex(`${address.toString(16).padStart(2, '0')} 06 00 00`)), null, 'not even ILLEGAL_FUNCTION');
      assert.equal(h.send(encodeWriteRequest(0x4f00, hex('00 E5 00 01'), address)), null);
    }
    assert.equal(h.device.status, 0, 'no action for a foreign address');
    assert.equal(toHex(h.send(hex('FF 03 03 16 00 02 30 55'))?.subarray(0, 3) ?? null), 'FF 03 04', 'echoes 0xFF');
  });

  it('function before CRC, CRC before group', () => {
    const h = new Harness();
    assert.equal(toHex(h.send(hex('01 2B 0E 01 00 FF FF'))?.subarray(0, 3) ?? null), '01 AB 01');
    assert.equal(h.send(hex('01 2B 0E 01 00 FF FF'))![2], 0x01);
    assert.equal(toHex(h.send(hex('01 06 00 01 00 03 98 0B'))), '01 86 01 83 A0', 'valid CRC, still 0x01');
    // 0x80 is added arithmetically: function 0x90 → 0x10 in the reply.
    assert.equal(h.send(hex('01 90 00'))![1], 0x10);
    // Unknown group with a bad CRC: the CRC wins.
    const badGroup = encodeReadRequest(0x0700, 2);
    badGroup[7] = badGroup[7]! ^ 0xff;
    assert.equal(h.send(badGroup)![2], 0x03);
    assert.equal(h.send(encodeReadRequest(0x0700, 2))![2], 0x02);
  });

  it('rejects a read of the write-only command group and writes to read-only groups', () => {
    const h = new Harness();
    assert.equal(h.send(encodeReadRequest(0x4f00, 2))![2], 0x02);
    for (const group of [0x0100, 0x0300, 0x0400, 0x0600, 0x4300, 0x4400]) assert.equal(h.send(encodeWriteRequest(group, hex('00 00')))![2], 0x02, `group 0x${group.toString(16)}`);
    for (const group of [0x0000, 0x0700, 0x5f00, 0x6000, 0xf000, 0xfd00]) assert.equal(h.send(encodeReadRequest(group, 1))![2], 0x02);
  });

  it('read path: FIFO handler (busy) before the range check; a failing range check loses the popped pairs', () => {
    const h = new Harness();
    h.okCommand(0xe5, 1);
    h.ticks(20);
    // 127 registers: byte count 254 > 252 → range error, but only after the handler.
    assert.equal(h.send(encodeReadRequest(0x0100, 127))![2], 0x06, '31 pairs requested, 20 pending → busy first');
    assert.equal(h.device.adcPendingPairs, 20);
    h.ticks(20);
    const pending = h.device.adcPendingPairs;
    assert.equal(h.send(encodeReadRequest(0x0100, 127))![2], 0x02);
    assert.equal(h.device.adcPendingPairs, pending - 31, 'the 31 pairs are gone');
    // A read at another offset still pops (5 pairs here) and is range checked afterwards.
    assert.equal(h.send(encodeReadRequest(0x0170, 20))![2], 0x02);
    assert.equal(h.device.adcPendingPairs, pending - 31 - 5);
  });

  it('write path: range check before the handler (no side effects), offsets above 252 rejected', () => {
    const h = new Harness();
    h.writeSetpoints(new Float32Array(4096));
    // count 129 with a consistent CRC position (byte count field 2): range error, not busy.
    const big = hex('01 10 02 00 00 81 02 00 00 00 00');
    appendCrc(big, 9);
    assert.equal(h.send(big)![2], 0x02, '129 registers: range error, not busy');
    assert.equal(h.send(encodeWriteRequest(0x0200, new Uint8Array(4)))![2], 0x06);
    assert.equal(h.send(encodeWriteRequest(0x027f, new Uint8Array(2)))![2], 0x02, 'offset 254 > 252');
    assert.equal(h.send(encodeWriteRequest(0x4f09, hex('00 00')))![2], 0x03, 'in range: stored, then the (empty) command fails');
    assert.equal(h.send(encodeWriteRequest(0x4f0a, hex('00 00')))![2], 0x02, 'beyond the 20-byte command group');
    assert.equal(h.device.dacPendingSetpoints, 4096);
  });

  it('0x17: write first; a failing write prevents the read; a failing read keeps the write', () => {
    const h = new Harness();
    // Write FIFO_START 1, read the status word: the reply already shows the run.
    const ok = h.send(encodeReadWriteRequest(0x0316, 2, 0x4f00, hex('00 E5 00 01')));
    assert.equal(toHex(ok?.subarray(0, 7) ?? null), '01 17 04 01 14 00 00');
    // Write succeeds (SET_SWITCH 0), read fails (unknown group): 0x02, but the switch is open.
    const readFails = h.send(encodeReadWriteRequest(0x0700, 2, 0x4f00, hex('00 E4 00 00')));
    assert.equal(toHex(readFails?.subarray(0, 3) ?? null), '01 97 02');
    assert.equal(h.device.status & 0x100, 0);
    // Write fails (DAC FIFO full → busy): the ADC FIFO read does not happen.
    h.writeSetpoints(new Float32Array(4096 - h.device.dacPendingSetpoints));
    h.ticks(10);
    const pending = h.device.adcPendingPairs;
    h.writeSetpoints(new Float32Array(4096 - h.device.dacPendingSetpoints));
    const writeFails = h.send(encodeReadWriteRequest(0x0100, 4, 0x0200, new Uint8Array(4)));
    assert.equal(toHex(writeFails?.subarray(0, 3) ?? null), '01 97 06');
    assert.equal(h.device.adcPendingPairs, pending);
  });
});
