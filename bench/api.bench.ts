/**
 * API latency under load and streamed ZIP memory:
 *   npm run bench -- api [--slots 16] [--rate 200] [--seconds 15] [--repeat 3] [--zip-gib 1]
 * 1. GET /jobs/{id} and POST /jobs/status at `rate` req/s (open loop, alternating) while
 *    `slots` virtual potentiostats stream a CV at full rate; latency p50/p99, the daemon's
 *    handling time (Server-Timing), its event-loop delay (from /health) and the load
 *    generator's own. A 3 s warm-up phase comes first and is reported apart.
 * 2. GET /runs/{id}/zip of a generated run of `zip-gib` GiB; throughput and the daemon's
 *    peak RSS growth (VmRSS sampled every 20 ms).
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { readRssBytes, spawnDaemon } from './daemon-process.js';
import { medianOf, percentile as pct } from './stats.js';

const round = (x: number) => Number(x.toFixed(2));

async function latencyUnderLoad(url: string, rate: number, seconds: number) {
  const job = await fetch(`${url}/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      devices: 'all',
      modes: ['CV'],
      // One 2 V cycle lasting seconds + 10 s, so the load window sits inside the measurement.
      params_by_mode: { CV: { start: 0, vertex1: 0.5, vertex2: -0.5, end: 0, scan_rate: 2 / (seconds + 10), cycles: 1 } },
      experiment_name: 'bench',
      client_datetime: new Date().toISOString(),
      make_plot: false,
    }),
  });
  const status = (await job.json()) as { run_id: string; slots: unknown[] };
  if (!job.ok) throw new Error(`job not started: ${JSON.stringify(status)}`);
  const runId = status.run_id;
  await new Promise((r) => setTimeout(r, 3000)); // let every slot reach full rate
  const lat = { get: [] as number[], status: [] as number[], server: [] as number[] };
  let errors = 0;
  const pending: Promise<void>[] = [];
  // The load generator's own delays count in the latencies: measure them to tell them apart.
  const clientLoop = monitorEventLoopDelay({ resolution: 1 });
  clientLoop.enable();
  const t0 = performance.now();
  for (let i = 0; performance.now() - t0 < seconds * 1000; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const isGet = i % 2 === 0;
    const started = performance.now();
    pending.push(
      (isGet ? fetch(`${url}/jobs/${runId}`) : fetch(`${url}/jobs/status`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ run_ids: [runId] }) }))
        .then(async (res) => {
          await res.arrayBuffer();
          if (!res.ok) errors++;
          (isGet ? lat.get : lat.status).push(performance.now() - started);
          const serverMs = Number(/dur=([\d.]+)/.exec(res.headers.get('server-timing') ?? '')?.[1]);
          if (Number.isFinite(serverMs)) lat.server.push(serverMs);
        })
        .catch(() => void errors++),
    );
  }
  await Promise.all(pending);
  clientLoop.disable();
  const health = (await (await fetch(`${url}/health`)).json()) as { event_loop_delay: { p50_ms: number; p99_ms: number; max_ms: number } };
  const final = (await (await fetch(`${url}/jobs/${runId}`)).json()) as { slots: Array<{ lost: number; dac_underruns: number; adc_overflows: number }> };
  await fetch(`${url}/jobs/${runId}/cancel`, { method: 'POST' });
  await waitUntilEnded(url, runId);
  const g = [...lat.get].sort((a, b) => a - b);
  const s = [...lat.status].sort((a, b) => a - b);
  const handling = [...lat.server].sort((a, b) => a - b);
  return {
    slots: status.slots.length,
    rate_req_s: rate,
    requests: g.length + s.length,
    errors,
    get_job_p50_ms: round(pct(g, 50)),
    get_job_p99_ms: round(pct(g, 99)),
    jobs_status_p50_ms: round(pct(s, 50)),
    jobs_status_p99_ms: round(pct(s, 99)),
    server_handling_p50_ms: round(pct(handling, 50)),
    server_handling_p99_ms: round(pct(handling, 99)),
    client_event_loop_p99_ms: round(clientLoop.percentile(99) / 1e6),
    daemon_event_loop: health.event_loop_delay,
    integrity_so_far: final.slots.reduce((a, x) => ({ lost: a.lost + x.lost, underruns: a.underruns + x.dac_underruns, overflows: a.overflows + x.adc_overflows }), { lost: 0, underruns: 0, overflows: 0 }),
  };
}

async function waitUntilEnded(url: string, runId: string): Promise<void> {
  for (;;) {
    const job = (await (await fetch(`${url}/jobs/${runId}`)).json()) as { status: string };
    if (!['queued', 'running'].includes(job.status)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Median of each latency figure over repeated load phases; errors summed. */
function combineLoads(loads: Array<Awaited<ReturnType<typeof latencyUnderLoad>>>) {
  const median = (f: (l: (typeof loads)[number]) => number) => medianOf(loads, f);
  return {
    runs: loads.length,
    slots: loads[0]!.slots,
    rate_req_s: loads[0]!.rate_req_s,
    errors: loads.reduce((a, l) => a + l.errors, 0),
    get_job_p50_ms: median((l) => l.get_job_p50_ms),
    get_job_p99_ms: median((l) => l.get_job_p99_ms),
    jobs_status_p50_ms: median((l) => l.jobs_status_p50_ms),
    jobs_status_p99_ms: median((l) => l.jobs_status_p99_ms),
    server_handling_p99_ms: median((l) => l.server_handling_p99_ms),
    client_event_loop_p99_ms: median((l) => l.client_event_loop_p99_ms),
    daemon_eld_p99_ms: median((l) => l.daemon_event_loop.p99_ms),
    each: loads,
  };
}

/** Writes `bytes` of CSV-like rows (realistic compressibility) into a legacy run directory. */
async function generateRun(runsRoot: string, runId: string, bytes: number): Promise<void> {
  const files = 8;
  for (let f = 0; f < files; f++) {
    const dir = join(runsRoot, runId, 'Wells', `slot0${(f % 4) + 1}`, `M${f}`);
    await mkdir(dir, { recursive: true });
    const fh = await open(join(dir, `data_${f}.csv`), 'w');
    let written = 0;
    let i = 0;
    while (written < bytes / files) {
      let chunk = '';
      for (let k = 0; k < 4096; k++, i++) chunk += `${(i * 0.00036).toFixed(5)},${Math.sin(i / 997).toPrecision(17)},${(Math.cos(i / 13) * 1e-6).toPrecision(16)},1.0,1.0,${(i % 1000) / 1000}\r\n`;
      await fh.write(chunk);
      written += chunk.length;
    }
    await fh.close();
  }
}

async function zipMemory(url: string, pid: number, runId: string) {
  await new Promise((r) => setTimeout(r, 1000));
  const base = await readRssBytes(pid);
  let peak = base;
  const sampler = setInterval(() => void readRssBytes(pid).then((v) => (peak = Math.max(peak, v))), 20);
  const t0 = performance.now();
  const res = await fetch(`${url}/runs/${runId}/zip`);
  let bytes = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.byteLength;
  const s = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  return { status: res.status, zip_mib: Math.round(bytes / 2 ** 20), seconds: round(s), rss_base_mib: Math.round(base / 2 ** 20), rss_peak_growth_mib: Math.round((peak - base) / 2 ** 20) };
}

export async function run(argv: string[]): Promise<object> {
  // The load generator stands in for clients on other machines: keep it from being starved by
  // the daemon's raised-priority threads on this shared 2-core box (needs privileges).
  try {
    (await import('node:os')).setPriority(-10);
  } catch {
    // default priority
  }
  const { values } = parseArgs({ args: argv, options: { slots: { type: 'string', default: '16' }, rate: { type: 'string', default: '200' }, seconds: { type: 'string', default: '15' }, 'zip-gib': { type: 'string', default: '1' }, repeat: { type: 'string', default: '3' } } });
  const root = await mkdtemp(join(tmpdir(), 'beepbox-api-bench-'));
  const zipRunId = 'benchzip';
  const zipBytes = Number(values['zip-gib']) * 2 ** 30;
  const daemon = await spawnDaemon({ RUNS_ROOT: join(root, 'runs'), BEEP_SIMULATE: values.slots, NAS_CONFIG_PATH: join(root, 'nas.json'), NAS_CREDENTIALS_PATH: join(root, 'cred'), NAS_MOUNT_ROOT: join(root, 'mnt'), BEEPBOX_LOOP_WINDOW_S: values.seconds });
  try {
    // A first, shorter phase warms the daemon up (JIT, first job's files); reported apart.
    const warmup = await latencyUnderLoad(daemon.url, Number(values.rate), 3);
    process.stderr.write(`warm-up ${JSON.stringify(warmup)}\n`);
    const loads = [];
    for (let i = 0; i < Number(values.repeat); i++) {
      loads.push(await latencyUnderLoad(daemon.url, Number(values.rate), Number(values.seconds)));
      process.stderr.write(`${JSON.stringify(loads.at(-1))}\n`);
    }
    const load = combineLoads(loads);
    let zip = null;
    if (zipBytes > 0) {
      // Generated only now, and flushed to disk: a gigabyte of dirty pages being written back
      // stalls the whole VM and would spoil the latency figures above.
      await generateRun(join(root, 'runs'), zipRunId, zipBytes);
      spawnSync('sync');
      zip = await zipMemory(daemon.url, daemon.child.pid!, zipRunId);
    }
    process.stderr.write(`${JSON.stringify(zip)}\n`);
    return { warmup, load, zip };
  } finally {
    await daemon.stop();
    await rm(root, { recursive: true, force: true });
  }
}
