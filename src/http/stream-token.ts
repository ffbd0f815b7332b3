/**
 * Short-lived read-only tokens for the live stream (`POST /auth/stream-token`), for browsers'
 * EventSource, which cannot send the X-API-Key header: the token travels as `?access_token=` and
 * is accepted only by the GET stream routes (auth.ts), never in place of the key elsewhere.
 *
 * A token is `v1.<expiry, unix seconds>.<HMAC-SHA256 over "stream" and the expiry, base64url>`.
 * Nothing is stored: the HMAC key is derived from the API key (so tokens survive a daemon
 * restart, and changing the key revokes them all); without an API key it is random per process.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Default lifetime: long enough for EventSource reconnects, short enough to be harmless if copied. */
export const STREAM_TOKEN_LIFETIME_S = 600;
const SCOPE = 'stream';
const TOKEN_FORMAT = /^v1\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

export interface StreamTokenIssuer {
  issue(nowMs?: number): { token: string; expires_at: string };
  /** Whether `token` is a token of this issuer that has not expired. */
  verify(token: string, nowMs?: number): boolean;
}

export function createStreamTokenIssuer(apiKey: string, lifetimeS = STREAM_TOKEN_LIFETIME_S): StreamTokenIssuer {
  const secret = apiKey === '' ? randomBytes(32) : createHmac('sha256', apiKey).update('beepbox stream-token v1').digest();
  const sign = (expiry: number): string => createHmac('sha256', secret).update(`${SCOPE}\n${expiry}`).digest('base64url');
  return {
    issue(nowMs = Date.now()) {
      const expiry = Math.floor(nowMs / 1000) + lifetimeS;
      return { token: `v1.${expiry}.${sign(expiry)}`, expires_at: new Date(expiry * 1000).toISOString() };
    },
    verify(token, nowMs = Date.now()) {
      const m = TOKEN_FORMAT.exec(token);
      if (m === null) return false;
      const expiry = Number(m[1]);
      // Compared in constant time even when expired, so timing tells nothing about the signature.
      const signed = timingSafeEqual(Buffer.from(m[2]!, 'latin1'), Buffer.from(sign(expiry), 'latin1'));
      return signed && expiry * 1000 > nowMs;
    },
  };
}

/** One issuer per API key (the routes and the auth check share it). */
const issuers = new Map<string, StreamTokenIssuer>();

export function streamTokenIssuerFor(apiKey: string): StreamTokenIssuer {
  let issuer = issuers.get(apiKey);
  if (!issuer) {
    issuer = createStreamTokenIssuer(apiKey);
    issuers.set(apiKey, issuer);
  }
  return issuer;
}
