/**
 * CSV encoding throughput: how many measured rows per second the raw-CSV encoder turns into
 * text (Python float repr per value, CRLF), for a CV plan with Cycle labels.
 *   npm run bench -- csv-encode [--rows 1000000] [--block 30] [--repeat 3] [--json FILE]
 * Inputs are fixed and deterministic (no randomness). Reports the best of --repeat runs for
 * R = 1 (every row) and R = 5 (sampling_interval 0.0018 s), plus the per-value formatter alone.
 */
import { parseArgs } from 'node:util';
import { buildPlan, countPlanPoints } from '../src/modes/plan.js';
import { CsvEncoder, formatPyFloat } from '../src/modes/csv.js';

interface Figure {
  rows: number;
  block: number;
  factor: number;
  seconds: number;
  rowsPerS: number;
  mbPerS: number;
  bytes: number;
}

function encodeOnce(plan: ReturnType<typeof buildPlan<'CV'>>, rows: number, block: number, samplingIntervalS: number | null,
  current: Float32Array, potential: Float32Array): Figure {
  const enc = new CsvEncoder(plan, { samplingIntervalS });
  let bytes = 0;
  const t0 = process.hrtime.bigint();
  for (let at = 0; at < rows; at += block) {
    const n = Math.min(block, rows - at);
    const off = at % (current.length - block);
    bytes += enc.encodeRows(at, current.subarray(off, off + n), potential.subarray(off, off + n), n).length;
  }
  bytes += enc.finish().length;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { rows, block, factor: enc.factor, seconds, rowsPerS: Math.round(rows / seconds), mbPerS: Number((bytes / seconds / 1e6).toFixed(1)), bytes };
}

export async function run(argv: string[]): Promise<object> {
  const { values } = parseArgs({
    args: argv,
    options: { rows: { type: 'string', default: '1000000' }, block: { type: 'string', default: '30' }, repeat: { type: 'string', default: '3' } },
  });
  const rows = Number(values.rows);
  const block = Number(values.block);
  const repeat = Number(values.repeat);
  // A CV long enough for `rows` points: 0 → 0.5 → −0.5 … at 0.05 V/s (111 110 points per full cycle).
  const params = { start: 0, vertex1: 0.5, vertex2: -0.5, end: 0, scan_rate: 0.05, cycles: Math.ceil(rows / 111110) + 1 };
  const t0 = process.hrtime.bigint();
  const plan = buildPlan('CV', params);
  const planMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (plan.n !== countPlanPoints('CV', params) || plan.n < rows) throw new Error('plan too short');

  // Measured-looking float32 data: a noisy-free but non-repeating current and potential.
  const pool = 65536;
  const current = new Float32Array(pool);
  const potential = new Float32Array(pool);
  for (let i = 0; i < pool; i++) {
    current[i] = 1e-6 * Math.sin(i * 0.001) + 3.7e-8 * (i % 97);
    potential[i] = 0.5 * Math.sin(i * 0.0003) + 1e-4 * (i % 13);
  }

  const best = (samplingIntervalS: number | null): Figure => {
    let top: Figure | null = null;
    for (let r = 0; r < repeat; r++) {
      const f = encodeOnce(plan, rows, block, samplingIntervalS, current, potential);
      if (top === null || f.seconds < top.seconds) top = f;
    }
    return top!;
  };

  const full = best(null);
  const downsampled = best(0.0018);

  // The formatter alone, on the same kind of values (time, potential, current).
  const values3 = rows * 3;
  const tf = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < rows; i++) {
    sink += formatPyFloat(i * 0.00036).length + formatPyFloat(potential[i % pool]!).length + formatPyFloat(current[i % pool]!).length;
  }
  const fs = Number(process.hrtime.bigint() - tf) / 1e9;

  return {
    planPoints: plan.n,
    planBuildMs: Number(planMs.toFixed(1)),
    encodeFullRate: full,
    encodeDownsampledR5: downsampled,
    formatPyFloat: { values: values3, seconds: fs, valuesPerS: Math.round(values3 / fs), checksum: sink },
  };
}
