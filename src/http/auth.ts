/**
 * API-key check (rest-api.md 1.3): the `X-API-Key` header must equal `BOX_API_KEY` exactly
 * (case-sensitive, no trimming), compared in constant time. An empty key means an open API.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

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
