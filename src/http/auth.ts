/**
 * API-key check (rest-api.md 1.3): the `X-API-Key` header must equal `BOX_API_KEY` exactly
 * (case-sensitive, no trimming), compared in constant time. An empty key means an open API.
 * The live stream's GET routes also accept a short-lived stream token (stream-token.ts).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { streamTokenIssuerFor } from './stream-token.js';

/** Per-process HMAC key: digests of both sides are compared, never the raw strings. */
const DIGEST_KEY = randomBytes(32);

function digestOf(value: string): Buffer {
  return createHmac('sha256', DIGEST_KEY).update(value, 'utf8').digest();
}

/**
 * Constant-time string equality. Both values are first reduced to 32-byte HMAC digests, so
 * `timingSafeEqual` always runs on equal-length buffers and the time taken does not depend on
 * the length of either input or on the position of the first differing byte.
 */
export function safeEqual(given: string, expected: string): boolean {
  return timingSafeEqual(digestOf(given), digestOf(expected));
}

/**
 * Whether a request carrying `headerValue` (undefined = header absent) is authorised when the
 * configured key is `apiKey`. `string[]` (a repeated header) never matches.
 */
export function isAuthorised(apiKey: string, headerValue: string | string[] | undefined): boolean {
  if (apiKey === '') return true;
  if (typeof headerValue !== 'string') {
    // Same work as a real comparison, so "header missing" is not distinguishable by timing.
    safeEqual('', apiKey);
    return false;
  }
  return safeEqual(headerValue, apiKey);
}

/** What the route-level check needs to know of a route. */
export interface AuthRouteView {
  method: string;
  auth: 'key' | 'none';
  /** The route also accepts a stream token (`?access_token=`, stream-token.ts). */
  streamToken?: boolean;
}

/**
 * The route-level check: the X-API-Key header as {@link isAuthorised}; a GET route that accepts
 * stream tokens also takes a valid, unexpired `access_token` query parameter instead. Every other
 * route ignores the parameter, so a leaked token reads a live stream for minutes and nothing else.
 */
export function isRequestAuthorised(
  route: AuthRouteView,
  apiKey: string,
  request: { apiKeyHeader: string | string[] | undefined; accessToken: unknown },
): boolean {
  if (route.auth === 'none') return true;
  if (isAuthorised(apiKey, request.apiKeyHeader)) return true;
  if (route.streamToken !== true || route.method !== 'GET' || typeof request.accessToken !== 'string') return false;
  return streamTokenIssuerFor(apiKey).verify(request.accessToken);
}
