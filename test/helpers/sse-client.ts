/**
 * A Server-Sent Events client for the tests: a raw HTTP GET whose body is parsed into events as
 * it arrives (id, event, JSON data), with the means to stop reading (pause the socket) and to
 * cut the connection, as a browser tab in the background or a flaky network would.
 */
import { request as httpRequest, type IncomingMessage, type ClientRequest } from 'node:http';

export interface SseEvent {
  /** null: the event had no `id:` line (events about this connection only). */
  id: number | null;
  event: string;
  data: unknown;
  /** Receive time (performance.now()). */
  at: number;
}

export interface SseConnection {
  status: number;
  headers: IncomingMessage['headers'];
  events: SseEvent[];
  /** Comment lines received (`: keep-alive`). */
  comments: string[];
  /** Raw error body when the answer was not 200. */
  errorBody: string;
  /** Resolves when the server closed the stream (or it was cut). */
  closed: Promise<void>;
  /** Resolves with the first event matching `accept` (already received or future). */
  waitFor(accept: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  pause(): void;
  resume(): void;
  /** Cuts the connection. */
  close(): void;
}

export interface SseOptions {
  headers?: Record<string, string>;
}

/** Opens `url` (absolute) and resolves once the response headers arrived. */
export function openSse(url: string, options: SseOptions = {}): Promise<SseConnection> {
  return new Promise((resolve, reject) => {
    const events: SseEvent[] = [];
    const comments: string[] = [];
    const waiters: Array<{ accept: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }> = [];
    let req: ClientRequest;
    let res: IncomingMessage | null = null;
    let closedResolve!: () => void;
    const closed = new Promise<void>((r) => (closedResolve = r));
    let buffer = '';
    let errorBody = '';

    const dispatch = (block: string): void => {
      let id: number | null = null;
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) {
          comments.push(line);
          continue;
        }
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') id = Number(value);
        else if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length === 0) return;
      const e: SseEvent = { id, event, data: JSON.parse(data.join('\n')) as unknown, at: performance.now() };
      events.push(e);
      for (let k = waiters.length - 1; k >= 0; k--) {
        if (waiters[k]!.accept(e)) {
          waiters[k]!.resolve(e);
          waiters.splice(k, 1);
        }
      }
    };

    req = httpRequest(url, { headers: { Accept: 'text/event-stream', ...options.headers } }, (response) => {
      res = response;
      response.setEncoding('utf8');
      if (response.statusCode !== 200) {
        response.on('data', (c: string) => (errorBody += c));
      } else {
        response.on('data', (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            dispatch(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
          }
        });
      }
      response.on('close', () => closedResolve());
      response.on('error', () => closedResolve());
      resolve({
        status: response.statusCode ?? 0,
        headers: response.headers,
        events,
        comments,
        get errorBody() {
          return errorBody;
        },
        closed,
        waitFor(accept, timeoutMs = 30_000) {
          const found = events.find(accept);
          if (found) return Promise.resolve(found);
          return new Promise((ok, fail) => {
            const timer = setTimeout(() => fail(new Error(`no matching SSE event within ${timeoutMs} ms (${events.length} received)`)), timeoutMs);
            waiters.push({ accept, resolve: (e) => (clearTimeout(timer), ok(e)) });
          });
        },
        pause: () => {
          res?.pause();
          res?.socket?.pause();
        },
        resume: () => {
          res?.socket?.resume();
          res?.resume();
        },
        close: () => req.destroy(),
      });
    });
    req.on('error', (err) => {
      closedResolve();
      if (res === null) reject(err);
    });
    req.end();
  });
}

/** Event ids in arrival order (events without id skipped). */
export function idsOf(events: readonly SseEvent[]): number[] {
  return events.filter((e) => e.id !== null).map((e) => e.id!);
}
