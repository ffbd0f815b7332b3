/**
 * Security headers of every response (issue #10), errors and malformed-request answers
 * included: no MIME sniffing, no framing, no referrer, not loadable by other origins, nothing
 * cached, and a Content-Security-Policy that allows nothing (JSON, CSV, PNG and ZIP need
 * nothing). The /docs viewer replaces the policy with its own (docs-page.ts).
 */
import type { ServerResponse } from 'node:http';

/** What frames, forms, bases and every fetch may use: nothing. */
const LOCKED_DIRECTIVES = "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** Policy of every API answer. */
export const API_CONTENT_SECURITY_POLICY = `default-src 'none'; ${LOCKED_DIRECTIVES}`;

/** Header name → value, in the order they are written. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Content-Security-Policy': API_CONTENT_SECURITY_POLICY,
  'Cache-Control': 'no-store',
});

/** Lower-cased names of {@link SECURITY_HEADERS}. */
export const SECURITY_HEADER_NAMES: ReadonlySet<string> = new Set(Object.keys(SECURITY_HEADERS).map((n) => n.toLowerCase()));

/**
 * The policy of an HTML page (the /docs viewer): nothing by default, the page's own `directives`
 * (e.g. "script-src 'self'"), and the locked framing, base and form directives of every answer.
 */
export function buildPageContentSecurityPolicy(directives: string): string {
  return `default-src 'none'; ${directives}; ${LOCKED_DIRECTIVES}`;
}

/** Set every security header on a response whose headers are not sent yet. */
export function setSecurityHeaders(res: ServerResponse): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
}

/** The headers as raw `Name: value\r\n` lines, for answers written straight to a socket. */
export function formatSecurityHeaderLines(): string {
  return Object.entries(SECURITY_HEADERS)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
}
