/**
 * The progress consumer: the current mode's points measured so far, for progress, ETA and the
 * live `points` of GET /jobs/{id} (the job record counts a mode's points only at its end).
 */
import type { SlotSubscriber } from '../slot-events.js';

export interface LiveProgress {
  /**
   * The mode the figures belong to (set at its `mode-started`). The engine moves the slot to the
   * next mode before this consumer has seen that event: until then the figures are the previous
   * mode's and must not be read as the new one's.
   */
  modeIndex?: number;
  /** Highest plan index of the current mode received + 1. */
  pointsDone: number;
  /** Rows of the current mode received so far. */
  rows: number;
  /**
   * The mode's `points` from its `mode-ended` counters (0 when it failed without them): what the
   * job record holds for it once the record consumer has handled the same event. Unset while
   * the mode runs.
   */
  endedPoints?: number;
}

export function progressSubscriber(live: LiveProgress): SlotSubscriber {
  return {
    name: 'progress',
    essential: false,
    handle(event) {
      switch (event.type) {
        case 'mode-started':
          live.modeIndex = event.step.index;
          live.pointsDone = 0;
          live.rows = 0;
          live.endedPoints = undefined;
          return;
        case 'block':
          live.pointsDone = Math.max(live.pointsDone, event.firstIndex + event.count);
          live.rows += event.count;
          return;
        case 'progress':
          live.pointsDone = Math.max(live.pointsDone, event.pointsDone);
          return;
        case 'mode-ended':
          if (event.modeIndex === live.modeIndex) live.endedPoints = event.counters?.points ?? 0;
          return;
        default:
          return;
      }
    },
  };
}
