/**
 * A small JSON Schema checker for the start form: the keywords the mode and job schemas use
 * (type, enum, const, minimum, maximum, exclusiveMinimum, exclusiveMaximum, anyOf, required,
 * properties, items, minItems, maxItems). It gives the user immediate feedback while typing; the
 * daemon validates again (POST /modes/{mode}/validate, POST /jobs) and its answer is the one that
 * counts. Pure: no DOM, unit-tested in Node.
 */
import type { JsonSchema } from './api.js';

export interface SchemaIssue {
  /** Property path, `cycles` or `currents[2]`; '' for the value itself. */
  field: string;
  message: string;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function matchesType(value: unknown, type: string): boolean {
  const actual = typeOf(value);
  if (type === 'number') return actual === 'number' || actual === 'integer';
  return actual === type;
}

const TYPE_WORDS: Readonly<Record<string, string>> = {
  number: 'a number', integer: 'a whole number', string: 'text', boolean: 'true or false', array: 'a list', object: 'an object', null: 'empty',
};

function describeTypes(types: readonly string[]): string {
  return types.map((t) => TYPE_WORDS[t] ?? t).join(' or ');
}

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

/** Every issue of `value` against `schema` (empty when it is valid). */
export function checkSchema(schema: JsonSchema, value: unknown, path = ''): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  const add = (message: string, field = path): void => {
    issues.push({ field, message });
  };
  if (schema.anyOf !== undefined) {
    const branches = schema.anyOf.map((s) => checkSchema(s, value, path));
    if (!branches.some((b) => b.length === 0)) {
      // Report the branch that fits the value's type best (fewest issues), not all of them.
      const best = branches.reduce((a, b) => (b.length < a.length ? b : a));
      issues.push(...best);
    }
  }
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => matchesType(value, t))) {
      add(`must be ${describeTypes(types)}`);
      return issues;
    }
  }
  if (schema.enum !== undefined && !schema.enum.includes(value)) add(`must be one of ${schema.enum.map(String).join(', ')}`);
  if (schema.const !== undefined && schema.const !== value) add(`must be ${String(schema.const)}`);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) add('must be a finite number');
    if (schema.minimum !== undefined && value < schema.minimum) add(`must be ≥ ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) add(`must be ≤ ${schema.maximum}`);
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) add(`must be > ${schema.exclusiveMinimum}`);
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) add(`must be < ${schema.exclusiveMaximum}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) add(`needs at least ${schema.minItems} value${schema.minItems === 1 ? '' : 's'}`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) add(`takes at most ${schema.maxItems} values`);
    if (schema.items !== undefined) {
      const items = schema.items;
      value.forEach((item, k) => issues.push(...checkSchema(items, item, join(path, k))));
    }
  }
  if (typeOf(value) === 'object') {
    const record = value as Record<string, unknown>;
    for (const name of schema.required ?? []) if (record[name] === undefined) add('is required', join(path, name));
    for (const [name, sub] of Object.entries(schema.properties ?? {})) {
      if (record[name] !== undefined) issues.push(...checkSchema(sub, record[name], join(path, name)));
    }
  }
  return issues;
}
