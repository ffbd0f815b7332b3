/** GET /devices, GET /devices/status, POST /admin/rescan (rest-api.md 3.3, 3.4, 3.19). */
import { defineRoute, type AnyRoute } from '../route-types.js';
import { arrayOf, componentRef, RESPONSE_SCHEMAS } from '../schemas.js';

/** Code-point order of slot names ("sorted by slot name", 3.3). */
function compareSlots(a: { slot: string }, b: { slot: string }): number {
  return a.slot < b.slot ? -1 : a.slot > b.slot ? 1 : 0;
}

export const deviceRoutes: readonly AnyRoute[] = [
  defineRoute({
    method: 'GET',
    path: '/devices',
    operationId: 'listDevices',
    tag: 'devices',
    summary: 'Discovered slots',
    description: '`devices` sorted by slot name, each with `state` (online or offline) and `state_reason`; `slots` the same names in the same order; `count` their number. DeviceInfo: slot, port (device path or "<unknown>"), sn (USB serial number or null).',
    auth: 'key',
    pathParams: [],
    bodySchema: null,
    querySchema: null,
    successStatus: 200,
    responseDescription: '{devices: DeviceInfo[], slots: string[], count: integer}.',
    responseSchema: componentRef(RESPONSE_SCHEMAS.DeviceList),
    errorCodes: [],
    example: {
      response: {
        devices: [
          { slot: 'slot01', port: '/dev/ttyACM0', sn: '3A0F12345678' },
          { slot: 'slot02', port: '/dev/ttyACM1', sn: null },
        ],
        slots: ['slot01', 'slot02'],
        count: 2,
      },
    },
    handler: ({ services }) => {
      const devices = [...services.devices.list()].sort(compareSlots);
      return { body: { devices, slots: devices.map((d) => d.slot), count: devices.length } };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/devices/status',
    operationId: 'getDeviceStatus',
    tag: 'devices',
    summary: 'Per-slot runtime state',
    description:
      'One entry per registered slot, sorted by slot name: a copy of the SlotStatus of the job that reserves the slot (plus run_id), or an idle entry.',
    auth: 'key',
    pathParams: [],
    bodySchema: null,
    querySchema: null,
    successStatus: 200,
    responseDescription: 'Array of SlotStatus entries with status idle|queued|running and run_id (string or null).',
    responseSchema: arrayOf(RESPONSE_SCHEMAS.DeviceStatusEntry),
    errorCodes: [],
    handler: ({ services }) => ({ body: services.devices.status() }),
  }),
];

export const adminRoutes: readonly AnyRoute[] = [
  defineRoute({
    method: 'POST',
    path: '/admin/rescan',
    operationId: 'rescanDevices',
    tag: 'devices',
    summary: 'Rediscover devices',
    description:
      'No body (any body is ignored). Refused with 409 devices.busy while any slot is reserved; otherwise rediscovers: devices still present keep their slot name and connection, new ones take the lowest free name, gone ones stay listed as offline. Answers the online slots.',
    auth: 'key',
    pathParams: [],
    bodySchema: null,
    querySchema: null,
    successStatus: 200,
    responseDescription: '{devices: [slot names in discovery order]} (possibly empty).',
    responseSchema: componentRef(RESPONSE_SCHEMAS.RescanResult),
    errorCodes: ['devices.busy', 'devices.scan_failed'],
    example: { response: { devices: ['slot01', 'slot02'] } },
    handler: async ({ services }) => ({ body: { devices: await services.devices.rescan() } }),
  }),
];
