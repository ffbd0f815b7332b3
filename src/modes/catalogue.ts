/**
 * Mode catalogue: order, family, parameter declarations and CSV columns of every mode.
 * Parameter names, types and defaults come from the JSON Schemas in `schemas/modes/`
 * (the single source of truth); this module only reads them. The parameters several modes
 * share (gain, rest, charge and potential cut-offs) are declared once, in
 * `schemas/modes/common-params.fragment.json`, and merged here into each mode's schema, so
 * validation, `GET /modes/{mode}/schema` and the OpenAPI components all see one declaration.
 */
import { ValidationError } from '../errors.js';
import { isMissingValue, parseFiniteNumber } from './coerce.js';
import { MODE_NAMES, type ModeFamily, type ModeName } from './types.js';
import caSchema from '../../schemas/modes/ca.schema.json' with { type: 'json' };
import lsvSchema from '../../schemas/modes/lsv.schema.json' with { type: 'json' };
import cvSchema from '../../schemas/modes/cv.schema.json' with { type: 'json' };
import pstepSchema from '../../schemas/modes/pstep.schema.json' with { type: 'json' };
import cpSchema from '../../schemas/modes/cp.schema.json' with { type: 'json' };
import gsSchema from '../../schemas/modes/gs.schema.json' with { type: 'json' };
import gcvSchema from '../../schemas/modes/gcv.schema.json' with { type: 'json' };
import stepseqSchema from '../../schemas/modes/stepseq.schema.json' with { type: 'json' };
import ocpSchema from '../../schemas/modes/ocp.schema.json' with { type: 'json' };
import cdlSchema from '../../schemas/modes/cdl.schema.json' with { type: 'json' };
import eisSchema from '../../schemas/modes/eis.schema.json' with { type: 'json' };
import commonParams from '../../schemas/modes/common-params.fragment.json' with { type: 'json' };

export { MODE_NAMES, type ModeName, type ModeFamily } from './types.js';

/** A plain JSON Schema object (draft 2020-12). */
export type JsonSchema = Record<string, unknown>;

/**
 * Annotation keywords our schemas may carry besides the standard ones. Every ajv instance that
 * compiles a mode or API schema registers them (strict mode refuses unknown keywords).
 * `x-limit-reason`: why a bound exists, appended to the message of a value beyond it.
 */
export const SCHEMA_ANNOTATION_KEYWORDS = ['x-limit-reason'] as const;

/** Which group of the shared declarations a mode gets (see the fragment's `$comment`). */
export type CommonParamGroup = 'every_mode' | 'charge_cutoff' | 'potential_cutoff';

const COMMON_GROUPS: Readonly<Record<ModeName, readonly CommonParamGroup[]>> = {
  CA: ['every_mode', 'charge_cutoff'],
  LSV: ['every_mode', 'charge_cutoff'],
  CV: ['every_mode', 'charge_cutoff'],
  PSTEP: ['every_mode', 'charge_cutoff'],
  CP: ['every_mode', 'charge_cutoff', 'potential_cutoff'],
  GS: ['every_mode', 'charge_cutoff', 'potential_cutoff'],
  GCV: ['every_mode', 'charge_cutoff', 'potential_cutoff'],
  STEPSEQ: ['every_mode', 'charge_cutoff', 'potential_cutoff'],
  OCP: ['every_mode'],
  CDL: ['every_mode', 'charge_cutoff'],
  EIS: ['every_mode'],
};

/** Names of the shared parameters a mode has, in declaration order. */
export function commonParamNames(mode: ModeName): string[] {
  return COMMON_GROUPS[mode].flatMap((g) => Object.keys(asRecord(asRecord(commonParams)[g])));
}

/**
 * A mode's own schema with the shared parameters merged in: the mode's own properties first, then
 * the shared ones in fragment order. A mode that declares a shared name (EIS: its own `rest_s`
 * default) keeps the shared declaration and overrides only the keywords it gives.
 */
function withCommonParams(mode: ModeName, own: JsonSchema): JsonSchema {
  const ownProps = asRecord(own.properties);
  const shared: Record<string, unknown> = {};
  for (const group of COMMON_GROUPS[mode]) {
    for (const [name, decl] of Object.entries(asRecord(asRecord(commonParams)[group]))) {
      shared[name] = { ...asRecord(decl), ...asRecord(ownProps[name]) };
    }
  }
  const properties: Record<string, unknown> = {};
  for (const [name, decl] of Object.entries(ownProps)) if (!(name in shared)) properties[name] = decl;
  Object.assign(properties, shared);
  return { ...own, properties };
}

/** Parameter JSON Schemas by mode: `schemas/modes/<mode>.schema.json` plus the shared parameters. */
export const MODE_SCHEMAS: Readonly<Record<ModeName, JsonSchema>> = {
  CA: withCommonParams('CA', caSchema), LSV: withCommonParams('LSV', lsvSchema), CV: withCommonParams('CV', cvSchema),
  PSTEP: withCommonParams('PSTEP', pstepSchema), CP: withCommonParams('CP', cpSchema), GS: withCommonParams('GS', gsSchema),
  GCV: withCommonParams('GCV', gcvSchema), STEPSEQ: withCommonParams('STEPSEQ', stepseqSchema),
  OCP: withCommonParams('OCP', ocpSchema), CDL: withCommonParams('CDL', cdlSchema), EIS: withCommonParams('EIS', eisSchema),
};

/** Type strings in the vocabulary of rest-api 8.3. */
export type ParamTypeString = 'float' | 'int' | 'str' | 'list[float]' | 'Optional[float]' | 'Optional[int]';

export interface ParamDeclaration {
  name: string;
  /** Type string as `GET /modes/{mode}/params` reports it. */
  type: ParamTypeString;
  required: boolean;
  /** Schema default (`undefined` when the schema has none). CDL start/end default to `null` = vertex_a. */
  default: unknown;
  /** Allowed values of a `str` parameter (lower case; input is matched case-insensitively). */
  choices: readonly string[] | null;
  description: string;
}

/** CSV column ids in the fixed order of modes.md 3.1. */
export type CsvColumn =
  | 'time' | 'potential' | 'current' | 'cycle' | 'step' | 'exp' | 'applied_potential' | 'applied_current';

/** Exact header texts (modes.md 3.1). */
export const CSV_COLUMN_HEADERS: Readonly<Record<CsvColumn, string>> = {
  time: 'Time (s)',
  potential: 'Potential (V)',
  current: 'Current (A)',
  cycle: 'Cycle',
  step: 'Step',
  exp: 'Exp',
  applied_potential: 'Applied potential (V)',
  applied_current: 'Applied current (A)',
};

export interface ModeInfo {
  mode: ModeName;
  family: ModeFamily;
  schemaId: string;
  schema: JsonSchema;
  params: readonly ParamDeclaration[];
  /** Columns of the raw `<base>.csv`, in order. */
  csvColumns: readonly CsvColumn[];
}

const FAMILIES: Readonly<Record<ModeName, ModeFamily>> = {
  CA: 'pot', LSV: 'pot', CV: 'pot', PSTEP: 'pot', CP: 'gal', GS: 'gal', GCV: 'gal', STEPSEQ: 'gal',
  OCP: 'ocp', CDL: 'pot', EIS: 'pot',
};

const BASE: readonly CsvColumn[] = ['time', 'potential', 'current'];
const CSV_COLUMNS: Readonly<Record<ModeName, readonly CsvColumn[]>> = {
  CA: [...BASE, 'exp', 'applied_potential'],
  LSV: [...BASE, 'exp', 'applied_potential'],
  CV: [...BASE, 'cycle', 'exp', 'applied_potential'],
  PSTEP: [...BASE, 'step', 'exp', 'applied_potential'],
  CP: [...BASE, 'exp', 'applied_current'],
  GS: [...BASE, 'exp', 'applied_current'],
  GCV: [...BASE, 'cycle', 'exp', 'applied_current'],
  STEPSEQ: [...BASE, 'exp', 'applied_current'],
  OCP: [...BASE, 'exp'],
  CDL: [...BASE, 'cycle', 'exp', 'applied_potential'],
  EIS: [...BASE, 'cycle', 'step', 'exp', 'applied_potential'],
};

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** Map one property schema onto the rest-api 8.3 type vocabulary. */
function typeStringOf(prop: Record<string, unknown>, where: string): ParamTypeString {
  switch (prop.type) {
    case 'number': return 'float';
    case 'integer': return 'int';
    case 'string': return 'str';
    case 'array': {
      if (asRecord(prop.items).type === 'number') return 'list[float]';
      break;
    }
    default: {
      const branches = Array.isArray(prop.anyOf) ? prop.anyOf.map((b) => asRecord(b).type) : [];
      if (branches.length === 2 && branches.includes('null')) {
        if (branches.includes('number')) return 'Optional[float]';
        if (branches.includes('integer')) return 'Optional[int]';
      }
    }
  }
  throw new Error(`unsupported parameter schema at ${where}`);
}

function declareParams(mode: ModeName, schema: JsonSchema): ParamDeclaration[] {
  const props = asRecord(schema.properties);
  const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
  return Object.keys(props).map((name) => {
    const prop = asRecord(props[name]);
    return {
      name,
      type: typeStringOf(prop, `${mode}.${name}`),
      required: required.has(name),
      default: prop.default,
      choices: Array.isArray(prop.enum) ? (prop.enum as string[]) : null,
      description: typeof prop.description === 'string' ? prop.description : '',
    };
  });
}

const CATALOGUE: readonly ModeInfo[] = MODE_NAMES.map((mode) => {
  const schema = MODE_SCHEMAS[mode];
  return Object.freeze({
    mode,
    family: FAMILIES[mode],
    schemaId: String(schema.$id),
    schema,
    params: Object.freeze(declareParams(mode, schema)),
    csvColumns: CSV_COLUMNS[mode],
  });
});
const BY_NAME = new Map<ModeName, ModeInfo>(CATALOGUE.map((m) => [m.mode, m]));

/** Every mode in catalogue order (CA, LSV, CV, PSTEP, CP, GS, GCV, STEPSEQ, OCP, CDL, EIS). */
export function listModes(): readonly ModeInfo[] {
  return CATALOGUE;
}

/** Catalogue name for a token (trimmed, case-insensitive), or `null`. Legacy `DC` is not a catalogue name. */
export function normaliseModeName(token: string): ModeName | null {
  const upper = token.trim().toUpperCase();
  return BY_NAME.has(upper as ModeName) ? (upper as ModeName) : null;
}

export function isModeName(token: string): token is ModeName {
  return BY_NAME.has(token as ModeName);
}

export function getModeInfo(mode: ModeName): ModeInfo {
  const info = BY_NAME.get(mode);
  if (info === undefined) throw new UnsupportedModeError(mode);
  return info;
}

export function getModeFamily(mode: ModeName): ModeFamily {
  return getModeInfo(mode).family;
}

/** `GET /modes/{mode}/params` body: parameter name → type string, in declaration order (rest-api 3.6). */
export function describeModeParams(mode: ModeName): Record<string, ParamTypeString> {
  const out: Record<string, ParamTypeString> = {};
  for (const p of getModeInfo(mode).params) out[p.name] = p.type;
  return out;
}

/** Unknown or unsupported mode token (also `AC`, which has no waveform definition). HTTP maps it to 404 `modes.not_found`. */
export class UnsupportedModeError extends ValidationError {
  readonly mode: string;
  constructor(token: string) {
    const mode = token.trim().toUpperCase();
    super('mode', `Unsupported mode '${mode}'.`, { mode });
    this.mode = mode;
  }
}

/** Legacy tokens that map onto catalogue modes (modes.md 6.3). */
export const LEGACY_MODE_TOKENS = ['DC'] as const;

export interface ResolvedMode {
  mode: ModeName;
  /** Raw parameters for `mode` (converted from the legacy payload when `legacyToken` is set). */
  raw: unknown;
  /** `'DC'` when the request used the legacy token, else `null`. */
  legacyToken: string | null;
}

/**
 * Resolve a mode token from a request. Catalogue names pass through (upper-cased). Legacy `DC`
 * becomes CA {potential, duration} or, when `control_mode` is current, CP {current, duration}
 * with `current_ma` converted from mA to A (modes.md 6.3). `AC` and unknown tokens throw
 * {@link UnsupportedModeError}.
 */
export function resolveModeToken(token: string, raw?: unknown): ResolvedMode {
  const mode = normaliseModeName(token);
  if (mode !== null) return { mode, raw, legacyToken: null };
  if (token.trim().toUpperCase() === 'DC') return { ...mapLegacyDcParams(raw), legacyToken: 'DC' };
  throw new UnsupportedModeError(token);
}

function pick(src: Record<string, unknown>, ...names: string[]): unknown {
  for (const n of names) if (!isMissingValue(src[n])) return src[n];
  return undefined;
}

/** DC payload (GUI `ea.*` names or catalogue names) → CA or CP raw parameters. */
export function mapLegacyDcParams(raw: unknown): { mode: 'CA' | 'CP'; raw: Record<string, unknown> } {
  const src = asRecord(raw);
  const control = typeof src.control_mode === 'string' ? src.control_mode.trim().toLowerCase() : '';
  const duration = pick(src, 'duration', 'duration_s');
  if (control === 'current' || control === 'galvanostatic') {
    let current = pick(src, 'current');
    if (current === undefined) {
      const ma = pick(src, 'current_ma');
      const parsed = parseFiniteNumber(ma);
      current = parsed === null ? ma : parsed / 1000;
    }
    return { mode: 'CP', raw: { current, duration } };
  }
  return { mode: 'CA', raw: { potential: pick(src, 'potential', 'voltage_v'), duration } };
}
