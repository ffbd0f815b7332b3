/**
 * One sampling run through the real daemon: simulators in their own processes, a job per mode
 * on the slots (make_plot false), CPU per thread role of the daemon and of the simulators'
 * process trees over a steady-state window (every slot streaming), the daemon's event-loop delay
 * from GET /health, and each slot's final counters from the run's run.json.
 */
import { readRssBytes } from './daemon-process.js';
import { treeCpuSeconds, type SimLayout } from './processes.js';
import { runFigures, type BenchMode, type RunTiming, type SamplingRun, type SlotCounters, type SlotMode } from './sampling-figures.js';
import { getJson, sleep, startJob, startSimDaemon, waitAllStreaming, waitJobsEnded } from './sim-daemon.js';
import { median } from './stats.js';
import { cpuByRole, snapshotThreads } from './thread-cpu.js';

/** The daemon's event-loop window: short, so several complete windows fall inside the measuring window. */
const LOOP_WINDOW_S = 2;

interface RunJsonMode {
  counters: (Omit<SlotCounters, 'mode' | 'failed'>) | null;
  error: string | null;
}
/** run.json holds an entry per job that wrote into the run folder. */
interface RunJson {
  jobs: Array<{ run_id: string; slots: Array<{ slot: string; status: string; modes: RunJsonMode[] }> }>;
}

/** mixed: even slots CV, odd slots CP, to see whether polling slots starve streaming ones. */
export function slotModes(mode: BenchMode, slots: string[]): Map<SlotMode, string[]> {
  const byMode = new Map<SlotMode, string[]>();
  slots.forEach((s, i) => {
    const m: SlotMode = mode === 'mixed' ? (i % 2 === 0 ? 'CV' : 'CP') : mode;
    byMode.set(m, [...(byMode.get(m) ?? []), s]);
  });
  return byMode;
}

export async function runDaemonOnce(slots: number, mode: BenchMode, timing: RunTiming, sims: SimLayout): Promise<SamplingRun> {
  const { seconds, settleS } = timing;
  const box = await startSimDaemon(slots, sims, LOOP_WINDOW_S);
  try {
    const { url } = box.daemon;
    const pid = box.daemon.child.pid!;
    const simPids = box.sims.map((s) => s.child.pid!);
    // Long enough for the slots to start, settle and stream through the whole window.
    const plannedS = seconds + settleS + 3 + Math.ceil(slots / 8);
    const t0 = performance.now();
    const jobs = await Promise.all([...slotModes(mode, box.slots.slice(0, slots))].map(async ([m, devices]) => ({ mode: m, runId: await startJob(url, devices, m, plannedS) })));
    const runIds = jobs.map((j) => j.runId);
    try {
      await waitAllStreaming(url, runIds, plannedS * 1000);
      await sleep(settleS * 1000);
    } catch (err) {
      // An overloaded box may fail slots before they all stream: that is a result (failed
      // slots, losses), not a reason to stop a search. The window is whatever time is left.
      process.stderr.write(`sampling: ${slots} slots: ${err instanceof Error ? err.message : String(err)}\n`);
    }

    const windowMs = Math.max(0, Math.min(seconds * 1000, t0 + (plannedS - 1) * 1000 - performance.now()));
    const [cpu0, sims0] = [await snapshotThreads(pid), await treeCpuSeconds(simPids)];
    let peakRss = 0;
    const loop: Array<{ p50_ms: number; p99_ms: number; max_ms: number }> = [];
    const rss = setInterval(() => void readRssBytes(pid).then((b) => (peakRss = Math.max(peakRss, b)), () => undefined), 250);
    const health = setInterval(() => void getJson<{ event_loop_delay: (typeof loop)[number] }>(`${url}/health`).then((h) => loop.push(h.event_loop_delay), () => undefined), LOOP_WINDOW_S * 1000);
    await sleep(windowMs);
    clearInterval(rss);
    clearInterval(health);
    if (loop.length === 0) loop.push((await getJson<{ event_loop_delay: (typeof loop)[number] }>(`${url}/health`)).event_loop_delay);
    const [cpu1, sims1] = [await snapshotThreads(pid), await treeCpuSeconds(simPids)];

    await waitJobsEnded(url, runIds);
    const counters = (await Promise.all(jobs.map(({ mode: m, runId }) => slotCounters(url, runId, m)))).flat();
    return runFigures({
      mode,
      slots: counters,
      cpu: cpuByRole(cpu0, cpu1),
      simulatorCpuS: sims1 - sims0,
      eld: {
        p50_ms: median(loop.map((w) => w.p50_ms)),
        p99_ms: median(loop.map((w) => w.p99_ms)),
        max_ms: Math.max(...loop.map((w) => w.max_ms)),
      },
      peakRssBytes: peakRss,
    });
  } finally {
    await box.stop();
  }
}

/** Each slot's counters of the job's single mode, from run.json (GET /runs/{id}/file). */
async function slotCounters(url: string, runId: string, mode: SlotMode): Promise<SlotCounters[]> {
  const run = await getJson<RunJson>(`${url}/runs/${runId}/file?path=run.json`);
  const job = run.jobs.find((j) => j.run_id === runId);
  if (!job) throw new Error(`run.json of ${runId} has no entry for it`);
  return job.slots.map((s) => {
    const c = s.modes[0]?.counters;
    if (!c) return { mode, points: 0, expected_points: 0, lost: 0, duplicated: 0, dac_underruns: 0, adc_overflows: 0, duration_s: 0, poll_rate_hz: null, failed: true };
    return { mode, points: c.points, expected_points: c.expected_points, lost: c.lost, duplicated: c.duplicated, dac_underruns: c.dac_underruns, adc_overflows: c.adc_overflows, duration_s: c.duration_s, poll_rate_hz: c.poll_rate_hz, failed: s.status !== 'done' };
  });
}
