/** Physics of the simulated cell: CV, CA, open circuit, and the PID through the device. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command, encodeFloat32Words, encodeWriteRequest } from '../../../src/protocol/index.js';
import { DEFAULT_CELL_PARAMS, ElectrochemicalCell } from '../../../src/sim/cell.js';
import { Harness } from './harness.js';

const DT_S = 360e-6;
const FARADAY = 96485.33212;

function sweep(cell: ElectrochemicalCell, from: number, to: number, rateVPerS: number): { e: number[]; i: number[] } {
  const n = Math.round(Math.abs(to - from) / rateVPerS / DT_S);
  const e: number[] = [];
  const i: number[] = [];
  for (let k = 1; k <= n; k++) {
    const ek = from + ((to - from) * k) / n;
    cell.step(DT_S, ek, true);
    e.push(ek);
    i.push(cell.currentA);
  }
  return { e, i };
}

describe('cell model', () => {
  it('CV of the reversible couple: duck-shaped peaks, ΔEp ≈ 59 mV/n, E½ ≈ E0', () => {
    const cell = new ElectrochemicalCell({ solutionResistanceOhm: 5 }, { noise: 0 });
    const e0 = DEFAULT_CELL_PARAMS.formalPotentialV;
    sweep(cell, e0 - 0.3, e0 - 0.3, 1); // settle
    const fwd = sweep(cell, e0 - 0.3, e0 + 0.3, 0.05);
    const rev = sweep(cell, e0 + 0.3, e0 - 0.3, 0.05);
    const ia = Math.max(...fwd.i);
    const ic = Math.min(...rev.i);
    const epa = fwd.e[fwd.i.indexOf(ia)]!;
    const epc = rev.e[rev.i.indexOf(ic)]!;
    assert.ok(ia > 0 && ic < 0, 'anodic peak positive, cathodic negative');
    assert.ok(epa > epc, 'anodic peak above the cathodic one');
    const separationMv = (epa - epc) * 1000;
    assert.ok(separationMv > 54 && separationMv < 66, `ΔEp = ${separationMv.toFixed(1)} mV`);
    assert.ok(Math.abs((epa + epc) / 2 - e0) < 0.005, `E½ = ${(epa + epc) / 2}`);
    // Randles–Ševčík: ip = 0.4463 nFAC sqrt(nFvD/RT), plus ~1 µA of double-layer charging.
    const p = DEFAULT_CELL_PARAMS;
    const ip = 0.4463 * FARADAY * p.electrodeAreaCm2 * p.concentrationMolPerCm3 * Math.sqrt((FARADAY * 0.05 * p.diffusionCm2PerS) / (8.314462618 * p.temperatureK));
    assert.ok(Math.abs(ia - ip) / ip < 0.15, `ipa ${ia} vs Randles–Ševčík ${ip}`);
    // Past the peak the current falls again (the duck's tail) before the vertex.
    assert.ok(fwd.i[fwd.i.length - 1]! < 0.75 * ia);
  });

  it('CA: the diffusion-limited current decays as t^-1/2 (Cottrell)', () => {
    const p = DEFAULT_CELL_PARAMS;
    const cottrell = FARADAY * p.electrodeAreaCm2 * p.concentrationMolPerCm3 * (1 - p.bulkOxidizedFraction) * Math.sqrt(p.diffusionCm2PerS / Math.PI);
    const stepTo = (cell: ElectrochemicalCell, checkpoints: number[]): number[] => {
      let t = 0;
      return checkpoints.map((tc) => {
        while (t < tc - 1e-9) {
          cell.step(DT_S, p.formalPotentialV + 0.3, true);
          t += DT_S;
        }
        return cell.currentA;
      });
    };
    // Small Ru: i·sqrt(t) matches the Cottrell constant nFAC·sqrt(D/π).
    const times = [0.02, 0.05, 0.1, 0.3, 1.0];
    const currents = stepTo(new ElectrochemicalCell({ solutionResistanceOhm: 5 }, { noise: 0 }), times);
    currents.forEach((i, k) => {
      const ratio = (i * Math.sqrt(times[k]!)) / cottrell;
      assert.ok(Math.abs(ratio - 1) < 0.05, `i·sqrt(t) / Cottrell constant at ${times[k]} s = ${ratio.toFixed(3)}`);
    });
    // Default cell (Ru·Cdl = 2 ms): log-log slope −1/2 once the double layer has charged.
    const [i1, i2] = stepTo(new ElectrochemicalCell({}, { noise: 0 }), [0.05, 1.0]);
    const slope = Math.log(i2! / i1!) / Math.log(1.0 / 0.05);
    assert.ok(Math.abs(slope + 0.5) < 0.04, `d log i / d log t = ${slope.toFixed(3)}`);
  });

  it('open circuit: no current; a fresh cell rests at its Nernst potential and wanders; an anodic pulse relaxes back', () => {
    const cell = new ElectrochemicalCell({}, { noise: 1, seed: 3 });
    const rest: number[] = [];
    for (let k = 0; k < 60; k++) {
      cell.step(1, 0, false);
      assert.equal(cell.currentA, 0);
      rest.push(cell.potentialV);
    }
    for (const v of rest) assert.ok(Math.abs(v - cell.restPotentialV()) < 0.01, `${v} vs ${cell.restPotentialV()}`);
    assert.ok(Math.max(...rest) - Math.min(...rest) > 2e-4, 'open-circuit drift');
    for (let k = 0; k < 1000; k++) cell.step(DT_S, 0.5, true);
    assert.ok(cell.currentA > 0);
    cell.step(0.1, 0, false);
    const early = cell.interfaceV;
    for (let k = 0; k < 30; k++) cell.step(1, 0, false);
    assert.ok(early > cell.interfaceV && cell.interfaceV > cell.restPotentialV(), 'relaxes towards rest (slowly: diffusion)');
  });
});

describe('CV through the device (FIFO streaming, pairs aligned to setpoints)', () => {
  it('shows both peaks at the right potentials in the measured pairs', () => {
    const h = new Harness({ cell: { solutionResistanceOhm: 5 } });
    h.okCommand(Command.SET_TIA_GAIN, 0);
    const e0 = DEFAULT_CELL_PARAMS.formalPotentialV;
    const half = Math.round(0.6 / 0.2 / DT_S);
    const setpoints = Float32Array.from({ length: 2 * half }, (_, k) => (k < half ? e0 - 0.3 + (0.6 * k) / half : e0 + 0.3 - (0.6 * (k - half)) / half));
    h.writeSetpoints(setpoints.subarray(0, 4000));
    h.okCommand(Command.FIFO_START, 1);
    let written = 4000;
    const pairs = { current: [] as number[], potential: [] as number[] };
    while (h.device.status & 0x10) {
      h.ticks(60);
      const room = 4096 - h.device.dacPendingSetpoints;
      if (written < setpoints.length && room >= 61) {
        const n = Math.min(61, setpoints.length - written);
        h.writeSetpoints(setpoints.subarray(written, written + n));
        written += n;
        if (written === setpoints.length) h.okCommand(Command.TEST_STOP);
      }
      const got = h.drainPairs();
      pairs.current.push(...got.current);
      pairs.potential.push(...got.potential);
    }
    assert.equal(h.device.stats.underruns, 0);
    assert.equal(pairs.potential.length, setpoints.length + 1);
    const fwd = pairs.current.slice(1, half + 1);
    const rev = pairs.current.slice(half + 1);
    const ia = Math.max(...fwd);
    const ic = Math.min(...rev);
    const epa = pairs.potential[1 + fwd.indexOf(ia)]!;
    const epc = pairs.potential[1 + half + rev.indexOf(ic)]!;
    assert.ok(ia > 0 && ic < 0);
    assert.ok(Math.abs(epa - epc - 0.058) < 0.008, `ΔEp = ${((epa - epc) * 1000).toFixed(1)} mV`);
  });
});

describe('galvanostatic behaviour through the firmware PID', () => {
  for (const targetA of [1e-3, -1e-3]) {
    it(`settles on ${targetA * 1e3} mA within tens of ms at TIA gain 0`, () => {
      const h = new Harness({ noise: 1, smoothing: true });
      h.okCommand(Command.SET_TIA_GAIN, 0);
      h.okCommand(Command.SET_SWITCH, 1);
      h.advanceUs(50_000);
      const reply = h.send(encodeWriteRequest(0x4f00, new Uint8Array([0, 0xe6, ...encodeFloat32Words([targetA])])));
      assert.equal(reply?.[1], 0x10);
      let settledMs = -1;
      for (let ms = 1; ms <= 300; ms++) {
        h.advanceUs(1000);
        const i = h.readFloat(0x0300);
        const inBand = Math.abs(i - targetA) < 0.02 * Math.abs(targetA);
        if (!inBand) settledMs = -1;
        else if (settledMs < 0) settledMs = ms;
      }
      assert.ok(settledMs > 0 && settledMs <= 90, `settled (±2 %, stays) after ${settledMs} ms`);
      assert.ok(Math.abs(h.device.pidOutputV) > 0.5 && Math.abs(h.device.pidOutputV) < 4.95);
      assert.equal(Math.sign(h.device.pidOutputV), Math.sign(targetA));
    });
  }
});
