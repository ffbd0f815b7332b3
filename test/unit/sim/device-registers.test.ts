/** Register groups, commands and the measurement chain of the virtual potentiostat. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command, StatusBit, encodeFloat32Words, encodeReadRequest, encodeWriteRequest, wordBytesToFloat32, wordBytesToUint32 } from '../../../src/protocol/index.js';
import { VirtualPotentiostat } from '../../../src/sim/device.js';
import { Harness, constantCell, hex, toHex } from './harness.js';

describe('TIA gain (5.3)', () => {
  it('indices 0–3 select their gx, 4 and 5 clamp to index 3, 6 and above are rejected', () => {
    const h = new Harness();
    const expectedBits = [0x4479f99a, 0x461c180a, 0x47c160f3, 0x495df22f, 0x495df22f, 0x495df22f];
    for (let index = 0; index <= 5; index++) {
      h.okCommand(Command.SET_TIA_GAIN, index);
      assert.equal(wordBytesToUint32(h.read(0x030e, 2), 0), expectedBits[index], `index ${index}`);
    }
    assert.equal(h.device.tiaGainIndex, 3);
    for (const index of [6, 7, 0xff]) assert.equal(toHex(h.command(Command.SET_TIA_GAIN, index)), '01 90 03 0C 01');
    assert.equal(h.device.tiaGainIndex, 3, 'unchanged');
  });

  it('current saturates at ±4.95 V / gx', () => {
    const h = new Harness({ cell: constantCell(1e-3, 0.1) });
    h.ticks(2);
    assert.equal(h.readFloat(0x0300), Math.fround(4.95 / 99009.9) );
    h.okCommand(Command.SET_TIA_GAIN, 0);
    h.ticks(2);
    assert.equal(h.readFloat(0x0300), Math.fround(1e-3));
  });

  it('with smoothing, a gain change leaves the reading off by gx_old/gx_new for ~100 conversions', () => {
    const h = new Harness({ cell: constantCell(1e-6, 0.1), smoothing: true });
    h.ticks(2000);
    assert.ok(Math.abs(h.readFloat(0x0300) - 1e-6) < 1e-9);
    h.okCommand(Command.SET_TIA_GAIN, 1);
    const right = h.readFloat(0x0300);
    assert.ok(Math.abs(right - 1e-6 * (99009.9 / 9990.01)) < 1e-8, `${right}`);
    h.ticks(1000);
    assert.ok(Math.abs(h.readFloat(0x0300) - 1e-6) < 1e-9);
  });
});

describe('command buffer (5.1)', () => {
  it('re-executes the stored command on a short write; parameters come from p[0] only', () => {
    const h = new Harness();
    h.okCommand(Command.SET_SWITCH, 1);
    assert.equal(h.device.status, StatusBit.CE);
    // Write only the parameter register: SET_SWITCH re-executes with p[0] = 0.
    assert.equal(h.send(encodeWriteRequest(0x4f01, hex('00 00')))?.[1], 0x10);
    assert.equal(h.device.status, 0);
    // Write only the command register: the stored parameter (0) is used again... then 1.
    assert.equal(h.send(encodeWriteRequest(0x4f01, hex('00 01')))?.[1], 0x10);
    assert.equal(h.device.status, StatusBit.CE);
    h.okCommand(Command.SET_TIA_GAIN, 1);
    assert.equal(h.send(encodeWriteRequest(0x4f00, hex('00 E4')))?.[1], 0x10, 'SET_SWITCH with the stored p[0] = 1');
    assert.equal(h.device.status, StatusBit.CE);
    // Parameter register 0x0100: p[0] = 0x00, p[1] = 0x01 → counts as 0.
    assert.equal(h.send(encodeWriteRequest(0x4f00, hex('00 E4 01 00')))?.[1], 0x10);
    assert.equal(h.device.status, 0);
  });

  it('a failing command keeps its bytes in the buffer', () => {
    const h = new Harness();
    assert.equal(toHex(h.command(Command.SET_TIA_GAIN, 6)), '01 90 03 0C 01');
    // Re-execute SET_TIA_GAIN by rewriting only its parameter.
    assert.equal(h.send(encodeWriteRequest(0x4f01, hex('00 01')))?.[1], 0x10);
    assert.equal(h.device.tiaGainIndex, 1);
  });

  it('command 0x01E5 is unknown (the whole 16-bit word counts)', () => {
    const h = new Harness();
    assert.equal(toHex(h.send(encodeWriteRequest(0x4f00, hex('01 E5 00 01')))), '01 90 03 0C 01');
    assert.equal(h.device.status, 0);
  });
});

describe('groups', () => {
  it('0x05 DAC outputs: a write applies all three values from the buffer', () => {
    const h = new Harness();
    // Partial write before any read: TOAREF and OPVREF get the stale zeros.
    assert.equal(h.send(encodeWriteRequest(0x0500, encodeFloat32Words([0.3])))?.[1], 0x10);
    assert.equal(h.device.appliedPotentialV, Math.fround(0.3));
    assert.equal(h.readFloat(0x0308), 0, 'dac.opvref became 0');
    assert.equal(h.readFloat(0x0504), 0);
    // Restore OPVREF with a full write; a read refreshes the buffer, so a later partial write is safe.
    assert.equal(h.send(encodeWriteRequest(0x0500, encodeFloat32Words([0.3, 0.2, 1.65])))?.[1], 0x10);
    assert.deepEqual(Array.from({ length: 3 }, (_, i) => wordBytesToFloat32(h.read(0x0500, 6), 4 * i)), [Math.fround(0.3), Math.fround(0.2), Math.fround(1.65)]);
    assert.equal(h.send(encodeWriteRequest(0x0500, encodeFloat32Words([-0.2])))?.[1], 0x10);
    assert.equal(h.readFloat(0x0308), Math.fround(1.65));
    assert.equal(h.readFloat(0x0306), Math.fround(0.2), 'dac.toaref');
    assert.equal(h.device.appliedPotentialV, Math.fround(-0.2));
    // dac.vcein is the DAC pin voltage before clamping: 1.65 − setpoint/3.
    assert.ok(Math.abs(h.readFloat(0x0304) - (1.65 + 0.2 / 3)) < 1e-6);
  });

  it('setpoints beyond ±4.95 V are clipped by the DAC; dac.vcein reports the unclamped pin voltage', () => {
    const h = new Harness();
    h.writeSetpoints([6, -7]);
    h.okCommand(Command.FIFO_START, 1);
    h.ticks(1);
    assert.ok(Math.abs(h.device.appliedPotentialV - 4.95) < 1e-6);
    assert.ok(Math.abs(h.readFloat(0x0304) - (1.65 - 2)) < 1e-6);
    h.ticks(1);
    assert.ok(Math.abs(h.device.appliedPotentialV + 4.95) < 1e-6);
  });

  it('0x43 chip id: 96-bit UID, a zero word, flash status; declared 212 bytes', () => {
    const uid = hex('10 32 54 76 98 BA DC FE 01 23 45 67');
    const h = new Harness({ uid });
    const id = h.read(0x4300, 8);
    assert.equal(toHex(id), '32 10 76 54 BA 98 FE DC 23 01 67 45 00 00 00 00');
    assert.equal(h.read(0x4300, 106).length, 212);
    assert.equal(h.send(encodeReadRequest(0x4300, 107))?.[2], 0x02);
    assert.equal(h.device.serialNumber, ((0x76543210 + 0x67452301) >>> 0).toString(16).toUpperCase().padStart(8, '0') + 'FEDC');
  });

  it('0x06 PID state: dt is whole milliseconds; ticks within the same millisecond change nothing', () => {
    const h = new Harness({ cell: constantCell(0, 0), tickIntervalUs: 250 });
    h.okCommand(Command.SET_SWITCH, 1);
    assert.equal(h.send(encodeWriteRequest(0x4f00, new Uint8Array([0, 0xe6, ...encodeFloat32Words([1e-4])])))?.[1], 0x10);
    const outputs: number[] = [];
    for (let i = 0; i < 40; i++) {
      h.ticks(1);
      outputs.push(h.device.pidOutputV);
    }
    const changes = outputs.filter((v, i) => i > 0 && v !== outputs[i - 1]).length;
    assert.equal(changes, 10, '40 ticks of 250 µs span 10 ms: one change per whole millisecond');
    const state = h.read(0x0600, 16);
    const f = (i: number) => wordBytesToFloat32(state, 4 * i);
    assert.equal(f(0), Math.fround(1e-4), 'target');
    assert.equal(f(1), Math.fround(1e-4), 'error (current reads 0)');
    assert.equal(f(4), h.device.pidOutputV, 'output');
    // kp·e = 0.01 V per 1-ms step (well below the 0.05 V/ms slew limit).
    assert.ok(Math.abs(f(4) - 10 * 0.01) < 1e-4, `${f(4)}`);
    assert.equal(wordBytesToUint32(state, 28), Math.floor((h.t - 1_000_000) / 1000));
  });

  it('0x40 timing and 0x32 PID configuration read back their defaults; LOADDFLT restores them', () => {
    const h = new Harness();
    assert.deepEqual([0, 2, 4, 6].map((o) => wordBytesToUint32(h.read(0x4000, 8), 2 * o)), [200, 50, 10000, 200]);
    const pid = h.read(0x3200, 22);
    assert.deepEqual([0, 1, 2].map((i) => wordBytesToFloat32(pid, 4 * i)), [100, Math.fround(0.01), Math.fround(2.5e-5)]);
    assert.equal(h.send(encodeWriteRequest(0x3200, encodeFloat32Words([5])))?.[1], 0x10);
    assert.equal(h.readFloat(0x3200), 5);
    h.okCommand(Command.LOADDFLT, 0);
    assert.equal(h.readFloat(0x3200), 100);
  });

  it('SENSOR_ZERO re-zeroes current and potential under present conditions', () => {
    const h = new Harness({ cell: constantCell(2e-6, 0.3) });
    h.ticks(2);
    assert.equal(h.readFloat(0x0302), Math.fround(0.3));
    h.okCommand(Command.SENSOR_ZERO);
    h.ticks(2);
    assert.ok(Math.abs(h.readFloat(0x0300)) < 1e-12);
    assert.ok(Math.abs(h.readFloat(0x0302)) < 1e-6);
  });

  it('0x45 date/time: struct tm from the RTC, settable', () => {
    const h = new Harness();
    const tm = h.read(0x4500, 18);
    const field = (i: number) => wordBytesToUint32(tm, 4 * i) | 0;
    assert.deepEqual([0, 1, 2, 3, 4, 5].map(field), [5, 4, 3, 2, 0, 126]);
    const set = new Uint8Array(36);
    const v = new DataView(set.buffer);
    [10, 20, 7, 15, 5, 127].forEach((x, i) => {
      v.setUint16(4 * i, x, false);
    });
    assert.equal(h.send(encodeWriteRequest(0x4500, set))?.[1], 0x10);
    h.advanceUs(2_000_000);
    const after = h.read(0x4500, 12);
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => wordBytesToUint32(after, 4 * i)), [12, 20, 7, 15, 5, 127]);
  });

  it('0x04 analog means: WE volts (not current), RE potential, supply, temperature, VBAT', () => {
    const h = new Harness({ cell: constantCell(0, 0.25) });
    h.ticks(2);
    const m = h.read(0x0400, 10);
    assert.ok(Math.abs(wordBytesToFloat32(m, 0) - 1.65) < 1e-6);
    assert.equal(wordBytesToFloat32(m, 4), 0.25);
    assert.ok(wordBytesToFloat32(m, 8) > 3);
  });

  it('CFG_SAVE stalls the main loop ~25 ms later and counts a flash write', () => {
    const h = new Harness();
    h.writeSetpoints(new Float32Array(2000));
    h.okCommand(Command.FIFO_START, 1);
    h.okCommand(Command.CFG_SAVE);
    h.advanceUs(100_000);
    assert.equal(h.device.stats.flashWrites, 1);
    assert.ok(h.device.stats.ticks < 100_000 / 360 - 100, `${h.device.stats.ticks} ticks`);
    assert.equal(wordBytesToUint32(h.read(0x4400, 6), 8), 1);
  });
});

describe('measurement chain', () => {
  it('smoothing follows mean := (mean·99 + new)/100 per conversion, 2 conversions per 360 µs tick', () => {
    let t = 0;
    const cell = constantCell(0, 1);
    const d = new VirtualPotentiostat({ now: () => t, noise: 0, smoothing: true, cell });
    let mean = 0;
    for (let k = 1; k <= 50; k++) {
      t = k * 360;
      d.advanceTo(t);
      for (let c = 0; c < 2; c++) mean = (mean * 99 + 1) / 100;
    }
    assert.ok(Math.abs(d.potentialReadingV - mean) < 1e-12, `${d.potentialReadingV} vs ${mean}`);
  });

  it('is deterministic for a seed and noisy with noise > 0', () => {
    const run = (seed: number) => {
      let t = 0;
      const d = new VirtualPotentiostat({ now: () => t, seed });
      const out: number[] = [];
      for (let k = 1; k <= 20; k++) {
        t = k * 360;
        d.advanceTo(t);
        out.push(d.potentialReadingV);
      }
      return out;
    };
    assert.deepEqual(run(3), run(3));
    assert.notDeepEqual(run(3), run(4));
  });

  it('weout and reout update continuously while idle; open-circuit potential drifts with the switch open', () => {
    let t = 0;
    const d = new VirtualPotentiostat({ now: () => t, seed: 5 });
    const samples: number[] = [];
    for (let s = 1; s <= 60; s++) {
      t = s * 1e6;
      d.advanceTo(t);
      samples.push(d.potentialReadingV);
    }
    assert.equal(d.status & StatusBit.CE, 0);
    const spread = Math.max(...samples) - Math.min(...samples);
    assert.ok(spread > 2e-4 && spread < 0.05, `OCP wander ${spread} V`);
  });
});
