/** GET /modes, GET /modes/{mode}/params, POST /modes/{mode}/validate over the mode catalogue. */
import { DaemonError } from '../errors.js';
import { describeModeParams, listModes, normaliseModeName, UnsupportedModeError } from '../modes/catalogue.js';
import { isMissingValue } from '../modes/coerce.js';
import { validateModeParams, type ValidationResult } from '../modes/validate.js';
import type { ModeApi } from './api.js';

function modeNotFound(mode: string): DaemonError {
  return new DaemonError('modes.not_found', `Unsupported mode '${mode}'.`);
}

function devicesUnavailable(): DaemonError {
  return new DaemonError('devices.unavailable', 'No devices registered');
}

/**
 * Modes the reference validator knows without being measurement modes (rest-api 9.3): AC has no
 * waveform (a job naming it is refused) but /validate checks its required fields and says the
 * values were not checked.
 */
const VALIDATE_ONLY_MODES: Readonly<Record<string, readonly string[]>> = { AC: ['duration_s', 'frequency_hz', 'voltage_v'] };

function validateRequiredOnly(mode: string, fields: readonly string[], body: unknown): ValidationResult {
  const params = (body ?? {}) as Record<string, unknown>;
  const errors = fields.filter((f) => isMissingValue(params[f])).map((field) => ({ field, code: 'missing_field' as const, message: 'Field is required.' }));
  const warnings = [{ field: '*', code: 'not_implemented' as const, message: `${mode} validation is not yet implemented; values were not checked.` }];
  return { ok: errors.length === 0, errors, warnings, adjusted: errors.length === 0 ? params : null };
}

/** `hasDevices` tells whether any slot is registered (the catalogue answers 503 without one). */
export function createModeService(hasDevices: () => boolean): ModeApi {
  return {
    list() {
      if (!hasDevices()) throw devicesUnavailable();
      return listModes().map((m) => m.mode);
    },
    params(mode) {
      if (!hasDevices()) throw devicesUnavailable();
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
