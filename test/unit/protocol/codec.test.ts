import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  crc16Modbus, hasValidCrc, encodeCommandRequest, encodePidStartRequest, encodeReadRequest, encodeWriteRequest,
  encodeExceptionResponse, encodeWriteResponse, encodeReadResponse, decodeResponse, encodeFloat32Words,
  wordBytesToFloat32, wordBytesToInt32, wordBytesToUint32, decodeAdcPairs, Command, Register, ExceptionCode,
  FunctionCode, float32ToWordBytes, UNIT_ADDRESS_ALT,
} from '../../../src/protocol/index.js';
import { hex, toHex } from '../../helpers/hex.js';
import { readFixture } from '../../helpers/fixtures.js';

interface Golden {
  crcCheck: { bytes: string; crc: string };
  frames: Array<{ name: string; hex: string }>;
  floatWords: Array<{ value: number; hex: string }>;
  pairExample: { current: number; potential: number; hex: string; replyOf30CrcHex: string };
  fullSetpointWrite: { count: number; value: number; headerHex: string; crcHex: string };
}
const golden = readFixture<Golden>('frames/golden.json');
const frame = (name: string) => hex(golden.frames.find((f) => f.name === name)!.hex);

test('CRC-16/MODBUS check value from the spec', () => {
  const crc = crc16Modbus(hex(golden.crcCheck.bytes));
  assert.equal(toHex(Uint8Array.of(crc & 0xff, crc >>> 8)), golden.crcCheck.crc);
});

test('every golden frame carries a valid CRC and a flipped bit breaks it', () => {
  for (const f of golden.frames) {
    const bytes = hex(f.hex);
    assert.ok(hasValidCrc(bytes, 0, bytes.length), f.name);
    bytes[2]! ^= 0x10;
    assert.ok(!hasValidCrc(bytes, 0, bytes.length), `${f.name} corrupted`);
  }
});

test('request encoders reproduce the spec frames byte for byte', () => {
  assert.equal(toHex(encodeCommandRequest(Command.FIFO_START, 1)), toHex(frame('FIFO_START 1 request')));
  assert.equal(toHex(encodePidStartRequest(0.001)), toHex(frame('PID_START 1 mA request')));
  assert.equal(toHex(encodeReadRequest(Register.ADC_FIFO, 120)), toHex(frame('read 120 ADC registers')));
  assert.equal(toHex(encodeReadRequest(Register.ADC_FIFO, 120, UNIT_ADDRESS_ALT)), toHex(frame('read 120 ADC registers unit FF')));
  assert.equal(toHex(encodeWriteRequest(Register.DAC_FIFO, encodeFloat32Words([0.5]))), toHex(frame('one setpoint 0.5 V request')));
  assert.equal(toHex(encodeReadRequest(0x0316, 2)), toHex(frame('read status word')));
  assert.equal(toHex(encodeReadRequest(0x0312, 2)), toHex(frame('read dac fill')));
  assert.equal(toHex(encodeReadRequest(0x0310, 8)), toHex(frame('read last 8 of control block')));
  assert.equal(toHex(encodeReadRequest(0x0300, 0x18)), toHex(frame('read whole block')));
  assert.equal(toHex(encodeCommandRequest(Command.SET_TIA_GAIN, 6)), toHex(frame('gain 6 request')));
  assert.equal(toHex(encodeCommandRequest(0xe9, 0)), toHex(frame('unknown command request')));
});

test('full 60-setpoint write matches header and CRC from the spec', () => {
  const { count, value, headerHex, crcHex } = golden.fullSetpointWrite;
  const f = encodeWriteRequest(Register.DAC_FIFO, encodeFloat32Words(new Array(count).fill(value)));
  assert.equal(f.length, 249);
  assert.equal(toHex(f.subarray(0, 7)), headerHex);
  assert.equal(toHex(f.subarray(247)), crcHex);
});

test('response encoders reproduce the spec frames', () => {
  assert.equal(toHex(encodeWriteResponse(1, Register.COMMAND, 2)), toHex(frame('FIFO_START 1 response')));
  assert.equal(toHex(encodeWriteResponse(1, Register.COMMAND, 3)), toHex(frame('PID_START response')));
  assert.equal(toHex(encodeWriteResponse(1, Register.DAC_FIFO, 120)), toHex(frame('60 setpoints response')));
  assert.equal(toHex(encodeExceptionResponse(1, FunctionCode.READ_HOLDING, ExceptionCode.SLAVE_DEVICE_BUSY)), toHex(frame('busy read')));
  assert.equal(toHex(encodeExceptionResponse(0xff, FunctionCode.READ_HOLDING, ExceptionCode.SLAVE_DEVICE_BUSY)), toHex(frame('busy read unit FF')));
  assert.equal(toHex(encodeExceptionResponse(1, FunctionCode.WRITE_MULTIPLE, ExceptionCode.SLAVE_DEVICE_BUSY)), toHex(frame('busy write')));
  assert.equal(toHex(encodeExceptionResponse(1, 0x06, ExceptionCode.ILLEGAL_FUNCTION)), toHex(frame('function 06 unsupported')));
  assert.equal(toHex(encodeReadResponse(1, 3, hex('00 00 00 00'))), toHex(frame('status idle')));
});

test('float32 word order C D A B, both directions', () => {
  for (const { value, hex: h } of golden.floatWords) {
    const out = new Uint8Array(4);
    float32ToWordBytes(value, out, 0);
    assert.equal(toHex(out), h);
    assert.equal(wordBytesToFloat32(hex(h), 0), Math.fround(value));
  }
  assert.equal(wordBytesToInt32(hex('FF FF FF FF'), 0), -1);
  assert.equal(wordBytesToUint32(hex('01 14 00 00'), 0), 0x114);
  assert.equal(wordBytesToUint32(hex('00 00 00 01'), 0), 0x10000);
});

test('ADC pairs decode current first; the 30-pair reply CRC matches the spec', () => {
  const { current, potential, hex: h, replyOf30CrcHex } = golden.pairExample;
  const pair = hex(h);
  const data = new Uint8Array(240);
  for (let i = 0; i < 30; i++) data.set(pair, i * 8);
  const reply = encodeReadResponse(1, 3, data);
  assert.equal(reply.length, 245);
  assert.equal(toHex(reply.subarray(243)), replyOf30CrcHex);
  const decoded = decodeResponse(reply);
  const i = new Float64Array(30);
  const e = new Float64Array(30);
  assert.equal(decodeAdcPairs(decoded.data, i, e, 0), 30);
  assert.equal(i[29], Math.fround(current));
  assert.equal(e[0], potential);
});

test('decodeResponse classifies exceptions and write echoes', () => {
  const ex = decodeResponse(frame('bad CRC on write'));
  assert.equal(ex.exception, ExceptionCode.ILLEGAL_DATA_VALUE);
  assert.equal(ex.fn, FunctionCode.WRITE_MULTIPLE);
  const w = decodeResponse(frame('60 setpoints response'));
  assert.equal(w.exception, null);
  assert.equal(w.start, Register.DAC_FIFO);
  assert.equal(w.count, 120);
  const wrap = decodeResponse(encodeExceptionResponse(1, 0x90, 1));
  assert.equal(wrap.frame[1], 0x10, 'fn + 0x80 wraps modulo 256');
});
