/** FIFOs and the controller tick (beep-protocol.md 6, 10.1) on the virtual potentiostat. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command, StatusBit, encodeFloat32Words, encodeReadRequest, encodeWriteRequest } from '../../../src/protocol/index.js';
import { Harness, countingCell } from './harness.js';

const f32 = Math.fround;

describe('ADC FIFO', () => {
  it('reads are all-or-nothing', () => {
    const h = new Harness();
    h.okCommand(Command.FIFO_START, 1);
    h.ticks(10);
    assert.equal(h.readPairs(30), 0x06);
    assert.equal(h.device.adcPendingPairs, 10);
    const r = h.readPairs(10);
    assert.ok(typeof r !== 'number');
    assert.equal(h.device.adcPendingPairs, 0);
    assert.equal(h.readPairs(1), 0x06);
  });

  it('overwrites the oldest pair: after 2100 ticks without reads the newest 2048 remain', () => {
    const cell = countingCell();
    const h = new Harness({ cell });
    h.okCommand(Command.FIFO_START, 1);
    h.ticks(2100);
    assert.equal(h.device.stats.ticks, 2100);
    assert.equal(h.device.adcPendingPairs, 2048);
    assert.equal(h.readInt32(0x0310), 2048, 'adc_fifo_elem saturates at 2048');
    const all = h.drainPairs();
    assert.equal(all.potential.length, 2048);
    // Tick k pushes the reading of frame k + 1 (the counting cell's potential).
    assert.deepEqual(all.potential, Array.from({ length: 2048 }, (_, i) => 2100 - 2048 + 1 + i));
    assert.equal(h.device.stats.adcOverwrittenPairs, 52);
    assert.equal(h.device.stats.adcOverflowEvents, 1);
    assert.equal(h.device.status & StatusBit.RUN, StatusBit.RUN, 'no flag, no stop');
  });

  it('FIFO_START and CLEAR_FIFO 1 clear the ADC FIFO only; CLEAR_FIFO 0 is a no-op', () => {
    const h = new Harness();
    h.writeSetpoints(new Float32Array(500));
    h.okCommand(Command.FIFO_START, 1);
    h.ticks(100);
    h.okCommand(Command.CLEAR_FIFO, 0);
    assert.equal(h.device.adcPendingPairs, 100);
    h.okCommand(Command.CLEAR_FIFO, 1);
    assert.equal(h.device.adcPendingPairs, 0);
    assert.equal(h.device.dacPendingSetpoints, 400);
    h.ticks(5);
    h.okCommand(Command.FIFO_START, 0);
    assert.equal(h.device.adcPendingPairs, 0);
    assert.equal(h.device.dacPendingSetpoints, 395);
    assert.equal(h.device.status & StatusBit.CE, 0, 'FIFO_START 0 opens the switch');
  });

  it('count 0 and counts >= 128 wrap the byte count; FIFO reads of 0 pairs are not busy', () => {
    const h = new Harness();
    assert.equal(h.read(0x0100, 0).length, 0);
    assert.equal(h.read(0x0100, 128).length, 0, '128 registers → byte count 0');
    assert.equal(h.read(0x0300, 130).length, 4, '130 registers → 2 registers');
    assert.equal(h.read(0x0300, 128 + 24).length, 48);
    const reply = h.send(encodeReadRequest(0x0300, 256));
    assert.equal(reply?.length, 5);
    assert.equal(reply?.[2], 0);
    // Reads alias the low byte: 0x0380 reads offset 0.
    assert.deepEqual(h.read(0x0396, 2), h.read(0x0316, 2));
  });
});

describe('DAC FIFO', () => {
  it('writes are all-or-nothing with floor(N/2) setpoints; odd N wastes the last register', () => {
    const h = new Harness();
    h.writeSetpoints(new Float32Array(4090));
    assert.equal(h.send(encodeWriteRequest(0x0200, new Uint8Array(4 * 60)))![2], 0x06);
    assert.equal(h.device.dacPendingSetpoints, 4090);
    assert.equal(h.send(encodeWriteRequest(0x0200, new Uint8Array(2 * 13)))![1], 0x10, '13 registers = 6 setpoints');
    assert.equal(h.device.dacPendingSetpoints, 4096);
  });

  it('is never cleared except by a reset, which takes effect ~25 ms after the reply', () => {
    const h = new Harness();
    h.writeSetpoints(new Float32Array(300).fill(0.1));
    h.okCommand(Command.FIFO_START, 1);
    h.ticks(10);
    h.okCommand(Command.CLEAR_FIFO, 1);
    h.okCommand(Command.SET_SWITCH, 0);
    h.okCommand(Command.RESET, 0);
    assert.equal(h.device.pendingResetAtUs, Infinity, 'RESET 0 is a no-op');
    h.okCommand(Command.RESET, 1);
    h.advanceUs(24_000);
    assert.equal(h.device.stats.reboots, 0);
    assert.ok(h.device.dacPendingSetpoints > 0);
    h.advanceUs(2_000);
    assert.equal(h.device.stats.reboots, 1);
    assert.equal(h.device.dacPendingSetpoints, 0);
    assert.equal(h.device.status, 0);
    assert.equal(h.device.tiaGainIndex, 2);
  });

  it('non-finite setpoints are consumed without changing the output', () => {
    const h = new Harness();
    h.writeSetpoints([0.25, NaN, Infinity, 0.5]);
    h.okCommand(Command.FIFO_START, 1);
    h.okCommand(Command.TEST_STOP);
    h.ticks(10);
    const r = h.drainPairs();
    assert.deepEqual(r.potential, [0, 0.25, 0.25, 0.25, 0.5]);
  });
});

describe('controller tick', () => {
  it('pair k is measured under setpoint k−1; N pre-filled setpoints + TEST_STOP give N + 1 pairs', () => {
    const h = new Harness();
    const n = 1000;
    const setpoints = Float32Array.from({ length: n }, (_, i) => -0.4 + 0.8 * Math.sin(i / 37));
    h.writeSetpoints(setpoints);
    h.okCommand(Command.FIFO_START, 1);
    h.okCommand(Command.TEST_STOP);
    assert.equal(h.status, 0x134, 'FIFO run draining after TEST_STOP');
    h.ticks(n + 50);
    assert.equal(h.device.status, 0, 'stopped: RUN, STOP, FIFO, PID and CE cleared');
    assert.equal(h.device.stats.ticks, n + 1);
    assert.equal(h.device.stats.stopUnderruns, 1);
    assert.equal(h.device.stats.underruns, 0);
    const r = h.drainPairs();
    assert.equal(r.potential.length, n + 1);
    assert.equal(r.potential[0], 0, 'pair 0 is measured under the pre-run output (0 V after boot)');
    for (let k = 1; k <= n; k++) assert.equal(r.potential[k], setpoints[k - 1], `pair ${k}`);
    assert.equal(h.device.appliedPotentialV, setpoints[n - 1], 'output keeps the last setpoint');
    // The next run's pair 0 is measured under the previous run's last setpoint.
    h.writeSetpoints([0.123]);
    h.okCommand(Command.FIFO_START, 1);
    h.okCommand(Command.TEST_STOP);
    h.ticks(5);
    assert.deepEqual(h.drainPairs().potential, [setpoints[n - 1], f32(0.123)]);
  });

  it('underrun: dac_fifo_elem −1, output held, one extra pair per underrun tick', () => {
    const h = new Harness();
    const first = Float32Array.from({ length: 10 }, (_, i) => 0.01 * (i + 1));
    h.writeSetpoints(first);
    h.okCommand(Command.FIFO_START, 1);
    h.ticks(5);
    assert.equal(h.readInt32(0x0312), 5);
    h.ticks(10); // 5 more pops, then 5 underruns
    assert.equal(h.readInt32(0x0312), -1);
    assert.equal(h.device.stats.underruns, 5);
    assert.equal(h.device.appliedPotentialV, first[9]);
    h.writeSetpoints([0.5, 0.6]);
    h.okCommand(Command.TEST_STOP);
    h.ticks(10);
    assert.equal(h.device.status, 0);
    const r = h.drainPairs();
    const held = first[9]!;
    assert.deepEqual(r.potential, [0, ...first, held, held, held, held, held, f32(0.5), f32(0.6)]);
    assert.equal(r.potential.length, 10 + 2 + 1 + 5);
  });

  it('a TEST_STOP sent while idle latches and ends the next FIFO run at its first underrun', () => {
    const h = new Harness();
    h.okCommand(Command.TEST_STOP);
    assert.equal(h.status, 0x020);
    h.ticks(10);
    assert.equal(h.status, 0x020, 'latched, no ticks while idle');
    h.writeSetpoints([0.1, 0.2, 0.3]);
    h.okCommand(Command.FIFO_START, 1);
    h.ticks(3);
    assert.equal(h.device.status & StatusBit.RUN, StatusBit.RUN, 'still running while setpoints remain');
    h.ticks(1);
    assert.equal(h.device.status, 0);
    assert.equal(h.drainPairs().potential.length, 4);
  });

  it('a latched STOP ends the next PID run at its first tick', () => {
    const h = new Harness();
    h.okCommand(Command.TEST_STOP);
    h.okCommand(Command.SET_SWITCH, 1);
    const reply = h.send(encodeWriteRequest(0x4f00, new Uint8Array([0, 0xe6, ...encodeFloat32Words([1e-4])])));
    assert.equal(reply?.[1], 0x10);
    assert.equal(h.device.status & 0x3c, 0x3c);
    h.ticks(1);
    assert.equal(h.device.status, 0);
  });

  it('PID mode pushes no pairs and pops no setpoints; the compatibility switch pushes them', () => {
    for (const compat of [false, true]) {
      const h = new Harness({ pushPairsInPidMode: compat });
      h.writeSetpoints([0.1, 0.2]);
      h.okCommand(Command.SET_SWITCH, 1);
      const pid = new Uint8Array([0, 0xe6, ...encodeFloat32Words([1e-5])]);
      assert.equal(h.send(encodeWriteRequest(0x4f00, pid))?.[1], 0x10);
      assert.equal(h.status, 0x11c);
      h.ticks(100);
      assert.equal(h.device.stats.ticks, 100);
      assert.equal(h.device.dacPendingSetpoints, 2);
      if (compat) {
        assert.equal(h.device.adcPendingPairs, 100);
        assert.equal(h.readInt32(0x0310), 100);
      } else {
        assert.equal(h.device.adcPendingPairs, 0);
        assert.equal(h.readPairs(1), 0x06);
        assert.equal(h.readInt32(0x0310), 0, 'fill snapshots are written only by FIFO ticks');
      }
      h.okCommand(Command.TEST_STOP);
      h.ticks(1);
      assert.equal(h.device.status, 0, 'PID run stops at the first tick after STOP');
    }
  });

  it('PID_START ignores a non-finite target', () => {
    const h = new Harness();
    const nan = new Uint8Array([0, 0xe6, ...encodeFloat32Words([NaN])]);
    assert.equal(h.send(encodeWriteRequest(0x4f00, nan))?.[1], 0x10);
    assert.equal(h.device.status, 0);
  });

  it('fill snapshots change only on FIFO ticks', () => {
    const h = new Harness();
    h.writeSetpoints(new Float32Array(100));
    assert.equal(h.readInt32(0x0312), 0, 'host writes do not update dac_fifo_elem');
    h.okCommand(Command.FIFO_START, 1);
    h.ticks(7);
    assert.equal(h.readInt32(0x0310), 7);
    assert.equal(h.readInt32(0x0312), 93);
    h.readPairs(7);
    assert.equal(h.readInt32(0x0310), 7, 'host reads do not update adc_fifo_elem');
  });

  it('ticks are never faster than fifo_smp timer units; fifo_smp takes effect immediately', () => {
    const h = new Harness({ tickIntervalUs: 100 });
    h.okCommand(Command.FIFO_START, 1);
    h.advanceUs(100 * 600);
    // 200 units ≈ 201.2 µs → every third 100 µs frame.
    assert.equal(h.device.stats.frames, 600);
    assert.equal(h.device.stats.ticks, 200);
    // fifo_smp := 1000 units ≈ 1006 µs → every 11th frame.
    const timing = new Uint8Array(4);
    timing.set([0x03, 0xe8, 0x00, 0x00]);
    assert.equal(h.send(encodeWriteRequest(0x4006, timing))?.[1], 0x10);
    const before = h.device.stats.ticks;
    h.advanceUs(100 * 1100);
    assert.equal(h.device.stats.ticks - before, 100);
  });

  it('samp_tm is the integer moving average floor((samp_tm·63 + dt)/64) of the tick period in timer units', () => {
    const h = new Harness();
    const unit = 171 / 170;
    h.okCommand(Command.FIFO_START, 1);
    const startUs = h.t;
    const bootUs = 1_000_000;
    let expected = 0;
    let lastUnits = 0;
    for (let k = 1; k <= 400; k++) {
      const units = Math.floor((startUs + k * 360 - bootUs) / unit);
      expected = Math.floor((expected * 63 + (units - lastUnits)) / 64);
      lastUnits = units;
    }
    h.ticks(400);
    assert.equal(h.readUint32(0x0314), expected);
    assert.ok(expected > 357 - 64 && expected <= 358, `settles just below the true 357.9 units, got ${expected}`);
  });

  it('an injected stall suspends ticks without catch-up', () => {
    const h = new Harness();
    h.writeSetpoints(new Float32Array(4000));
    h.okCommand(Command.FIFO_START, 1);
    h.ticks(100);
    h.device.suspend(50_000, h.t);
    h.advanceUs(49_999);
    assert.equal(h.device.stats.ticks, 100, 'nothing during the stall');
    h.advanceUs(1);
    assert.equal(h.device.stats.ticks, 101, 'the first tick comes right at the end, with a long dt');
    h.ticks(99);
    assert.equal(h.device.stats.ticks, 200, 'no catch-up of the 139 missed ticks');
  });
});
