/**
 * Live streams under load: `npm run bench -- sse [--slots 4] [--clients 50] [--window 5] [--repeat 3]`
 * Four virtual potentiostats run a CV at full rate; the supervisor's event-loop delay (its own
 * monitor, GET /health `event_loop_delay`, over a `window`-second window) is read once with no
 * stream client and once with `clients` clients on GET /runs/{run_id}/stream, all reading. Each
 * repetition is one run with both phases; figures are the median over repetitions. The stream
 * clients count events, bytes and `dropped` events; the run's integrity counters are reported too.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { get as httpGet, type ClientRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spawnDaemon } from './daemon-process.js';
import { medianOf } from './stats.js';

interface LoopFigures {
  window_s: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  const body = (await res.json()) as T;
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** A complete monitor window that began after `since` (the monitor rotates every `window` s). */
async function loopWindowAfter(url: string, windowS: number): Promise<LoopFigures> {
  await sleep(2 * windowS * 1000 + 200);
  return (await json<{ event_loop_delay: LoopFigures }>(`${url}/health`)).event_loop_delay;
}

interface StreamClient {
  req: ClientRequest;
  events: number;
  bytes: number;
  dropped: number;
  ended: boolean;
}

function openClient(url: string): StreamClient {
  const client: StreamClient = { req: null as unknown as ClientRequest, events: 0, bytes: 0, dropped: 0, ended: false };
  client.req = httpGet(url, { headers: { Accept: 'text/event-stream' } }, (res) => {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      client.bytes += chunk.length;
      for (let k = chunk.indexOf('event: '); k >= 0; k = chunk.indexOf('event: ', k + 7)) {
        client.events++;
        if (chunk.startsWith('event: dropped', k)) client.dropped++;
      }
    });
    res.on('end', () => (client.ended = true));
  });
  client.req.on('error', () => undefined);
  return client;
}

async function waitEnded(url: string, runId: string): Promise<Record<string, unknown>> {
  for (;;) {
    const job = await json<{ status: string; slots: Array<Record<string, unknown>> }>(`${url}/jobs/${runId}`);
    if (!['queued', 'running'].includes(job.status)) return job;
    await sleep(250);
  }
}

async function waitIdle(url: string): Promise<void> {
  for (;;) {
    const slots = await json<Array<{ status: string }>>(`${url}/devices/status`);
    if (slots.every((s) => s.status === 'idle')) return;
    await sleep(250);
  }
}

async function oneRun(url: string, clients: number, windowS: number, durationS: number) {
  await waitIdle(url);
  const job = await json<{ run_id: string; slots: unknown[] }>(`${url}/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      devices: 'all',
      modes: ['CV'],
      params_by_mode: { CV: { start: 0, vertex1: 0.5, vertex2: -0.5, end: 0, scan_rate: 2 / durationS, cycles: 1 } },
      experiment_name: 'bench_sse',
      client_datetime: new Date().toISOString(),
      make_plot: false,
    }),
  });
  await sleep(2000); // every slot at full rate
  const without = await loopWindowAfter(url, windowS);
  const streams = Array.from({ length: clients }, () => openClient(`${url}/runs/${job.run_id}/stream`));
  const withClients = await loopWindowAfter(url, windowS);
  const final = await waitEnded(url, job.run_id);
  await sleep(500);
  for (const s of streams) s.req.destroy();
  const slots = final['slots'] as Array<{ points: number; lost: number; dac_underruns: number; adc_overflows: number }>;
  return {
    run_id: job.run_id,
    slots: job.slots.length,
    clients,
    eld_without_clients: without,
    eld_with_clients: withClients,
    client_events_median: medianOf(streams, (s) => s.events),
    client_kib_median: Math.round(medianOf(streams, (s) => s.bytes) / 1024),
    clients_with_drops: streams.filter((s) => s.dropped > 0).length,
    clients_ended: streams.filter((s) => s.ended).length,
    status: final['status'],
    integrity: slots.reduce((a, s) => ({ points: a.points + s.points, lost: a.lost + s.lost, underruns: a.underruns + s.dac_underruns, overflows: a.overflows + s.adc_overflows }), { points: 0, lost: 0, underruns: 0, overflows: 0 }),
  };
}

export async function run(argv: string[]): Promise<object> {
  const { values } = parseArgs({ args: argv, options: { slots: { type: 'string', default: '4' }, clients: { type: 'string', default: '50' }, window: { type: 'string', default: '5' }, repeat: { type: 'string', default: '3' } } });
  const windowS = Number(values.window);
  const clients = Number(values.clients);
  // Both phases (2 windows each, after 2 s of ramp-up) fit inside the CV, with margin.
  const durationS = 4 * windowS + 8;
  const root = await mkdtemp(join(tmpdir(), 'beepbox-sse-bench-'));
  const daemon = await spawnDaemon({
    RUNS_ROOT: join(root, 'runs'), BEEP_SIMULATE: values.slots, BEEPBOX_LOOP_WINDOW_S: String(windowS), BOX_API_KEY: '',
    NAS_CONFIG_PATH: join(root, 'nas.json'), NAS_CREDENTIALS_PATH: join(root, 'cred'), NAS_MOUNT_ROOT: join(root, 'mnt'),
  });
  try {
    const runs: Array<Awaited<ReturnType<typeof oneRun>>> = [];
    for (let i = 0; i < Number(values.repeat); i++) {
      runs.push(await oneRun(daemon.url, clients, windowS, durationS));
      process.stderr.write(`${JSON.stringify(runs.at(-1))}\n`);
    }
    const m = (f: (r: (typeof runs)[number]) => number) => medianOf(runs, f);
    return {
      slots: Number(values.slots),
      clients,
      window_s: windowS,
      repeats: runs.length,
      eld_p99_ms_without_clients: m((r) => r.eld_without_clients.p99_ms),
      eld_p99_ms_with_clients: m((r) => r.eld_with_clients.p99_ms),
      eld_p50_ms_without_clients: m((r) => r.eld_without_clients.p50_ms),
      eld_p50_ms_with_clients: m((r) => r.eld_with_clients.p50_ms),
      eld_max_ms_with_clients: m((r) => r.eld_with_clients.max_ms),
      target_p99_ms: 20,
      each: runs,
    };
  } finally {
    await daemon.stop();
    await rm(root, { recursive: true, force: true });
  }
}
