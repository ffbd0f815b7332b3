/** GET /version and GET /health (rest-api.md 3.1, 3.2): both exempt from the API key. */
import { defineRoute, type AnyRoute } from '../route-types.js';
import { componentRef, RESPONSE_SCHEMAS } from '../schemas.js';

/** The runtime string `/version` reports as `python` and `runtime`, e.g. "node v20.11.1". */
export function describeRuntime(): string {
  return `node ${process.version}`;
}

export const systemRoutes: readonly AnyRoute[] = [
  defineRoute({
    method: 'GET',
    path: '/version',
    operationId: 'getVersion',
    tag: 'system',
    summary: 'API, driver, runtime and build versions',
    description:
      'No key needed (box discovery calls it). `python` is kept for compatibility and carries the JS runtime string, like `runtime`. All values are strings.',
    auth: 'none',
    pathParams: [],
    bodySchema: null,
    querySchema: null,
    successStatus: 200,
    responseDescription: '{api: "1.0", pybeep, firmware, python, runtime, build} — all strings; "unknown" when not determinable.',
    responseSchema: componentRef(RESPONSE_SCHEMAS.Version),
    errorCodes: [],
    example: {
      response: { api: '1.0', pybeep: 'unknown', firmware: 'unknown', python: 'node v20.11.1', runtime: 'node v20.11.1', build: 'a1b2c3d' },
    },
    handler: ({ services }) => {
      const runtime = describeRuntime();
      const { driverVersion, firmwareVersion, build } = services.config;
      return {
        body: {
          api: '1.0',
          pybeep: driverVersion || 'unknown',
          firmware: firmwareVersion || 'unknown',
          python: runtime,
          runtime,
          build,
        },
      };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/health',
    operationId: 'getHealth',
    tag: 'system',
    summary: 'Liveness, device count and box id',
    description:
      'No key needed (box discovery calls it, like GET /version). Extra facts such as plotting availability are added as further fields; clients ignore fields they do not know.',
    auth: 'none',
    pathParams: [],
    bodySchema: null,
    querySchema: null,
    successStatus: 200,
    responseDescription: '{ok: true, devices: <number of registered slots>, box_id: <BOX_ID>, ...extra fields}.',
    responseSchema: componentRef(RESPONSE_SCHEMAS.Health),
    errorCodes: [],
    example: { response: { ok: true, devices: 2, box_id: 'lab-box-01' } },
    handler: ({ services }) => ({
      body: {
        ok: true,
        devices: services.devices.list().length,
        box_id: services.config.boxId,
        ...services.health.details(),
      },
    }),
  }),
];
