/** Potentiostatic waveforms: CA, LSV, CV, PSTEP, CDL (modes.md 2.1–2.4, 2.8). EIS lives in plan-eis.ts. */
import { countDurationPoints, countSweepPoints, fillLinspaceF32 } from './numeric.js';
import type { CdlBlock } from './plan-types.js';
import type { CaParams, CdlParams, CvParams, LsvParams, PstepParams } from './types.js';

export interface PotWaveform {
  setpoints: Float32Array;
  cycle: Int32Array | null;
  step: Int32Array | null;
}

export function countCaPoints(p: CaParams): number {
  return countDurationPoints(p.duration);
}

export function buildCaWaveform(p: CaParams): PotWaveform {
  return { setpoints: new Float32Array(countCaPoints(p)).fill(p.potential), cycle: null, step: null };
}

export function countLsvPoints(p: LsvParams): number {
  return countSweepPoints(p.start, p.end, p.scan_rate);
}

export function buildLsvWaveform(p: LsvParams): PotWaveform {
  const n = countLsvPoints(p);
  const setpoints = new Float32Array(n);
  fillLinspaceF32(setpoints, 0, p.start, p.end, n);
  return { setpoints, cycle: null, step: null };
}

/** Segment lengths of a CV (modes.md 2.3). `final` is 0 when end = vertex2 (exact double comparison). */
export function computeCvSegments(p: CvParams): { first: number; sweep: number; final: number } {
  return {
    first: countSweepPoints(p.start, p.vertex1, p.scan_rate),
    sweep: countSweepPoints(p.vertex1, p.vertex2, p.scan_rate),
    final: p.end !== p.vertex2 ? countSweepPoints(p.vertex2, p.end, p.scan_rate) : 0,
  };
}

/** N = L(s,v1) + L(v1,v2) + (cycles−1)·2·L(v1,v2) + [end≠v2]·L(v2,end), without building arrays. */
export function countCvPoints(p: CvParams): number {
  const s = computeCvSegments(p);
  return s.first + s.sweep + Math.max(0, p.cycles - 1) * 2 * s.sweep + s.final;
}

/**
 * Write a CV into `setpoints`/`cycle` from `offset`, labels shifted by `labelOffset`.
 * Returns the index after the last written point.
 */
function fillCv(setpoints: Float32Array, cycle: Int32Array, offset: number, p: CvParams, labelOffset: number): number {
  const seg = computeCvSegments(p);
  let k = offset;
  k = fillLinspaceF32(setpoints, k, p.start, p.vertex1, seg.first);
  k = fillLinspaceF32(setpoints, k, p.vertex1, p.vertex2, seg.sweep);
  cycle.fill(labelOffset + 1, offset, k);
  for (let c = 2; c <= p.cycles; c++) {
    const from = k;
    k = fillLinspaceF32(setpoints, k, p.vertex2, p.vertex1, seg.sweep);
    k = fillLinspaceF32(setpoints, k, p.vertex1, p.vertex2, seg.sweep);
    cycle.fill(labelOffset + c, from, k);
  }
  if (seg.final > 0) {
    const from = k;
    k = fillLinspaceF32(setpoints, k, p.vertex2, p.end, seg.final);
    cycle.fill(labelOffset + p.cycles, from, k);
  }
  return k;
}

export function buildCvWaveform(p: CvParams): PotWaveform {
  const n = countCvPoints(p);
  const setpoints = new Float32Array(n);
  const cycle = new Int32Array(n);
  fillCv(setpoints, cycle, 0, p, 0);
  return { setpoints, cycle, step: null };
}

export function countPstepPoints(p: PstepParams): number {
  return p.potentials.length * countDurationPoints(p.step_duration);
}

export function buildPstepWaveform(p: PstepParams): PotWaveform {
  const per = countDurationPoints(p.step_duration);
  const n = p.potentials.length * per;
  const setpoints = new Float32Array(n);
  const step = new Int32Array(n);
  p.potentials.forEach((v, k) => {
    setpoints.fill(v, k * per, (k + 1) * per);
    step.fill(k, k * per, (k + 1) * per);
  });
  return { setpoints, cycle: null, step };
}

/** The CV run for one CDL scan rate: start → vertex_b → vertex_a, one more cycle, then → end (modes.md 2.8). */
function cdlBlockCv(p: CdlParams, scanRate: number): CvParams {
  return {
    start: p.start ?? p.vertex_a, vertex1: p.vertex_b, vertex2: p.vertex_a, end: p.end ?? p.vertex_a,
    scan_rate: scanRate, cycles: 2,
  };
}

/** Block layout of a CDL plan, computed without arrays. */
export function computeCdlLayout(p: CdlParams): CdlBlock[] {
  const rest = p.rest_time > 0 ? countDurationPoints(p.rest_time) : 0;
  const blocks: CdlBlock[] = [];
  let offset = 0;
  p.scan_rates.forEach((rate, i) => {
    const seg = computeCvSegments(cdlBlockCv(p, rate));
    const firstCycleLength = seg.first + seg.sweep;
    const secondCycleSweepLength = 2 * seg.sweep + seg.final;
    const endIndex = offset + firstCycleLength + secondCycleSweepLength + rest;
    blocks.push({ block: i + 1, scanRate: rate, firstIndex: offset, firstCycleLength, secondCycleSweepLength, restLength: rest, endIndex });
    offset = endIndex;
  });
  return blocks;
}

export function countCdlPoints(p: CdlParams): number {
  const rest = p.rest_time > 0 ? countDurationPoints(p.rest_time) : 0;
  let n = 0;
  for (const rate of p.scan_rates) n += countCvPoints(cdlBlockCv(p, rate)) + rest;
  return n;
}

export function buildCdlWaveform(p: CdlParams): PotWaveform & { blocks: CdlBlock[] } {
  const blocks = computeCdlLayout(p);
  const n = blocks.length === 0 ? 0 : blocks[blocks.length - 1]!.endIndex;
  const setpoints = new Float32Array(n);
  const cycle = new Int32Array(n);
  const start = p.start ?? p.vertex_a;
  let labelOffset = 0;
  for (const b of blocks) {
    let k = fillCv(setpoints, cycle, b.firstIndex, cdlBlockCv(p, b.scanRate), labelOffset);
    // The offset for the next block is the last label appended so far (2j).
    const last = k > 0 ? cycle[k - 1]! : labelOffset;
    if (b.restLength > 0) {
      setpoints.fill(start, k, k + b.restLength);
      cycle.fill(last, k, k + b.restLength);
      k += b.restLength;
    }
    labelOffset = last;
  }
  return { setpoints, cycle, step: null, blocks };
}
