/**
 * Seedable pseudo-random numbers for the simulator: a 32-bit generator (mulberry32) and a
 * table-driven standard normal source (one table lookup per sample, no transcendental
 * functions on the hot path). Deterministic for a given seed.
 */

export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = (seed | 0) ^ 0x9e3779b9;
  }

  /** Uniform uint32. */
  nextUint32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / 4294967296;
  }
}

const NORMAL_TABLE_BITS = 16;
let normalTable: Float64Array | null = null;

/** 65536 standard normal values (Box-Muller on a fixed seed), shared by all sources. */
function getNormalTable(): Float64Array {
  if (normalTable) return normalTable;
  const size = 1 << NORMAL_TABLE_BITS;
  const table = new Float64Array(size);
  const rng = new Prng(0x5eed);
  for (let i = 0; i < size; i += 2) {
    const u1 = 1 - rng.nextFloat();
    const u2 = rng.nextFloat();
    const r = Math.sqrt(-2 * Math.log(u1));
    table[i] = r * Math.cos(2 * Math.PI * u2);
    table[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  normalTable = table;
  return table;
}

/** Standard normal samples drawn from the shared table by a seeded index sequence. */
export class NormalSource {
  private readonly table = getNormalTable();
  private readonly rng: Prng;

  constructor(seed: number) {
    this.rng = new Prng(seed);
  }

  next(): number {
    return this.table[this.rng.nextUint32() >>> (32 - NORMAL_TABLE_BITS)]!;
  }
}
