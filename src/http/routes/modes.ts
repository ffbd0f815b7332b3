/** GET /modes, GET /modes/{mode}/params, POST /modes/{mode}/validate (rest-api.md 3.5–3.7). */
import { httpErrors } from '../errors.js';
import { defineRoute, type AnyRoute } from '../route-types.js';
import { API_SCHEMAS, componentRef, RESPONSE_SCHEMAS } from '../schemas.js';
import type { AppServices } from '../../services/api.js';

const MODE_PARAM = { name: 'mode', description: 'Mode name, case-insensitive (e.g. CV).' } as const;

/** 503 devices.unavailable while no device is registered (3.5, 3.6). */
function requireDevices(services: AppServices): void {
  if (services.devices.list().length === 0) throw httpErrors.devicesUnavailable();
}

export const modeRoutes: readonly AnyRoute[] = [
  defineRoute({
    method: 'GET',
    path: '/modes',
    operationId: 'listModes',
    tag: 'modes',
    summary: 'Available measurement modes',
    description: 'Mode names in catalogue order. 503 devices.unavailable while no device is registered.',
    auth: 'key',
    pathParams: [],
    bodySchema: null,
    querySchema: null,
    successStatus: 200,
    responseDescription: 'Array of upper-case mode names.',
    responseSchema: componentRef(RESPONSE_SCHEMAS.ModeList),
    errorCodes: ['devices.unavailable'],
    example: { response: ['CA', 'LSV', 'CV', 'PSTEP', 'CP', 'GS', 'GCV', 'STEPSEQ', 'OCP', 'CDL', 'EIS'] },
    handler: ({ services }) => {
      requireDevices(services);
      return { body: services.modes.list() };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/modes/{mode}/params',
    operationId: 'getModeParams',
    tag: 'modes',
    summary: 'Parameter types of a mode',
    description:
      'Parameter name → type string (float, int, str, bool, list[float], Optional[<t>]) in declaration order. Zero devices → 503 devices.unavailable; unknown mode → 404 modes.not_found. The full JSON Schemas are the ModeParams_* components of /openapi.json.',
    auth: 'key',
    pathParams: [MODE_PARAM],
    bodySchema: null,
    querySchema: null,
    successStatus: 200,
    responseDescription: 'Object parameter name → type string.',
    responseSchema: componentRef(RESPONSE_SCHEMAS.ModeParamTypes),
    errorCodes: ['devices.unavailable', 'modes.not_found'],
    example: {
      path: '/modes/CV/params',
      response: { start: 'float', vertex1: 'float', vertex2: 'float', end: 'float', scan_rate: 'float', cycles: 'int' },
    },
    handler: ({ services, params }) => {
      requireDevices(services);
      return { body: services.modes.params(params['mode'] ?? '') };
    },
  }),
  defineRoute<Record<string, unknown>>({
    method: 'POST',
    path: '/modes/{mode}/validate',
    operationId: 'validateModeParams',
    tag: 'modes',
    summary: 'Validate and normalise parameters',
    description:
      'Body: the raw parameter object of the mode (not wrapped; numeric strings accepted). Works without devices and never touches hardware. Answers 200 with a ValidationResult also when ok is false; `adjusted` is the parameter object as a job would run it.',
    auth: 'key',
    pathParams: [MODE_PARAM],
    bodySchema: API_SCHEMAS.ModeParamsRequest,
    querySchema: null,
    successStatus: 200,
    responseDescription: 'ValidationResult {ok, errors: Issue[], warnings: Issue[], adjusted: object|null}; Issue = {field, code, message}.',
    responseSchema: componentRef(RESPONSE_SCHEMAS.ModeValidationResult),
    errorCodes: ['modes.not_found'],
    example: {
      path: '/modes/CV/validate',
      body: { start: 0.0, vertex1: 0.5, vertex2: -0.5, end: 0.0, scan_rate: 7, cycles: '3' },
      response: {
        ok: true,
        errors: [],
        warnings: [{ field: 'scan_rate', code: 'high_value', message: 'Scan rate exceeds 5 V/s; verify hardware capability.' }],
        adjusted: { start: 0.0, vertex1: 0.5, vertex2: -0.5, end: 0.0, scan_rate: 7, cycles: 3 },
      },
    },
    handler: ({ services, params, body }) => ({ body: services.modes.validate(params['mode'] ?? '', body) }),
  }),
];
