/**
 * One sampling run without the daemon (`--in-process`): the slot workers run in this process and
 * their blocks are only counted (no HTTP, no job engine, no recorder), to isolate the driver.
 * Simulators still run in their own processes. The main thread stands for the supervisor's loop.
 */
import './thread-names.js'; // before the first worker starts: names this process's worker threads
import { SlotWorker } from '../src/slots/slot-worker.js';
import { EventLoopMonitor } from '../src/event-loop-monitor.js';
import { parseModeParams } from '../src/modes/validate.js';
import { startSimProcesses, stopSimProcess, treeCpuSeconds, type SimLayout } from './processes.js';
import { runFigures, type BenchMode, type RunTiming, type SamplingRun, type SlotCounters, type SlotMode } from './sampling-figures.js';
import { benchParams } from './sim-daemon.js';
import { cpuByRole, snapshotThreads } from './thread-cpu.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The window is the whole measurement here (no settling: `timing.settleS` is for daemon runs). */
export async function runInProcessOnce(slots: number, mode: BenchMode, timing: RunTiming, sims: SimLayout): Promise<SamplingRun> {
  const { seconds } = timing;
  const dir = await mkdtemp(join(tmpdir(), 'beepbox-bench-'));
  const procs = await startSimProcesses(slots, sims, dir);
  const workers = procs.flatMap((p) => p.ports).map((p) => SlotWorker.spawn(p));
  try {
    await Promise.all(workers.map((w) => w.connect()));
    const modes: SlotMode[] = workers.map((_, i) => (mode === 'mixed' ? (i % 2 === 0 ? 'CV' : 'CP') : mode));
    const simPids = procs.map((p) => p.child.pid!);
    const [cpu0, sims0] = [await snapshotThreads(process.pid), await treeCpuSeconds(simPids)];
    let peakRss = process.memoryUsage().rss;
    const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
    // The daemon's own monitor: the same figures as its /health.
    const eld = new EventLoopMonitor(3600);
    // The window is the whole measurement here: the workers connected first, so it starts streaming at once.
    const counters = await Promise.all(workers.map((w, i) => measureSlot(w, modes[i]!, seconds)));
    const loop = eld.read();
    eld.stop();
    clearInterval(rssTimer);
    const [cpu1, sims1] = [await snapshotThreads(process.pid), await treeCpuSeconds(simPids)];
    return runFigures({
      mode,
      slots: counters,
      cpu: cpuByRole(cpu0, cpu1),
      simulatorCpuS: sims1 - sims0,
      eld: { p50_ms: loop.p50_ms, p99_ms: loop.p99_ms, max_ms: loop.max_ms },
      peakRssBytes: peakRss,
    });
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    await Promise.all(procs.map(stopSimProcess));
    await rm(dir, { recursive: true, force: true });
  }
}

async function measureSlot(worker: SlotWorker, mode: SlotMode, seconds: number): Promise<SlotCounters> {
  let rows = 0;
  try {
    const o = await worker.measure({ mode, params: parseModeParams(mode, benchParams(mode, seconds)), tiaGain: 2 }, { onBlock: (b) => (rows += b.count) });
    const s = o.summary;
    return {
      mode,
      points: rows,
      expected_points: s.expected_points,
      lost: s.lost + o.integrity.missingMessages,
      duplicated: s.duplicated + o.integrity.duplicatedRows,
      dac_underruns: s.dac_underruns,
      adc_overflows: s.adc_overflows,
      duration_s: s.duration_s,
      poll_rate_hz: s.poll_rate_hz,
      failed: false,
    };
  } catch {
    return { mode, points: rows, expected_points: 0, lost: 0, duplicated: 0, dac_underruns: 0, adc_overflows: 0, duration_s: 0, poll_rate_hz: null, failed: true };
  }
}
