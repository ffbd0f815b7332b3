/** GET /metrics: the Prometheus text exposition, behind the API key like every non-exempt route. */
import { httpErrors } from '../errors.js';
import { defineRoute, type AnyRoute } from '../route-types.js';

export const metricsRoutes: readonly AnyRoute[] = [
  defineRoute({
    method: 'GET',
    path: '/metrics',
    operationId: 'getMetrics',
    tag: 'system',
    summary: 'Prometheus metrics',
    description:
      'Prometheus text format 0.0.4. Per slot (label `slot`): points received and lost, DAC underruns, ADC overflows, overloads, Modbus transactions, BUSY replies (retried) and timeouts, modes by mode and outcome, integrity events by kind. Box-wide: jobs by state, busy slots, the supervisor event-loop delay (summary), the NAS upload queue and its failures, HTTP request durations by method, route template and status class, and the process metrics (CPU, memory, file descriptors). The per-slot counters add up the per-mode counters of GET /jobs/{run_id} and run.json. Send the key as X-API-Key when one is set.',
    auth: 'key',
    pathParams: [],
    bodySchema: null,
    querySchema: null,
    successStatus: 200,
    responseDescription: 'Prometheus text exposition (text/plain; version=0.0.4).',
    responseContentType: 'text/plain',
    responseSchema: { type: 'string', description: 'Prometheus text exposition format 0.0.4: # HELP and # TYPE lines, then one sample per line.' },
    errorCodes: [],
    example: { curlFlags: '-s' },
    handler: async ({ services }) => {
      const metrics = services.metrics;
      if (metrics === undefined) throw httpErrors.notFound();
      return { body: await metrics.render(), type: metrics.contentType };
    },
  }),
];
