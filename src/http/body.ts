/**
 * Request body reading for routes that take a JSON body (rest-api.md 1.2). Runs per route,
 * after authentication, so an unauthenticated client never gets a body read or parsed.
 * The body is parsed as JSON whatever the Content-Type says; at most 1 MiB is accepted, nested
 * at most {@link MAX_JSON_DEPTH} levels deep (checked on the text, before parsing, so no layer
 * ever holds a structure deep enough to overflow a recursive walk such as `JSON.stringify`).
 */
import type { IncomingMessage } from 'node:http';
import { httpErrors } from './errors.js';
import { MAX_JSON_DEPTH } from './limits.js';

/** 1 MiB: larger JSON bodies answer 413 `request.too_large`. */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;

/**
 * Outcome of parsing; `absent` = no body or only whitespace; `too_deep` = arrays/objects nested
 * deeper than the limit (the text was not parsed).
 */
export type ParsedBody = { kind: 'absent' } | { kind: 'invalid' } | { kind: 'too_deep' } | { kind: 'json'; value: unknown };

/**
 * Read the raw body, throwing 413 as soon as it is known to exceed `limitBytes` (declared
 * Content-Length, or bytes received so far). What is left unread is discarded by Node's HTTP
 * server after the response, so the connection stays usable.
 */
export function readRawBody(req: IncomingMessage, limitBytes = MAX_JSON_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) return Promise.reject(httpErrors.tooLarge());
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > limitBytes) {
        cleanup();
        // Keep the socket readable (not destroyed) so the 413 reaches the client; Node
        // discards the rest of the body.
        req.resume();
        reject(httpErrors.tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, total));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      cleanup();
      // The client went away (or the server cut it: request timeout); nothing can be answered.
      reject(Object.assign(new Error('request closed before its body was complete'), { code: 'ECONNRESET' }));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * Whether `text` opens more than `limit` arrays/objects inside one another, counting `[` and `{`
 * outside strings (escapes inside strings respected). One pass, no allocation. It does not judge
 * validity: unbalanced or malformed text is left to `JSON.parse`.
 */
export function exceedsJsonDepth(text: string, limit = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > limit) return true;
    } else if ((c === CLOSE_BRACKET || c === CLOSE_BRACE) && depth > 0) {
      depth--; // stray closers (invalid JSON anyway) cannot buy extra depth
    }
  }
  return false;
}

/** Parse raw bytes as JSON (UTF-8, optional BOM), at most `maxDepth` levels deep. Never throws. */
export function parseJsonBody(raw: Uint8Array, maxDepth = MAX_JSON_DEPTH): ParsedBody {
  let text: string;
  try {
    text = UTF8.decode(raw);
  } catch {
    return { kind: 'invalid' };
  }
  if (text.trim() === '') return { kind: 'absent' };
  if (exceedsJsonDepth(text, maxDepth)) return { kind: 'too_deep' };
  try {
    return { kind: 'json', value: JSON.parse(text) as unknown };
  } catch {
    return { kind: 'invalid' };
  }
}
