/**
 * Request body reading for routes that take a JSON body (rest-api.md 1.2). Runs per route,
 * after authentication, so an unauthenticated client never gets a body read or parsed.
 * The body is parsed as JSON whatever the Content-Type says; at most 1 MiB is accepted.
 */
import type { IncomingMessage } from 'node:http';
import { httpErrors } from './errors.js';

/** 1 MiB: larger JSON bodies answer 413 `request.too_large`. */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;

/** Outcome of parsing; `absent` = no body or only whitespace. */
export type ParsedBody = { kind: 'absent' } | { kind: 'invalid' } | { kind: 'json'; value: unknown };

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
      reject(new Error('request closed before its body was complete'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Parse raw bytes as JSON (UTF-8, optional BOM). Never throws. */
export function parseJsonBody(raw: Uint8Array): ParsedBody {
  let text: string;
  try {
    text = UTF8.decode(raw);
  } catch {
    return { kind: 'invalid' };
  }
  if (text.trim() === '') return { kind: 'absent' };
  try {
    return { kind: 'json', value: JSON.parse(text) as unknown };
  } catch {
    return { kind: 'invalid' };
  }
}
