/** The job list: state, progress and ETA, slot messages, cancel, and the files and ZIP of a run. */
import { filePath, messageOf, runPath, type ApiClient, type JobStatus } from './api.js';
import { h, replaceChildren } from './dom.js';
import { downloadLink } from './downloads.js';
import { formatDuration, formatTime } from './format.js';

export const TERMINAL_STATES: ReadonlySet<string> = new Set(['done', 'failed', 'cancelled']);

export function stateChip(state: string): HTMLElement {
  return h('span', { class: `chip state-${state}` }, state);
}

class JobRow {
  readonly element: HTMLElement;
  private readonly chipBox: HTMLElement;
  private readonly modes: HTMLElement;
  private readonly timing: HTMLElement;
  private readonly bar: HTMLElement;
  private readonly progressText: HTMLElement;
  private readonly actions: HTMLElement;
  private readonly messages: HTMLElement;
  private readonly filesBox: HTMLElement;
  private readonly files: HTMLDetailsElement;
  private filesLoaded = false;
  private lastState = '';

  constructor(
    private readonly api: ApiClient,
    readonly runId: string,
    private readonly report: (message: string) => void,
  ) {
    this.chipBox = h('span', {});
    this.modes = h('span', { class: 'job-modes' });
    this.timing = h('span', { class: 'job-timing' });
    this.bar = h('div', { class: 'progress-fill' });
    this.progressText = h('span', { class: 'progress-text' });
    this.actions = h('div', { class: 'job-actions' });
    this.messages = h('div', { class: 'job-messages' });
    this.filesBox = h('div', { class: 'file-list' });
    this.files = h('details', { class: 'job-files' }, h('summary', {}, 'Files'), this.filesBox);
    this.files.addEventListener('toggle', () => {
      if (this.files.open && !this.filesLoaded) void this.loadFiles();
    });
    this.element = h(
      'li',
      { class: 'job', 'data-run': runId },
      h('div', { class: 'job-main' }, this.chipBox, h('code', { class: 'run-id', title: runId }, runId), this.modes),
      h('div', { class: 'job-progress' }, h('div', { class: 'progress' }, this.bar), this.progressText),
      h('div', { class: 'job-sub' }, this.timing, this.actions),
      this.messages,
      this.files,
    );
  }

  update(job: JobStatus): void {
    const terminal = TERMINAL_STATES.has(job.status);
    if (job.status !== this.lastState) {
      this.element.dataset['state'] = job.status;
      replaceChildren(this.chipBox, stateChip(job.status));
      this.renderActions(job, terminal);
      if (terminal) this.filesLoaded = false; // the file list is final now
      this.lastState = job.status;
    }
    const devices = job.slots.map((s) => s.slot).join(', ');
    this.modes.textContent = `${job.modes.join(' → ')} · ${devices}`;
    this.bar.style.width = `${Math.max(0, Math.min(100, job.progress_pct))}%`;
    this.progressText.textContent = terminal
      ? `${job.progress_pct.toFixed(0)} %`
      : `${job.progress_pct.toFixed(0)} % · ETA ${formatDuration(job.remaining_s)}${job.current_mode !== null ? ` · ${job.current_mode}` : ''}`;
    this.timing.textContent = terminal ? `${formatTime(job.started_at)} → ${formatTime(job.ended_at)}` : `started ${formatTime(job.started_at)}`;
    const notes = [
      ...job.slots.filter((s) => s.message !== null && s.message !== '').map((s) => `${s.slot}: ${s.message ?? ''}`),
      ...job.warnings.map((w) => `${w.mode}.${w.field}: ${w.message}`),
    ];
    replaceChildren(this.messages, ...notes.map((n) => h('div', { class: 'job-message' }, n)));
    if (this.files.open && !this.filesLoaded && terminal) void this.loadFiles();
  }

  private renderActions(job: JobStatus, terminal: boolean): void {
    if (!terminal) {
      const cancel = h('button', { type: 'button', class: 'danger small', 'data-action': 'cancel' }, 'Cancel');
      cancel.addEventListener('click', () => void this.cancel(cancel));
      replaceChildren(this.actions, cancel);
      return;
    }
    const hasFiles = job.slots.some((s) => s.files.length > 0);
    replaceChildren(this.actions, hasFiles ? downloadLink(runPath(job.run_id, 'zip'), `${job.run_id}.zip`, 'Download ZIP', 'button small zip-link') : null);
  }

  private async cancel(button: HTMLButtonElement): Promise<void> {
    if (!window.confirm(`Cancel ${this.runId}? The measurement stops; what was recorded is kept.`)) return;
    button.disabled = true;
    try {
      await this.api.post(`/jobs/${encodeURIComponent(this.runId)}/cancel`, {});
    } catch (err) {
      button.disabled = false;
      this.report(`Cancel failed: ${messageOf(err)}`);
    }
  }

  private async loadFiles(): Promise<void> {
    this.filesLoaded = true;
    replaceChildren(this.filesBox, h('span', { class: 'muted' }, 'Loading…'));
    try {
      const { files } = await this.api.get<{ files: string[] }>(runPath(this.runId, 'files'));
      if (files.length === 0) {
        replaceChildren(this.filesBox, h('span', { class: 'muted' }, 'No files yet.'));
        return;
      }
      replaceChildren(
        this.filesBox,
        h('ul', {}, ...files.map((f) => h('li', {}, downloadLink(filePath(this.runId, f), f.split('/').pop() ?? f, f, 'file-link')))),
      );
    } catch (err) {
      this.filesLoaded = false;
      replaceChildren(this.filesBox, h('span', { class: 'error' }, messageOf(err)));
    }
  }
}

export class JobsView {
  private readonly rows = new Map<string, JobRow>();

  constructor(
    private readonly list: HTMLElement,
    private readonly api: ApiClient,
    private readonly report: (message: string) => void,
  ) {}

  /** Show these jobs, newest first (rows are kept, so open file lists stay open). */
  render(jobs: readonly JobStatus[]): void {
    const wanted = new Set(jobs.map((j) => j.run_id));
    for (const [id, row] of this.rows) {
      if (!wanted.has(id)) {
        row.element.remove();
        this.rows.delete(id);
      }
    }
    const ordered = jobs.map((job) => {
      let row = this.rows.get(job.run_id);
      if (row === undefined) {
        row = new JobRow(this.api, job.run_id, this.report);
        this.rows.set(job.run_id, row);
      }
      row.update(job);
      return row.element;
    });
    ordered.forEach((el, k) => {
      if (this.list.children[k] !== el) this.list.insertBefore(el, this.list.children[k] ?? null);
    });
    if (jobs.length === 0) replaceChildren(this.list, h('li', { class: 'empty' }, 'No jobs yet. Start one with the form.'));
    else this.list.querySelector(':scope > li.empty')?.remove();
  }
}
