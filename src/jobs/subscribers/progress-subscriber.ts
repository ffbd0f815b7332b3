/** The progress consumer: the current mode's points measured so far, for progress, ETA and `points`. */
import type { SlotSubscriber } from '../slot-events.js';

export interface LiveProgress {
  /** Highest plan index of the current mode received + 1. */
  pointsDone: number;
  /** Rows of the current mode received so far. */
  rows: number;
}

export function progressSubscriber(live: LiveProgress): SlotSubscriber {
  return {
    name: 'progress',
    essential: false,
    handle(event) {
      switch (event.type) {
        case 'mode-started':
          live.pointsDone = 0;
          live.rows = 0;
          return;
        case 'block':
          live.pointsDone = Math.max(live.pointsDone, event.firstIndex + event.count);
          live.rows += event.count;
          return;
        case 'progress':
          live.pointsDone = Math.max(live.pointsDone, event.pointsDone);
          return;
        default:
          return;
      }
    },
  };
}
