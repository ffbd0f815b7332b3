/**
 * The live stream of a run over Server-Sent Events (GET /runs/{run_id}/stream) and the
 * short-lived tokens that let a browser's EventSource, which cannot send headers, open it
 * (POST /auth/stream-token). The events themselves are made by the jobs layer's live feed.
 */
import { httpErrors } from '../errors.js';
import { defineRoute, type AnyRoute } from '../route-types.js';
import { API_SCHEMAS, componentRef, RESPONSE_SCHEMAS, type RunStreamQuery } from '../schemas.js';
import { STREAM_TOKEN_LIFETIME_S, streamTokenIssuerFor } from '../stream-token.js';
import { RUN_RUN_ID } from './runs.js';

const EXAMPLE_RUN_ID = '20251103T091531_3fa9c2';

/** Headers of every stream answer: never cached, never buffered by a proxy (nginx honours X-Accel-Buffering). */
const STREAM_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Cache-Control': 'no-cache, no-store',
  'X-Accel-Buffering': 'no',
});

export const streamRoutes: readonly AnyRoute[] = [
  defineRoute<undefined, RunStreamQuery>({
    method: 'GET',
    path: '/runs/{run_id}/stream',
    operationId: 'streamRun',
    tag: 'runs',
    summary: 'Live events of a run (Server-Sent Events)',
    description:
      'text/event-stream. Events: `status` (the JobStatus, on connect and at every state change), `mode` (a mode started, with its plan, or ended, with its counters), ' +
      '`points` (decimated points for display: plan index, t s, e V, i A, cycle and step labels; at most ~20 batches/s per slot), `progress`, ' +
      '`dropped` (this client fell behind and lost `count` events, or its Last-Event-ID is too old to resume) and `end` (the job ended; the server then closes). ' +
      'Events about the run carry `id:` (the run\'s sequence, no gaps); reconnect with `Last-Event-ID` to resume without loss while the server still holds them. ' +
      'A late joiner first gets the status and the points so far of each running mode (events without id). A `: keep-alive` comment comes every 15 s. ' +
      'A finished run (or one from before a restart) answers `status` then `end`. Auth: X-API-Key, or `?access_token=` from POST /auth/stream-token.',
    auth: 'key',
    streamToken: true,
    pathParams: [RUN_RUN_ID],
    bodySchema: null,
    querySchema: API_SCHEMAS.RunStreamQuery,
    successStatus: 200,
    responseDescription: 'An endless text/event-stream until the job ends (see the description for the events).',
    responseContentType: 'text/event-stream',
    responseSchema: {
      type: 'string',
      description:
        'Server-Sent Events: per event an `id:` line (events about the run), an `event:` line (status, mode, points, progress, dropped, end) and one `data:` line of JSON; `: keep-alive` comment lines in between.',
    },
    errorCodes: ['runs.not_found'],
    example: { path: `/runs/${EXAMPLE_RUN_ID}/stream`, query: 'slot=slot01' },
    handler: ({ services, params, query, header }) => {
      if (!services.live) throw httpErrors.runNotFound();
      const stream = services.live.open(params['run_id'] ?? '', { slot: query.slot ?? null, lastEventId: header('last-event-id') });
      return { body: stream, type: 'text/event-stream', headers: STREAM_HEADERS };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/auth/stream-token',
    operationId: 'createStreamToken',
    tag: 'system',
    summary: 'Short-lived token for the live stream (EventSource)',
    description:
      `A read-only token valid for ${STREAM_TOKEN_LIFETIME_S / 60} minutes, accepted as \`?access_token=\` by GET /runs/{run_id}/stream only (every other route still needs the key). ` +
      'Browsers\' EventSource cannot send X-API-Key: fetch a token with the key, then open the stream with it; EventSource reconnects keep working while it is valid. ' +
      'Tokens are HMAC-signed and not stored; changing BOX_API_KEY revokes them.',
    auth: 'key',
    pathParams: [],
    bodySchema: null,
    querySchema: null,
    successStatus: 200,
    responseDescription: '{token, expires_at}: the token for ?access_token= and when it expires (UTC).',
    responseSchema: componentRef(RESPONSE_SCHEMAS.StreamToken),
    errorCodes: [],
    example: { response: { token: 'v1.1762161331.q0b8…', expires_at: '2025-11-03T09:25:31.000Z' } },
    handler: ({ services }) => ({ body: streamTokenIssuerFor(services.config.apiKey).issue() }),
  }),
];
