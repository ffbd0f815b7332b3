/**
 * Lenient scalar parsing for mode parameters (rest-api 1.5): JSON numbers and strings holding a
 * finite decimal number are numbers; null, blank strings, booleans, NaN and ±Infinity are not.
 */

const DECIMAL_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Empty means missing (rest-api 9.2): absent, null, or a string that is blank after trimming. 0 is present. */
export function isMissingValue(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

/**
 * A finite number from a JSON number or a decimal string (`"0.1"`, `" -2e-3 "`), else `null`.
 * Hex, `"Infinity"`, `"nan"`, booleans, arrays and objects are rejected.
 */
export function parseFiniteNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string') {
    const s = value.trim();
    if (!DECIMAL_RE.test(s)) return null;
    const x = Number(s);
    return Number.isFinite(x) ? x : null;
  }
  return null;
}
