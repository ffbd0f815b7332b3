/**
 * Every endpoint of rest-api.md section 3 (plus GET /runs/{run_id}/upload of 7.5,
 * GET /openapi.json and GET /docs), in contract order. The one list app.ts mounts and
 * openapi.ts / docs-page.ts describe.
 */
import type { AnyRoute } from './route-types.js';
import { adminRoutes, deviceRoutes } from './routes/devices.js';
import { createDocRoutes } from './routes/docs.js';
import { jobRoutes } from './routes/jobs.js';
import { metricsRoutes } from './routes/metrics.js';
import { modeRoutes } from './routes/modes.js';
import { nasRoutes } from './routes/nas.js';
import { runRoutes } from './routes/runs.js';
import { streamRoutes } from './routes/stream.js';
import { systemRoutes } from './routes/system.js';

export function createRouteTable(): readonly AnyRoute[] {
  const table: readonly AnyRoute[] = Object.freeze([
    ...systemRoutes,
    ...deviceRoutes,
    ...modeRoutes,
    ...jobRoutes,
    ...runRoutes,
    ...streamRoutes,
    ...nasRoutes,
    ...adminRoutes,
    ...metricsRoutes,
    ...createDocRoutes(() => table),
  ]);
  return table;
}
