/** Test harness for the virtual potentiostat: an injected clock and request helpers. */
import assert from 'node:assert/strict';
import {
  encodeCommandRequest,
  encodeReadRequest,
  encodeWriteRequest,
  encodeFloat32Words,
  hasValidCrc,
  wordBytesToFloat32,
  wordBytesToInt32,
  wordBytesToUint32,
} from '../../../src/protocol/index.js';
import type { CellModel } from '../../../src/sim/cell.js';
import { VirtualPotentiostat, type VirtualPotentiostatOptions } from '../../../src/sim/device.js';

export function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  assert.equal(clean.length % 2, 0, `odd hex string ${s}`);
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => parseInt(b, 16));
}

export function toHex(bytes: Uint8Array | null): string {
  if (bytes === null) return 'null';
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(' ');
}

/** A cell whose readings are fixed numbers. */
export function constantCell(currentA: number, potentialV: number): CellModel {
  return { currentA, potentialV, step: () => undefined };
}

/** A cell whose potential reading counts frames (1, 2, 3, ...) so each pair is identifiable. */
export function countingCell(): CellModel & { frames: number; potentialV: number } {
  return {
    frames: 0,
    currentA: 0,
    potentialV: 0,
    step(): void {
      this.frames++;
      this.potentialV = this.frames;
    },
  };
}

export class Harness {
  t = 1_000_000;
  readonly device: VirtualPotentiostat;
  readonly intervalUs: number;

  constructor(options: VirtualPotentiostatOptions = {}) {
    this.device = new VirtualPotentiostat({ now: () => this.t, noise: 0, smoothing: false, seed: 7, rtcEpochMs: Date.UTC(2026, 0, 2, 3, 4, 5), ...options });
    this.intervalUs = options.tickIntervalUs ?? 360;
  }

  send(frame: Uint8Array): Uint8Array | null {
    return this.device.handleRequest(frame, this.t);
  }

  advanceUs(us: number): void {
    this.t += us;
    this.device.advanceTo(this.t);
  }

  /** Advances by n nominal tick intervals. */
  ticks(n: number): void {
    this.advanceUs(n * this.intervalUs);
  }

  command(command: number, parameter = 0): Uint8Array {
    const reply = this.send(encodeCommandRequest(command, parameter));
    assert.ok(reply);
    return reply;
  }

  okCommand(command: number, parameter = 0): void {
    const reply = this.command(command, parameter);
    assert.equal(reply[1], 0x10, `command 0x${command.toString(16)} failed: ${toHex(reply)}`);
  }

  /** Writes setpoints in chunks of 61; asserts success. */
  writeSetpoints(values: ArrayLike<number>): void {
    for (let i = 0; i < values.length; i += 61) {
      const reply = this.send(encodeWriteRequest(0x0200, encodeFloat32Words(values, i, Math.min(values.length, i + 61))));
      assert.ok(reply && reply[1] === 0x10, `setpoint write failed: ${toHex(reply)}`);
    }
  }

  read(start: number, count: number): Uint8Array {
    const reply = this.send(encodeReadRequest(start, count));
    assert.ok(reply && hasValidCrc(reply, 0, reply.length));
    assert.equal(reply[1], 0x03, `read 0x${start.toString(16)} failed: ${toHex(reply)}`);
    return reply.subarray(3, reply.length - 2);
  }

  readFloat(register: number): number {
    return wordBytesToFloat32(this.read(register, 2), 0);
  }

  readInt32(register: number): number {
    return wordBytesToInt32(this.read(register, 2), 0);
  }

  readUint32(register: number): number {
    return wordBytesToUint32(this.read(register, 2), 0);
  }

  get status(): number {
    return this.readUint32(0x0316);
  }

  /** Reads n pairs (≤ 31) or returns the exception code. */
  readPairs(n: number): { current: number[]; potential: number[] } | number {
    const reply = this.send(encodeReadRequest(0x0100, 4 * n));
    assert.ok(reply);
    if (reply[1]! & 0x80) return reply[2]!;
    const data = reply.subarray(3, reply.length - 2);
    const current: number[] = [];
    const potential: number[] = [];
    for (let p = 0; p < n; p++) {
      current.push(wordBytesToFloat32(data, p * 8));
      potential.push(wordBytesToFloat32(data, p * 8 + 4));
    }
    return { current, potential };
  }

  /** Drains every pending pair. */
  drainPairs(): { current: number[]; potential: number[] } {
    const all = { current: [] as number[], potential: [] as number[] };
    for (;;) {
      const pending: number = this.device.adcPendingPairs;
      if (pending === 0) return all;
      const r = this.readPairs(Math.min(31, pending));
      assert.ok(typeof r !== 'number');
      all.current.push(...r.current);
      all.potential.push(...r.potential);
    }
  }
}
