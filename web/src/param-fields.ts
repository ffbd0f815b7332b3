/**
 * Form fields generated from a JSON Schema's properties (the mode schemas of /openapi.json and the
 * job options of JobRequest): one labelled input per property, typed values read back, issues
 * shown next to the field they concern.
 */
import type { JsonSchema } from './api.js';
import { h } from './dom.js';
import { checkSchema, type SchemaIssue } from './schema-check.js';

type FieldKind = 'number' | 'integer' | 'boolean' | 'enum' | 'number-list' | 'text';

interface Field {
  name: string;
  kind: FieldKind;
  required: boolean;
  /** The input, select or checkbox holding the value. */
  input: HTMLInputElement | HTMLSelectElement;
  message: HTMLElement;
  row: HTMLElement;
}

/** The schema without its `null` alternative, and whether null (= blank) is allowed. */
function nonNullPart(schema: JsonSchema): { base: JsonSchema; nullable: boolean } {
  if (schema.anyOf !== undefined) {
    const rest = schema.anyOf.filter((s) => s.type !== 'null');
    if (rest.length === 1 && rest.length < schema.anyOf.length) return { base: { ...rest[0], default: schema.default }, nullable: true };
  }
  if (Array.isArray(schema.type) && schema.type.includes('null')) {
    const types = schema.type.filter((t) => t !== 'null');
    return { base: { ...schema, type: types.length === 1 ? types[0] : types }, nullable: true };
  }
  return { base: schema, nullable: false };
}

function kindOf(schema: JsonSchema): FieldKind {
  if (schema.enum !== undefined) return 'enum';
  if (schema.type === 'integer') return 'integer';
  if (schema.type === 'number') return 'number';
  if (schema.type === 'boolean') return 'boolean';
  if (schema.type === 'array' && (schema.items?.type === 'number' || schema.items?.type === 'integer')) return 'number-list';
  return 'text';
}

/** "Scan rate (V/s)." → "V/s" */
function unitOf(schema: JsonSchema): string | null {
  const m = /\(([^()]{1,8})\)\.?$/.exec(schema.description?.split('. ')[0] ?? '');
  return m === null ? null : m[1]!;
}

/** First sentence of a description, for the hint under the field. */
function hintOf(schema: JsonSchema): string {
  const text = schema.description ?? '';
  const first = /^.*?[.!?](\s|$)/.exec(text);
  return (first === null ? text : first[0]).trim();
}

function rangeText(schema: JsonSchema): string {
  const parts: string[] = [];
  if (schema.minimum !== undefined) parts.push(`≥ ${schema.minimum}`);
  if (schema.exclusiveMinimum !== undefined) parts.push(`> ${schema.exclusiveMinimum}`);
  if (schema.maximum !== undefined) parts.push(`≤ ${schema.maximum}`);
  if (schema.exclusiveMaximum !== undefined) parts.push(`< ${schema.exclusiveMaximum}`);
  return parts.join(', ');
}

function humanName(name: string): string {
  return name.replace(/_/g, ' ');
}

export interface FieldSetOptions {
  /** Which properties, in this order (default: all, schema order). */
  only?: readonly string[];
  /** Values to start with (strings as typed), e.g. remembered from the last job. */
  initial?: Readonly<Record<string, string>>;
  /** Prefix of the inputs' ids (unique per form section). */
  idPrefix: string;
  onInput?: () => void;
}

export class SchemaFields {
  readonly element: HTMLElement;
  private readonly fields: Field[] = [];

  constructor(
    private readonly schema: JsonSchema,
    options: FieldSetOptions,
  ) {
    this.element = h('div', { class: 'fields' });
    const names = options.only ?? Object.keys(schema.properties ?? {});
    const required = new Set(schema.required ?? []);
    for (const name of names) {
      const prop = schema.properties?.[name];
      if (prop === undefined) continue;
      const field = this.buildField(name, prop, required.has(name), options);
      this.fields.push(field);
      this.element.append(field.row);
    }
  }

  private buildField(name: string, prop: JsonSchema, required: boolean, options: FieldSetOptions): Field {
    const { base } = nonNullPart(prop);
    const kind = kindOf(base);
    const id = `${options.idPrefix}-${name}`;
    const initial = options.initial?.[name];
    const def = prop.default ?? base.default;
    let input: HTMLInputElement | HTMLSelectElement;
    if (kind === 'enum' || kind === 'boolean') {
      const values = kind === 'enum' ? (base.enum ?? []).map(String) : ['true', 'false'];
      const select = h('select', { id, name });
      if (!required) select.append(h('option', { value: '' }, def === undefined || def === null ? '—' : `default (${String(def)})`));
      for (const v of values) select.append(h('option', { value: v }, v));
      if (initial !== undefined) select.value = initial;
      input = select;
    } else {
      const placeholder = def !== undefined && def !== null ? String(def) : kind === 'number-list' ? 'e.g. 0.1, 0.2, 0.3' : '';
      input = h('input', {
        id, name, type: 'text', autocomplete: 'off', spellcheck: 'false',
        inputmode: kind === 'number' || kind === 'integer' ? 'decimal' : null,
        placeholder, required: required || null,
      });
      if (initial !== undefined) input.value = initial;
    }
    if (options.onInput !== undefined) input.addEventListener('input', options.onInput);
    const unit = unitOf(base);
    const range = rangeText(base);
    const message = h('div', { class: 'field-message', 'aria-live': 'polite' });
    const label = h('label', { for: id }, humanName(name), required ? h('span', { class: 'required', title: 'required' }, ' *') : null);
    const row = h(
      'div',
      { class: 'field', 'data-field': name },
      label,
      h('div', { class: 'input-wrap' }, input, unit !== null ? h('span', { class: 'unit' }, unit) : null),
      h('div', { class: 'field-hint', title: prop.description ?? '' }, [hintOf(prop), range].filter((s) => s !== '').join(' · ')),
      message,
    );
    return { name, kind, required, input, message, row };
  }

  /** The typed values (blank fields left out: the daemon fills defaults) and every issue found. */
  read(): { values: Record<string, unknown>; issues: SchemaIssue[] } {
    const values: Record<string, unknown> = {};
    const issues: SchemaIssue[] = [];
    for (const f of this.fields) {
      const raw = f.input.value.trim();
      if (raw === '') continue;
      const parsed = parseValue(f.kind, raw);
      if (parsed.ok) values[f.name] = parsed.value;
      else issues.push({ field: f.name, message: parsed.message });
    }
    const parsedFields = new Set(issues.map((i) => i.field));
    for (const issue of checkSchema(this.schema, values)) {
      const top = issue.field.split(/[.[]/)[0] ?? '';
      if (!parsedFields.has(top) && this.fields.some((f) => f.name === top)) issues.push(issue);
    }
    return { values, issues };
  }

  /** The raw texts, for remembering a form between jobs. */
  rawValues(): Record<string, string> {
    return Object.fromEntries(this.fields.map((f) => [f.name, f.input.value]));
  }

  /** Show client-side errors, and the server's errors and warnings, next to their fields. */
  showIssues(errors: readonly SchemaIssue[], warnings: readonly SchemaIssue[] = [], notes: readonly SchemaIssue[] = []): SchemaIssue[] {
    const unplaced: SchemaIssue[] = [];
    for (const f of this.fields) {
      f.message.replaceChildren();
      f.row.classList.remove('has-error', 'has-warning');
      f.input.removeAttribute('aria-invalid');
    }
    const place = (list: readonly SchemaIssue[], cls: string): void => {
      for (const issue of list) {
        const top = issue.field.split(/[.[]/)[0] ?? '';
        const f = this.fields.find((x) => x.name === top);
        if (f === undefined) {
          unplaced.push(issue);
          continue;
        }
        f.message.append(h('div', { class: cls }, issue.field === top ? issue.message : `${issue.field}: ${issue.message}`));
        if (cls === 'error') {
          f.row.classList.add('has-error');
          f.input.setAttribute('aria-invalid', 'true');
        } else if (cls === 'warning') f.row.classList.add('has-warning');
      }
    };
    place(errors, 'error');
    place(warnings, 'warning');
    place(notes, 'note');
    return unplaced;
  }
}

function parseNumber(raw: string): number | null {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw)) return null;
  return Number(raw);
}

function parseValue(kind: FieldKind, raw: string): { ok: true; value: unknown } | { ok: false; message: string } {
  switch (kind) {
    case 'number':
    case 'integer': {
      const n = parseNumber(raw);
      if (n === null) return { ok: false, message: 'must be a number, e.g. 0.25 or 1e-3' };
      return { ok: true, value: n };
    }
    case 'boolean':
      return { ok: true, value: raw === 'true' };
    case 'number-list': {
      const parts = raw.split(/[,;\s]+/).filter((p) => p !== '');
      const nums = parts.map(parseNumber);
      const bad = parts.find((_p, k) => nums[k] === null);
      if (bad !== undefined) return { ok: false, message: `'${bad}' is not a number; separate values with commas` };
      return { ok: true, value: nums };
    }
    default:
      return { ok: true, value: raw };
  }
}
