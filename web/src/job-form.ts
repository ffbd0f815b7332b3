/**
 * The form that starts a job: devices, a mode sequence with each mode's parameters (fields
 * generated from the mode's JSON Schema in /openapi.json), and the job options (from the
 * JobRequest schema). Three levels of checking, in order: the schema in the page while typing;
 * the daemon's POST /modes/{mode}/validate (also while typing, debounced) for its errors,
 * warnings and adjustments; POST /jobs itself. Warnings are always on screen before the job
 * starts: a Start that brings up new warnings asks for a second click.
 */
import { messageOf, type ApiClient, type DeviceStatusEntry, type DeviceInfo, type JobStatus, type JsonSchema, type ValidationResult } from './api.js';
import { h, replaceChildren } from './dom.js';
import { SchemaFields } from './param-fields.js';
import type { SchemaIssue } from './schema-check.js';

const JOB_OPTIONS = ['experiment_name', 'subdir', 'tia_gain', 'sampling_interval', 'make_plot'] as const;
const VALIDATE_DEBOUNCE_MS = 400;

interface ModeSection {
  mode: string;
  fields: SchemaFields;
  element: HTMLElement;
  summary: HTMLElement;
  result: ValidationResult | null;
  timer: number | null;
}

export interface JobFormOptions {
  api: ApiClient;
  modes: readonly string[];
  /** ModeParams_<MODE> and JobRequest from /openapi.json. */
  schemas: Readonly<Record<string, JsonSchema>>;
  onStarted(job: JobStatus): void;
}

export class JobForm {
  readonly element: HTMLFormElement;
  private readonly devicesBox: HTMLElement;
  private readonly sequence: HTMLElement;
  private readonly modePicker: HTMLSelectElement;
  private readonly jobFields: SchemaFields;
  private readonly status: HTMLElement;
  private readonly submit: HTMLButtonElement;
  private sections: ModeSection[] = [];
  private deviceNames: string[] = [];
  /** Warnings the user has seen for the current values (a Start with other warnings waits for a second click). */
  private shownWarnings = '';
  private busy = false;

  constructor(private readonly options: JobFormOptions) {
    this.devicesBox = h('div', { class: 'device-picks', role: 'group', 'aria-label': 'Devices' });
    this.sequence = h('ol', { class: 'sequence' });
    this.modePicker = h('select', { id: 'mode-picker', 'aria-label': 'Mode to add' }, ...options.modes.map((m) => h('option', { value: m }, m)));
    const addButton = h('button', { type: 'button', class: 'secondary', id: 'add-mode', onclick: () => this.addMode(this.modePicker.value) }, 'Add mode');
    const jobSchema = options.schemas['JobRequest'] ?? {};
    this.jobFields = new SchemaFields(
      { ...jobSchema, required: ['experiment_name'] },
      { only: JOB_OPTIONS, idPrefix: 'job', initial: { experiment_name: 'Dashboard' }, onInput: () => this.clearStatus() },
    );
    this.status = h('div', { class: 'form-status', role: 'status', 'aria-live': 'polite' });
    this.submit = h('button', { type: 'submit', class: 'primary', id: 'start-job' }, 'Start');
    this.element = h(
      'form',
      { id: 'job-form', class: 'job-form', novalidate: true },
      h('fieldset', {}, h('legend', {}, 'Devices'), this.devicesBox),
      h('fieldset', {}, h('legend', {}, 'Modes, in order'), this.sequence, h('div', { class: 'add-mode' }, this.modePicker, addButton)),
      h('details', { class: 'job-options' }, h('summary', {}, 'Job options'), this.jobFields.element),
      h('div', { class: 'form-actions' }, this.submit, this.status),
    );
    this.element.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.start();
    });
    this.addMode(options.modes.includes('CV') ? 'CV' : (options.modes[0] ?? ''));
  }

  /** Keep the device checkboxes in step with the registry (checked boxes stay checked). */
  setDevices(devices: readonly DeviceInfo[], status: readonly DeviceStatusEntry[]): void {
    const names = devices.map((d) => d.slot);
    const checked = new Set(this.selectedDevices());
    const first = this.deviceNames.length === 0;
    this.deviceNames = names;
    const busy = new Map(status.map((s) => [s.slot, s.status]));
    replaceChildren(
      this.devicesBox,
      ...devices.map((d, k) => {
        const offline = d.state === 'offline';
        const state = offline ? 'offline' : (busy.get(d.slot) ?? 'idle');
        const box = h('input', { type: 'checkbox', name: 'device', value: d.slot, id: `dev-${d.slot}`, disabled: offline });
        box.checked = checked.has(d.slot) || (first && k === 0 && !offline);
        return h('label', { class: `device-pick state-${state}`, for: `dev-${d.slot}` }, box, h('span', {}, d.slot), h('small', {}, state));
      }),
    );
    if (devices.length === 0) this.devicesBox.append(h('p', { class: 'muted' }, 'No devices registered.'));
  }

  private selectedDevices(): string[] {
    return [...this.devicesBox.querySelectorAll<HTMLInputElement>('input[name=device]:checked')].map((b) => b.value);
  }

  private addMode(mode: string): void {
    if (mode === '' || this.sections.some((s) => s.mode === mode)) return;
    const schema = this.options.schemas[`ModeParams_${mode}`] ?? { type: 'object', properties: {} };
    const summary = h('div', { class: 'mode-summary', 'aria-live': 'polite' });
    const section: ModeSection = {
      mode,
      fields: new SchemaFields(schema, { idPrefix: `p-${mode}`, onInput: () => this.scheduleValidate(section) }),
      element: h('li', { class: 'mode-card', 'data-mode': mode }),
      summary,
      result: null,
      timer: null,
    };
    const remove = h('button', { type: 'button', class: 'icon', title: `Remove ${mode}`, 'aria-label': `Remove ${mode}`, onclick: () => this.removeMode(section) }, '✕');
    const up = h('button', { type: 'button', class: 'icon', title: 'Earlier', 'aria-label': `Move ${mode} earlier`, onclick: () => this.moveMode(section, -1) }, '↑');
    section.element.append(
      h('div', { class: 'mode-head' }, h('strong', {}, mode), h('span', { class: 'mode-title' }, modeTitle(mode, schema)), up, remove),
      h('p', { class: 'mode-desc' }, schema.description?.split('. ')[0] ?? ''),
      section.fields.element,
      summary,
    );
    this.sections.push(section);
    this.sequence.append(section.element);
    this.refreshPicker();
  }

  private removeMode(section: ModeSection): void {
    this.sections = this.sections.filter((s) => s !== section);
    section.element.remove();
    this.refreshPicker();
  }

  private moveMode(section: ModeSection, delta: number): void {
    const k = this.sections.indexOf(section);
    const j = k + delta;
    if (j < 0 || j >= this.sections.length) return;
    [this.sections[k], this.sections[j]] = [this.sections[j]!, this.sections[k]!];
    this.sequence.replaceChildren(...this.sections.map((s) => s.element));
  }

  private refreshPicker(): void {
    for (const opt of this.modePicker.options) opt.disabled = this.sections.some((s) => s.mode === opt.value);
    const free = [...this.modePicker.options].find((o) => !o.disabled);
    if (free !== undefined && this.modePicker.selectedOptions[0]?.disabled !== false) this.modePicker.value = free.value;
  }

  private clearStatus(): void {
    this.status.textContent = '';
    this.status.className = 'form-status';
  }

  private scheduleValidate(section: ModeSection): void {
    this.clearStatus();
    section.result = null;
    if (section.timer !== null) window.clearTimeout(section.timer);
    section.timer = window.setTimeout(() => {
      section.timer = null;
      void this.validate(section, false);
    }, VALIDATE_DEBOUNCE_MS);
  }

  /**
   * Check one mode: the schema first, then the daemon. Returns whether it may run. While typing
   * (`final` false) required fields left blank are not yet reported.
   */
  private async validate(section: ModeSection, final: boolean): Promise<boolean> {
    const { values, issues } = section.fields.read();
    const shown = final ? issues : issues.filter((i) => i.message !== 'is required');
    if (issues.length > 0) {
      this.render(section, shown, [], []);
      return false;
    }
    try {
      const result = await this.options.api.post<ValidationResult>(`/modes/${encodeURIComponent(section.mode)}/validate`, values);
      section.result = result;
      this.render(section, result.errors, result.warnings, adjustmentsOf(values, result.adjusted));
      return result.ok;
    } catch (err) {
      this.render(section, [{ field: '', message: `could not check: ${messageOf(err)}` }], [], []);
      return false;
    }
  }

  private render(section: ModeSection, errors: readonly SchemaIssue[], warnings: readonly SchemaIssue[], notes: readonly SchemaIssue[]): void {
    const rest = section.fields.showIssues(errors, warnings, notes);
    replaceChildren(section.summary, ...rest.map((i) => h('div', { class: errors.includes(i) ? 'error' : 'warning' }, i.field === '' ? i.message : `${i.field}: ${i.message}`)));
  }

  private setStatus(text: string, kind: 'error' | 'warning' | 'ok' | 'busy'): void {
    this.status.textContent = text;
    this.status.className = `form-status ${kind}`;
  }

  private async start(): Promise<void> {
    if (this.busy) return;
    const devices = this.selectedDevices();
    if (devices.length === 0) return this.setStatus('Choose at least one device.', 'error');
    if (this.sections.length === 0) return this.setStatus('Add at least one mode.', 'error');
    const job = this.jobFields.read();
    this.jobFields.showIssues(job.issues);
    if (job.issues.length > 0) {
      (this.element.querySelector('details.job-options') as HTMLDetailsElement | null)?.setAttribute('open', '');
      return this.setStatus('Check the job options.', 'error');
    }
    this.busy = true;
    this.submit.disabled = true;
    this.setStatus('Checking…', 'busy');
    try {
      const oks = await Promise.all(this.sections.map((s) => this.validate(s, true)));
      if (oks.includes(false)) return this.setStatus('Some parameters need attention (marked in red).', 'error');
      const warnings = this.sections.flatMap((s) => (s.result?.warnings ?? []).map((w) => `${s.mode}.${w.field}: ${w.message}`)).join('\n');
      if (warnings !== '' && warnings !== this.shownWarnings) {
        this.shownWarnings = warnings;
        this.submit.textContent = 'Start anyway';
        return this.setStatus('Read the warnings (in amber), then start again.', 'warning');
      }
      this.setStatus('Starting…', 'busy');
      const body = {
        devices,
        modes: this.sections.map((s) => s.mode),
        params_by_mode: Object.fromEntries(this.sections.map((s) => [s.mode, s.fields.read().values])),
        client_datetime: new Date().toISOString(),
        ...job.values,
      };
      const started = await this.options.api.post<JobStatus>('/jobs', body);
      this.shownWarnings = '';
      this.submit.textContent = 'Start';
      this.setStatus(`Started ${started.run_id}.`, 'ok');
      this.options.onStarted(started);
    } catch (err) {
      this.setStatus(messageOf(err), 'error');
    } finally {
      this.busy = false;
      this.submit.disabled = false;
    }
  }
}

/** "Cyclic voltammetry" from the schema's description ("Cyclic voltammetry: start → …"), else its title. */
function modeTitle(mode: string, schema: JsonSchema): string {
  const lead = schema.description?.split(':')[0]?.trim() ?? '';
  if (lead !== '' && lead.length <= 40 && !lead.includes('.')) return lead;
  const title = schema.title?.replace(/ parameters$/, '') ?? '';
  return title === mode ? '' : title;
}

/** The fields the daemon will run differently from what was typed, as notes. */
function adjustmentsOf(sent: Record<string, unknown>, adjusted: Record<string, unknown> | null): SchemaIssue[] {
  if (adjusted === null) return [];
  const notes: SchemaIssue[] = [];
  for (const [field, applied] of Object.entries(adjusted)) {
    const requested = sent[field];
    if (requested === undefined || JSON.stringify(requested) === JSON.stringify(applied)) continue;
    notes.push({ field, message: `runs as ${JSON.stringify(applied)}` });
  }
  return notes;
}
