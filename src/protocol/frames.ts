/**
 * Modbus RTU frame encoding and length rules for the BEEP subset (beep-protocol.md 2).
 * Pure functions over Uint8Array; the CRC is appended low byte first.
 */
import { appendCrc } from './crc16.js';
import { Command, FunctionCode, Register, UNIT_ADDRESS } from './constants.js';
import { float32ToWordBytes } from './words.js';

export const EXCEPTION_FLAG = 0x80;
export const EXCEPTION_FRAME_BYTES = 5;
export const WRITE_REPLY_BYTES = 8;
export const READ_REQUEST_BYTES = 8;

/** address, function, then big-endian 16-bit words (start, count, …) from offset 2. */
function writeHeader(f: Uint8Array, address: number, fn: number, words: readonly number[]): void {
  f[0] = address;
  f[1] = fn;
  words.forEach((w, i) => {
    f[2 + 2 * i] = (w >>> 8) & 0xff;
    f[3 + 2 * i] = w & 0xff;
  });
}

export function encodeReadRequest(start: number, count: number, address = UNIT_ADDRESS, fn: number = FunctionCode.READ_HOLDING): Uint8Array {
  return encodeReadRequestInto(new Uint8Array(READ_REQUEST_BYTES), start, count, address, fn);
}

/** The same read request, encoded into `out` (at least 8 bytes); returns `out`. No allocation. */
export function encodeReadRequestInto(out: Uint8Array, start: number, count: number, address = UNIT_ADDRESS, fn: number = FunctionCode.READ_HOLDING): Uint8Array {
  out[0] = address;
  out[1] = fn;
  out[2] = (start >>> 8) & 0xff;
  out[3] = start & 0xff;
  out[4] = (count >>> 8) & 0xff;
  out[5] = count & 0xff;
  appendCrc(out, 6);
  return out;
}

/** Write-multiple request; `data` holds the register bytes (2 per register, big-endian words). */
export function encodeWriteRequest(start: number, data: Uint8Array, address = UNIT_ADDRESS): Uint8Array {
  const f = new Uint8Array(9 + data.length);
  writeHeader(f, address, FunctionCode.WRITE_MULTIPLE, [start, data.length >>> 1]);
  f[6] = data.length & 0xff;
  f.set(data, 7);
  appendCrc(f, 7 + data.length);
  return f;
}

/**
 * Write-multiple request of float32 values [from, to) (2 registers each, low word first),
 * encoded into `out` without allocating; returns the frame as a view of `out`'s first bytes.
 * The same bytes as `encodeWriteRequest(start, encodeFloat32Words(values, from, to))`.
 */
export function encodeFloat32WriteRequestInto(out: Uint8Array, start: number, values: ArrayLike<number>, from: number, to: number, address = UNIT_ADDRESS): Uint8Array {
  const bytes = (to - from) * 4;
  if (9 + bytes > out.length) throw new RangeError(`a write of ${to - from} values needs ${9 + bytes} bytes, the buffer has ${out.length}`);
  out[0] = address;
  out[1] = FunctionCode.WRITE_MULTIPLE;
  out[2] = (start >>> 8) & 0xff;
  out[3] = start & 0xff;
  out[4] = (bytes >>> 9) & 0xff;
  out[5] = (bytes >>> 1) & 0xff;
  out[6] = bytes & 0xff;
  for (let i = from; i < to; i++) float32ToWordBytes(values[i]!, out, 7 + (i - from) * 4);
  appendCrc(out, 7 + bytes);
  return out.subarray(0, 9 + bytes);
}

/** Read/write-multiple (0x17): the device writes first, then reads. */
export function encodeReadWriteRequest(readStart: number, readCount: number, writeStart: number, data: Uint8Array, address = UNIT_ADDRESS): Uint8Array {
  const f = new Uint8Array(13 + data.length);
  writeHeader(f, address, FunctionCode.READ_WRITE_MULTIPLE, [readStart, readCount, writeStart, data.length >>> 1]);
  f[10] = data.length & 0xff;
  f.set(data, 11);
  appendCrc(f, 11 + data.length);
  return f;
}

/** Command write to 0x4F00: [command, parameter] with the parameter in the low byte (p[0]). */
export function encodeCommandRequest(command: number, parameter = 0, address = UNIT_ADDRESS): Uint8Array {
  const data = new Uint8Array([command >>> 8, command & 0xff, (parameter >>> 8) & 0xff, parameter & 0xff]);
  return encodeWriteRequest(Register.COMMAND, data, address);
}

/** PID_START with a float32 target current in A (3 registers). */
export function encodePidStartRequest(targetA: number, address = UNIT_ADDRESS): Uint8Array {
  const data = new Uint8Array(6);
  data[0] = Command.PID_START >>> 8;
  data[1] = Command.PID_START & 0xff;
  float32ToWordBytes(targetA, data, 2);
  return encodeWriteRequest(Register.COMMAND, data, address);
}

export function encodeReadResponse(address: number, fn: number, data: Uint8Array): Uint8Array {
  const f = new Uint8Array(5 + data.length);
  f[0] = address;
  f[1] = fn;
  f[2] = data.length & 0xff;
  f.set(data, 3);
  appendCrc(f, 3 + data.length);
  return f;
}

export function encodeWriteResponse(address: number, start: number, count: number): Uint8Array {
  const f = new Uint8Array(WRITE_REPLY_BYTES);
  writeHeader(f, address, FunctionCode.WRITE_MULTIPLE, [start, count]);
  appendCrc(f, 6);
  return f;
}

/** Exception reply; the firmware adds 0x80 arithmetically, wrapping modulo 256. */
export function encodeExceptionResponse(address: number, fn: number, code: number): Uint8Array {
  const f = new Uint8Array(EXCEPTION_FRAME_BYTES);
  f[0] = address;
  f[1] = (fn + EXCEPTION_FLAG) & 0xff;
  f[2] = code;
  appendCrc(f, 3);
  return f;
}

/** Result of asking how long the frame at some offset is. */
export type FrameLength = number | 'incomplete' | 'invalid';

/**
 * Length of the response frame starting at bytes[offset], judged from its header only
 * (the CRC is checked by the caller). Exceptions are 5 bytes, reads 3 + byteCount + 2,
 * write echoes 8.
 */
export function measureResponse(bytes: Uint8Array, offset: number, available: number): FrameLength {
  if (available < 2) return 'incomplete';
  const fn = bytes[offset + 1]!;
  if (fn & EXCEPTION_FLAG) return EXCEPTION_FRAME_BYTES;
  switch (fn) {
    case FunctionCode.READ_HOLDING:
    case FunctionCode.READ_INPUT:
    case FunctionCode.READ_WRITE_MULTIPLE:
      if (available < 3) return 'incomplete';
      return 5 + bytes[offset + 2]!;
    case FunctionCode.WRITE_MULTIPLE:
      return WRITE_REPLY_BYTES;
    default:
      return 'invalid';
  }
}

/**
 * Length of the request frame starting at bytes[offset] as the firmware locates its CRC
 * (0x10 from the byte-count field, 0x17 likewise); 'invalid' for other functions.
 */
export function measureRequest(bytes: Uint8Array, offset: number, available: number): FrameLength {
  if (available < 2) return 'incomplete';
  switch (bytes[offset + 1]!) {
    case FunctionCode.READ_HOLDING:
    case FunctionCode.READ_INPUT:
      return READ_REQUEST_BYTES;
    case FunctionCode.WRITE_MULTIPLE:
      if (available < 7) return 'incomplete';
      return 9 + bytes[offset + 6]!;
    case FunctionCode.READ_WRITE_MULTIPLE:
      if (available < 11) return 'incomplete';
      return 13 + bytes[offset + 10]!;
    default:
      return 'invalid';
  }
}

/** A decoded response frame; `frame` is a view of the whole frame including CRC. */
export interface ResponseFrame {
  address: number;
  fn: number;
  /** Set for exception replies (function has bit 7 set). */
  exception: number | null;
  /** Read replies: the data bytes. Empty otherwise. */
  data: Uint8Array;
  /** Write replies: echoed start and count. */
  start: number;
  count: number;
  frame: Uint8Array;
}

/** The data of replies that carry none: zero bytes, so one shared instance cannot be written to. */
const NO_DATA = new Uint8Array(0);

/** Interprets a CRC-checked response frame. */
export function decodeResponse(frame: Uint8Array): ResponseFrame {
  const address = frame[0]!;
  const fn = frame[1]!;
  if (fn & EXCEPTION_FLAG) {
    return { address, fn: (fn - EXCEPTION_FLAG) & 0xff, exception: frame[2]!, data: NO_DATA, start: 0, count: 0, frame };
  }
  if (fn === FunctionCode.WRITE_MULTIPLE) {
    return { address, fn, exception: null, data: NO_DATA, start: (frame[2]! << 8) | frame[3]!, count: (frame[4]! << 8) | frame[5]!, frame };
  }
  return { address, fn, exception: null, data: frame.subarray(3, 3 + frame[2]!), start: 0, count: 0, frame };
}
