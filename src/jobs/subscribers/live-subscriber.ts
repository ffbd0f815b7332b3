/**
 * The live-stream consumer: hands each slot's events to its run's live feed (live/run-feed.ts),
 * which decimates blocks to display resolution and fans them out to the SSE clients.
 *
 * Optional: it never holds the slot, the CSV or another consumer back. `handle` is synchronous
 * and cheap (a pass over the block's samples into preallocated columns, a JSON batch at most
 * every 50 ms per slot); should it ever fall behind, the slot stream drops blocks for it, and
 * if it throws it is detached and the run's stream ends for its clients.
 */
import type { LiveHub } from '../live/live-hub.js';
import type { SlotSubscriber, SubscriberFactory } from '../slot-events.js';

export function liveSubscriber(hub: LiveHub): SubscriberFactory {
  return (ctx): SlotSubscriber => {
    const feed = hub.feedFor(ctx.plan);
    const slotIndex = ctx.slotIndex;
    return {
      name: 'live',
      essential: false,
      handle: (event) => feed.handle(slotIndex, event),
      close: () => feed.slotClosed(slotIndex),
    };
  };
}
