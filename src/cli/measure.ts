/**
 * `beepbox measure (--port PATH | --simulate) --mode MODE --params JSON [--tia-gain G]
 *  [--sampling-interval S] --out FILE.csv`: one measurement through a slot worker, CSV as
 * modes.md specifies, then one JSON summary line on stdout.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { DaemonError, ValidationError } from '../errors.js';
import type { IntegrityCounters } from '../driver/measurement.js';
import { countPlanPoints } from '../modes/plan.js';
import { parseModeRequest } from '../modes/validate.js';
import { RecorderThread } from '../recording/recorder.js';
import { SlotWorker } from '../slots/slot-worker.js';
import { startSimulators } from '../sim/run-sim.js';
import { createProgressReporter } from './progress.js';
import { UsageError, parseCommandArgs } from './usage.js';


function parseNumberOption(field: string, text: string | undefined): number | null {
  if (text === undefined || text === 'null') return null;
  const v = Number(text);
  if (!Number.isFinite(v)) throw new ValidationError(field, `must be a number, got '${text}'`);
  return v;
}

export async function runMeasureCommand(argv: string[]): Promise<number> {
  const values = parseCommandArgs('measure', argv, {
    port: { type: 'string' },
    simulate: { type: 'boolean', default: false },
    mode: { type: 'string' },
    params: { type: 'string' },
    'tia-gain': { type: 'string' },
    'sampling-interval': { type: 'string' },
    out: { type: 'string' },
    'gal-poll-ms': { type: 'string' },
    force: { type: 'boolean', default: false },
    'no-progress': { type: 'boolean', default: false },
  });
  const { mode, params: paramsText, out: outPath } = values;
  if (mode === undefined || paramsText === undefined || outPath === undefined || (values.port === undefined && !values.simulate)) {
    const missing = [values.port === undefined && !values.simulate ? '--port PATH or --simulate' : '', mode === undefined ? '--mode' : '', paramsText === undefined ? '--params' : '', outPath === undefined ? '--out' : ''];
    throw new UsageError(`missing ${missing.filter((m) => m !== '').join(', ')}`, 'measure');
  }
  let rawParams: unknown;
  try {
    rawParams = JSON.parse(paramsText);
  } catch {
    throw new ValidationError('params', 'is not valid JSON');
  }
  const tiaGain = parseNumberOption('tia_gain', values['tia-gain']) ?? 0;
  if (!Number.isInteger(tiaGain) || tiaGain < 0 || tiaGain > 4) throw new ValidationError('tia_gain', 'must be an integer 0..4');
  const samplingIntervalS = parseNumberOption('sampling_interval', values['sampling-interval']);
  const request = parseModeRequest(mode, rawParams);
  const params = request.params;
  if (existsSync(outPath)) {
    if (!values.force) throw new ValidationError('out', `${outPath} exists; pass --force to overwrite it`);
    await rm(outPath);
  }
  const base = outPath.replace(/\.csv$/i, '');

  const sims = values.simulate ? await startSimulators({ count: 1 }) : null;
  const portPath = values.port ?? sims!.ports[0]!;
  const worker = SlotWorker.spawn(portPath);
  const recorder = new RecorderThread();
  const stop = () => void worker.abort().catch(() => undefined);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const recording = await recorder.open({
      csvPath: outPath,
      mode: request.mode,
      params,
      samplingIntervalS,
      spectrumPath: request.mode === 'EIS' ? `${base}_spectrum.csv` : undefined,
      cdlPath: request.mode === 'CDL' ? `${base}_cdl.csv` : undefined,
    });
    const galPollMs = parseNumberOption('gal_poll_ms', values['gal-poll-ms']) ?? undefined;
    let rows = 0;
    const progress = createProgressReporter(request.mode, countPlanPoints(request.mode, params), { enabled: !values['no-progress'] });
    const outcome = await worker.measure(
      { mode: request.mode, params, tiaGain: Math.min(tiaGain, 3), galPollIntervalMs: galPollMs },
      {
        onBlock: (b) => {
          recording.write(b.firstIndex, b.current, b.potential, b.count);
          rows += b.count;
          progress.update(rows);
        },
        onEvent: (e) => progress.note(`warning: ${e.message}`),
      },
    ).finally(async () => {
      progress.finish();
      const written = await recording.close();
      for (const w of written.warnings) process.stderr.write(`warning: ${w}\n`);
    });
    const s = outcome.summary;
    const lost = s.lost + outcome.integrity.missingMessages;
    // expected_points: rows the run should have delivered (polls made for polled modes, the plan up
    // to a cut-off); nominal_points: the plan's N.
    const summary: IntegrityCounters & Record<string, unknown> = {
      points: outcome.integrity.rows,
      expected_points: s.expected_points,
      nominal_points: s.nominal_points,
      lost,
      duplicated: s.duplicated + outcome.integrity.duplicatedRows,
      dac_underruns: s.dac_underruns,
      adc_overflows: s.adc_overflows,
      overloads: s.overloads,
      overloads_current: s.overloads_current,
      overloads_potential: s.overloads_potential,
      first_overload_index: s.first_overload_index,
      duration_s: Number(s.duration_s.toFixed(3)),
      aborted: s.aborted,
      stop_reason: s.stop_reason,
      stop_detail: s.stop_detail,
      charge_c: s.charge_c === null ? null : Number(s.charge_c.toPrecision(6)),
      cutoff_steps: s.cutoff_steps,
      measured_interval_us: s.measured_interval_us === null ? null : Number(s.measured_interval_us.toFixed(1)),
      poll_rate_hz: s.poll_rate_hz === null ? null : Number(s.poll_rate_hz.toFixed(1)),
      transactions: s.transactions,
      busy_replies: s.busy_replies,
      busy_by_phase: s.busy_by_phase ?? null,
      timeouts: s.timeouts,
    };
    process.stdout.write(JSON.stringify(summary) + '\n');
    return s.aborted ? 130 : 0;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await worker.close();
    await recorder.terminate();
    await sims?.close();
  }
}

export function describeCliError(err: unknown): string {
  if (err instanceof DaemonError) return `error [${err.code}]: ${err.message}`;
  return `error: ${err instanceof Error ? err.message : String(err)}`;
}
