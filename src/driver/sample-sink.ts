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
  onEvent(event: IntegrityEvent): void;
}

/** Collects rows into blocks; a jump in plan index closes the block. */
export class BlockBuilder {
  private current: Float32Array;
  private potential: Float32Array;
  private firstIndex = -1;
  private count = 0;
  private lastFlush = Date.now();

  constructor(private readonly sink: SampleSink, private readonly blockPoints = 2048, private readonly maxAgeMs = 50) {
    this.current = new Float32Array(blockPoints);
    this.potential = new Float32Array(blockPoints);
  }

  add(planIndex: number, currentA: number, potentialV: number): void {
    if (this.count > 0 && planIndex !== this.firstIndex + this.count) this.flush();
    if (this.count === 0) this.firstIndex = planIndex;
    this.current[this.count] = currentA;
    this.potential[this.count] = potentialV;
    this.count++;
    if (this.count === this.blockPoints) this.flush();
  }

  /** Flushes when the block is older than maxAgeMs, so consumers see steady progress. */
  maybeFlush(): void {
    if (this.count > 0 && Date.now() - this.lastFlush >= this.maxAgeMs) this.flush();
  }

  flush(): void {
    this.lastFlush = Date.now();
    if (this.count === 0) return;
    const n = this.count;
    this.sink.onBlock({ firstIndex: this.firstIndex, count: n, current: this.current.slice(0, n), potential: this.potential.slice(0, n) });
    this.count = 0;
  }
}
