/**
 * Copies of reply frames, cut from a shared slab instead of one new ArrayBuffer each.
 *
 * A reply of more than 64 bytes copied with `slice` gets its own off-heap backing store: a
 * malloc, then a sweep when it dies, for every FIFO read. Cutting copies from a slab costs only
 * the view. A copy is never overwritten (a full slab is left to the garbage collector once its
 * last view dies, never reused), so it stays valid as long as anyone holds it, like `slice`.
 */
export class FrameSlab {
  private slab: Uint8Array;
  private used = 0;

  constructor(private readonly slabBytes = 16 * 1024) {
    this.slab = new Uint8Array(slabBytes);
  }

  /** A copy of bytes[start, end) that nothing else writes to. */
  copy(bytes: Uint8Array, start: number, end: number): Uint8Array {
    const length = end - start;
    if (length > this.slabBytes) return bytes.slice(start, end);
    if (this.used + length > this.slabBytes) {
      this.slab = new Uint8Array(this.slabBytes);
      this.used = 0;
    }
    const at = this.used;
    this.slab.set(bytes.subarray(start, end), at);
    this.used = at + length;
    return this.slab.subarray(at, at + length);
  }
}
