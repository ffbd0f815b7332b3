/**
 * Server-Sent Events framing (WHATWG HTML, "server-sent events"): `id:`, `event:` and one
 * `data:` line of JSON, then a blank line. JSON.stringify never emits a raw line break, so one
 * data line always holds the whole payload. Frames are encoded once and the same bytes are
 * written to every client.
 */

/** The event types of the live stream. */
export type LiveEventType = 'status' | 'mode' | 'points' | 'progress' | 'dropped' | 'end';

/** `id` null: an event about this connection only (it does not move the client's resume point). */
export function encodeSseEvent(id: number | null, type: LiveEventType, data: unknown): Buffer {
  const head = id === null ? '' : `id: ${id}\n`;
  return Buffer.from(`${head}event: ${type}\ndata: ${JSON.stringify(data)}\n\n`, 'utf8');
}

/** Comment line every 15 s: proxies and load balancers see traffic and keep the connection. */
export const SSE_KEEP_ALIVE = Buffer.from(': keep-alive\n\n', 'utf8');

/** Reconnection delay the browser's EventSource uses after a cut connection. */
export const SSE_RETRY = Buffer.from('retry: 2000\n\n', 'utf8');

/** `Last-Event-ID` as a run sequence number, or null when absent or not a plain integer. */
export function parseLastEventId(value: string | undefined): number | null {
  if (value === undefined) return null;
  const text = value.trim();
  if (!/^\d{1,15}$/.test(text)) return null;
  return Number(text);
}
