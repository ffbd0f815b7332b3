/**
 * Mode parameter validation (rest-api 9, modes.md 6.3 and 7.3).
 *
 * Pipeline per mode: (1) lenient coercion of each declared field (numeric strings, integer
 * truncation, defaults) driven by the schema's type; (2) ajv over the coerced object for the
 * simple ranges declared in `schemas/modes/*.schema.json`; (3) cross-field and plan-size rules
 * written here. Issues come out in declaration order, then cross-field issues, then warnings.
 *
 * Longer than our ~400-line guide on purpose: the per-mode rules share the coercion state, the
 * issue collector and the message formatting with the pipeline, and reading one mode's rules
 * next to the steps that feed them is what reviewing a validation change needs.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { ValidationError } from '../errors.js';
import {
  commonParamNames, getModeInfo, listModes, MODE_SCHEMAS, resolveModeToken, SCHEMA_ANNOTATION_KEYWORDS, type ParamDeclaration,
} from './catalogue.js';
import { isMissingValue, parseFiniteNumber } from './coerce.js';
import {
  EIS_HIGH_AMPLITUDE_V, EIS_MAX_FREQ_HZ, EIS_MIN_POINTS_PER_PERIOD, HIGH_CYCLE_COUNT, HIGH_SCAN_RATE_V_PER_S,
  LONG_DURATION_WARN_S, MAX_PLAN_POINTS, POINT_INTERVAL_S, POTENTIAL_LIMIT_V,
} from './constants.js';
import { formatPyFloat } from './csv.js';
import { commandedCurrents, currentLimitMessage, formatCurrent, largestFullScaleA, POTENTIAL_FIELDS } from './device-limits.js';
import { countDurationPoints, countSweepPoints } from './numeric.js';
import { countPlanPoints } from './plan.js';
import { countEisFrequencies } from './plan-eis.js';
import type { ModeName, ModeParams, ModeParamsMap, ModeRequest } from './types.js';

/** Stable issue codes. The first ten are rest-api 9.2; the rest are beepbox additions. */
export type IssueCode =
  | 'missing_field' | 'not_a_number' | 'not_an_integer' | 'must_be_positive' | 'min_value' | 'max_value'
  | 'zero_sweep' | 'high_value' | 'not_implemented' | 'value_adjusted'
  | 'not_an_object' | 'not_a_list' | 'empty_list' | 'invalid_choice' | 'equal_vertices' | 'invalid_order'
  | 'out_of_range' | 'too_few_points' | 'too_many_points' | 'single_step' | 'freq_clamped' | 'long_duration'
  | 'legacy_mode' | 'unknown_gain';

export interface ValidationIssue {
  /** Parameter name, `name[i]` for a list element, or `"*"` for the whole payload. */
  field: string;
  code: IssueCode;
  /** English, human-readable. */
  message: string;
}

/** rest-api 9.1. `adjusted` is the parameter object as it will run (null when not ok). */
export interface ValidationResult {
  ok: boolean;
  errors: ValidationIssue[];
  warnings: ValidationIssue[];
  adjusted: Record<string, unknown> | null;
}

export const ISSUE_MESSAGES = {
  missing_field: 'Field is required.',
  not_a_number: 'Value must be numeric.',
  not_an_integer: 'Value must be an integer.',
  must_be_positive: 'Value must be greater than zero.',
  zero_sweep: 'Potential sweep must span at least one vertex.',
  high_scan_rate: 'Scan rate exceeds 5 V/s; verify hardware capability.',
  high_cycles: 'Cycle count above 50 may lead to long experiment times.',
  not_an_object: 'Parameters must be a JSON object.',
  not_a_list: 'Value must be a list of numbers.',
  empty_list: 'List must not be empty.',
} as const;

// ---------------------------------------------------------------------------------------------
// ajv: one instance, every mode schema compiled once at module load (strict mode on).

// verbose: errors carry their schema, whose `x-limit-reason` annotation the message may quote.
const ajv = new Ajv2020({ strict: true, allErrors: true, verbose: true });
for (const keyword of SCHEMA_ANNOTATION_KEYWORDS) ajv.addKeyword({ keyword, schemaType: 'string' });
const VALIDATORS = new Map<ModeName, ValidateFunction>(
  listModes().map((m) => [m.mode, ajv.compile(MODE_SCHEMAS[m.mode])]),
);

// ---------------------------------------------------------------------------------------------

interface FieldState {
  decl: ParamDeclaration;
  /** Coerced value (after defaults); `undefined` when coercion failed or the field is absent. */
  value: unknown;
  /** True when coercion produced a value of the declared type (ranges may still fail). */
  parsed: boolean;
  /** A list whose unusable elements are null, so ajv can still range-check the good ones. */
  partialList: unknown[] | null;
  errors: ValidationIssue[];
  warnings: ValidationIssue[];
}

class Collector {
  readonly errors: ValidationIssue[] = [];
  readonly warnings: ValidationIssue[] = [];
  error(field: string, code: IssueCode, message: string): void {
    this.errors.push({ field, code, message });
  }
  warn(field: string, code: IssueCode, message: string): void {
    this.warnings.push({ field, code, message });
  }
}

/** Message number format: Python repr for floats ("-10.0"), plain integers for int fields. */
function formatLimit(limit: number, decl: ParamDeclaration | undefined): string {
  return decl?.type === 'int' || decl?.type === 'Optional[int]' ? String(limit) : formatPyFloat(limit);
}

function coerceField(decl: ParamDeclaration, raw: unknown, present: boolean): FieldState {
  const st: FieldState = { decl, value: undefined, parsed: false, partialList: null, errors: [], warnings: [] };
  const name = decl.name;
  const fail = (code: IssueCode, message: string, field = name) => st.errors.push({ field, code, message });
  if (!present || isMissingValue(raw)) {
    if (decl.default !== undefined) {
      st.value = decl.default;
      st.parsed = true;
    } else if (decl.required) {
      fail('missing_field', ISSUE_MESSAGES.missing_field);
    }
    return st;
  }
  switch (decl.type) {
    case 'float':
    case 'Optional[float]': {
      const x = parseFiniteNumber(raw);
      if (x === null) fail('not_a_number', ISSUE_MESSAGES.not_a_number);
      else { st.value = x; st.parsed = true; }
      break;
    }
    case 'int':
    case 'Optional[int]': {
      const x = parseFiniteNumber(raw);
      if (x === null) { fail('not_an_integer', ISSUE_MESSAGES.not_an_integer); break; }
      const t = Math.trunc(x) + 0; // + 0 turns −0 into 0
      st.value = t;
      st.parsed = true;
      if (t !== x) st.warnings.push({ field: name, code: 'value_adjusted', message: `Value adjusted to ${t}.` });
      break;
    }
    case 'list[float]': {
      if (!Array.isArray(raw)) { fail('not_a_list', ISSUE_MESSAGES.not_a_list); break; }
      const out = raw.map((item, i) => {
        const x = isMissingValue(item) ? null : parseFiniteNumber(item);
        if (x === null) fail('not_a_number', ISSUE_MESSAGES.not_a_number, `${name}[${i}]`);
        return x;
      });
      if (st.errors.length === 0) { st.value = out; st.parsed = true; } else st.partialList = out;
      break;
    }
    case 'str': {
      if (typeof raw !== 'string') {
        fail('invalid_choice', decl.choices ? `Value must be one of: ${decl.choices.join(', ')}.` : 'Value must be a string.');
        break;
      }
      const s = decl.choices ? raw.trim().toLowerCase() : raw;
      st.value = s;
      st.parsed = true;
      if (s !== raw) st.warnings.push({ field: name, code: 'value_adjusted', message: `Value adjusted to ${s}.` });
      break;
    }
  }
  return st;
}

function elementIndex(field: string): number {
  const m = /\[(\d+)\]$/.exec(field);
  return m === null ? -1 : Number(m[1]);
}

function fieldOfPath(instancePath: string): string {
  const parts = instancePath.split('/').slice(1);
  if (parts.length === 0) return '*';
  return parts[0]! + parts.slice(1).map((p) => `[${p}]`).join('');
}

/** " (why)" when the failing schema explains its bound with `x-limit-reason`, else "". */
function limitReason(e: ErrorObject): string {
  const reason = (e.parentSchema as Record<string, unknown> | undefined)?.['x-limit-reason'];
  return typeof reason === 'string' ? ` (${reason})` : '';
}

function issueOfAjvError(e: ErrorObject, decl: ParamDeclaration | undefined): ValidationIssue | null {
  const field = fieldOfPath(e.instancePath);
  const limit = (e.params as { limit?: number }).limit;
  switch (e.keyword) {
    case 'minimum': return { field, code: 'min_value', message: `Value must be at least ${formatLimit(limit!, decl)}${limitReason(e)}.` };
    case 'maximum': return { field, code: 'max_value', message: `Value must be at most ${formatLimit(limit!, decl)}${limitReason(e)}.` };
    case 'exclusiveMinimum':
      return limit === 0
        ? { field, code: 'must_be_positive', message: ISSUE_MESSAGES.must_be_positive }
        : { field, code: 'min_value', message: `Value must be greater than ${formatLimit(limit!, decl)}.` };
    case 'exclusiveMaximum': return { field, code: 'max_value', message: `Value must be less than ${formatLimit(limit!, decl)}.` };
    case 'minItems': return { field, code: 'empty_list', message: ISSUE_MESSAGES.empty_list };
    case 'enum': {
      const allowed = (e.params as { allowedValues?: unknown[] }).allowedValues ?? [];
      return { field, code: 'invalid_choice', message: `Value must be one of: ${allowed.join(', ')}.` };
    }
    case 'type': {
      // Coercion guarantees types; a type error here is only an anyOf branch (Optional[float]).
      if (e.schemaPath.includes('/anyOf/')) return null;
      return decl?.type === 'int' || decl?.type === 'Optional[int]'
        ? { field, code: 'not_an_integer', message: ISSUE_MESSAGES.not_an_integer }
        : { field, code: 'not_a_number', message: ISSUE_MESSAGES.not_a_number };
    }
    case 'anyOf':
    case 'required': // reported by coercion as missing_field
      return null;
    default:
      return { field, code: 'invalid_choice', message: `Value is invalid (${e.message ?? e.keyword}).` };
  }
}

/** Read access to coerced fields for the cross-field rules. */
class Fields {
  constructor(private readonly states: Map<string, FieldState>) {}
  /** Coerced number when the field parsed (its ranges may have failed). */
  parsedNumber(name: string): number | undefined {
    const st = this.states.get(name);
    return st?.parsed && typeof st.value === 'number' ? st.value : undefined;
  }
  /** True when every named field parsed and passed its own checks. */
  allValid(...names: string[]): boolean {
    return names.every((n) => {
      const st = this.states.get(n);
      return st !== undefined && st.parsed && st.errors.length === 0;
    });
  }
  value<T>(name: string): T {
    return this.states.get(name)!.value as T;
  }
  setValue(name: string, value: unknown): void {
    this.states.get(name)!.value = value;
  }
}

const fmt = (x: number): string => String(x);
const pointsWord = (n: number): string => (n === 1 ? '1 point' : `${n} points`);

function checkDurationPoints(f: Fields, out: Collector, field: string, what: string): void {
  if (!f.allValid(field)) return;
  const d = f.value<number>(field);
  if (countDurationPoints(d) < 1) {
    out.error(field, 'too_few_points', `${what} of ${fmt(d)} s gives 0 points; at least one point of 0.36 ms is needed.`);
  }
}

function checkSweeps(out: Collector, field: string, rate: number, sweeps: Array<[string, number, number]>): void {
  for (const [label, a, b] of sweeps) {
    if (a === b) continue;
    const L = countSweepPoints(a, b, rate);
    if (L < 2) {
      out.error(field, 'too_few_points',
        `Sweep ${label} (${fmt(a)} → ${fmt(b)} V) gives ${pointsWord(L)} at ${fmt(rate)} V/s; every sweep needs at least 2.`);
      return;
    }
  }
}

function warnHighScanRate(out: Collector, field: string, rate: number): void {
  if (rate > HIGH_SCAN_RATE_V_PER_S) out.warn(field, 'high_value', ISSUE_MESSAGES.high_scan_rate);
}

/** Cross-field rules per mode. They run after the field checks; each looks only at valid fields. */
const MODE_RULES: Readonly<Record<ModeName, (f: Fields, out: Collector) => void>> = {
  CA: (f, out) => checkDurationPoints(f, out, 'duration', 'Duration'),
  LSV: (f, out) => {
    if (f.allValid('start', 'end') && f.value<number>('start') === f.value<number>('end')) {
      out.error('end', 'zero_sweep', 'Start and end potentials must differ.');
    } else if (f.allValid('start', 'end', 'scan_rate')) {
      const n = countSweepPoints(f.value('start'), f.value('end'), f.value('scan_rate'));
      if (n < 2) out.error('scan_rate', 'too_few_points', `Sweep gives ${pointsWord(n)} at this scan rate; at least 2 are needed.`);
    }
    if (f.allValid('scan_rate')) warnHighScanRate(out, 'scan_rate', f.value('scan_rate'));
  },
  CV: (f, out) => {
    const pots = ['start', 'vertex1', 'vertex2', 'end'].map((n) => f.parsedNumber(n));
    const allEqual = pots.every((v) => v !== undefined && v === pots[0]);
    if (allEqual) out.error('end', 'zero_sweep', ISSUE_MESSAGES.zero_sweep);
    else if (f.allValid('vertex1', 'vertex2') && f.value<number>('vertex1') === f.value<number>('vertex2')) {
      out.error('vertex2', 'equal_vertices', 'vertex2 must differ from vertex1.');
    } else if (f.allValid('start', 'vertex1', 'vertex2', 'end', 'scan_rate')) {
      const [s, v1, v2, e] = pots as number[];
      checkSweeps(out, 'scan_rate', f.value('scan_rate'),
        [['start → vertex1', s!, v1!], ['vertex1 → vertex2', v1!, v2!], ['vertex2 → end', v2!, e!]]);
    }
    if (f.allValid('scan_rate')) warnHighScanRate(out, 'scan_rate', f.value('scan_rate'));
    if (f.allValid('cycles') && f.value<number>('cycles') > HIGH_CYCLE_COUNT) out.warn('cycles', 'high_value', ISSUE_MESSAGES.high_cycles);
  },
  PSTEP: (f, out) => checkDurationPoints(f, out, 'step_duration', 'Step duration'),
  CP: (f, out) => checkDurationPoints(f, out, 'duration', 'Duration'),
  GS: (f, out) => {
    checkDurationPoints(f, out, 'step_duration', 'Step duration');
    if (f.allValid('num_steps') && f.value<number>('num_steps') === 1) {
      out.warn('num_steps', 'single_step', 'With one step only the start current is applied; end is never reached.');
    }
  },
  GCV: (f, out) => {
    checkDurationPoints(f, out, 'step_duration', 'Step duration');
    if (f.allValid('cycles') && f.value<number>('cycles') > HIGH_CYCLE_COUNT) out.warn('cycles', 'high_value', ISSUE_MESSAGES.high_cycles);
  },
  STEPSEQ: (f, out) => checkDurationPoints(f, out, 'step_duration', 'Step duration'),
  OCP: (f, out) => checkDurationPoints(f, out, 'duration', 'Duration'),
  CDL: (f, out) => {
    // start/end default to vertex_a (modes.md 2.8).
    if (f.allValid('vertex_a')) {
      for (const n of ['start', 'end']) if (f.allValid(n) && f.value(n) === null) f.setValue(n, f.value('vertex_a'));
    }
    const vertsOk = f.allValid('vertex_a', 'vertex_b');
    if (vertsOk && !(f.value<number>('vertex_a') < f.value<number>('vertex_b'))) {
      out.error('vertex_b', 'invalid_order', 'vertex_b must be greater than vertex_a.');
    } else if (vertsOk && f.allValid('scan_rates', 'start', 'end')) {
      const rates = f.value<number[]>('scan_rates');
      const va = f.value<number>('vertex_a');
      const vb = f.value<number>('vertex_b');
      let fastest = 0;
      rates.forEach((r, i) => { if (r > rates[fastest]!) fastest = i; });
      if (rates.length > 0) {
        // L(a, b) falls as the rate rises, so the fastest rate decides.
        checkSweeps(out, `scan_rates[${fastest}]`, rates[fastest]!,
          [['start → vertex_b', f.value('start'), vb], ['vertex_b → vertex_a', vb, va], ['vertex_a → end', va, f.value('end')]]);
      }
    }
    if (f.allValid('scan_rates')) f.value<number[]>('scan_rates').forEach((r, i) => warnHighScanRate(out, `scan_rates[${i}]`, r));
  },
  EIS: (f, out) => {
    for (const n of ['start_freq', 'end_freq']) {
      if (!f.allValid(n)) continue;
      const v = f.value<number>(n);
      if (v > EIS_MAX_FREQ_HZ) {
        f.setValue(n, EIS_MAX_FREQ_HZ);
        out.warn(n, 'freq_clamped',
          `${n} ${fmt(v)} Hz exceeds the usable maximum ${EIS_MAX_FREQ_HZ.toFixed(2)} Hz (10 points per period at 0.36 ms); clamped.`);
      }
    }
    if (f.allValid('dc_bias', 'amplitude')) {
      const dc = f.value<number>('dc_bias');
      const amp = f.value<number>('amplitude');
      if (dc + amp > POTENTIAL_LIMIT_V || dc - amp < -POTENTIAL_LIMIT_V) {
        out.error('dc_bias', 'out_of_range',
          `dc_bias ± amplitude (${fmt(dc - amp)} to ${fmt(dc + amp)} V) must stay within ±${POTENTIAL_LIMIT_V} V.`);
      }
      if (amp > EIS_HIGH_AMPLITUDE_V) out.warn('amplitude', 'high_value', 'Amplitude above 0.05 V; the response may not be linear.');
    }
  },
};

/**
 * Device limits every mode shares (run after the mode's own rules, on valid fields only):
 * potentials within the device range (a safety net for schemas that still allow more), the
 * commanded currents within the full scale of the mode's own gain (or, without one, the largest
 * full scale; admission checks again with the job's gain), and the potential cut-offs in order.
 */
function checkDeviceLimits(mode: ModeName, f: Fields, out: Collector): void {
  // One issue per offending value: CDL start/end default to vertex_a and would repeat its issue.
  const reported = new Set<number>();
  for (const name of POTENTIAL_FIELDS[mode] ?? []) {
    if (!f.allValid(name)) continue;
    const value = f.value<unknown>(name);
    const values = Array.isArray(value) ? value : [value];
    values.forEach((v, i) => {
      if (typeof v === 'number' && Math.abs(v) > POTENTIAL_LIMIT_V && !reported.has(v)) {
        reported.add(v);
        out.error(Array.isArray(value) ? `${name}[${i}]` : name, 'out_of_range',
          `Value ${fmt(v)} V is outside the device's potential range ±${POTENTIAL_LIMIT_V} V.`);
      }
    });
  }
  const gain = f.allValid('tia_gain') ? f.value<number | null>('tia_gain') : null;
  for (const c of commandedCurrents(mode, (n) => (f.allValid(n) ? f.value<unknown>(n) : undefined))) {
    const message = currentLimitMessage(c.value, gain, 'mode');
    if (message !== null) out.error(c.field, 'out_of_range', message);
  }
  if (f.allValid('potential_cutoff_min', 'potential_cutoff_max')) {
    const min = f.value<number | null>('potential_cutoff_min');
    const max = f.value<number | null>('potential_cutoff_max');
    if (min !== null && max !== null && !(min < max)) {
      out.error('potential_cutoff_min', 'invalid_order',
        `potential_cutoff_min (${fmt(min)} V) must be below potential_cutoff_max (${fmt(max)} V).`);
    }
  }
}

/** Plan-size rules for every mode: N ≥ 1 (modes.md 9 item 13), N ≤ MAX_PLAN_POINTS, and a long-duration warning. */
function checkPlanSize(mode: ModeName, params: ModeParams, out: Collector): void {
  if (mode === 'EIS') {
    const p = params as ModeParamsMap['EIS'];
    // Each block is at least (settling_cycles + cycles) periods of ≥ 10 points, and its settling lasts at least settling_time_s.
    const perBlock = Math.max(
      (p.settling_cycles + p.cycles_per_freq) * EIS_MIN_POINTS_PER_PERIOD,
      Math.floor(p.settling_time_s / POINT_INTERVAL_S) + p.cycles_per_freq * EIS_MIN_POINTS_PER_PERIOD,
    );
    const lowerBound = countEisFrequencies(p) * perBlock;
    if (lowerBound > MAX_PLAN_POINTS) {
      out.error('*', 'too_many_points', `Plan has more than ${MAX_PLAN_POINTS} points; that is the supported maximum (10 h at 0.36 ms).`);
      return;
    }
  }
  const n = countPlanPoints(mode, params);
  if (n < 1) {
    out.error('*', 'too_few_points', 'Plan has no points.');
  } else if (n > MAX_PLAN_POINTS) {
    out.error('*', 'too_many_points', `Plan has ${n} points; at most ${MAX_PLAN_POINTS} are supported (10 h at 0.36 ms).`);
  } else {
    const planned = n * POINT_INTERVAL_S;
    if (planned > LONG_DURATION_WARN_S) {
      out.warn('*', 'long_duration', `Planned duration ${planned.toFixed(1)} s (${(planned / 3600).toFixed(2)} h) exceeds 1 h.`);
    }
  }
}

interface InternalResult extends ValidationResult {
  mode: ModeName;
  params: ModeParams | null;
}

function validateResolved(mode: ModeName, raw: unknown, out: Collector): InternalResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    out.error('*', 'not_an_object', ISSUE_MESSAGES.not_an_object);
    return { ok: false, errors: out.errors, warnings: out.warnings, adjusted: null, mode, params: null };
  }
  const src = raw as Record<string, unknown>;
  const info = getModeInfo(mode);
  const states = new Map<string, FieldState>();
  for (const decl of info.params) states.set(decl.name, coerceField(decl, src[decl.name], Object.hasOwn(src, decl.name)));

  // Simple ranges from the schema, over the successfully coerced fields.
  const coerced: Record<string, unknown> = {};
  for (const [name, st] of states) {
    if (st.parsed) coerced[name] = st.value;
    else if (st.partialList !== null) coerced[name] = st.partialList;
  }
  const validate = VALIDATORS.get(mode)!;
  if (!validate(coerced)) {
    // Fields that already have an issue, per parameter: a list of 10^5 bad elements stays linear.
    const reported = new Map<FieldState, Set<string>>();
    for (const e of validate.errors ?? []) {
      const name = e.instancePath.split('/')[1] ?? '';
      const st = states.get(name);
      const issue = issueOfAjvError(e, st?.decl);
      if (issue === null || st === undefined) continue;
      let fields = reported.get(st);
      if (fields === undefined) reported.set(st, (fields = new Set(st.errors.map((x) => x.field))));
      // Skip list elements that already failed coercion (they were passed as null).
      if (fields.has(issue.field)) continue;
      fields.add(issue.field);
      st.errors.push(issue);
    }
  }
  for (const st of states.values()) {
    // List element issues in index order, whichever stage found them.
    st.errors.sort((a, b) => elementIndex(a.field) - elementIndex(b.field));
    // One at a time: spreading 10^5 issues into push() overflows the call stack.
    for (const issue of st.errors) out.errors.push(issue);
    if (st.errors.length === 0) for (const warning of st.warnings) out.warnings.push(warning);
  }

  const fields = new Fields(states);
  MODE_RULES[mode](fields, out);
  checkDeviceLimits(mode, fields, out);

  let params: ModeParams | null = null;
  if (out.errors.length === 0) {
    const typed: Record<string, unknown> = {};
    for (const [name, st] of states) typed[name] = st.value;
    params = typed as unknown as ModeParams;
    checkPlanSize(mode, params, out);
  }
  if (out.errors.length > 0) return { ok: false, errors: out.errors, warnings: out.warnings, adjusted: null, mode, params: null };
  // `adjusted` (rest-api 9.1) lists the shared parameters only when the client sent them, so a
  // reference payload validates to the reference answer; the typed params always hold them.
  const shared = new Set(commonParamNames(mode));
  const adjusted: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params as object)) if (!shared.has(k) || !isMissingValue(src[k])) adjusted[k] = v;
  for (const [k, v] of Object.entries(src)) if (!states.has(k)) adjusted[k] = v;
  return { ok: true, errors: out.errors, warnings: out.warnings, adjusted, mode, params };
}

function validateToken(token: string, raw: unknown): InternalResult {
  const resolved = resolveModeToken(token, raw);
  const out = new Collector();
  if (resolved.legacyToken !== null) {
    out.warn('*', 'legacy_mode', `Legacy mode ${resolved.legacyToken} runs as ${resolved.mode}.`);
  }
  return validateResolved(resolved.mode, resolved.raw, out);
}

/**
 * Validate raw parameters of a mode (rest-api 9). `mode` is case-insensitive; legacy `DC` is
 * validated as the CA/CP payload it maps to (warning `legacy_mode`). Unknown modes and `AC`
 * throw {@link UnsupportedModeError} (HTTP: 404 `modes.not_found`). Never throws for bad values.
 */
export function validateModeParams(mode: string, raw: unknown): ValidationResult {
  const r = validateToken(mode, raw);
  return { ok: r.ok, errors: r.errors, warnings: r.warnings, adjusted: r.adjusted };
}

/** What a job admits for one mode: the verdict, and when ok the resolved mode and typed parameters. */
export type ModeAdmission =
  | { ok: true; mode: ModeName; params: ModeParams; adjusted: Record<string, unknown>; errors: ValidationIssue[]; warnings: ValidationIssue[] }
  | { ok: false; errors: ValidationIssue[]; warnings: ValidationIssue[] };

/**
 * Validate once for a job: like {@link validateModeParams}, plus the resolved mode (legacy `DC`
 * becomes CA or CP) and the typed parameters it will run with. Throws {@link UnsupportedModeError}.
 */
export function admitModeParams(mode: string, raw: unknown): ModeAdmission {
  const r = validateToken(mode, raw);
  if (!r.ok || r.params === null || r.adjusted === null) return { ok: false, errors: r.errors, warnings: r.warnings };
  return { ok: true, mode: r.mode, params: r.params, adjusted: r.adjusted, errors: r.errors, warnings: r.warnings };
}

/**
 * The checks a mode's own validation could not make because its gain comes from the job: with
 * `ownGain` null/absent, the commanded currents against the full scale of the job's `tia_gain`
 * (issues name the mode's field), or, when the job's gain is null too (device setting left
 * unchanged, so unknown), the warning `unknown_gain` (the largest full scale was applied).
 */
export function checkInheritedGain(
  mode: ModeName, params: ModeParams, ownGain: number | null | undefined, jobGain: number | null,
): { errors: ValidationIssue[]; warnings: ValidationIssue[] } {
  const errors: ValidationIssue[] = [];
  const warnings: ValidationIssue[] = [];
  if (ownGain !== null && ownGain !== undefined) return { errors, warnings };
  const currents = commandedCurrents(mode, (n) => (params as unknown as Record<string, unknown>)[n]);
  if (currents.length === 0) return { errors, warnings };
  if (jobGain === null) {
    warnings.push({
      field: 'tia_gain', code: 'unknown_gain',
      message: `The job leaves the device's gain unchanged (tia_gain null), so the current full scale is unknown; currents were checked against the largest, ±${formatCurrent(largestFullScaleA())}.`,
    });
    return { errors, warnings };
  }
  for (const c of currents) {
    const message = currentLimitMessage(c.value, jobGain, 'job');
    if (message !== null) errors.push({ field: c.field, code: 'out_of_range', message });
  }
  return { errors, warnings };
}

function throwFirst(r: InternalResult): never {
  const first = r.errors[0]!;
  throw new ValidationError(first.field, first.message, { mode: r.mode, code: first.code, errors: r.errors, warnings: r.warnings });
}

/**
 * Typed parameters (defaults filled, numbers coerced, EIS clamped) or a {@link ValidationError}
 * naming the first failing field; `details.errors` lists every issue. Unknown keys are dropped.
 */
export function parseModeParams<M extends ModeName>(mode: M, raw: unknown): ModeParamsMap[M];
export function parseModeParams(mode: string, raw: unknown): ModeParams;
export function parseModeParams(mode: string, raw: unknown): ModeParams {
  return parseModeRequest(mode, raw).params;
}

/** Like {@link parseModeParams}, but also returns the resolved mode (legacy `DC` becomes CA or CP). */
export function parseModeRequest(mode: string, raw: unknown): ModeRequest {
  const r = validateToken(mode, raw);
  if (!r.ok || r.params === null) throwFirst(r);
  return { mode: r.mode, params: r.params } as ModeRequest;
}
