/**
 * GET /metrics over real HTTP against the built daemon on two simulated slots (#12): the answer
 * parses as Prometheus text exposition (prom2javascript, plus the structural rules the parser lets
 * through); after the runs the per-slot counters equal the sums of GET /jobs/{id}
 * (points, lost, underruns, overflows, overloads) and of run.json's per-mode counters; modes are
 * counted by mode and outcome; points grow while a mode runs; the HTTP histogram is labelled by
 * route template; the route needs the key like the others.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Readable } from 'node:stream';
import { getMetricsFromStream, type PromData, type PromHistogramData, type PromMetric, type PromMetrics, type PromSummaryData } from 'prom2javascript';
import { startSimulators, type SimulatorSet } from '../../src/sim/run-sim.js';
import { assertEnvelope, createCleanupScope, startDaemon, submitJob, waitForJob, waitUntil, type DaemonHandle, type JobStatusLike } from '../helpers/daemon.js';

interface ModeCountersLike {
  points: number;
  lost: number;
  dac_underruns: number;
  adc_overflows: number;
  overloads: number;
  stop_reason: string;
}

interface RunJsonLike {
  jobs: Array<{ run_id: string; modes: Array<{ mode: string; token: string }>; slots: Array<{ slot: string; modes: Array<{ token: string; counters: ModeCountersLike | null }> }> }>;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SLOT_COUNTERS = {
  points: 'beepbox_points_received_total',
  lost: 'beepbox_points_lost_total',
  dac_underruns: 'beepbox_dac_underruns_total',
  adc_overflows: 'beepbox_adc_overflows_total',
  overloads: 'beepbox_overloads_total',
} as const;
type CounterField = keyof typeof SLOT_COUNTERS;

const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary']);

/**
 * Parses with the npm parser (it refuses malformed lines and values, and histograms whose +Inf
 * bucket is not their count), then checks what it lets through: one TYPE and one HELP per family,
 * a legal name, a known type, cumulative buckets.
 */
async function parseExposition(text: string): Promise<PromMetrics> {
  const metrics = await getMetricsFromStream(Readable.from([text]));
  for (const kind of ['TYPE', 'HELP']) {
    const names = [...text.matchAll(new RegExp(`^# ${kind} (\\S+)`, 'gm'))].map((m) => m[1]!);
    assert.equal(new Set(names).size, names.length, `one ${kind} line per family`);
  }
  for (const [name, family] of Object.entries(metrics)) {
    assert.match(name, METRIC_NAME);
    assert.ok(TYPES.has(family.type), `${name}: type ${family.type}`);
    assert.ok(family.help.length > 0, `${name}: HELP`);
    if (family.type !== 'histogram') continue;
    for (const h of family.data as PromHistogramData[]) {
      const counts = Object.entries(h.buckets).map(([le, v]) => [le === '+Inf' ? Infinity : Number(le), v] as const).sort((x, y) => x[0] - y[0]);
      counts.forEach(([, v], i) => assert.ok(i === 0 || v >= counts[i - 1]![1], `${name}: cumulative buckets`));
    }
  }
  return metrics;
}

function familyOf(metrics: PromMetrics, name: string): PromMetric {
  const f = metrics[name];
  assert.ok(f, `metric ${name} missing`);
  return f;
}

const labelsMatch = (labels: Record<string, string>, wanted: Record<string, string>): boolean => Object.entries(wanted).every(([k, v]) => labels[k] === v);

/** The value of the one sample of `name` whose labels include `labels` (0 when there is none). */
function valueOf(metrics: PromMetrics, name: string, labels: Record<string, string> = {}): number {
  const matching = (familyOf(metrics, name).data as PromData[]).filter((d) => labelsMatch(d.labels, labels));
  assert.ok(matching.length <= 1, `${name} ${JSON.stringify(labels)}: ${matching.length} samples`);
  return matching[0]?.value ?? 0;
}

/** The run folder's run.json holding this job, read from disk. */
async function readRunJson(runId: string): Promise<RunJsonLike> {
  const files = (await readdir(daemon.runsRoot, { recursive: true })).filter((f) => path.basename(f) === 'run.json');
  for (const file of files) {
    const doc = JSON.parse(await readFile(path.join(daemon.runsRoot, file), 'utf8')) as RunJsonLike;
    if (doc.jobs.some((j) => j.run_id === runId)) return doc;
  }
  throw new Error(`no run.json holds ${runId} (${files.join(', ')})`);
}

const scope = createCleanupScope();
let sims: SimulatorSet;
let daemon: DaemonHandle;

async function scrape(): Promise<PromMetrics> {
  const res = await daemon.get('/metrics');
  assert.equal(res.status, 200, res.text);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4; charset=utf-8$/);
  return parseExposition(res.text);
}

before(async () => {
  sims = await startSimulators({ count: 2 });
  scope.defer(() => sims.close());
  daemon = await startDaemon(scope, { ports: sims.ports });
});
after(() => scope.run());

let second = 0;
const jobBody = (slot: string, modes: string[], params: Record<string, unknown>) => ({
  devices: [slot],
  modes,
  params_by_mode: params,
  experiment_name: 'Metrics',
  client_datetime: `2026-03-01T10:00:${String(++second).padStart(2, '0')}Z`,
  make_plot: false,
});

describe('GET /metrics', () => {
  test('needs the key when one is set: 401 without it or with a wrong one', async () => {
    assertEnvelope(await daemon.get('/metrics', { key: null }), 401, 'auth.invalid_api_key');
    assertEnvelope(await daemon.get('/metrics', { key: `${daemon.apiKey}x` }), 401, 'auth.invalid_api_key');
  });

  test('the parser checks something: malformed lines, bad values, broken histograms and repeated families are refused', async () => {
    await assert.rejects(parseExposition('# HELP a x\n# TYPE a counter\na{slot="s1" 3\n'));
    await assert.rejects(parseExposition('# HELP a x\n# TYPE a gauge\na one\n'));
    await assert.rejects(parseExposition('# HELP h x\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3\nh_count 5\n'));
    await assert.rejects(parseExposition('# HELP a x\n# TYPE a counter\na 1\n# HELP a x\n# TYPE a counter\na 2\n'));
    await parseExposition('# HELP a x\n# TYPE a counter\na{slot="s1"} 1\n');
  });

  test('before any run: valid exposition, every slot at 0, process metrics, the loop-delay summary', async () => {
    const m = await scrape();
    for (const slot of ['slot01', 'slot02']) for (const name of Object.values(SLOT_COUNTERS)) assert.equal(valueOf(m, name, { slot }), 0, `${name} ${slot}`);
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'process_open_fds', 'nodejs_heap_size_used_bytes']) familyOf(m, name);
    const loopFamily = familyOf(m, 'beepbox_event_loop_delay_seconds');
    assert.equal(loopFamily.type, 'summary');
    const loop = (loopFamily.data as PromSummaryData[])[0]!;
    assert.deepEqual(Object.keys(loop.quantiles).sort(), ['0.5', '0.99', '1']);
    assert.ok(loop.count! > 0 && loop.sum! > 0, `count ${loop.count}, sum ${loop.sum}`);
    assert.equal(valueOf(m, 'beepbox_info', { box_id: daemon.boxId }), 1);
    assert.equal(valueOf(m, 'beepbox_jobs', { state: 'running' }), 0);
  });

  describe('after runs on two slots', () => {
    const jobs: JobStatusLike[] = [];
    let final: PromMetrics;

    test('points grow while a mode runs', async () => {
      // slot02: a 3 s OCP (scraped while it runs), then a CA stopped by its charge cut-off.
      const slow = await submitJob(daemon, jobBody('slot02', ['OCP', 'CA'], { OCP: { duration: 3 }, CA: { potential: 0.5, duration: 3, charge_cutoff_c: 30e-6, tia_gain: 0 } }));
      jobs.push(slow);
      const live = await waitUntil('points counted during the OCP', async () => {
        const points = valueOf(await scrape(), SLOT_COUNTERS.points, { slot: 'slot02' });
        const status = (await daemon.get<JobStatusLike>(`/jobs/${slow.run_id}`)).json;
        if (status.slots[0]!.status === 'running' && status.current_mode === 'OCP' && points > 0) return points;
        assert.notEqual(status.current_mode, 'CA', 'the OCP ended before a scrape saw its points');
        return undefined;
      }, 10_000, 100);
      assert.ok(live > 0);
      // slot01: a CV, then a CA at 1 V with gain 3 (1 MΩ): the current clips at full scale (overloads).
      jobs.push(await submitJob(daemon, jobBody('slot01', ['CV', 'CA'], {
        CV: { start: 0, vertex1: 0.2, vertex2: -0.2, end: 0, scan_rate: 1, cycles: 1 },
        CA: { potential: 1, duration: 0.5, tia_gain: 3 },
      })));
      for (const job of jobs) assert.equal((await waitForJob(daemon, job.run_id)).status, 'done');
      final = await scrape();
    });

    test('the per-slot counters equal the sums of GET /jobs/{id}', async () => {
      let overloads = 0;
      for (const slot of ['slot01', 'slot02']) {
        const sums: Record<CounterField, number> = { points: 0, lost: 0, dac_underruns: 0, adc_overflows: 0, overloads: 0 };
        for (const job of jobs) {
          const s = (await daemon.get<JobStatusLike>(`/jobs/${job.run_id}`)).json.slots.find((x) => x.slot === slot);
          if (s) for (const field of Object.keys(sums) as CounterField[]) sums[field] += s[field] as number;
        }
        for (const [field, name] of Object.entries(SLOT_COUNTERS) as Array<[CounterField, string]>) assert.equal(valueOf(final, name, { slot }), sums[field], `${name} ${slot}`);
        assert.ok(sums.points > 0, `${slot} measured`);
        overloads += sums.overloads;
      }
      assert.ok(overloads > 0, 'the clipped CA counted overloads (the comparison covers a non-zero counter)');
    });

    test('and the sums of run.json per-mode counters, with modes counted by mode and outcome', async () => {
      const outcomes = new Map<string, number>();
      const sums = new Map<string, Record<CounterField, number>>();
      for (const job of jobs) {
        const doc = await readRunJson(job.run_id);
        const entry = doc.jobs.find((j) => j.run_id === job.run_id)!;
        for (const slot of entry.slots) {
          const sum = sums.get(slot.slot) ?? { points: 0, lost: 0, dac_underruns: 0, adc_overflows: 0, overloads: 0 };
          slot.modes.forEach((m, k) => {
            const c = m.counters!;
            for (const field of Object.keys(sum) as CounterField[]) sum[field] += c[field];
            const key = `${slot.slot}/${entry.modes[k]!.mode}/${c.stop_reason}`;
            outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
          });
          sums.set(slot.slot, sum);
        }
      }
      for (const [slot, sum] of sums) for (const [field, name] of Object.entries(SLOT_COUNTERS) as Array<[CounterField, string]>) assert.equal(valueOf(final, name, { slot }), sum[field], `${name} ${slot} vs run.json`);
      assert.equal(outcomes.get('slot02/CA/charge_cutoff'), 1, [...outcomes.keys()].join(', '));
      const counted = new Map((familyOf(final, 'beepbox_modes_total').data as PromData[]).map((d) => [`${d.labels.slot}/${d.labels.mode}/${d.labels.outcome}`, d.value]));
      assert.deepEqual(counted, outcomes);
    });

    test('Modbus traffic and integrity events per slot, jobs by state', () => {
      for (const slot of ['slot01', 'slot02']) {
        const transactions = valueOf(final, 'beepbox_modbus_transactions_total', { slot });
        // At least one ADC FIFO read per 255 pairs.
        assert.ok(transactions > valueOf(final, SLOT_COUNTERS.points, { slot }) / 255, `${slot}: ${transactions} transactions`);
        assert.equal(valueOf(final, 'beepbox_modbus_timeouts_total', { slot }), 0, `${slot} timeouts on a pty`);
        familyOf(final, 'beepbox_modbus_busy_replies_total');
      }
      assert.ok(valueOf(final, 'beepbox_integrity_events_total', { slot: 'slot01', kind: 'overload' }) >= 1);
      assert.equal(valueOf(final, 'beepbox_integrity_events_total', { slot: 'slot02', kind: 'charge_cutoff' }), 1);
      assert.equal(valueOf(final, 'beepbox_jobs', { state: 'done' }), 2);
      assert.equal(valueOf(final, 'beepbox_slots_busy'), 0);
    });

    test('the HTTP histogram is labelled by route template and status class, never by raw path', async () => {
      assert.equal((await daemon.get('/no/such/path')).status, 404);
      for (const job of jobs) assert.equal((await daemon.get(`/runs/${job.run_id}/files`)).status, 200);
      const m = await scrape();
      const histograms = familyOf(m, 'beepbox_http_request_duration_seconds').data as PromHistogramData[];
      const series = histograms.map((h) => `${h.labels.method} ${h.labels.route} ${h.labels.status_class}`);
      for (const expected of ['POST /jobs 2xx', 'GET /jobs/{run_id} 2xx', 'GET /runs/{run_id}/files 2xx', 'GET /metrics 2xx', 'GET /metrics 4xx', 'GET unmatched 4xx']) {
        assert.ok(series.includes(expected), `${expected} in ${series.join('; ')}`);
      }
      for (const job of jobs) assert.ok(!series.some((s) => s.includes(job.run_id)), 'no run id in a label');
      const jobGets = histograms.find((h) => h.labels.route === '/jobs/{run_id}' && h.labels.status_class === '2xx')!;
      assert.ok(jobGets.count >= jobs.length * 2, `GET /jobs/{run_id} count ${jobGets.count}`);
    });
  });
});
