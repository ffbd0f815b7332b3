/**
 * Limits of the HTTP server (issue #10: unattended for weeks, reachable by careless or hostile
 * clients). Plain constants and one interface, imported by the server factory (server.ts), the
 * error table (hints) and the configuration (src/config.ts, which reads the overrides).
 */

/** Request line plus headers, in bytes (Node's `maxHeaderSize`); more answers 431 `http.headers_too_large`. */
export const MAX_HEADER_BYTES = 16 * 1024;

/** Deepest nesting of `[`/`{` a JSON body may have; deeper answers 422 before anything parses it. */
export const MAX_JSON_DEPTH = 64;

/** Time limits and the connection cap of the HTTP server (environment names in README). */
export interface HttpServerLimits {
  /** `HTTP_HEADERS_TIMEOUT_MS`: the request line and headers must arrive within this time. */
  headersTimeoutMs: number;
  /**
   * `HTTP_REQUEST_TIMEOUT_MS`: the whole request, body included, must arrive within this time
   * (a slow-loris body is cut with 408). Covers receiving only: downloads of any length are not cut.
   */
  requestTimeoutMs: number;
  /** `HTTP_KEEP_ALIVE_TIMEOUT_MS`: an idle keep-alive connection is closed after this time. */
  keepAliveTimeoutMs: number;
  /**
   * `HTTP_IDLE_TIMEOUT_MS`: a connection on which nothing moves in either direction for this long
   * (a client that stopped reading a download, a handler that hangs) is closed.
   */
  idleTimeoutMs: number;
  /** `HTTP_MAX_CONNECTIONS`: further connections are refused (closed at once) while this many are open. */
  maxConnections: number;
}

export const DEFAULT_HTTP_LIMITS: Readonly<HttpServerLimits> = Object.freeze({
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 300_000,
  maxConnections: 256,
});
