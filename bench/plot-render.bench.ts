/**
 * Plot rendering through the pool: median render time for CV runs of 10 k, 1 M and 10 M points,
 * both as the daemon does it (plot data fed while the CSV is written, then drawn) and from the
 * CSV file; and the supervisor's event-loop delay (p99) while 8 plots render at once.
 *   npm run bench -- plot-render [--sizes 10000,1000000,10000000] [--repeat 3] [--concurrent 8]
 *                                [--concurrent-size 1000000] [--pool 2] [--nice 10] [--kinds cv-cycles,time-series] [--keep DIR]
 * The CSVs are generated once into a temp dir in the DataLogger format (CRLF, Python float text,
 * the six CV columns), using the project's own float formatter. Every render after the warm-up
 * reuses the pool threads' Chromium, so figures exclude browser launch (reported separately).
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { formatPyFloat } from '../src/modes/csv.js';
import type { PlotData } from '../src/plots/collect-plot-data.js';
import { PlotDataFeed } from '../src/plots/plot-data-feed.js';
import { createPlotService } from '../src/plots/plot-service.js';
import type { PlotKind, PlotResult } from '../src/plots/types.js';
import { createWorkerPool } from '../src/pool/worker-pool.js';
import { median } from './stats.js';

const DT = 0.00036;

/** A 3-cycle CV of `rows` points: triangle sweep ±0.5 V, duck-shaped current with noise. */
function forEachCvRow(rows: number, fn: (i: number, potential: number, current: number, cycle: number, applied: number) => void): void {
  const perCycle = Math.ceil(rows / 3);
  let seed = 1;
  const noise = () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32 - 0.5;
  };
  for (let i = 0; i < rows; i++) {
    const cycle = Math.floor(i / perCycle) + 1;
    const u = (i % perCycle) / perCycle; // 0..1 within the cycle
    // 0 → 0.5 → −0.5 → 0
    const e = Math.fround(u < 0.25 ? 2 * u : u < 0.75 ? 1 - 2 * u : 2 * u - 2);
    const up = u < 0.25 || u >= 0.75;
    const x = up ? e - 0.1 : 0.06 - e;
    const peak = (1 / (1 + Math.exp(-x / 0.026)) / Math.sqrt(1 + Math.max(0, x) / 0.05)) * 1.6;
    const fade = 1 - 0.12 * (cycle - 1);
    const current = Math.fround(fade * (up ? 8e-5 : -7e-5) * peak + (up ? 1.2e-5 : -1.2e-5) + 4e-7 * noise());
    const potential = Math.fround(e + 2e-4 * noise());
    fn(i, potential, current, cycle, e);
  }
}

function writeCvCsv(path: string, rows: number): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, 'Time (s),Potential (V),Current (A),Cycle,Exp,Applied potential (V)\r\n');
    const lines: string[] = [];
    forEachCvRow(rows, (i, potential, current, cycle, e) => {
      lines.push(`${formatPyFloat(i * DT)},${formatPyFloat(potential)},${formatPyFloat(current)},${formatPyFloat(cycle)},1.0,${formatPyFloat(e)}`);
      if (lines.length === 20_000) {
        writeSync(fd, lines.join('\r\n') + '\r\n');
        lines.length = 0;
      }
    });
    if (lines.length > 0) writeSync(fd, lines.join('\r\n'));
  } finally {
    closeSync(fd);
  }
}

/** What the daemon's recorder does alongside the CSV: the plot's data, fed line by line. */
function feedCv(kind: PlotKind, rows: number): { data: PlotData; feedMs: number } {
  const cycles = new Int32Array(rows);
  forEachCvRow(rows, (i, _p, _c, cycle) => (cycles[i] = cycle));
  const potentials = new Float32Array(rows);
  const currents = new Float32Array(rows);
  forEachCvRow(rows, (i, potential, current) => {
    potentials[i] = potential;
    currents[i] = current;
  });
  const t0 = performance.now();
  const feed = new PlotDataFeed(kind, null, cycles);
  for (let i = 0; i < rows; i++) feed.addLine(i, i * DT, potentials[i]!, currents[i]!);
  const data = feed.finish();
  return { data, feedMs: performance.now() - t0 };
}

/** Reading the file with the renderer's buffer size and nothing else: the floor for a render. */
function timeReadOnly(path: string): number {
  const buf = new Uint8Array(4 * 1024 * 1024);
  const t0 = performance.now();
  const fd = openSync(path, 'r');
  let lines = 0;
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      // count lines so the read is not optimised into nothing
      let at = buf.indexOf(10);
      while (at >= 0 && at < n) {
        lines++;
        at = buf.indexOf(10, at + 1);
      }
    }
  } finally {
    closeSync(fd);
  }
  if (lines < 0) throw new Error('unreachable');
  return performance.now() - t0;
}


function expectOk(r: PlotResult): Extract<PlotResult, { ok: true }> {
  if (!r.ok) throw new Error(r.reason);
  return r;
}

export async function run(argv: string[]): Promise<object> {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: 'string', default: '10000,1000000,10000000' },
      repeat: { type: 'string', default: '3' },
      concurrent: { type: 'string', default: '8' },
      'concurrent-size': { type: 'string', default: '1000000' },
      pool: { type: 'string', default: '2' },
      nice: { type: 'string', default: '10' },
      kinds: { type: 'string', default: 'cv-cycles,time-series' },
      keep: { type: 'string' },
    },
  });
  const sizes = values.sizes.split(',').map(Number);
  const repeat = Math.max(1, Number(values.repeat));
  const concurrent = Number(values.concurrent);
  const concurrentSize = Number(values['concurrent-size']);
  const kinds = values.kinds.split(',') as PlotKind[];
  const dir = await mkdtemp(join(tmpdir(), 'beepbox-plot-bench-'));
  const logger = pino({ level: 'warn' }, new Writable({ write: (_c, _e, cb) => cb() }));
  const pool = createWorkerPool({ size: Number(values.pool), idleTimeoutMs: 60_000, logger, threadNice: Number(values.nice) });
  const plots = createPlotService({ pool, logger, profileRoot: join(dir, 'profiles') });
  try {
    const files = new Map<number, { path: string; bytes: number; genS: number }>();
    for (const n of new Set([...sizes, concurrentSize])) {
      const path = join(dir, `cv_${n}.csv`);
      const t0 = performance.now();
      writeCvCsv(path, n);
      files.set(n, { path, bytes: (await stat(path)).size, genS: (performance.now() - t0) / 1000 });
    }

    // Warm-up: one render per pool thread launches its Chromium.
    const warm = await Promise.all(
      Array.from({ length: Number(values.pool) }, (_, k) =>
        plots.renderPlot({ csvPath: files.get(sizes[0]!)!.path, pngPath: join(dir, `warm${k}.png`), kind: 'cv-cycles', title: 'warm-up' }),
      ),
    );
    const launchMs = warm.map((r) => expectOk(r).stats?.totalMs ?? NaN);

    const renders: Record<string, unknown>[] = [];
    for (const kind of kinds) {
      for (const n of sizes) {
        const f = files.get(n)!;
        const readMs = median(Array.from({ length: repeat }, () => timeReadOnly(f.path)));
        const totals: number[] = [];
        const parses: number[] = [];
        const draws: number[] = [];
        let points = 0;
        for (let r = 0; r < repeat; r++) {
          const png = join(dir, `${kind}_${n}_${r}.png`);
          const t0 = performance.now();
          const res = expectOk(await plots.renderPlot({ csvPath: f.path, pngPath: png, kind, title: `bench · slot01 · ${n} points`, mode: 'CV' }));
          totals.push(performance.now() - t0);
          parses.push(res.stats!.parseMs);
          draws.push(res.stats!.drawMs);
          points = res.stats!.pointsDrawn;
          if (values.keep && r === 0) {
            await mkdir(values.keep, { recursive: true });
            await copyFile(png, join(values.keep, `${kind}_${n}.png`));
          }
        }
        // As the daemon does it: data fed while the CSV was written, the CSV never read back.
        const fed = feedCv(kind, n);
        const fedTotals: number[] = [];
        for (let r = 0; r < repeat; r++) {
          const t0 = performance.now();
          expectOk(await plots.renderPlot({ csvPath: f.path, pngPath: join(dir, `${kind}_${n}_fed${r}.png`), kind, title: `bench · slot01 · ${n} points`, mode: 'CV', data: fed.data }));
          fedTotals.push(performance.now() - t0);
        }
        renders.push({
          kind,
          points: n,
          fedRenderMs: Math.round(median(fedTotals)),
          feedMs: Math.round(fed.feedMs),
          csvMB: Number((f.bytes / 1e6).toFixed(1)),
          medianMs: Math.round(median(totals)),
          parseMs: Math.round(median(parses)),
          drawMs: Math.round(median(draws)),
          readOnlyMs: Math.round(readMs),
          pointsDrawn: points,
          runsMs: totals.map(Math.round),
        });
      }
    }

    // Event-loop delay of this (supervisor) thread: idle baseline, then 8 renders at once.
    // The histogram records the whole timer interval, so the delay is the value minus the
    // 1 ms resolution.
    const RES_MS = 1;
    const delayMs = (ns: number) => Number(Math.max(0, ns / 1e6 - RES_MS).toFixed(2));
    const idle = monitorEventLoopDelay({ resolution: RES_MS });
    idle.enable();
    await new Promise((r) => setTimeout(r, 2000));
    idle.disable();
    const busy = monitorEventLoopDelay({ resolution: RES_MS });
    const f = files.get(concurrentSize)!;
    busy.enable();
    const t0 = performance.now();
    const all = await Promise.all(
      Array.from({ length: concurrent }, (_, k) =>
        plots.renderPlot({ csvPath: f.path, pngPath: join(dir, `conc_${k}.png`), kind: k % 2 ? 'time-series' : 'cv-cycles', title: `bench · slot${k}` }),
      ),
    );
    const wallMs = performance.now() - t0;
    busy.disable();
    all.forEach(expectOk);
    const eventLoop = {
      concurrent,
      pointsEach: concurrentSize,
      wallMs: Math.round(wallMs),
      resolutionMs: RES_MS,
      p50Ms: delayMs(busy.percentile(50)),
      p99Ms: delayMs(busy.percentile(99)),
      maxMs: delayMs(busy.max),
      idleP99Ms: delayMs(idle.percentile(99)),
    };

    const out: string[] = [];
    out.push('| kind | points | CSV MB | render from fed data ms (daemon) | feeding while recording ms | render from CSV ms | parse ms | draw ms | read-only ms | points drawn |');
    out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of renders) out.push(`| ${r.kind} | ${r.points} | ${r.csvMB} | ${r.fedRenderMs} | ${r.feedMs} | ${r.medianMs} | ${r.parseMs} | ${r.drawMs} | ${r.readOnlyMs} | ${r.pointsDrawn} |`);
    out.push('');
    out.push(`First render per thread (Chromium launch included): ${launchMs.join(', ')} ms`);
    out.push('');
    out.push('| concurrent renders | points each | wall ms | event-loop delay p50 ms | p99 ms | max ms | idle p99 ms |');
    out.push('|---:|---:|---:|---:|---:|---:|---:|');
    out.push(`| ${eventLoop.concurrent} | ${eventLoop.pointsEach} | ${eventLoop.wallMs} | ${eventLoop.p50Ms} | ${eventLoop.p99Ms} | ${eventLoop.maxMs} | ${eventLoop.idleP99Ms} |`);
    process.stdout.write(out.join('\n') + '\n\n');

    return {
      pool: Number(values.pool),
      threadNice: Number(values.nice),
      repeat,
      launchMs,
      generated: [...files.entries()].map(([n, v]) => ({ points: n, csvMB: Number((v.bytes / 1e6).toFixed(1)), genS: Number(v.genS.toFixed(1)) })),
      renders,
      eventLoop,
    };
  } finally {
    await pool.destroy();
    await plots.close();
    await rm(dir, { recursive: true, force: true });
  }
}
