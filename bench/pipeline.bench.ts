/**
 * The whole daemon pipeline under load: virtual potentiostats in separate processes, the built
 * daemon in its own process, one job streaming a CV at full rate on every slot through
 * admission, the engine, the slot event stream, the recorder thread and the job record.
 *   npm run bench -- pipeline --slots 1,4,16 --seconds 10 [--repeat 3] [--daemon-cli A,B]
 * Reports, per slot count, the daemon's CPU per slot: its main thread (the supervisor's event
 * loop, where the engine and consumers run) and the whole process (slot workers and recorder
 * included), measured over the steady part of the run, plus the job's integrity counters.
 * `--daemon-cli` takes several builds' dist/src/cli/main.js; each repeat runs them in turn, so
 * two builds are compared under the same machine noise.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { spawnDaemon } from './daemon-process.js';
import { mainThreadCpuSeconds, procCpuSeconds, startSimProcess, stopSimProcess, treeCpuSeconds, type SimProcess } from './processes.js';
import { medianOf } from './stats.js';

const OWN_CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const SLOTS_PER_SIM_PROCESS = 4;
/** Acquisition and pre-fill settle before the CPU window opens. */
const SETTLE_S = 2;

interface JobView {
  run_id: string;
  status: string;
  slots: Array<{ status: string; points: number; expected_points: number; lost: number; dac_underruns: number; adc_overflows: number; message: string | null }>;
}

async function getJson<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  const body = (await res.json()) as T;
  if (!res.ok) throw new Error(`${url}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

async function runOnce(cli: string, slots: number, seconds: number) {
  const dir = await mkdtemp(join(tmpdir(), 'beepbox-pipeline-'));
  const sims: SimProcess[] = [];
  try {
    for (let left = slots, i = 0; left > 0; i++, left -= SLOTS_PER_SIM_PROCESS) sims.push(await startSimProcess(Math.min(SLOTS_PER_SIM_PROCESS, left), join(dir, `sim${i}`)));
    const daemon = await spawnDaemon({ RUNS_ROOT: join(dir, 'runs'), BEEP_PORTS: sims.flatMap((s) => s.ports).join(',') }, cli);
    try {
      const pid = daemon.child.pid!;
      const { count } = await getJson<{ count: number }>(`${daemon.url}/devices`);
      if (count !== slots) throw new Error(`daemon found ${count} of ${slots} devices`);
      const durationS = seconds + SETTLE_S + 1;
      const job = await getJson<JobView>(`${daemon.url}/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          devices: 'all', modes: ['CV'], make_plot: false, experiment_name: 'pipeline', client_datetime: new Date().toISOString(),
          params_by_mode: { CV: { start: 0, vertex1: 0.5, vertex2: -0.5, end: 0, scan_rate: 2 / durationS, cycles: 1 } },
        }),
      });
      await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
      const sims0 = await treeCpuSeconds(sims.map((s) => s.child.pid!));
      const [main0, proc0, t0] = [await mainThreadCpuSeconds(pid), await procCpuSeconds(pid), performance.now()];
      await new Promise((r) => setTimeout(r, seconds * 1000));
      const [main1, proc1, t1] = [await mainThreadCpuSeconds(pid), await procCpuSeconds(pid), performance.now()];
      const sims1 = await treeCpuSeconds(sims.map((s) => s.child.pid!));
      let final = job;
      for (let waited = 0; waited < 60_000; waited += 250) {
        final = await getJson<JobView>(`${daemon.url}/jobs/${job.run_id}`);
        if (!['queued', 'running'].includes(final.status)) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      const wall = (t1 - t0) / 1000;
      const pct = (cpuS: number) => Number(((100 * cpuS) / wall / slots).toFixed(2));
      const sum = (f: (s: JobView['slots'][number]) => number) => final.slots.reduce((a, s) => a + f(s), 0);
      return {
        slots,
        status: final.status,
        main_thread_cpu_pct_per_slot: pct(main1 - main0),
        daemon_cpu_pct_per_slot: pct(proc1 - proc0),
        simulators_cpu_pct_per_slot: pct(sims1 - sims0),
        points: sum((s) => s.points),
        expected: sum((s) => s.expected_points),
        lost: sum((s) => s.lost),
        underruns: sum((s) => s.dac_underruns),
        overflows: sum((s) => s.adc_overflows),
      };
    } finally {
      await daemon.stop();
    }
  } finally {
    for (const s of sims) await stopSimProcess(s);
    await rm(dir, { recursive: true, force: true });
  }
}

export async function run(argv: string[]): Promise<object> {
  const { values } = parseArgs({
    args: argv,
    options: { slots: { type: 'string', default: '1,4,16' }, seconds: { type: 'string', default: '10' }, repeat: { type: 'string', default: '3' }, 'daemon-cli': { type: 'string', default: OWN_CLI } },
  });
  const clis = values['daemon-cli'].split(',');
  const results = [];
  for (const slots of values.slots.split(',').map(Number)) {
    const runs = new Map<string, Array<Awaited<ReturnType<typeof runOnce>>>>(clis.map((c) => [c, []]));
    for (let i = 0; i < Number(values.repeat); i++) {
      for (const cli of clis) {
        const r = await runOnce(cli, slots, Number(values.seconds));
        process.stderr.write(`${JSON.stringify({ cli, ...r })}\n`);
        runs.get(cli)!.push(r);
      }
    }
    for (const [cli, rs] of runs) {
      results.push({
        cli,
        slots,
        runs: rs.length,
        main_thread_cpu_pct_per_slot: medianOf(rs, (r) => r.main_thread_cpu_pct_per_slot),
        daemon_cpu_pct_per_slot: medianOf(rs, (r) => r.daemon_cpu_pct_per_slot),
        simulators_cpu_pct_per_slot: medianOf(rs, (r) => r.simulators_cpu_pct_per_slot),
        lost: rs.reduce((a, r) => a + r.lost, 0),
        not_done: rs.filter((r) => r.status !== 'done').length,
      });
    }
  }
  const rows = results.map((r) => `| ${r.cli} | ${r.slots} | ${r.runs} | ${r.main_thread_cpu_pct_per_slot} | ${r.daemon_cpu_pct_per_slot} | ${r.simulators_cpu_pct_per_slot} | ${r.lost} | ${r.not_done} |`);
  process.stderr.write(['| build | slots | runs | main thread CPU %/slot | daemon CPU %/slot | sims CPU %/slot | lost | not done |', '|' + '---|'.repeat(8), ...rows].join('\n') + '\n');
  return { seconds: Number(values.seconds), results };
}
