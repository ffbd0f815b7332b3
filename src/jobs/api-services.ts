/**
 * The service objects the HTTP layer calls (src/http/services.ts), over the engine,
 * the slot registry and the mode catalogue. Errors carry the contract's codes.
 */
import { ApiError } from '../api-error.js';
import { describeModeParams, listModes, normaliseModeName, UnsupportedModeError } from '../modes/catalogue.js';
import { isMissingValue } from '../modes/coerce.js';
import { validateModeParams, type ValidationResult } from '../modes/validate.js';
import type { SlotRegistry } from '../slots/slot-registry.js';
import type { DeviceApi, ModeApi } from '../http/services.js';
import type { JobEngine } from './engine.js';
import type { DeviceInfo, DeviceStatusEntry } from './types.js';

function modeNotFound(mode: string): ApiError {
  return new ApiError('modes.not_found', `Unsupported mode '${mode}'.`, 'Fetch available modes via GET /modes.');
}

function devicesUnavailable(): ApiError {
  return new ApiError('devices.unavailable', 'No devices registered', 'Use POST /admin/rescan to look for devices.');
}

/**
 * Modes the reference validator knows without being measurement modes (rest-api 9.3): AC has no
 * waveform (modes.md 6.3, a job naming it is refused) but /validate checks its required fields
 * and says the values were not checked.
 */
const VALIDATE_ONLY_MODES: Readonly<Record<string, readonly string[]>> = { AC: ['duration_s', 'frequency_hz', 'voltage_v'] };

function validateRequiredOnly(mode: string, fields: readonly string[], body: unknown): ValidationResult {
  const params = (body ?? {}) as Record<string, unknown>;
  const errors = fields.filter((f) => isMissingValue(params[f])).map((field) => ({ field, code: 'missing_field' as const, message: 'Field is required.' }));
  const warnings = [{ field: '*', code: 'not_implemented' as const, message: `${mode} validation is not yet implemented; values were not checked.` }];
  return { ok: errors.length === 0, errors, warnings, adjusted: errors.length === 0 ? params : null };
}

export function createModeApi(registry: SlotRegistry): ModeApi {
  return {
    list() {
      if (registry.list().length === 0) throw devicesUnavailable();
      return listModes().map((m) => m.mode);
    },
    params(mode) {
      if (registry.list().length === 0) throw devicesUnavailable();
      const name = normaliseModeName(mode);
      if (!name) throw modeNotFound(mode);
      return describeModeParams(name);
    },
    validate(mode, body) {
      const validateOnly = VALIDATE_ONLY_MODES[mode.trim().toUpperCase()];
      if (validateOnly) return validateRequiredOnly(mode.trim().toUpperCase(), validateOnly, body);
      try {
        return validateModeParams(mode, body);
      } catch (err) {
        if (err instanceof UnsupportedModeError) throw modeNotFound(mode);
        throw err;
      }
    },
  };
}

export function createDeviceApi(registry: SlotRegistry, engine: JobEngine): DeviceApi {
  const list = (): DeviceInfo[] =>
    registry
      .list()
      .map((e) => ({ slot: e.slot, port: e.port || '<unknown>', sn: e.sn }))
      .sort((a, b) => (a.slot < b.slot ? -1 : 1));
  return {
    list,
    status(): DeviceStatusEntry[] {
      return list().map(({ slot }) => {
        const runId = engine.reservationOf(slot);
        const job = runId ? engine.get(runId) : null;
        const s = job?.slots.find((x) => x.slot === slot);
        if (job && s && (s.status === 'queued' || s.status === 'running')) return { ...s, status: s.status, run_id: job.run_id };
        return {
          slot, status: 'idle', run_id: null, started_at: null, ended_at: null, message: null, files: [], current_mode: null, remaining_modes: [],
          progress_pct: 0, remaining_s: null, points: 0, expected_points: 0, lost: 0, dac_underruns: 0, adc_overflows: 0,
        };
      });
    },
    async rescan(): Promise<string[]> {
      const busy = engine.busySlots;
      if (busy.length > 0) throw new ApiError('devices.busy', `Rescan not possible while slots are busy: ${busy.join(', ')}`, 'Wait until running jobs have finished.');
      try {
        return (await registry.rescan()).map((e) => e.slot);
      } catch (err) {
        throw new ApiError('devices.scan_failed', 'Device discovery failed', (err as Error).message);
      }
    },
  };
}
