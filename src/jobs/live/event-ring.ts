/** The recent events of a run, bounded by count and bytes, for `Last-Event-ID` resumes. */

export interface RingEntry {
  readonly id: number;
  /** Slot the event is about, null for the whole run. */
  readonly slot: string | null;
  readonly frame: Buffer;
  readonly droppable: boolean;
}

export class EventRing {
  private readonly entries: (RingEntry | undefined)[];
  private head = 0;
  private count = 0;
  private bytes = 0;

  constructor(
    private readonly maxEvents: number,
    private readonly maxBytes: number,
  ) {
    this.entries = new Array<RingEntry | undefined>(maxEvents);
  }

  push(entry: RingEntry): void {
    while (this.count > 0 && (this.count === this.maxEvents || this.bytes + entry.frame.length > this.maxBytes)) this.dropOldest();
    this.entries[(this.head + this.count) % this.maxEvents] = entry;
    this.count++;
    this.bytes += entry.frame.length;
  }

  private dropOldest(): void {
    const oldest = this.entries[this.head]!;
    this.entries[this.head] = undefined;
    this.head = (this.head + 1) % this.maxEvents;
    this.count--;
    this.bytes -= oldest.frame.length;
  }

  /** Id of the oldest event still held, or null when empty. */
  get oldestId(): number | null {
    return this.count === 0 ? null : this.entries[this.head]!.id;
  }

  /** Events with an id above `afterId`, oldest first. */
  *since(afterId: number): Generator<RingEntry> {
    for (let k = 0; k < this.count; k++) {
      const entry = this.entries[(this.head + k) % this.maxEvents]!;
      if (entry.id > afterId) yield entry;
    }
  }
}
