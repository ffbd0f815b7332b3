/**
 * Decimation of a mode's samples to display resolution, on the supervisor's loop without any
 * allocation per sample: each bucket of `bucketWidth` consecutive plan indices keeps two real
 * samples, those with the lowest and the highest value of the mode's signal (current for
 * potentiostatic modes, potential for galvanostatic and open-circuit ones), in index order. Peaks
 * survive any decimation; a chart of the points looks like the full-rate curve.
 */

/** Columnar, growable store of display points (plan index, potential, current). */
export class PointColumns {
  index: Float64Array;
  e: Float32Array;
  i: Float32Array;
  length = 0;

  constructor(capacity = 256) {
    this.index = new Float64Array(capacity);
    this.e = new Float32Array(capacity);
    this.i = new Float32Array(capacity);
  }

  push(index: number, e: number, i: number): void {
    if (this.length === this.index.length) this.grow();
    this.index[this.length] = index;
    this.e[this.length] = e;
    this.i[this.length] = i;
    this.length++;
  }

  /** Appends every point of `other`. */
  append(other: PointColumns): void {
    while (this.length + other.length > this.index.length) this.grow();
    this.index.set(other.index.subarray(0, other.length), this.length);
    this.e.set(other.e.subarray(0, other.length), this.length);
    this.i.set(other.i.subarray(0, other.length), this.length);
    this.length += other.length;
  }

  clear(): void {
    this.length = 0;
  }

  private grow(): void {
    const cap = this.index.length * 2;
    const index = new Float64Array(cap);
    const e = new Float32Array(cap);
    const i = new Float32Array(cap);
    index.set(this.index);
    e.set(this.e);
    i.set(this.i);
    this.index = index;
    this.e = e;
    this.i = i;
  }

  /**
   * Halves the point count in place: every group of four consecutive points keeps its lowest and
   * highest signal (the same rule as the buckets, one level coarser). Used to bound a history.
   */
  compact(signal: 'current' | 'potential'): void {
    const s = signal === 'current' ? this.i : this.e;
    let w = 0;
    for (let g = 0; g < this.length; g += 4) {
      const end = Math.min(g + 4, this.length);
      let lo = g;
      let hi = g;
      for (let k = g + 1; k < end; k++) {
        if (s[k]! < s[lo]!) lo = k;
        if (s[k]! > s[hi]!) hi = k;
      }
      const first = Math.min(lo, hi);
      const second = Math.max(lo, hi);
      w = this.copyPoint(first, w);
      if (second !== first) w = this.copyPoint(second, w);
    }
    this.length = w;
  }

  private copyPoint(from: number, to: number): number {
    this.index[to] = this.index[from]!;
    this.e[to] = this.e[from]!;
    this.i[to] = this.i[from]!;
    return to + 1;
  }
}

/** Samples of display buckets as they complete; a bucket still filling stays pending. */
export class DisplayDecimator {
  private bucket = -1;
  private loIndex = 0;
  private loE = 0;
  private loI = 0;
  private hiIndex = 0;
  private hiE = 0;
  private hiI = 0;
  private readonly byCurrent: boolean;

  constructor(
    readonly bucketWidth: number,
    readonly signal: 'current' | 'potential',
  ) {
    this.byCurrent = signal === 'current';
  }

  /** Feeds rows for plan indices [firstIndex, firstIndex + count); completed buckets go to `out`. */
  add(firstIndex: number, count: number, current: Float32Array, potential: Float32Array, out: PointColumns): void {
    const w = this.bucketWidth;
    for (let k = 0; k < count; k++) {
      const index = firstIndex + k;
      const b = Math.floor(index / w);
      const e = potential[k]!;
      const i = current[k]!;
      if (b !== this.bucket) {
        this.emit(out);
        this.bucket = b;
        this.loIndex = this.hiIndex = index;
        this.loE = this.hiE = e;
        this.loI = this.hiI = i;
        continue;
      }
      const v = this.byCurrent ? i : e;
      if (v < (this.byCurrent ? this.loI : this.loE)) {
        this.loIndex = index;
        this.loE = e;
        this.loI = i;
      } else if (v > (this.byCurrent ? this.hiI : this.hiE)) {
        this.hiIndex = index;
        this.hiE = e;
        this.hiI = i;
      }
    }
  }

  /** Emits the bucket still filling (the mode ended). */
  finish(out: PointColumns): void {
    this.emit(out);
    this.bucket = -1;
  }

  private emit(out: PointColumns): void {
    if (this.bucket < 0) return;
    if (this.loIndex === this.hiIndex) {
      out.push(this.loIndex, this.loE, this.loI);
    } else if (this.loIndex < this.hiIndex) {
      out.push(this.loIndex, this.loE, this.loI);
      out.push(this.hiIndex, this.hiE, this.hiI);
    } else {
      out.push(this.hiIndex, this.hiE, this.hiI);
      out.push(this.loIndex, this.loE, this.loI);
    }
    this.bucket = -1;
  }
}
