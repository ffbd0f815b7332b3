/**
 * Decimation for line plots of very long runs, in two stages that both keep, for a group of
 * consecutive points, the first and last point plus the points holding the minimum and maximum
 * of x and of y, emitted in their original order (an "M4" envelope extended to both axes, so it
 * also works for parametric curves such as a CV, where x runs back and forth).
 *
 * 1. `EnvelopeReducer` runs while the CSV streams, before the axis ranges are known. It groups
 *    points by index into chunks whose size doubles whenever the chunk buffer is full, so memory
 *    stays bounded (≤ 6 points per chunk, ≤ 2·capacity chunks) for any run length. With the
 *    default capacity a chunk spans well under one pixel column of the final plot.
 * 2. `decimateByPixelColumn` runs once the ranges are known: consecutive points that fall into
 *    the same pixel column form a run, and each run keeps its envelope. For an x that only grows
 *    (time) this is exactly the per-pixel-column min/max envelope; for a CV every sweep crosses a
 *    column once, so each sweep keeps its own envelope and the drawn path is unchanged.
 *
 * Points with a non-finite x or y are dropped (they cannot be drawn).
 */

export interface XYSeries {
  xs: Float64Array;
  ys: Float64Array;
}

export interface Bounds {
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
}

/** Fields per stored chunk: 6 roles × (index, x, y). */
const STRIDE = 18;
const FIRST = 0;
const LAST = 3;
const MIN_X = 6;
const MAX_X = 9;
const MIN_Y = 12;
const MAX_Y = 15;

export class EnvelopeReducer {
  readonly capacity: number;
  /** Points per chunk; doubles on every compaction. */
  chunkSize = 1;
  private chunks = 0;
  private readonly store: Float64Array;
  private readonly open = new Float64Array(STRIDE);
  private openCount = 0;
  private n = 0;
  private xMin = Infinity;
  private xMax = -Infinity;
  private yMin = Infinity;
  private yMax = -Infinity;

  /** @param capacity chunks kept after a compaction (the buffer holds up to twice as many). */
  constructor(capacity = 8192) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.capacity = capacity;
    this.store = new Float64Array(2 * capacity * STRIDE);
  }

  /** Finite points accepted so far. */
  get count(): number {
    return this.n;
  }

  bounds(): Bounds | null {
    return this.n === 0 ? null : { xMin: this.xMin, xMax: this.xMax, yMin: this.yMin, yMax: this.yMax };
  }

  add(x: number, y: number): void {
    if (!(Number.isFinite(x) && Number.isFinite(y))) return;
    const idx = this.n++;
    if (x < this.xMin) this.xMin = x;
    if (x > this.xMax) this.xMax = x;
    if (y < this.yMin) this.yMin = y;
    if (y > this.yMax) this.yMax = y;
    const o = this.open;
    if (this.openCount === 0) {
      for (let r = 0; r < STRIDE; r += 3) {
        o[r] = idx;
        o[r + 1] = x;
        o[r + 2] = y;
      }
    } else {
      o[LAST] = idx;
      o[LAST + 1] = x;
      o[LAST + 2] = y;
      if (x < o[MIN_X + 1]!) {
        o[MIN_X] = idx;
        o[MIN_X + 1] = x;
        o[MIN_X + 2] = y;
      } else if (x > o[MAX_X + 1]!) {
        o[MAX_X] = idx;
        o[MAX_X + 1] = x;
        o[MAX_X + 2] = y;
      }
      if (y < o[MIN_Y + 2]!) {
        o[MIN_Y] = idx;
        o[MIN_Y + 1] = x;
        o[MIN_Y + 2] = y;
      } else if (y > o[MAX_Y + 2]!) {
        o[MAX_Y] = idx;
        o[MAX_Y + 1] = x;
        o[MAX_Y + 2] = y;
      }
    }
    if (++this.openCount === this.chunkSize) this.closeChunk();
  }

  /** Adds `count` points from parallel arrays starting at `offset`. */
  addMany(xs: ArrayLike<number>, ys: ArrayLike<number>, offset: number, count: number): void {
    for (let i = offset, e = offset + count; i < e; i++) this.add(xs[i]!, ys[i]!);
  }

  private closeChunk(): void {
    this.store.set(this.open, this.chunks * STRIDE);
    this.chunks++;
    this.openCount = 0;
    if (this.chunks === 2 * this.capacity) this.compact();
  }

  /** Merges chunk pairs (2k, 2k+1) into chunk k; the envelope of a union is the envelope of the envelopes. */
  private compact(): void {
    const s = this.store;
    const pairs = this.chunks >> 1;
    for (let k = 0; k < pairs; k++) {
      const a = 2 * k * STRIDE;
      const b = a + STRIDE;
      const d = k * STRIDE;
      copyRole(s, a + FIRST, d + FIRST);
      copyRole(s, b + LAST, d + LAST);
      copyRole(s, s[a + MIN_X + 1]! <= s[b + MIN_X + 1]! ? a + MIN_X : b + MIN_X, d + MIN_X);
      copyRole(s, s[a + MAX_X + 1]! >= s[b + MAX_X + 1]! ? a + MAX_X : b + MAX_X, d + MAX_X);
      copyRole(s, s[a + MIN_Y + 2]! <= s[b + MIN_Y + 2]! ? a + MIN_Y : b + MIN_Y, d + MIN_Y);
      copyRole(s, s[a + MAX_Y + 2]! >= s[b + MAX_Y + 2]! ? a + MAX_Y : b + MAX_Y, d + MAX_Y);
    }
    this.chunks = pairs;
    this.chunkSize *= 2;
  }

  /** The reduced series in original order. The reducer can keep accepting points afterwards. */
  finish(): XYSeries {
    const total = this.chunks + (this.openCount > 0 ? 1 : 0);
    const xs = new Float64Array(total * 6);
    const ys = new Float64Array(total * 6);
    const roleIdx = new Float64Array(6);
    const roleOff = new Int32Array(6);
    let m = 0;
    for (let c = 0; c < total; c++) {
      const src = c < this.chunks ? this.store : this.open;
      const base = c < this.chunks ? c * STRIDE : 0;
      let k = 0;
      for (let r = 0; r < STRIDE; r += 3) {
        const idx = src[base + r]!;
        // insertion into the sorted, de-duplicated role list
        let p = k;
        let dup = false;
        for (let q = 0; q < k; q++) {
          if (roleIdx[q] === idx) {
            dup = true;
            break;
          }
        }
        if (dup) continue;
        while (p > 0 && roleIdx[p - 1]! > idx) {
          roleIdx[p] = roleIdx[p - 1]!;
          roleOff[p] = roleOff[p - 1]!;
          p--;
        }
        roleIdx[p] = idx;
        roleOff[p] = base + r;
        k++;
      }
      for (let q = 0; q < k; q++) {
        xs[m] = src[roleOff[q]! + 1]!;
        ys[m] = src[roleOff[q]! + 2]!;
        m++;
      }
    }
    return { xs: xs.slice(0, m), ys: ys.slice(0, m) };
  }
}

function copyRole(s: Float64Array, from: number, to: number): void {
  if (from === to) return;
  s[to] = s[from]!;
  s[to + 1] = s[from + 1]!;
  s[to + 2] = s[from + 2]!;
}

/**
 * Per-pixel-column envelope. `columns` is the plot width in pixels; x is mapped linearly from
 * [xMin, xMax] (values outside are clamped into the edge columns). Each maximal run of consecutive
 * points in one column keeps first, last, min/max x and min/max y, in original order, so the
 * output never has more than 6 points per run and the drawn pixels are the same.
 */
export function decimateByPixelColumn(series: XYSeries, xMin: number, xMax: number, columns: number): XYSeries {
  const { xs, ys } = series;
  const n = Math.min(xs.length, ys.length);
  if (n <= 2) return { xs: xs.slice(0, n), ys: ys.slice(0, n) };
  const width = Math.max(1, Math.floor(columns));
  const span = xMax - xMin;
  const scale = span > 0 ? width / span : 0;
  const outX = new Float64Array(n);
  const outY = new Float64Array(n);
  let m = 0;
  const picks = new Int32Array(6);

  let runCol = -1;
  let first = 0;
  let last = 0;
  let minX = 0;
  let maxX = 0;
  let minY = 0;
  let maxY = 0;

  const flush = (): void => {
    picks[0] = first;
    picks[1] = last;
    picks[2] = minX;
    picks[3] = maxX;
    picks[4] = minY;
    picks[5] = maxY;
    // sort 6 indices, emit unique
    for (let a = 1; a < 6; a++) {
      const v = picks[a]!;
      let b = a;
      while (b > 0 && picks[b - 1]! > v) {
        picks[b] = picks[b - 1]!;
        b--;
      }
      picks[b] = v;
    }
    let prev = -1;
    for (let a = 0; a < 6; a++) {
      const i = picks[a]!;
      if (i === prev) continue;
      prev = i;
      outX[m] = xs[i]!;
      outY[m] = ys[i]!;
      m++;
    }
  };

  for (let i = 0; i < n; i++) {
    const x = xs[i]!;
    const y = ys[i]!;
    if (!(Number.isFinite(x) && Number.isFinite(y))) continue;
    let col = Math.floor((x - xMin) * scale);
    if (col < 0) col = 0;
    else if (col >= width) col = width - 1;
    if (col !== runCol) {
      if (runCol >= 0) flush();
      runCol = col;
      first = last = minX = maxX = minY = maxY = i;
      continue;
    }
    last = i;
    if (x < xs[minX]!) minX = i;
    else if (x > xs[maxX]!) maxX = i;
    if (y < ys[minY]!) minY = i;
    else if (y > ys[maxY]!) maxY = i;
  }
  if (runCol >= 0) flush();
  return { xs: outX.slice(0, m), ys: outY.slice(0, m) };
}

/** Bounds over several series, ignoring non-finite values; null when there is no point. */
export function computeBounds(series: readonly XYSeries[]): Bounds | null {
  let xMin = Infinity;
  let xMax = -Infinity;
  let yMin = Infinity;
  let yMax = -Infinity;
  for (const s of series) {
    for (let i = 0; i < s.xs.length; i++) {
      const x = s.xs[i]!;
      const y = s.ys[i]!;
      if (!(Number.isFinite(x) && Number.isFinite(y))) continue;
      if (x < xMin) xMin = x;
      if (x > xMax) xMax = x;
      if (y < yMin) yMin = y;
      if (y > yMax) yMax = y;
    }
  }
  return xMin === Infinity ? null : { xMin, xMax, yMin, yMax };
}
