/**
 * The real daemon in its own process, driving virtual potentiostats that run in other processes
 * (so the simulators' CPU never counts as the supervisor's), with its worker threads named for
 * per-thread CPU (bench/thread-names.ts); and the job requests the benches make of it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnDaemon, type DaemonProcess } from './daemon-process.js';
import { startSimProcesses, stopSimProcess, type SimLayout, type SimProcess } from './processes.js';
import { THREAD_NAMES_PRELOAD } from './thread-names.js';

export interface SimDaemon {
  daemon: DaemonProcess;
  sims: SimProcess[];
  /** Slot names, sorted (GET /devices). */
  slots: string[];
  /** The daemon's RUNS_ROOT (a temp folder, removed by stop). */
  runsRoot: string;
  stop(): Promise<void>;
}

/**
 * `slots` simulated devices laid out as `sims` says, and the daemon on them.
 * `loopWindowS`: the daemon's event-loop-delay window (GET /health).
 */
export async function startSimDaemon(slots: number, layout: SimLayout, loopWindowS: number): Promise<SimDaemon> {
  const dir = await mkdtemp(join(tmpdir(), 'beepbox-bench-'));
  let sims: SimProcess[] = [];
  let daemon: DaemonProcess | null = null;
  const stop = async () => {
    await daemon?.stop(10_000);
    await Promise.all(sims.map(stopSimProcess));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    sims = await startSimProcesses(slots, layout, join(dir, 'sims'));
    daemon = await spawnDaemon(
      {
        RUNS_ROOT: join(dir, 'runs'),
        BEEP_PORTS: sims.flatMap((s) => s.ports).join(','),
        NAS_CONFIG_PATH: join(dir, 'nas.json'),
        NAS_CREDENTIALS_PATH: join(dir, 'cred'),
        NAS_MOUNT_ROOT: join(dir, 'mnt'),
        BEEPBOX_LOOP_WINDOW_S: String(loopWindowS),
      },
      undefined,
      undefined,
      ['--require', THREAD_NAMES_PRELOAD],
    );
    const names = await waitForDevices(daemon.url, slots);
    return { daemon, sims, slots: names, runsRoot: join(dir, 'runs'), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export async function getJson<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  const body = (await res.json()) as T;
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

async function waitForDevices(url: string, count: number): Promise<string[]> {
  const deadline = performance.now() + 30_000;
  for (;;) {
    const { slots } = await getJson<{ slots: string[] }>(`${url}/devices`);
    if (slots.length >= count) return slots;
    if (performance.now() > deadline) throw new Error(`the daemon found ${slots.length} of ${count} simulated devices`);
    await sleep(250);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Parameters of a measurement lasting about `seconds`: a full-rate 2 V CV cycle, or a CP step (polled). */
export function benchParams(mode: 'CV' | 'CP', seconds: number): Record<string, number> {
  return mode === 'CV' ? { start: 0, vertex1: 0.5, vertex2: -0.5, end: 0, scan_rate: 2 / seconds, cycles: 1 } : { current: 5e-6, duration: seconds };
}

/** POST /jobs: one mode on `devices`, no plot; the run id. */
export async function startJob(url: string, devices: string[] | 'all', mode: 'CV' | 'CP', seconds: number): Promise<string> {
  const status = await getJson<{ run_id: string }>(`${url}/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      devices,
      modes: [mode],
      params_by_mode: { [mode]: benchParams(mode, seconds) },
      experiment_name: 'bench',
      client_datetime: new Date().toISOString(),
      make_plot: false,
    }),
  });
  return status.run_id;
}

export interface JobSlotView {
  slot: string;
  status: string;
  points: number;
}

export function getJob(url: string, runId: string): Promise<{ status: string; slots: JobSlotView[] }> {
  return getJson(`${url}/jobs/${runId}`);
}

/** Resolves once every slot of the jobs is running and has delivered rows (polls every 200 ms). */
export async function waitAllStreaming(url: string, runIds: string[], timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const jobs = await Promise.all(runIds.map((id) => getJob(url, id)));
    const slots = jobs.flatMap((j) => j.slots);
    if (slots.every((s) => s.status === 'running' && s.points > 0)) return;
    const ended = slots.find((s) => s.status !== 'running' && s.status !== 'queued');
    if (ended) throw new Error(`slot ${ended.slot} ${ended.status} before every slot streamed`);
    if (performance.now() > deadline) throw new Error('slots did not all start streaming in time');
    await sleep(200);
  }
}

export async function waitJobsEnded(url: string, runIds: string[], timeoutMs = 120_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (const id of runIds) {
    while (['queued', 'running'].includes((await getJob(url, id)).status)) {
      if (performance.now() > deadline) throw new Error(`job ${id} did not end in time`);
      await sleep(250);
    }
  }
}
