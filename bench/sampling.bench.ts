/**
 * Sampling throughput: each slot runs a long CV at full rate against virtual
 * potentiostats in separate processes over ptys, through the real slot workers.
 *   npm run bench -- sampling --slots 1,4,16,64 --seconds 10 [--repeat 3] [--sim-procs 2] [--json FILE]
 * Each slot count runs `repeat` times: rates and delays are medians, integrity counters sums.
 * `--mode CP` runs a galvanostatic step instead: rows are then live-value polls (every 2 ms);
 * `--mode mixed` alternates CV and CP slots.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { SlotWorker } from '../src/slots/slot-worker.js';
import { parseModeParams } from '../src/modes/validate.js';
import { medianOf, percentile } from './stats.js';
import { startSimProcess, treeCpuSeconds, type SimProcess } from './processes.js';
import type { ModeParams } from '../src/modes/types.js';


type BenchMode = 'CV' | 'CP' | 'mixed';

/** The measurement every slot runs for `seconds`: a full-rate CV sweep, or a CP step (polled). */
function benchMeasurement(mode: 'CV' | 'CP', seconds: number): { mode: 'CV' | 'CP'; params: ModeParams } {
  const raw = mode === 'CV' ? { start: 0, vertex1: 0.5, vertex2: -0.5, end: 0, scan_rate: 2 / seconds, cycles: 1 } : { current: 5e-6, duration: seconds };
  return { mode, params: parseModeParams(mode, raw) };
}

async function runOnce(slots: number, seconds: number, simProcs: number, mode: BenchMode) {
  const dir = await mkdtemp(join(tmpdir(), 'beepbox-bench-'));
  const procs: SimProcess[] = [];
  const perProc = Math.ceil(slots / simProcs);
  for (let left = slots, i = 0; left > 0; i++) {
    const n = Math.min(perProc, left);
    procs.push(await startSimProcess(n, join(dir, `p${i}`)));
    left -= n;
  }
  const ports = procs.flatMap((p) => p.ports);
  const workers = ports.map((p) => SlotWorker.spawn(p));
  try {
    // mixed: odd slots CV, even slots CP, to see whether polling slots starve streaming ones.
    const measurements = workers.map((_, i) => benchMeasurement(mode === 'mixed' ? (i % 2 === 0 ? 'CV' : 'CP') : mode, seconds));
    return await measureAll(workers, procs, measurements, slots);
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => (p.child.exitCode === null ? new Promise((r) => p.child.once('exit', r)) : undefined)));
    await rm(dir, { recursive: true, force: true });
  }
}

async function measureAll(workers: SlotWorker[], procs: SimProcess[], measurements: Array<ReturnType<typeof benchMeasurement>>, slots: number) {
  await Promise.all(workers.map((w) => w.connect()));
  const eld = monitorEventLoopDelay({ resolution: 1 });
  const cpu0 = process.cpuUsage();
  const simCpu0 = await treeCpuSeconds(procs.map((p) => p.child.pid!));
  const t0 = performance.now();
  let peakRss = process.memoryUsage().rss;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
  eld.enable();
  const outcomes = await Promise.all(
    workers.map(async (w, i) => {
      let rows = 0;
      const o = await w.measure({ ...measurements[i]!, tiaGain: 2 }, { onBlock: (b) => (rows += b.count) });
      return { ...o, rows };
    }),
  );
  eld.disable();
  clearInterval(rssTimer);
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const simCpu = (await treeCpuSeconds(procs.map((p) => p.child.pid!))) - simCpu0;
  const rates = outcomes.map((o) => o.rows / o.summary.duration_s).sort((a, b) => a - b);
  const sum = (f: (o: (typeof outcomes)[number]) => number) => outcomes.reduce((a, o) => a + f(o), 0);
  return {
    slots,
    points_per_s_per_slot_median: Math.round(percentile(rates, 50)),
    points_per_s_per_slot_min: Math.round(rates[0] ?? 0),
    points_total: sum((o) => o.rows),
    expected_total: sum((o) => o.summary.expected_points),
    lost: sum((o) => o.summary.lost + o.integrity.missingMessages),
    duplicated: sum((o) => o.summary.duplicated + o.integrity.duplicatedRows),
    underruns: sum((o) => o.summary.dac_underruns),
    overflows: sum((o) => o.summary.adc_overflows),
    timeouts: sum((o) => o.summary.timeouts),
    measured_interval_us: Number((sum((o) => o.summary.measured_interval_us ?? 0) / outcomes.length).toFixed(1)),
    eld_p50_ms: Number((eld.percentile(50) / 1e6).toFixed(2)),
    eld_p99_ms: Number((eld.percentile(99) / 1e6).toFixed(2)),
    supervisor_cpu_pct: Math.round(((cpu.user + cpu.system) / 1e6 / wall) * 100),
    simulators_cpu_pct: Math.round((simCpu / wall) * 100),
    supervisor_peak_rss_mib: Math.round(peakRss / 2 ** 20),
    wall_s: Number(wall.toFixed(2)),
  };
}

/** Median over repeated runs of one slot count; integrity counters are summed so any loss shows. */
function combineRuns(runs: Array<Awaited<ReturnType<typeof runOnce>>>) {
  const median = (f: (r: (typeof runs)[number]) => number) => medianOf(runs, f);
  const total = (f: (r: (typeof runs)[number]) => number) => runs.reduce((a, r) => a + f(r), 0);
  return {
    slots: runs[0]!.slots,
    runs: runs.length,
    points_per_s_per_slot_median: median((r) => r.points_per_s_per_slot_median),
    points_per_s_per_slot_min: Math.min(...runs.map((r) => r.points_per_s_per_slot_min)),
    lost: total((r) => r.lost),
    duplicated: total((r) => r.duplicated),
    underruns: total((r) => r.underruns),
    overflows: total((r) => r.overflows),
    timeouts: total((r) => r.timeouts),
    eld_p50_ms: median((r) => r.eld_p50_ms),
    eld_p99_ms: median((r) => r.eld_p99_ms),
    supervisor_cpu_pct: median((r) => r.supervisor_cpu_pct),
    simulators_cpu_pct: median((r) => r.simulators_cpu_pct),
    supervisor_peak_rss_mib: Math.max(...runs.map((r) => r.supervisor_peak_rss_mib)),
    each: runs,
  };
}

export async function run(argv: string[]): Promise<object> {
  const { values } = parseArgs({
    args: argv,
    options: { slots: { type: 'string', default: '1,4,16,64' }, seconds: { type: 'string', default: '10' }, 'sim-procs': { type: 'string', default: '2' }, repeat: { type: 'string', default: '1' }, mode: { type: 'string', default: 'CV' } },
  });
  if (!['CV', 'CP', 'mixed'].includes(values.mode)) throw new Error(`--mode must be CV, CP or mixed, not ${values.mode}`);
  const counts = values.slots.split(',').map(Number);
  const seconds = Number(values.seconds);
  const results = [];
  for (const n of counts) {
    const runs = [];
    for (let i = 0; i < Number(values.repeat); i++) {
      const r = await runOnce(n, seconds, Math.min(n, Number(values['sim-procs'])), values.mode as BenchMode);
      process.stderr.write(`${JSON.stringify(r)}\n`);
      runs.push(r);
    }
    results.push(combineRuns(runs));
  }
  const head = '| slots | runs | pts/s/slot (median) | min | lost | dup | underruns | overflows | timeouts | ELD p50 ms | ELD p99 ms | supervisor CPU % | sims CPU % | RSS MiB |';
  const rows = results.map((r) => `| ${r.slots} | ${r.runs} | ${r.points_per_s_per_slot_median} | ${r.points_per_s_per_slot_min} | ${r.lost} | ${r.duplicated} | ${r.underruns} | ${r.overflows} | ${r.timeouts} | ${r.eld_p50_ms} | ${r.eld_p99_ms} | ${r.supervisor_cpu_pct} | ${r.simulators_cpu_pct} | ${r.supervisor_peak_rss_mib} |`);
  process.stderr.write([head, '|' + '---|'.repeat(14), ...rows].join('\n') + '\n');
  return { seconds, results };
}
