/** The LiveApi over the jobs layer's live hub (`Last-Event-ID` parsed here). */
import type { LiveHub } from '../jobs/live/live-hub.js';
import { parseLastEventId } from '../jobs/live/sse-frame.js';
import type { LiveApi } from './api.js';

export function createLiveService(hub: LiveHub): LiveApi {
  return {
    open: (runId, options) => hub.open(runId, { slot: options.slot, lastEventId: parseLastEventId(options.lastEventId) }),
  };
}
