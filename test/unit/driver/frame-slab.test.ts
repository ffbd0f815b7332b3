import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameSlab } from '../../../src/driver/frame-slab.js';

const bytesFrom = (first: number, length: number) => Uint8Array.from({ length }, (_, i) => (first + i) & 0xff);

test('a copy holds the bytes asked for and outlives the source buffer', () => {
  const slab = new FrameSlab(64);
  const source = bytesFrom(0, 40);
  const copy = slab.copy(source, 5, 25);
  source.fill(0xee);
  assert.deepEqual([...copy], [...bytesFrom(5, 20)]);
});

test('copies never overlap, within a slab and across a slab change', () => {
  const slab = new FrameSlab(64);
  const copies = Array.from({ length: 12 }, (_, k) => slab.copy(bytesFrom(k * 10, 30), 0, 30));
  for (const [k, copy] of copies.entries()) assert.deepEqual([...copy], [...bytesFrom(k * 10, 30)], `copy ${k}`);
  // Two copies of 30 bytes fit in a 64-byte slab; the third starts a new one.
  assert.equal(copies[0]!.buffer, copies[1]!.buffer);
  assert.notEqual(copies[1]!.buffer, copies[2]!.buffer);
});

test('a frame longer than the slab gets its own buffer', () => {
  const slab = new FrameSlab(16);
  const small = slab.copy(bytesFrom(1, 8), 0, 8);
  const big = slab.copy(bytesFrom(3, 40), 0, 40);
  assert.equal(big.byteLength, 40);
  assert.equal(big.buffer.byteLength, 40);
  assert.deepEqual([...big], [...bytesFrom(3, 40)]);
  assert.deepEqual([...small], [...bytesFrom(1, 8)]);
});
