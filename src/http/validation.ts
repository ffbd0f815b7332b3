/**
 * Request validation (rest-api.md 1.5): one Ajv instance (draft 2020-12, strict, allErrors)
 * holding every API schema, compiled once when the app is created; ajv errors are mapped to
 * `{loc, msg, type}` issues that never contain the offending input value.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { ErrorIssue } from '../errors.js';
import { SCHEMA_ANNOTATION_KEYWORDS } from '../modes/catalogue.js';
import { ALL_API_SCHEMAS, type SchemaRef } from './schemas.js';

/** One entry of `errors[]` in a 422 `request.validation_error`. */
export interface ValidationIssue extends ErrorIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
}

/** Where the validated value came from; the first element of every `loc`. */
export type InputSource = 'body' | 'query' | 'path';

/** Compiled validators of every API schema, keyed by schema component name. */
export interface RequestValidator {
  /** Issues for `data` against `ref` (empty array = valid). */
  check(ref: SchemaRef<unknown>, source: InputSource, data: unknown): ValidationIssue[];
}

/** Build the Ajv instance and compile every API schema (throws at startup on a bad schema). */
export function createRequestValidator(): RequestValidator {
  // verbose: errors carry their schema, whose `x-limit-reason` annotation the message quotes.
  const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true, verbose: true });
  for (const keyword of SCHEMA_ANNOTATION_KEYWORDS) ajv.addKeyword({ keyword, schemaType: 'string' });
  const compiled = new Map<string, ValidateFunction>();
  for (const ref of ALL_API_SCHEMAS) compiled.set(ref.name, ajv.compile(ref.schema));
  return {
    check(ref, source, data) {
      const validate = compiled.get(ref.name);
      if (validate === undefined) throw new Error(`schema ${ref.name} is not registered`);
      if (validate(data)) return [];
      return mapAjvErrors(validate.errors ?? [], source, data, MAX_REPORTED_ISSUES);
    },
  };
}

const TYPE_TOKENS: Readonly<Record<string, string>> = {
  string: 'string_type',
  integer: 'int_type',
  number: 'float_type',
  boolean: 'bool_type',
  array: 'list_type',
  object: 'dict_type',
  null: 'none_type',
};

const TYPE_NOUNS: Readonly<Record<string, string>> = {
  string: 'a valid string',
  integer: 'a valid integer',
  number: 'a valid number',
  boolean: 'a valid boolean',
  array: 'a valid list',
  object: 'a valid dictionary',
  null: 'null',
};

/** "'a'", "'a' or 'b'", "'a', 'b' or 'c'" (schema values, never input values). */
function formatChoices(values: readonly unknown[]): string {
  const texts = values.map((v) => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v)));
  if (texts.length <= 1) return texts.join('');
  return `${texts.slice(0, -1).join(', ')} or ${texts[texts.length - 1]}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** JSON-pointer instance path → loc elements (array indexes as numbers), walking `data`. */
function pointerToLoc(instancePath: string, data: unknown): (string | number)[] {
  if (instancePath === '') return [];
  const loc: (string | number)[] = [];
  let node: unknown = data;
  for (const raw of instancePath.split('/').slice(1)) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node) && /^\d+$/.test(segment)) {
      const index = Number(segment);
      loc.push(index);
      node = node[index];
    } else {
      loc.push(segment);
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[segment] : undefined;
    }
  }
  return loc;
}

/** " (why)" when the failing schema explains its bound with `x-limit-reason` (never input values). */
function limitReason(error: ErrorObject): string {
  const reason = (error.parentSchema as Record<string, unknown> | undefined)?.['x-limit-reason'];
  return typeof reason === 'string' ? ` (${reason})` : '';
}

/** `{type, msg}` for one ajv error, or null for errors that only repeat others (`if`). */
function describeAjvError(error: ErrorObject): { type: string; msg: string; field?: string } | null {
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return { type: 'missing', msg: 'Field required', field: String(p['missingProperty']) };
    case 'type': {
      const types = String(p['type']).split(',');
      const primary = types.find((t) => t !== 'null') ?? 'null';
      return {
        type: TYPE_TOKENS[primary] ?? `${primary}_type`,
        msg: `Input should be ${types.map((t) => TYPE_NOUNS[t] ?? t).join(' or ')}`,
      };
    }
    case 'enum':
      return { type: 'enum', msg: `Input should be ${formatChoices((p['allowedValues'] as unknown[]) ?? [])}` };
    case 'const':
      return { type: 'enum', msg: `Input should be ${formatChoices([p['allowedValue']])}` };
    case 'minItems':
      return { type: 'too_short', msg: `List should have at least ${plural(Number(p['limit']), 'item')}` };
    case 'maxItems':
      return { type: 'too_long', msg: `List should have at most ${plural(Number(p['limit']), 'item')}` };
    case 'minLength':
      return { type: 'string_too_short', msg: `String should have at least ${plural(Number(p['limit']), 'character')}` };
    case 'maxLength':
      return { type: 'string_too_long', msg: `String should have at most ${plural(Number(p['limit']), 'character')}` };
    case 'minimum':
      return { type: 'greater_than_equal', msg: `Input should be greater than or equal to ${String(p['limit'])}${limitReason(error)}` };
    case 'maximum':
      return { type: 'less_than_equal', msg: `Input should be less than or equal to ${String(p['limit'])}${limitReason(error)}` };
    case 'exclusiveMinimum':
      return { type: 'greater_than', msg: `Input should be greater than ${String(p['limit'])}` };
    case 'exclusiveMaximum':
      return { type: 'less_than', msg: `Input should be less than ${String(p['limit'])}` };
    case 'multipleOf':
      return { type: 'multiple_of', msg: `Input should be a multiple of ${String(p['multipleOf'])}` };
    case 'pattern':
      return { type: 'string_pattern_mismatch', msg: `String should match pattern '${String(p['pattern'])}'` };
    case 'additionalProperties':
      return { type: 'extra_forbidden', msg: 'Extra inputs are not permitted', field: String(p['additionalProperty']) };
    case 'uniqueItems':
      return { type: 'unique_items', msg: 'List items should be unique' };
    case 'if':
      // Reported together with the failing `then`/`else` keyword error; skip the duplicate.
      return null;
    default:
      return { type: 'value_error', msg: 'Input is invalid' };
  }
}

/**
 * Map ajv errors to 1.5 issues. `data` is only walked to tell array indexes from keys;
 * no part of it is copied into an issue.
 */
export function mapAjvErrors(errors: readonly ErrorObject[], source: InputSource, data: unknown, limit = Infinity): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const seen = new Set<string>();
  for (const [index, error] of errors.entries()) {
    if (issues.length >= limit) {
      // Mapping 10^5 errors of a 1 MiB body costs seconds and hundreds of MB: the rest are only counted.
      const more = errors.slice(index).filter((e) => e.keyword !== 'if').length;
      if (more > 0) issues.push(omittedIssue(source, more));
      break;
    }
    const described = describeAjvError(error);
    if (described === null) continue;
    const loc: (string | number)[] = [source, ...pointerToLoc(error.instancePath, data)];
    if (described.field !== undefined) loc.push(described.field);
    const key = JSON.stringify([loc, described.type]);
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push({ loc, msg: described.msg, type: described.type });
  }
  return issues;
}

/** The issue for a body that is not valid JSON (or not UTF-8). */
export function jsonInvalidIssue(): ValidationIssue {
  return { loc: ['body'], msg: 'JSON decode error', type: 'json_invalid' };
}

/** The issue for a required body that is absent or empty. */
export function bodyMissingIssue(): ValidationIssue {
  return { loc: ['body'], msg: 'Field required', type: 'missing' };
}

/** The issue for a body whose arrays/objects nest deeper than `limit` (refused before parsing). */
export function jsonTooDeepIssue(limit: number): ValidationIssue {
  return { loc: ['body'], msg: `JSON nested deeper than ${limit} levels`, type: 'json_too_deep' };
}

/** Most issues one 422 lists; a 1 MiB body can hold 10^5 problems, and the answer must stay small. */
export const MAX_REPORTED_ISSUES = 100;

/** How many problems a `too_many_errors` issue stands for (not serialised). */
const OMITTED = Symbol('omitted');
type OmittedIssue = ValidationIssue & { [OMITTED]?: number };

/** The closing issue that stands for `count` problems not listed. */
function omittedIssue(source: string | number, count: number): ValidationIssue {
  const issue: OmittedIssue = { loc: [source], msg: `${count} more problem${count === 1 ? '' : 's'} not listed`, type: 'too_many_errors' };
  Object.defineProperty(issue, OMITTED, { value: count, enumerable: false });
  return issue;
}

/**
 * The first {@link MAX_REPORTED_ISSUES} issues, plus one closing `too_many_errors` issue saying how
 * many more there were (the input is judged whole; only the list is shortened). Closing issues
 * of the parts (body, query) are merged into it.
 */
export function limitIssues(issues: readonly ValidationIssue[]): ValidationIssue[] {
  const listed = issues.filter((i) => (i as OmittedIssue)[OMITTED] === undefined);
  let more = issues.reduce((n, i) => n + ((i as OmittedIssue)[OMITTED] ?? 0), 0);
  if (listed.length <= MAX_REPORTED_ISSUES && more === 0) return listed;
  const firstOmitted = listed[MAX_REPORTED_ISSUES] ?? issues.find((i) => (i as OmittedIssue)[OMITTED] !== undefined);
  more += Math.max(0, listed.length - MAX_REPORTED_ISSUES);
  return [...listed.slice(0, MAX_REPORTED_ISSUES), omittedIssue(firstOmitted?.loc[0] ?? 'body', more)];
}
