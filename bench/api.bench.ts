/**
 * API latency under load and streamed ZIP memory:
 *   npm run bench -- api [--slots 16] [--rate 200] [--seconds 15] [--repeat 3] [--sim-per-proc 8] [--sim-pty direct] [--zip-gib 1]
 * 1. The GUI's status polling — GET /jobs/{id}, POST /jobs/status, GET /devices/status in turn —
 *    at `rate` requests/s (open loop, keep-alive) while `slots` virtual potentiostats (in their
 *    own processes) stream a full-rate CV through the daemon. The headline is the p99 latency
 *    from each request's last byte handed to the OS to its response's last byte (issue target:
 *    under 25 ms); the load generator's own lateness and client-side queueing are reported apart
 *    (bench/status-load.ts), with the end-to-end figure that includes them. Also: the daemon's
 *    handling time (Server-Timing), its event-loop delay (GET /health), the slots' integrity, and
 *    CPU over the load window per thread role of the daemon and of the simulators
 *    (bench/thread-cpu.ts). A 3 s warm-up phase comes first and is reported apart.
 * 2. GET /runs/{id}/zip of a generated run of `zip-gib` GiB; throughput and the daemon's
 *    peak RSS growth (VmRSS sampled every 20 ms).
 */
import { spawnSync } from 'node:child_process';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readRssBytes } from './daemon-process.js';
import { treeCpuSeconds } from './processes.js';
import { getJson, sleep, startJob, startSimDaemon, waitAllStreaming, waitJobsEnded, type SimDaemon } from './sim-daemon.js';
import { medianOf } from './stats.js';
import { loadFigures, openLoop, type LoadFigures } from './status-load.js';
import { cpuByRole, pctOfCore, snapshotThreads } from './thread-cpu.js';

const round = (x: number) => Number(x.toFixed(2));

interface SlotTotals {
  lost: number;
  dac_underruns: number;
  adc_overflows: number;
}

async function latencyUnderLoad(box: SimDaemon, rate: number, seconds: number) {
  const { url } = box.daemon;
  const pid = box.daemon.child.pid!;
  // One 2 V cycle lasting seconds + 10 s, so the load window sits inside the measurement.
  const runId = await startJob(url, 'all', 'CV', seconds + 10);
  await waitAllStreaming(url, [runId]);
  await sleep(1000); // let every slot reach full rate
  const requests = [
    { name: 'GET /jobs/{id}', method: 'GET' as const, path: `/jobs/${runId}` },
    { name: 'POST /jobs/status', method: 'POST' as const, path: '/jobs/status', body: JSON.stringify({ run_ids: [runId] }) },
    { name: 'GET /devices/status', method: 'GET' as const, path: '/devices/status' },
  ];
  const simPids = box.sims.map((s) => s.child.pid!);
  const [cpu0, sims0] = [await snapshotThreads(pid), await treeCpuSeconds(simPids)];
  const samples = await openLoop(url, requests, rate, seconds);
  const [cpu1, sims1] = [await snapshotThreads(pid), await treeCpuSeconds(simPids)];
  const health = await getJson<{ event_loop_delay: { p50_ms: number; p99_ms: number; max_ms: number } }>(`${url}/health`);
  await getJson(`${url}/jobs/${runId}/cancel`, { method: 'POST' });
  await waitJobsEnded(url, [runId]);
  const final = await getJson<{ slots: SlotTotals[] }>(`${url}/jobs/${runId}`);
  const cpu = cpuByRole(cpu0, cpu1);
  const pct = (s: number) => round(pctOfCore(s, cpu.wallS));
  const slots = final.slots.length;
  return {
    slots,
    rate_req_s: rate,
    ...loadFigures(samples, seconds),
    daemon_event_loop: health.event_loop_delay,
    cpu_pct: {
      main: pct(cpu.seconds.supervisor), slot_threads: pct(cpu.seconds.slots), recorder: pct(cpu.seconds.recorder),
      other: pct(cpu.seconds.other), daemon_total: pct(cpu.total), simulators: pct(sims1 - sims0),
    },
    supervisor_per_slot_pct: round(pctOfCore(cpu.total - cpu.seconds.recorder - cpu.seconds.pool, cpu.wallS) / slots),
    integrity: final.slots.reduce((a, x) => ({ lost: a.lost + x.lost, underruns: a.underruns + x.dac_underruns, overflows: a.overflows + x.adc_overflows }), { lost: 0, underruns: 0, overflows: 0 }),
  };
}

type LoadRun = Awaited<ReturnType<typeof latencyUnderLoad>>;

/** Median of each figure over repeated load phases; errors and integrity counters summed. */
function combineLoads(loads: LoadRun[]) {
  const median = (f: (l: LoadRun) => number) => medianOf(loads, f);
  const figure = (k: keyof Omit<LoadFigures, 'by_endpoint'>) => median((l) => l[k]);
  return {
    runs: loads.length,
    slots: loads[0]!.slots,
    rate_req_s: loads[0]!.rate_req_s,
    errors: loads.reduce((a, l) => a + l.errors, 0),
    status_p50_ms: figure('latency_p50_ms'),
    status_p99_ms: figure('latency_p99_ms'),
    server_handling_p99_ms: figure('server_handling_p99_ms'),
    generator_lateness_p99_ms: figure('generator_lateness_p99_ms'),
    client_queue_p99_ms: figure('client_queue_p99_ms'),
    end_to_end_p99_ms: figure('end_to_end_p99_ms'),
    daemon_eld_p99_ms: median((l) => l.daemon_event_loop.p99_ms),
    daemon_cpu_pct: median((l) => l.cpu_pct.daemon_total),
    supervisor_per_slot_pct: median((l) => l.supervisor_per_slot_pct),
    simulators_cpu_pct: median((l) => l.cpu_pct.simulators),
    integrity: loads.reduce((a, l) => ({ lost: a.lost + l.integrity.lost, underruns: a.underruns + l.integrity.underruns, overflows: a.overflows + l.integrity.overflows }), { lost: 0, underruns: 0, overflows: 0 }),
    each: loads,
  };
}

function loadTable(c: ReturnType<typeof combineLoads>): string {
  const cols: Array<[string, string | number]> = [
    ['slots', c.slots], ['req/s', c.rate_req_s], ['runs', c.runs], ['errors', c.errors],
    ['status p50 ms', c.status_p50_ms], ['status p99 ms (target < 25)', c.status_p99_ms], ['server p99 ms', c.server_handling_p99_ms],
    ['generator lateness p99 ms', c.generator_lateness_p99_ms], ['client queue p99 ms', c.client_queue_p99_ms], ['end-to-end p99 ms', c.end_to_end_p99_ms],
    ['daemon ELD p99 ms', c.daemon_eld_p99_ms], ['daemon CPU %', c.daemon_cpu_pct], ['supervisor %/slot', c.supervisor_per_slot_pct], ['sims CPU %', c.simulators_cpu_pct],
    ['lost/underruns/overflows', `${c.integrity.lost}/${c.integrity.underruns}/${c.integrity.overflows}`],
  ];
  return [`| ${cols.map(([h]) => h).join(' | ')} |`, `|${'---|'.repeat(cols.length)}`, `| ${cols.map(([, v]) => v).join(' | ')} |`].join('\n');
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
  const { values } = parseArgs({
    args: argv,
    options: { slots: { type: 'string', default: '16' }, rate: { type: 'string', default: '200' }, seconds: { type: 'string', default: '15' }, 'zip-gib': { type: 'string', default: '1' }, repeat: { type: 'string', default: '3' }, 'sim-per-proc': { type: 'string', default: '8' }, 'sim-pty': { type: 'string' } },
  });
  const zipRunId = 'benchzip';
  const zipBytes = Number(values['zip-gib']) * 2 ** 30;
  const box = await startSimDaemon(Number(values.slots), { perProcess: Number(values['sim-per-proc']), pty: values['sim-pty'] }, Number(values.seconds));
  try {
    // A first, shorter phase warms the daemon up (JIT, first job's files); reported apart.
    const warmup = await latencyUnderLoad(box, Number(values.rate), 3);
    process.stderr.write(`warm-up ${JSON.stringify(warmup)}\n`);
    const loads = [];
    for (let i = 0; i < Number(values.repeat); i++) {
      loads.push(await latencyUnderLoad(box, Number(values.rate), Number(values.seconds)));
      process.stderr.write(`${JSON.stringify(loads.at(-1))}\n`);
    }
    const load = combineLoads(loads);
    process.stderr.write(`${loadTable(load)}\n`);
    let zip = null;
    if (zipBytes > 0) {
      // Generated only now, and flushed to disk: a gigabyte of dirty pages being written back
      // stalls the whole VM and would spoil the latency figures above.
      await generateRun(box.runsRoot, zipRunId, zipBytes);
      spawnSync('sync');
      zip = await zipMemory(box.daemon.url, box.daemon.child.pid!, zipRunId);
    }
    process.stderr.write(`${JSON.stringify(zip)}\n`);
    return { warmup, load, zip };
  } finally {
    await box.stop();
  }
}
