/**
 * Sampling throughput and its host cost, per component. Every slot runs a long measurement at
 * full rate against virtual potentiostats in separate processes (`--sim-per-proc` devices each,
 * default 8; or `--sim-procs N` processes whatever the slot count; `--sim-pty socat|direct`
 * chooses how the simulator exposes its ptys, default the simulator's own).
 *   npm run bench -- sampling --slots 4,16 --seconds 10 [--settle 10] [--repeat 3] [--mode CV|CP|mixed]
 *   npm run bench -- sampling --search [--slots 8,16,24,32,40,48,56,64] --seconds 10
 *   npm run bench -- sampling --in-process --slots 16
 * By default the real daemon runs in its own process (its recorder writes the CSVs) and gets one
 * job per mode on all slots (make_plot false); per-slot counters come from the run's run.json.
 * `--in-process` runs the slot workers in this process instead and only counts their blocks, to
 * isolate the driver. `--mode CP` runs a galvanostatic step (rates are then achieved polls/s);
 * `--mode mixed` alternates CV and CP slots.
 *
 * CPU is measured over a steady-state window (every slot streaming for `--settle` seconds, default
 * 10, before it opens; figures before 2026-12-05 settled 1 s) from /proc, per thread of the
 * daemon (bench/thread-cpu.ts): the main thread (the supervisor's event loop), the slot worker
 * threads, the recorder thread, the plot/ZIP pool and the rest (V8/GC helpers, libuv): Node 20
 * names every thread "node", so bench/thread-names.ts, preloaded into the daemon with --require,
 * names each worker thread after its entry file. "supervisor %/slot" is the daemon's whole CPU
 * minus the recorder and the pool, over the slot count; the simulators (and any relay children)
 * are measured apart. The event-loop delay is the daemon's own (GET /health, 2 s windows).
 *
 * Repeats: figures are medians, integrity counters sums. `--search` runs each count once in
 * ascending order and stops at the first count with any loss, duplicate, underrun, overflow or
 * failed slot, after running it once more to confirm (a clean repeat continues the search).
 * Results: a markdown table on stderr, and the runner's JSON.
 */
import { parseArgs } from 'node:util';
import { runDaemonOnce } from './sampling-daemon.js';
import { combineRuns, isClean, samplingTable, type BenchMode, type CombinedRuns, type RunTiming, type SamplingRun } from './sampling-figures.js';
import { nextSearchStep, parseCounts, type SearchRun } from './slot-search.js';
import type { SimLayout } from './processes.js';

type RunOnce = (slots: number, mode: BenchMode, timing: RunTiming, sims: SimLayout) => Promise<SamplingRun>;

const DEFAULT_TABLE = '4,16';
/** Streaming before the window opens, so that it measures a run of hours rather than its start. */
const DEFAULT_SETTLE_S = 10;
const DEFAULT_SEARCH = '8,16,24,32,40,48,56,64';

async function runnerFor(inProcess: boolean): Promise<RunOnce> {
  // Imported only when asked: it renames this process's worker threads.
  return inProcess ? (await import('./sampling-in-process.js')).runInProcessOnce : runDaemonOnce;
}

function log(r: SamplingRun): void {
  process.stderr.write(`${JSON.stringify(r)}\n`);
  // Unnamed slot threads would count as "other": the per-role split would be wrong, not the total.
  if (r.slot_threads_seen < r.slots) process.stderr.write(`sampling: only ${r.slot_threads_seen} of ${r.slots} slot threads named; their CPU counts as other threads\n`);
}

async function table(runOnce: RunOnce, counts: number[], repeat: number, args: RunArgs): Promise<CombinedRuns[]> {
  const results: CombinedRuns[] = [];
  for (const n of counts) {
    const runs: SamplingRun[] = [];
    for (let i = 0; i < repeat; i++) {
      runs.push(await runOnce(n, args.mode, args, simLayout(n, args)));
      log(runs.at(-1)!);
    }
    results.push(combineRuns(runs));
  }
  return results;
}

async function search(runOnce: RunOnce, counts: number[], args: RunArgs) {
  const history: SearchRun[] = [];
  const runs: SamplingRun[] = [];
  for (;;) {
    const step = nextSearchStep(counts, history);
    if (step.kind === 'done') return { ...step, runs };
    process.stderr.write(`search: ${step.slots} slots${step.repeat ? ' (repeat to confirm)' : ''}\n`);
    const r = await runOnce(step.slots, args.mode, args, simLayout(step.slots, args));
    log(r);
    runs.push(r);
    history.push({ slots: r.slots, clean: isClean(r) });
  }
}

interface RunArgs extends RunTiming {
  mode: BenchMode;
  simPerProc: number;
  simProcs: number | null;
  simPty: string | undefined;
}

/** The simulator processes for `slots` slots. */
function simLayout(slots: number, args: RunArgs): SimLayout {
  return { perProcess: args.simProcs ? Math.ceil(slots / args.simProcs) : args.simPerProc, pty: args.simPty };
}

export async function run(argv: string[]): Promise<object> {
  const { values } = parseArgs({
    args: argv,
    options: {
      slots: { type: 'string' },
      search: { type: 'boolean', default: false },
      seconds: { type: 'string', default: '10' },
      settle: { type: 'string', default: String(DEFAULT_SETTLE_S) },
      'sim-per-proc': { type: 'string', default: '8' },
      'sim-procs': { type: 'string' },
      'sim-pty': { type: 'string' },
      repeat: { type: 'string', default: '1' },
      mode: { type: 'string', default: 'CV' },
      'in-process': { type: 'boolean', default: false },
    },
  });
  if (!['CV', 'CP', 'mixed'].includes(values.mode)) throw new Error(`--mode must be CV, CP or mixed, not ${values.mode}`);
  const args: RunArgs = { mode: values.mode as BenchMode, seconds: Number(values.seconds), settleS: Number(values.settle), simPerProc: Number(values['sim-per-proc']), simProcs: values['sim-procs'] ? Number(values['sim-procs']) : null, simPty: values['sim-pty'] };
  const where = values['in-process'] ? 'in-process' : 'daemon';
  const runOnce = await runnerFor(values['in-process']);
  if (values.search) {
    const counts = parseCounts(values.slots ?? DEFAULT_SEARCH);
    const found = await search(runOnce, counts, args);
    const rows = found.runs.map((r) => combineRuns([r]));
    process.stderr.write(`${samplingTable(rows)}\n`);
    process.stderr.write(`highest clean slot count: ${found.highestClean ?? 'none'}; first failing: ${found.firstFailing ?? `none up to ${counts.at(-1)}`}${found.flukes.length ? `; failed once, clean on repeat: ${found.flukes.join(', ')}` : ''}\n`);
    return { where, ...args, search: { counts, highest_clean: found.highestClean, first_failing: found.firstFailing, flukes: found.flukes, runs: found.runs } };
  }
  const results = await table(runOnce, parseCounts(values.slots ?? DEFAULT_TABLE), Number(values.repeat), args);
  process.stderr.write(`${samplingTable(results)}\n`);
  return { where, ...args, results };
}
