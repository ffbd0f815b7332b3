/** Where a measurement's rows go: blocks of consecutive plan indices plus integrity events. */
import type { IntegrityEvent } from './run-accounting.js';

/**
 * Rows for plan indices [firstIndex, firstIndex + count). The sink owns the arrays
 * (they are transferred across threads without copying).
 */
export interface SampleBlock {
  firstIndex: number;
  count: number;
  current: Float32Array;
  potential: Float32Array;
}

export interface SampleSink {
  onBlock(block: SampleBlock): void;
  /**
   * Several blocks at once, in order (sparse rows: a galvanostatic poll is a block of its own).
   * Optional: without it each block goes to `onBlock`.
   */
  onBlocks?(blocks: SampleBlock[]): void;
  onEvent(event: IntegrityEvent): void;
}

/** How long rows may wait in the thread before they go out: a few messages per second per slot, not one per read. */
export const BLOCK_MAX_AGE_MS = 200;
/** During a mode's first second rows wait at most this long: the first rows (and a cancel made on them) come at once. */
const FIRST_SECOND_MAX_AGE_MS = 50;
const FIRST_SECOND_MS = 1000;

/**
 * Collects rows into blocks; a jump in plan index closes the block. Closed blocks wait with
 * the open one and all go out together once the oldest row is `maxAgeMs` old (50 ms during
 * the first second), or a block is full, or on `flush`: sparse rows cost one message per
 * flush, not one per row.
 */
export class BlockBuilder {
  private current: Float32Array;
  private potential: Float32Array;
  private firstIndex = -1;
  private count = 0;
  /** Closed blocks not yet delivered. */
  private closed: SampleBlock[] = [];
  private lastFlush = Date.now();
  private readonly startedAt = this.lastFlush;

  constructor(private readonly sink: SampleSink, private readonly blockPoints = 2048, private readonly maxAgeMs = BLOCK_MAX_AGE_MS) {
    this.current = new Float32Array(blockPoints);
    this.potential = new Float32Array(blockPoints);
  }

  add(planIndex: number, currentA: number, potentialV: number): void {
    if (this.count > 0 && planIndex !== this.firstIndex + this.count) this.close();
    if (this.count === 0) this.firstIndex = planIndex;
    this.current[this.count] = currentA;
    this.potential[this.count] = potentialV;
    this.count++;
    if (this.count === this.blockPoints) this.flush();
  }

  /** Flushes when the rows waiting are older than maxAgeMs, so consumers see steady progress. */
  maybeFlush(): void {
    if (this.count === 0 && this.closed.length === 0) return;
    const now = Date.now();
    const maxAge = now - this.startedAt < FIRST_SECOND_MS ? Math.min(this.maxAgeMs, FIRST_SECOND_MAX_AGE_MS) : this.maxAgeMs;
    if (now - this.lastFlush >= maxAge) this.flush();
  }

  flush(): void {
    this.lastFlush = Date.now();
    this.close();
    if (this.closed.length === 0) return;
    const blocks = this.closed;
    this.closed = [];
    if (blocks.length === 1) this.sink.onBlock(blocks[0]!);
    else if (this.sink.onBlocks) this.sink.onBlocks(blocks);
    else for (const b of blocks) this.sink.onBlock(b);
  }

  /** Ends the open block (its rows are copied out; the builder's arrays are reused). */
  private close(): void {
    if (this.count === 0) return;
    const n = this.count;
    this.closed.push({ firstIndex: this.firstIndex, count: n, current: this.current.slice(0, n), potential: this.potential.slice(0, n) });
    this.count = 0;
  }
}
