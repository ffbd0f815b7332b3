/**
 * Receiving end of a slot's sample stream: proves every row arrives exactly once and
 * in order (message seq numbers, block plan indices), and hands rows on.
 */
import type { IntegrityEvent } from '../driver/run-accounting.js';
import type { SampleBlockMessage, SampleMessage } from './slot-api.js';

export interface SampleConsumer {
  onBlock(block: SampleBlockMessage): void;
  onEvent?(event: IntegrityEvent): void;
  onProgress?(pointsDone: number): void;
}

export interface StreamIntegrity {
  messages: number;
  rows: number;
  /** Rows whose plan index was at or below one already received. */
  duplicatedRows: number;
  /** Plan indices skipped between blocks (explained by integrity events, or not). */
  skippedIndices: number;
  /** Message sequence numbers that never arrived. */
  missingMessages: number;
}

export class SampleStreamVerifier {
  readonly integrity: StreamIntegrity = { messages: 0, rows: 0, duplicatedRows: 0, skippedIndices: 0, missingMessages: 0 };
  private nextSeq = 0;
  private nextIndex = 0;

  constructor(private readonly consumer: SampleConsumer) {}

  accept(msg: SampleMessage): void {
    const i = this.integrity;
    i.messages++;
    if (msg.seq !== this.nextSeq) i.missingMessages += Math.max(0, msg.seq - this.nextSeq);
    this.nextSeq = msg.seq + 1;
    switch (msg.kind) {
      case 'block':
        this.acceptBlock(msg);
        break;
      case 'blocks':
        for (const b of msg.blocks) this.acceptBlock({ kind: 'block', seq: msg.seq, ...b });
        break;
      case 'event':
        this.consumer.onEvent?.(msg.event);
        break;
      case 'progress':
        this.consumer.onProgress?.(msg.pointsDone);
        break;
    }
  }

  private acceptBlock(block: SampleBlockMessage): void {
    const i = this.integrity;
    if (block.firstIndex < this.nextIndex) i.duplicatedRows += Math.min(block.count, this.nextIndex - block.firstIndex);
    else i.skippedIndices += block.firstIndex - this.nextIndex;
    this.nextIndex = Math.max(this.nextIndex, block.firstIndex + block.count);
    i.rows += block.count;
    this.consumer.onBlock(block);
  }
}
