import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameScanner, createRequestScanner, encodeReadResponse, encodeWriteResponse, encodeExceptionResponse, encodeReadRequest, encodeWriteRequest, encodeFloat32Words, Register } from '../../../src/protocol/index.js';
import { toHex } from '../../helpers/hex.js';

/** Small deterministic PRNG (mulberry32) so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomResponse(rand: () => number): Uint8Array {
  const kind = Math.floor(rand() * 3);
  const addr = rand() < 0.5 ? 1 : 0xff;
  if (kind === 0) {
    const data = new Uint8Array(Math.floor(rand() * 63) * 4);
    for (let i = 0; i < data.length; i++) data[i] = Math.floor(rand() * 256);
    return encodeReadResponse(addr, 3, data);
  }
  if (kind === 1) return encodeWriteResponse(addr, Register.DAC_FIFO, Math.floor(rand() * 122));
  return encodeExceptionResponse(addr, rand() < 0.5 ? 3 : 0x10, 1 + Math.floor(rand() * 6));
}

test('finds every frame whatever the chunking', () => {
  const rand = prng(1);
  const frames = Array.from({ length: 200 }, () => randomResponse(rand));
  const stream = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let o = 0;
  for (const f of frames) { stream.set(f, o); o += f.length; }
  for (const chunk of [1, 3, 7, 64, 1000]) {
    const s = new FrameScanner();
    const found: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i += chunk) found.push(...s.push(stream.subarray(i, i + chunk)));
    assert.deepEqual(found.map(toHex), frames.map(toHex), `chunk ${chunk}`);
    assert.equal(s.stats.skippedBytes, 0);
  }
});

test('fuzz: garbage, truncation and corruption never throw; every intact frame is found', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const rand = prng(seed);
    const parts: Uint8Array[] = [];
    const intact: string[] = [];
    for (let k = 0; k < 30; k++) {
      const r = rand();
      if (r < 0.2) {
        // garbage that avoids address bytes, so it cannot swallow the next frame's start
        const g = new Uint8Array(1 + Math.floor(rand() * 20));
        for (let i = 0; i < g.length; i++) { let b = Math.floor(rand() * 256); if (b === 1 || b === 0xff) b = 0x42; g[i] = b; }
        parts.push(g);
      } else if (r < 0.3) {
        const f = randomResponse(rand);
        parts.push(f.subarray(0, Math.max(1, Math.floor(rand() * (f.length - 1))))); // truncated
      } else if (r < 0.4) {
        const f = randomResponse(rand).slice();
        f[Math.floor(rand() * f.length)]! ^= 1 << Math.floor(rand() * 8); // corrupted
        parts.push(f);
      } else {
        const f = randomResponse(rand);
        parts.push(f);
        intact.push(toHex(f));
      }
    }
    const s = new FrameScanner();
    const found: string[] = [];
    for (const p of parts) {
      let i = 0;
      while (i < p.length) { const n = 1 + Math.floor(rand() * 40); found.push(...s.push(p.subarray(i, i + n)).map(toHex)); i += n; }
    }
    found.push(...s.end().map(toHex));
    // Every intact frame must appear, in order; corrupted/truncated debris may rarely form extra valid frames.
    let j = 0;
    for (const f of found) if (j < intact.length && f === intact[j]) j++;
    assert.equal(j, intact.length, `seed ${seed}: found ${j} of ${intact.length} intact frames`);
  }
});

test('pure random bytes never throw and rarely produce frames', () => {
  const rand = prng(99);
  const s = new FrameScanner();
  let frames = 0;
  for (let i = 0; i < 2000; i++) {
    const chunk = new Uint8Array(1 + Math.floor(rand() * 100));
    for (let k = 0; k < chunk.length; k++) chunk[k] = Math.floor(rand() * 256);
    frames += s.push(chunk).length;
  }
  frames += s.end().length;
  assert.ok(frames < 20, `random noise produced ${frames} CRC-valid frames`);
});

test('request scanner sizes writes by their byte-count field', () => {
  const s = createRequestScanner();
  const w = encodeWriteRequest(Register.DAC_FIFO, encodeFloat32Words(new Array(61).fill(0.25)));
  const r = encodeReadRequest(Register.ADC_FIFO, 124);
  const out = [...s.push(w.subarray(0, 100)), ...s.push(w.subarray(100)), ...s.push(r)];
  assert.deepEqual(out.map(toHex), [toHex(w), toHex(r)]);
});
