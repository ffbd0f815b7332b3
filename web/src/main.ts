/**
 * The dashboard's entry point: asks for the API key when the daemon needs one, loads the mode
 * schemas, then polls devices and jobs every two seconds and follows each running job's live
 * stream. Module layout: api (HTTP and key), live-stream (SSE), live-view and xy-chart (curves),
 * eis-estimate, job-form with param-fields and schema-check (start a job), jobs-view and
 * devices-view (lists), downloads (files with the key).
 */
import { ApiError, ApiClient, messageOf, type DeviceInfo, type DeviceStatusEntry, type Health, type JobOverview, type JobStatus, type JsonSchema } from './api.js';
import { byId, h, replaceChildren } from './dom.js';
import { renderDevices } from './devices-view.js';
import { installDownloadHandler } from './downloads.js';
import { JobForm } from './job-form.js';
import { JobsView, TERMINAL_STATES } from './jobs-view.js';
import { RunStream } from './live-stream.js';
import { LiveSlotView } from './live-view.js';

const POLL_MS = 2000;
/** Jobs listed (newest first). */
const JOBS_SHOWN = 12;

const api = new ApiClient();
const keyRequired = document.documentElement.dataset['auth'] === 'key';
const jobsView = new JobsView(byId('jobs'), api, toast);
/** Live panels by slot: a finished run's curve stays until the slot's next run. */
const liveViews = new Map<string, LiveSlotView>();
const streams = new Map<string, RunStream>();
/** Final statuses never change: fetched once. */
const finished = new Map<string, JobStatus>();
let form: JobForm | null = null;
let pollTimer: number | null = null;

function toast(message: string, kind: 'error' | 'ok' = 'error'): void {
  const box = byId('toasts');
  const el = h('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, message);
  box.append(el);
  setTimeout(() => el.remove(), 8000);
}

function setConnection(text: string, state: 'ok' | 'warn' | 'bad'): void {
  const el = byId('connection');
  el.textContent = text;
  el.className = `connection ${state}`;
}

// ---- API key -----------------------------------------------------------------------------------

function askForKey(reason: string): void {
  const dialog = byId<HTMLDialogElement>('key-dialog');
  byId('key-reason').textContent = reason;
  const input = byId<HTMLInputElement>('key-input');
  input.value = '';
  if (!dialog.open) dialog.showModal();
  input.focus();
}

function installKeyDialog(): void {
  const dialog = byId<HTMLDialogElement>('key-dialog');
  byId<HTMLFormElement>('key-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const key = byId<HTMLInputElement>('key-input').value;
    if (key === '') return;
    api.setKey(key);
    dialog.close();
    void boot();
  });
  byId('key-button').addEventListener('click', () => askForKey('Enter the API key of this box. It is kept for this browser tab only.'));
}

function handleAuthError(err: unknown): boolean {
  if (err instanceof ApiError && err.status === 401) {
    api.setKey('');
    stopPolling();
    askForKey('The key was refused. Enter the API key of this box.');
    return true;
  }
  return false;
}

// ---- live streams --------------------------------------------------------------------------------

function viewFor(runId: string, slot: string): LiveSlotView {
  let view = liveViews.get(slot);
  if (view === undefined || view.runId !== runId) {
    view?.destroy();
    view = new LiveSlotView(api, runId, slot);
    liveViews.set(slot, view);
    const container = byId('live');
    container.querySelector(':scope > .empty')?.remove();
    const others = [...liveViews.keys()].sort();
    const next = others[others.indexOf(slot) + 1];
    const before = next !== undefined ? (liveViews.get(next)?.element ?? null) : null;
    container.insertBefore(view.element, before?.parentElement === container ? before : null);
  }
  return view;
}

function follow(job: JobStatus): void {
  if (streams.has(job.run_id) || TERMINAL_STATES.has(job.status)) return;
  let live = false;
  const stream = new RunStream(api, job.run_id, {
    status: (s) => {
      for (const slot of s.slots) if (slot.status === 'running' || liveViews.get(slot.slot)?.runId === s.run_id) viewFor(s.run_id, slot.slot).onStatus(slot, live);
    },
    mode: (ev) => viewFor(job.run_id, ev.slot).onMode(ev),
    points: (ev) => viewFor(job.run_id, ev.slot).onPoints(ev),
    progress: (ev) => viewFor(job.run_id, ev.slot).onProgress(ev),
    dropped: (ev) => viewFor(job.run_id, ev.slot).onDropped(ev.count, ev.reason),
    end: () => {
      streams.delete(job.run_id);
      for (const view of liveViews.values()) if (view.runId === job.run_id) view.element.classList.add('ended');
      void poll();
    },
    connection: (state) => {
      live = state === 'live';
      for (const view of liveViews.values()) if (view.runId === job.run_id) view.element.dataset['connection'] = state;
    },
  });
  streams.set(job.run_id, stream);
  stream.start();
}

// ---- polling -----------------------------------------------------------------------------------

function stopPolling(): void {
  if (pollTimer !== null) window.clearTimeout(pollTimer);
  pollTimer = null;
}

async function poll(): Promise<void> {
  stopPolling();
  try {
    const [devices, status, jobs] = await Promise.all([
      api.get<{ devices: DeviceInfo[] }>('/devices'),
      api.get<DeviceStatusEntry[]>('/devices/status'),
      api.get<JobOverview[]>('/jobs'),
    ]);
    renderDevices(byId('devices'), devices.devices, status);
    form?.setDevices(devices.devices, status);
    byId('device-count').textContent = String(devices.devices.length);
    const recent = [...jobs].sort((a, b) => b.started_at.localeCompare(a.started_at)).slice(0, JOBS_SHOWN);
    const ask = recent.filter((j) => !finished.has(j.run_id)).map((j) => j.run_id);
    const fresh = ask.length > 0 ? await api.post<JobStatus[]>('/jobs/status', { run_ids: ask }) : [];
    for (const s of fresh) if (TERMINAL_STATES.has(s.status)) finished.set(s.run_id, s);
    const byId_ = new Map(fresh.map((s) => [s.run_id, s]));
    const statuses = recent.map((j) => byId_.get(j.run_id) ?? finished.get(j.run_id)).filter((s): s is JobStatus => s !== undefined);
    jobsView.render(statuses);
    for (const s of statuses) follow(s);
    byId('running-count').textContent = String(statuses.filter((s) => s.status === 'running').length);
    setConnection('connected', 'ok');
  } catch (err) {
    if (handleAuthError(err)) return;
    setConnection(`no answer: ${messageOf(err)}`, 'bad');
  }
  pollTimer = window.setTimeout(() => void poll(), POLL_MS);
}

// ---- start -------------------------------------------------------------------------------------

async function loadForm(): Promise<void> {
  const box = byId('form-box');
  try {
    const [modes, openapi] = await Promise.all([
      api.get<string[]>('/modes'),
      api.get<{ components?: { schemas?: Record<string, JsonSchema> } }>('/openapi.json'),
    ]);
    form = new JobForm({
      api,
      modes,
      schemas: openapi.components?.schemas ?? {},
      onStarted: (job) => {
        follow(job);
        void poll();
      },
    });
    replaceChildren(box, form.element);
  } catch (err) {
    if (handleAuthError(err)) return;
    const retry = h('button', { type: 'button', class: 'secondary', onclick: () => void loadForm() }, 'Try again');
    replaceChildren(box, h('p', { class: 'muted' }, `The form needs the mode list: ${messageOf(err)}`), retry);
  }
}

async function boot(): Promise<void> {
  try {
    const health = await api.get<Health>('/health');
    byId('box-id').textContent = health.box_id;
    document.title = `${health.box_id} · beepbox`;
  } catch (err) {
    setConnection(`no answer: ${messageOf(err)}`, 'bad');
  }
  byId('key-button').hidden = !keyRequired;
  if (keyRequired && api.key === '') {
    askForKey('This box needs its API key. It is kept for this browser tab only.');
    return;
  }
  await loadForm();
  await poll();
}

installKeyDialog();
installDownloadHandler(api, (m) => toast(m));
void boot();
