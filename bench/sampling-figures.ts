/**
 * Figures of one sampling run and of repeated runs, and their markdown table. Pure: the daemon
 * and in-process runners (sampling-daemon.ts, sampling-in-process.ts) fill them from what they measured.
 */
import { median, medianOf } from './stats.js';
import { pctOfCore, type RoleCpu } from './thread-cpu.js';

/** How long a run measures, and (daemon runs) how long every slot streams before the window opens. */
export interface RunTiming {
  seconds: number;
  settleS: number;
}

export type SlotMode = 'CV' | 'CP';
export type BenchMode = SlotMode | 'mixed';

/** One slot's counters at the end of its measurement (run.json's, or the RunSummary's in-process). */
export interface SlotCounters {
  mode: SlotMode;
  points: number;
  expected_points: number;
  lost: number;
  duplicated: number;
  dac_underruns: number;
  adc_overflows: number;
  duration_s: number;
  /** Polled galvanostatic modes: achieved polls per second. */
  poll_rate_hz: number | null;
  /** The slot did not end `done` (or the measurement threw). */
  failed: boolean;
}

export interface SamplingRun {
  slots: number;
  mode: BenchMode;
  /** Streaming slots (CV): delivered points per second, per slot. */
  cv_rate_median: number | null;
  cv_rate_min: number | null;
  /** Polled slots (CP): achieved polls per second, per slot. */
  cp_polls_median: number | null;
  cp_polls_min: number | null;
  points: number;
  expected_points: number;
  lost: number;
  duplicated: number;
  underruns: number;
  overflows: number;
  failed_slots: number;
  /** Slots whose rows + lost ≠ expected rows: losses not counted exactly (must be 0, clean or not). */
  unaccounted_slots: number;
  /** % of one core over the steady-state window, per role of the supervisor's threads, and the simulators. */
  cpu_pct: { main: number; slot_threads: number; recorder: number; pool: number; other: number; daemon_total: number; simulators: number };
  /** Supervisor per slot: everything of the supervisor's process but the recorder and the plot/ZIP pool. */
  supervisor_per_slot_pct: number;
  main_per_slot_pct: number;
  slot_threads_per_slot_pct: number;
  simulators_per_slot_pct: number;
  /** Named slot worker threads found (must equal `slots`, else the attribution is off). */
  slot_threads_seen: number;
  eld_p50_ms: number;
  eld_p99_ms: number;
  eld_max_ms: number;
  peak_rss_mib: number;
  window_s: number;
}

const round1 = (x: number) => Number(x.toFixed(1));
const round2 = (x: number) => Number(x.toFixed(2));

function rateFigures(xs: number[]): { median: number | null; min: number | null } {
  if (xs.length === 0) return { median: null, min: null };
  return { median: Math.round(median(xs)), min: Math.round(Math.min(...xs)) };
}

export interface RunInputs {
  mode: BenchMode;
  slots: SlotCounters[];
  cpu: RoleCpu;
  simulatorCpuS: number;
  eld: { p50_ms: number; p99_ms: number; max_ms: number };
  peakRssBytes: number;
}

export function runFigures({ mode, slots, cpu, simulatorCpuS, eld, peakRssBytes }: RunInputs): SamplingRun {
  const n = slots.length;
  const pct = (s: number) => pctOfCore(s, cpu.wallS);
  const sum = (f: (c: SlotCounters) => number) => slots.reduce((a, c) => a + f(c), 0);
  const cv = rateFigures(slots.filter((c) => c.mode === 'CV' && c.duration_s > 0).map((c) => c.points / c.duration_s));
  const cp = rateFigures(slots.filter((c) => c.mode === 'CP' && c.poll_rate_hz !== null).map((c) => c.poll_rate_hz!));
  const s = cpu.seconds;
  const supervisor = cpu.total - s.recorder - s.pool;
  return {
    slots: n,
    mode,
    cv_rate_median: cv.median,
    cv_rate_min: cv.min,
    cp_polls_median: cp.median,
    cp_polls_min: cp.min,
    points: sum((c) => c.points),
    expected_points: sum((c) => c.expected_points),
    lost: sum((c) => c.lost),
    duplicated: sum((c) => c.duplicated),
    underruns: sum((c) => c.dac_underruns),
    overflows: sum((c) => c.adc_overflows),
    failed_slots: slots.filter((c) => c.failed).length,
    unaccounted_slots: slots.filter((c) => !c.failed && c.points + c.lost !== c.expected_points).length,
    cpu_pct: {
      main: round1(pct(s.supervisor)),
      slot_threads: round1(pct(s.slots)),
      recorder: round1(pct(s.recorder)),
      pool: round1(pct(s.pool)),
      other: round1(pct(s.other)),
      daemon_total: round1(pct(cpu.total)),
      simulators: round1(pct(simulatorCpuS)),
    },
    supervisor_per_slot_pct: round2(pct(supervisor) / n),
    main_per_slot_pct: round2(pct(s.supervisor) / n),
    slot_threads_per_slot_pct: round2(pct(s.slots) / n),
    simulators_per_slot_pct: round2(pct(simulatorCpuS) / n),
    slot_threads_seen: cpu.slotThreads,
    eld_p50_ms: round2(eld.p50_ms),
    eld_p99_ms: round2(eld.p99_ms),
    eld_max_ms: round2(eld.max_ms),
    peak_rss_mib: Math.round(peakRssBytes / 2 ** 20),
    window_s: round2(cpu.wallS),
  };
}

/** No row lost, duplicated, no DAC underrun, no ADC overflow, every slot done. */
export function isClean(r: Pick<SamplingRun, 'lost' | 'duplicated' | 'underruns' | 'overflows' | 'failed_slots'>): boolean {
  return r.lost + r.duplicated + r.underruns + r.overflows + r.failed_slots === 0;
}

export interface CombinedRuns extends SamplingRun {
  runs: number;
  each: SamplingRun[];
}

/**
 * Repeated runs of one slot count: figures are medians, minimum rates the lowest seen, and
 * integrity counters sums, so a loss in any run shows.
 */
export function combineRuns(runs: readonly SamplingRun[]): CombinedRuns {
  const first = runs[0];
  if (!first) throw new Error('no runs to combine');
  const med = (f: (r: SamplingRun) => number) => medianOf(runs, f);
  const medOrNull = (f: (r: SamplingRun) => number | null) => {
    const xs = runs.map(f).filter((x): x is number => x !== null);
    return xs.length ? median(xs) : null;
  };
  const minOrNull = (f: (r: SamplingRun) => number | null) => {
    const xs = runs.map(f).filter((x): x is number => x !== null);
    return xs.length ? Math.min(...xs) : null;
  };
  const total = (f: (r: SamplingRun) => number) => runs.reduce((a, r) => a + f(r), 0);
  const cpuMed = (k: keyof SamplingRun['cpu_pct']) => med((r) => r.cpu_pct[k]);
  return {
    slots: first.slots,
    mode: first.mode,
    runs: runs.length,
    cv_rate_median: medOrNull((r) => r.cv_rate_median),
    cv_rate_min: minOrNull((r) => r.cv_rate_min),
    cp_polls_median: medOrNull((r) => r.cp_polls_median),
    cp_polls_min: minOrNull((r) => r.cp_polls_min),
    points: total((r) => r.points),
    expected_points: total((r) => r.expected_points),
    lost: total((r) => r.lost),
    duplicated: total((r) => r.duplicated),
    underruns: total((r) => r.underruns),
    overflows: total((r) => r.overflows),
    failed_slots: total((r) => r.failed_slots),
    unaccounted_slots: total((r) => r.unaccounted_slots),
    cpu_pct: {
      main: cpuMed('main'), slot_threads: cpuMed('slot_threads'), recorder: cpuMed('recorder'), pool: cpuMed('pool'),
      other: cpuMed('other'), daemon_total: cpuMed('daemon_total'), simulators: cpuMed('simulators'),
    },
    supervisor_per_slot_pct: med((r) => r.supervisor_per_slot_pct),
    main_per_slot_pct: med((r) => r.main_per_slot_pct),
    slot_threads_per_slot_pct: med((r) => r.slot_threads_per_slot_pct),
    simulators_per_slot_pct: med((r) => r.simulators_per_slot_pct),
    slot_threads_seen: Math.min(...runs.map((r) => r.slot_threads_seen)),
    eld_p50_ms: med((r) => r.eld_p50_ms),
    eld_p99_ms: med((r) => r.eld_p99_ms),
    eld_max_ms: Math.max(...runs.map((r) => r.eld_max_ms)),
    peak_rss_mib: Math.max(...runs.map((r) => r.peak_rss_mib)),
    window_s: med((r) => r.window_s),
    each: [...runs],
  };
}

const COLUMNS: Array<[string, (r: CombinedRuns) => string | number | null]> = [
  ['slots', (r) => r.slots],
  ['mode', (r) => r.mode],
  ['runs', (r) => r.runs],
  ['CV pts/s/slot median', (r) => r.cv_rate_median],
  ['min', (r) => r.cv_rate_min],
  ['CP polls/s/slot median', (r) => r.cp_polls_median],
  ['min', (r) => r.cp_polls_min],
  ['lost', (r) => r.lost],
  ['dup', (r) => r.duplicated],
  ['underruns', (r) => r.underruns],
  ['overflows', (r) => r.overflows],
  ['failed', (r) => r.failed_slots],
  ['rows+lost≠plan', (r) => r.unaccounted_slots],
  ['supervisor %/slot', (r) => r.supervisor_per_slot_pct],
  ['main loop %/slot', (r) => r.main_per_slot_pct],
  ['slot threads %/slot', (r) => r.slot_threads_per_slot_pct],
  ['recorder %', (r) => r.cpu_pct.recorder],
  ['other threads %', (r) => r.cpu_pct.other],
  ['daemon %', (r) => r.cpu_pct.daemon_total],
  ['sims %', (r) => r.cpu_pct.simulators],
  ['sims %/slot', (r) => r.simulators_per_slot_pct],
  ['ELD p50 ms', (r) => r.eld_p50_ms],
  ['p99', (r) => r.eld_p99_ms],
  ['max', (r) => r.eld_max_ms],
  ['RSS MiB', (r) => r.peak_rss_mib],
];

/** Markdown table, one row per slot count; "—" where a figure does not apply. */
export function samplingTable(rows: readonly CombinedRuns[]): string {
  const head = `| ${COLUMNS.map(([h]) => h).join(' | ')} |`;
  const rule = `|${'---|'.repeat(COLUMNS.length)}`;
  const body = rows.map((r) => `| ${COLUMNS.map(([, f]) => f(r) ?? '—').join(' | ')} |`);
  return [head, rule, ...body].join('\n');
}
