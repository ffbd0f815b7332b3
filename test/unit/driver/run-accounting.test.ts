import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunAccounting } from '../../../src/driver/run-accounting.js';

/** Plays a FIFO run tick by tick like the firmware (6.4) to produce ground truth. */
class FakeFifo {
  dac: number[] = [];
  adc: number[] = []; // pair = index of the setpoint in force (-1 pre-run), or -2 for held duplicates
  adcFifoElem = 0;
  dacFifoElem = 0;
  lastSetpoint = -1;
  tick = 0;
  held = false;
  step(): void {
    this.adc.push(this.held ? -2 : this.lastSetpoint);
    if (this.adc.length > 2048) this.adc.shift();
    this.adcFifoElem = this.adc.length;
    const s = this.dac.shift();
    if (s === undefined) {
      this.dacFifoElem = -1;
      this.held = true;
    } else {
      this.dacFifoElem = this.dac.length;
      this.lastSetpoint = s;
      this.held = false;
    }
    this.tick++;
  }
}

/** A fake FIFO and its accounting, plus the rows a host would emit (plan index, truth). */
function harness(totalSetpoints: number) {
  const f = new FakeFifo();
  const acc = new RunAccounting(totalSetpoints);
  let next = 0;
  const rows: number[] = [];
  const truth: number[] = [];
  return {
    f,
    acc,
    rows,
    truth,
    write(n: number) {
      for (let i = 0; i < n; i++) f.dac.push(next++);
      acc.noteWrite(n);
    },
    step(n: number) {
      for (let t = 0; t < n; t++) f.step();
    },
    read() {
      const pairs = f.adc.splice(0);
      const idx = acc.takePairs(pairs.length);
      pairs.forEach((p, i) => {
        if (idx[i]! >= 0 && idx[i]! < acc.totalSetpoints) {
          rows.push(idx[i]!);
          truth.push(p);
        }
      });
    },
  };
}

test('no underrun: pair k carries plan index k-1, pair 0 is pre-run', () => {
  const acc = new RunAccounting(100);
  acc.noteWrite(100);
  const idx = acc.takePairs(101);
  assert.equal(idx[0], -1);
  for (let k = 1; k <= 100; k++) assert.equal(idx[k], k - 1);
  assert.equal(acc.expectedPairs, 101);
});

test('underrun seen while in progress is located exactly and its held pairs dropped', () => {
  const h = harness(200);
  h.write(50);
  h.step(40);
  h.read();
  h.step(25); // FIFO runs dry after 50 pops: 15 underrun ticks so far
  assert.equal(h.acc.applySnapshot(h.f.adcFifoElem, h.f.dacFifoElem).length, 1);
  h.read();
  h.write(150);
  h.step(3);
  h.acc.applySnapshot(h.f.adcFifoElem, h.f.dacFifoElem);
  h.step(200);
  h.read();
  assert.ok(h.acc.underrunTicks >= 15);
  // Every emitted row's plan index equals the setpoint really in force, none duplicated.
  assert.deepEqual(h.rows, h.truth);
  assert.equal(new Set(h.rows).size, h.rows.length);
  assert.equal(h.rows.length, 200);
  assert.ok(h.acc.events.some((e) => e.kind === 'dac_underrun'));
  assert.equal(h.acc.events[0]!.planIndex, 50);
});

test('underrun that ended between snapshots is pinned to the only write in between', () => {
  const h = harness(300);
  h.write(100);
  h.step(20);
  h.acc.applySnapshot(h.f.adcFifoElem, h.f.dacFifoElem);
  h.step(110); // dry after tick 100: 30 underruns, unseen
  h.write(200);
  h.step(5);
  const ev = h.acc.applySnapshot(h.f.adcFifoElem, h.f.dacFifoElem);
  assert.equal(ev[0]?.kind, 'dac_underrun');
  assert.equal(ev[0]?.count, 30);
  h.step(300);
  h.read();
  assert.deepEqual(h.rows, h.truth);
  assert.equal(h.rows.length, 300);
});

test('ADC overflow: lost pairs become a reported gap, later rows keep their own indices', () => {
  const f = new FakeFifo();
  const acc = new RunAccounting(5000);
  let next = 0;
  for (let i = 0; i < 4096; i++) f.dac.push(next++);
  acc.noteWrite(4096);
  for (let t = 0; t < 2500; t++) f.step(); // 2500 pairs pushed, 452 overwritten
  const ev = acc.applySnapshot(f.adcFifoElem, f.dacFifoElem);
  assert.equal(ev[0]?.kind, 'adc_overflow');
  assert.equal(ev[0]?.count, 452);
  const pairs = f.adc.splice(0);
  const idx = acc.takePairs(pairs.length);
  pairs.forEach((p, i) => assert.equal(idx[i], p));
  assert.equal(acc.lostPairs, 452);
});

test('lost read reply is reconciled from the DAC side', () => {
  const f = new FakeFifo();
  const acc = new RunAccounting(1000);
  for (let i = 0; i < 1000; i++) f.dac.push(i);
  acc.noteWrite(1000);
  for (let t = 0; t < 100; t++) f.step();
  f.adc.splice(0, 31); // the device popped 31 pairs but the reply never arrived
  for (let t = 0; t < 3; t++) f.step();
  const ev = acc.reconcileLostRead(f.adcFifoElem, f.dacFifoElem);
  assert.equal(ev[0]?.kind, 'read_lost');
  assert.equal(ev[0]?.count, 31);
  const pairs = f.adc.splice(0);
  const idx = acc.takePairs(pairs.length);
  pairs.forEach((p, i) => assert.equal(idx[i], p));
});

test('stopped run: an overflow no snapshot saw is placed from the end; rows keep their own indices', () => {
  const h = harness(3000);
  h.write(3000);
  h.step(600);
  h.read(); // 600 pairs read while all is well
  h.step(2401); // the host stalls: the run plays out (3001 pairs in all) and 353 pairs are overwritten
  const left = h.f.adc.length;
  assert.equal(left, 2048);
  const ev = h.acc.placeFinalPairs(left);
  assert.deepEqual(ev.map((e) => [e.kind, e.count]), [['adc_overflow', 353]]);
  h.read();
  assert.deepEqual(h.rows, h.truth, 'every row carries the plan index it was measured under');
  assert.equal(h.rows.length + h.acc.lostPlanPoints(3000), 3000);
});

test('stopped run with more pairs than the run can have: reported, nothing placed as lost', () => {
  const h = harness(100);
  h.write(100);
  h.step(101);
  const ev = h.acc.placeFinalPairs(h.f.adc.length + 3);
  assert.deepEqual(ev.map((e) => [e.kind, e.count]), [['accounting_uncertain', 3]]);
  assert.equal(h.acc.lostPairs, 0);
});

test('a read made while the FIFO overflows is placed from the snapshot after it', () => {
  const h = harness(5000);
  h.write(4096);
  h.step(2500);
  h.acc.applySnapshot(h.f.adcFifoElem, h.f.dacFifoElem); // full: 452 lost so far
  assert.equal(h.acc.overflowing, true);
  h.step(10); // still overwriting until the read arrives
  const pairs = h.f.adc.splice(0);
  h.step(3);
  const ev = h.acc.placeReadAfterOverflow(pairs.length, h.f.adcFifoElem, h.f.dacFifoElem);
  assert.deepEqual(ev?.map((e) => [e.kind, e.count]), [['adc_overflow', 10]]);
  const idx = h.acc.takePairs(pairs.length);
  pairs.forEach((p, i) => assert.equal(idx[i], p, `pair ${i}`));
  assert.equal(h.acc.overflowing, false);
  assert.equal(h.acc.placeReadAfterOverflow(1, 2048, 0), null, 'a still-full FIFO cannot place a read');
});
