/**
 * Request bodies of the routes that take JSON (rest-api.md 1.2). The body middleware runs per
 * route, after authentication, so an unauthenticated client never gets a body read or parsed.
 *
 * Reading is koa-body's (co-body, raw-body): the size limit (413 as soon as the declared length
 * or the bytes received exceed it), aborted uploads, the stream bookkeeping. Parsing is ours,
 * because koa-body's JSON parser cannot serve this API:
 * - it calls JSON.parse (through @hapi/bourne) on the whole text with no hook before it, so the
 *   nesting limit could only be checked on the parsed structure; we refuse a body nested deeper
 *   than {@link MAX_JSON_DEPTH} on the text, before anything parses it, so no layer ever holds a
 *   structure deep enough to overflow a recursive walk such as `JSON.stringify`;
 * - it answers `__proto__` keys with a 400 and accepts only objects and arrays (strict mode),
 *   where the API validates any JSON value against the route's schema and ignores unknown keys;
 * - it picks the parser by Content-Type, where the API reads JSON whatever the Content-Type says.
 * So koa-body reads every body as text in `latin1` (one character per byte: the exact bytes come
 * back) and we decode it as strict UTF-8, check the depth, and parse.
 */
import type Koa from 'koa';
import { koaBody, HttpMethodEnum } from 'koa-body';
import { httpErrors } from './errors.js';
import { MAX_JSON_DEPTH } from './limits.js';

/** 1 MiB: larger JSON bodies answer 413 `request.too_large`. */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;

/**
 * Outcome of parsing; `absent` = no body or only whitespace; `too_deep` = arrays/objects nested
 * deeper than the limit (the text was not parsed).
 */
export type ParsedBody = { kind: 'absent' } | { kind: 'invalid' } | { kind: 'too_deep' } | { kind: 'json'; value: unknown };

/** Byte-transparent: each byte becomes the character of the same code, so the bytes can be recovered. */
const BYTE_ENCODING = 'latin1';

/** Where the body middleware leaves its outcome for the route's input step. */
const PARSED_BODY = Symbol('parsedBody');
type BodyState = { [PARSED_BODY]?: ParsedBody };

/**
 * RFC 9110 §8.3: without a Content-Type the recipient may assume application/octet-stream. koa-body
 * skips a body whose type is absent (or does not parse), and the API reads JSON whatever the type.
 */
function assumeOctetStream(ctx: Koa.Context): void {
  if (ctx.is('*/*') === false) ctx.req.headers['content-type'] = 'application/octet-stream';
}

/** Turns koa-body's (raw-body's) refusals into the API's answers. */
function mapReadError(err: Error & { type?: unknown; code?: unknown }, ctx: Koa.Context): never {
  if (err.type === 'entity.too.large') {
    // raw-body pauses the request; let Node discard the rest so the 413 reaches the client and
    // the connection stays usable.
    ctx.req.resume();
    throw httpErrors.tooLarge();
  }
  if (err.type === 'request.aborted' || err.code === 'ECONNRESET' || err.code === 'ECONNABORTED') {
    // The client went away (or the server cut it: request timeout); nothing can be answered.
    throw Object.assign(new Error('request closed before its body was complete'), { code: 'ECONNRESET' });
  }
  throw err;
}

const readBodyText = koaBody({
  json: false,
  urlencoded: false,
  multipart: false,
  text: true,
  textTypes: ['*/*'],
  // One limit for every body, whichever reader koa-body would pick.
  jsonLimit: MAX_JSON_BODY_BYTES,
  formLimit: MAX_JSON_BODY_BYTES,
  textLimit: MAX_JSON_BODY_BYTES,
  encoding: BYTE_ENCODING,
  parsedMethods: [HttpMethodEnum.POST, HttpMethodEnum.PUT, HttpMethodEnum.PATCH],
  patchKoa: true,
  patchNode: false,
  onError: mapReadError,
});

/**
 * The body middleware of a route that takes JSON: reads the body with koa-body, then parses it
 * ({@link parseJsonBody}); the route's input step takes the outcome with {@link takeParsedBody}.
 * A compressed body (Content-Encoding other than identity) is not inflated: the API takes plain
 * JSON, and a body cut mid-stream inside a decompressor would leave its reader waiting forever.
 */
export function createJsonBodyMiddleware(): Koa.Middleware {
  return async (ctx, next) => {
    const encoding = ctx.get('content-encoding').trim().toLowerCase();
    let parsed: ParsedBody;
    if (encoding !== '' && encoding !== 'identity') {
      if (Number(ctx.get('content-length')) > MAX_JSON_BODY_BYTES) throw httpErrors.tooLarge();
      parsed = { kind: 'invalid' };
    } else {
      assumeOctetStream(ctx);
      await readBodyText(ctx, async () => undefined);
      const text = (ctx.request as { body?: unknown }).body;
      parsed = typeof text === 'string' ? parseJsonBody(Buffer.from(text, BYTE_ENCODING)) : { kind: 'absent' };
    }
    (ctx.state as BodyState)[PARSED_BODY] = parsed;
    await next();
  };
}

/** The outcome of the body middleware (absent when the route has none or it did not run). */
export function takeParsedBody(ctx: Koa.Context): ParsedBody {
  return (ctx.state as BodyState)[PARSED_BODY] ?? { kind: 'absent' };
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
