/**
 * Streamed run ZIP of a large run through the worker pool: throughput and peak RSS growth of the
 * daemon process (main thread + pool thread; target < 64 MiB for a 1 GiB run).
 *
 *   npm run bench -- zip [--gib 1] [--files 16] [--kind csv|sparse] [--level 1] [--verify]
 *                        [--configs default,expose-gc,expose-gc+young4,daemon] [--dir /tmp] [--json FILE]
 *
 * `csv` writes generated CSV text in the DataLogger shape (compresses ~3×, like real runs);
 * `sparse` makes sparse all-zero files (instant to create, compress ~1000×). The run is created
 * once; every configuration is measured in a fresh child process so RSS baselines are clean:
 *
 * - `default`: the pool facade as configured today, node without flags;
 * - `expose-gc`: node `--expose-gc`, so the ZIP reader runs a minor GC every 8 MiB (zip-stream.ts);
 * - `expose-gc+young4`: additionally the pool thread's young generation capped at 4 MiB
 *   (piscina `resourceLimits.maxYoungGenerationSizeMb`, which the pool facade does not expose yet);
 * - `daemon`: the flags the daemon runs with (src/cli/node-flags.ts).
 *
 * RSS is sampled every 10 ms; growth is measured from a warm baseline (pool thread started and
 * archiver loaded by a first, empty ZIP) and from a cold one (before the pool existed).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Transferable } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { pino } from 'pino';
import { DAEMON_NODE_FLAGS } from '../src/cli/node-flags.js';
import { createWorkerPool, resolveTaskFile } from '../src/pool/worker-pool.js';
import { listRunFiles } from '../src/storage/run-files.js';
import { openZipStream, ZIP_TASK_FILE, type ZipTaskRunner } from '../src/storage/zip-stream.js';

const MIB = 1024 * 1024;
const SLOTS = Array.from({ length: 16 }, (_, i) => `slot${String(i + 1).padStart(2, '0')}`);

function makeCsvBlock(bytes: number): Buffer {
  const rows: string[] = ['Time (s),Potential (V),Current (A),Cycle,Step,Exp,Applied potential (V)\r\n'];
  let size = (rows[0] as string).length;
  for (let i = 0; size < bytes; i++) {
    const t = i * 0.00036;
    const row = `${t.toPrecision(12)},${Math.sin(t).toPrecision(17)},${(Math.cos(t * 1.7) * 1e-6).toExponential(15)},1,${i % 7},0,${(t % 1).toPrecision(16)}\r\n`;
    rows.push(row);
    size += row.length;
  }
  return Buffer.from(rows.join('')).subarray(0, bytes);
}

async function createRun(dir: string, totalBytes: number, files: number, kind: string): Promise<string> {
  const runDir = join(dir, 'Bench/ts');
  const perFile = Math.floor(totalBytes / files);
  const block = kind === 'csv' ? makeCsvBlock(4 * MIB) : null;
  for (let f = 0; f < files; f++) {
    const slot = SLOTS[f % SLOTS.length] as string;
    const modeDir = join(runDir, 'Wells', slot, `M${Math.floor(f / SLOTS.length)}`);
    await mkdir(modeDir, { recursive: true });
    const handle = await open(join(modeDir, `Bench_ts_${slot}_M.csv`), 'w');
    try {
      if (block === null) {
        await handle.truncate(perFile);
      } else {
        for (let written = 0; written < perFile; written += block.length) {
          await handle.write(block, 0, Math.min(block.length, perFile - written));
        }
      }
    } finally {
      await handle.close();
    }
  }
  return runDir;
}

interface ChildOptions {
  runDir: string;
  level: number;
  youngMb: number;
  verify: boolean;
}

/** One measurement, in this process (run as a child so each configuration starts clean). */
async function measure(o: ChildOptions): Promise<Record<string, unknown>> {
  const files = await listRunFiles(o.runDir, SLOTS);
  const rssCold = process.memoryUsage.rss();
  let runner: ZipTaskRunner;
  let destroy: () => Promise<void>;
  if (o.youngMb > 0) {
    const piscina = new Piscina({
      minThreads: 0,
      maxThreads: 2,
      idleTimeout: 30_000,
      atomics: 'disabled',
      workerData: { threadNice: 10 },
      resourceLimits: { maxYoungGenerationSizeMb: o.youngMb },
    });
    const filename = resolveTaskFile(ZIP_TASK_FILE, new URL('../workers/', import.meta.url));
    runner = {
      run: <R>(_taskFile: string, name: string, payload: unknown, options: { signal?: AbortSignal; transferList?: Transferable[] } = {}) =>
        piscina.run(payload, { filename, name, ...(options.signal ? { signal: options.signal } : {}), transferList: options.transferList as never }) as Promise<R>,
    };
    destroy = () => piscina.destroy();
  } else {
    const pool = createWorkerPool({ size: 2, idleTimeoutMs: 30_000, logger: pino({ level: 'silent' }) });
    runner = pool;
    destroy = () => pool.destroy();
  }
  try {
    const warm = await openZipStream(runner, o.runDir, []);
    await pipeline(warm, new Writable({ write: (_c, _e, cb) => cb() }));
    const rssWarm = process.memoryUsage.rss();
    // Loop delay of this process while idle: on a shared machine the timer noise floor.
    const idle = monitorEventLoopDelay({ resolution: 5 });
    idle.enable();
    await new Promise((r) => setTimeout(r, 1000));
    idle.disable();

    let peak = rssWarm;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
    }, 10);
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const zipPath = join(o.runDir, '..', 'out.zip');
    let outBytes = 0;
    const sink = o.verify
      ? createWriteStream(zipPath)
      : new Writable({
          highWaterMark: 64 * 1024,
          write(_chunk: Buffer, _enc, cb) {
            cb();
          },
        });
    const started = performance.now();
    const stream = await openZipStream(runner, o.runDir, files, { zlibLevel: o.level });
    const firstByteMs = performance.now() - started;
    stream.on('data', (c: Buffer) => (outBytes += c.length));
    await pipeline(stream, sink);
    const elapsedS = (performance.now() - started) / 1000;
    clearInterval(sampler);
    loop.disable();
    peak = Math.max(peak, process.memoryUsage.rss());
    const result = await stream.result;
    let verified: string | null = null;
    if (o.verify) {
      execFileSync('unzip', ['-tq', zipPath], { maxBuffer: 16 * MIB });
      verified = 'unzip -tq ok';
      await rm(zipPath, { force: true });
    }
    return {
      files: files.length,
      output_mib: Number((outBytes / MIB).toFixed(1)),
      elapsed_s: Number(elapsedS.toFixed(2)),
      first_byte_ms: Number(firstByteMs.toFixed(1)),
      output_mb_per_s: Number((outBytes / 1e6 / elapsedS).toFixed(1)),
      elapsed_s_raw: elapsedS,
      chunks: result.chunks,
      transferred_chunks: result.transferredChunks,
      max_in_flight_chunks: result.maxInFlightChunks,
      rss_cold_mib: Number((rssCold / MIB).toFixed(1)),
      rss_warm_mib: Number((rssWarm / MIB).toFixed(1)),
      rss_peak_mib: Number((peak / MIB).toFixed(1)),
      rss_growth_mib: Number(((peak - rssWarm) / MIB).toFixed(1)),
      rss_growth_vs_cold_mib: Number(((peak - rssCold) / MIB).toFixed(1)),
      main_loop_delay_p99_ms: Number((loop.percentile(99) / 1e6).toFixed(2)),
      main_loop_delay_max_ms: Number((loop.max / 1e6).toFixed(2)),
      idle_loop_delay_p99_ms: Number((idle.percentile(99) / 1e6).toFixed(2)),
      verified,
    };
  } finally {
    await destroy();
  }
}

const CONFIGS: Record<string, { execArgv: string[]; youngMb: number }> = {
  default: { execArgv: [], youngMb: 0 },
  'expose-gc': { execArgv: ['--expose-gc'], youngMb: 0 },
  'expose-gc+young4': { execArgv: ['--expose-gc'], youngMb: 4 },
  daemon: { execArgv: [...DAEMON_NODE_FLAGS], youngMb: 0 },
};

function runChild(config: string, o: ChildOptions): Promise<Record<string, unknown>> {
  const spec = CONFIGS[config];
  if (spec === undefined) throw new Error(`unknown config ${config}; known: ${Object.keys(CONFIGS).join(', ')}`);
  const args = [...spec.execArgv, fileURLToPath(import.meta.url), '--child', o.runDir, String(o.level), String(spec.youngMb), o.verify ? '1' : '0'];
  return new Promise((resolveChild, rejectChild) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.on('error', rejectChild);
    child.on('exit', (code) => {
      if (code !== 0) rejectChild(new Error(`zip bench child (${config}) exited with ${code}`));
      else resolveChild(JSON.parse(out) as Record<string, unknown>);
    });
  });
}

export async function run(argv: string[]): Promise<object> {
  const { values } = parseArgs({
    args: argv,
    options: {
      gib: { type: 'string', default: '1' },
      files: { type: 'string', default: '16' },
      kind: { type: 'string', default: 'csv' },
      level: { type: 'string', default: '1' },
      dir: { type: 'string', default: tmpdir() },
      verify: { type: 'boolean', default: false },
      configs: { type: 'string', default: 'default,expose-gc,expose-gc+young4' },
    },
  });
  const totalBytes = Math.round(Number(values.gib) * 1024 * MIB);
  const root = await mkdtemp(join(values.dir, 'beepbox-zipbench-'));
  try {
    const genStart = performance.now();
    const runDir = await createRun(root, totalBytes, Number(values.files), values.kind);
    const generateS = (performance.now() - genStart) / 1000;
    const results: Record<string, unknown> = {};
    for (const config of values.configs.split(',')) {
      const r = await runChild(config, { runDir, level: Number(values.level), youngMb: 0, verify: values.verify });
      const elapsed = r.elapsed_s_raw as number;
      delete r.elapsed_s_raw;
      results[config] = { ...r, input_mb_per_s: Number((totalBytes / 1e6 / elapsed).toFixed(1)) };
    }
    return {
      kind: values.kind,
      input_mib: Number((totalBytes / MIB).toFixed(1)),
      zlib_level: Number(values.level),
      generate_s: Number(generateS.toFixed(1)),
      target_rss_growth_mib: 64,
      configs: results,
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child' && import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [, , , runDir, level, youngMb, verify] = process.argv;
  measure({ runDir: runDir as string, level: Number(level), youngMb: Number(youngMb), verify: verify === '1' })
    .then((figures) => process.stdout.write(JSON.stringify(figures)))
    .catch((err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = 1;
    });
}
