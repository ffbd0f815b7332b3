import { randomBytes } from 'node:crypto';
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { threadId } from 'node:worker_threads';
import { buildPageSpecs, countSpecPoints, isPlotDataEmpty } from './build-page-spec.js';
import { ChromiumFailedError, ChromiumMissingError, PlotRenderError, type ChromiumSession } from './chromium-session.js';
import { createPlotDataCollector, type PlotData } from './collect-plot-data.js';
import { PlotDataError } from './errors.js';
import { readCsvColumns } from './read-csv-columns.js';
import type { RenderTaskPayload, RenderTaskResult } from './types.js';

/** Writes a file so readers never see a partial PNG: temp file in the same folder, then rename. */
export async function writeFileAtomic(filePath: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(filePath), { recursive: true });
  const tmp = `${filePath}.${process.pid}-${threadId}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, filePath);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Streams the CSV into the kind's envelope reducers. */
function readPlotData(payload: RenderTaskPayload): { data: PlotData } | Extract<RenderTaskResult, { ok: false }> {
  const collector = createPlotDataCollector(payload.kind, { maxCycles: payload.maxCycles });
  try {
    const summary = readCsvColumns(payload.csvPath, collector.columns, (block) => collector.onBlock(block));
    if (summary.header.length === 0) return { ok: false, code: 'NO_DATA', reason: `${basename(payload.csvPath)} is empty (no rows were measured)` };
    return { data: collector.finish(summary.rows) };
  } catch (err) {
    if (err instanceof PlotDataError) return { ok: false, code: 'BAD_CSV', reason: `${basename(payload.csvPath)}: ${err.message}` };
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, code: 'IO', reason: `CSV not found: ${payload.csvPath}` };
    return { ok: false, code: 'IO', reason: `cannot read ${payload.csvPath}: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/**
 * The body of the `renderPlot` pool task: take the data collected while the CSV was written
 * (or stream the CSV into envelope reducers), decimate per pixel column, draw each page spec
 * in the thread's Chromium, write the PNGs atomically.
 * Never throws for expected failures; returns `{ok:false, code, reason}` instead.
 */
export async function renderPlotFiles(payload: RenderTaskPayload, session: ChromiumSession): Promise<RenderTaskResult> {
  const t0 = performance.now();
  const read = payload.data ? { data: payload.data } : readPlotData(payload);
  if (!('data' in read)) return read;
  const { data } = read;
  if (isPlotDataEmpty(data)) return { ok: false, code: 'NO_DATA', reason: `${basename(payload.csvPath)} has no plottable rows` };
  const specs = buildPageSpecs(data, { title: payload.title, mode: payload.mode });
  const t1 = performance.now();

  if (specs.length !== payload.pngPaths.length) {
    return { ok: false, code: 'RENDER_FAILED', reason: `plot kind ${payload.kind} makes ${specs.length} PNG(s), got ${payload.pngPaths.length} path(s)` };
  }
  const files: string[] = [];
  let pointsDrawn = 0;
  try {
    for (let k = 0; k < specs.length; k++) {
      const spec = specs[k]!;
      const png = await session.renderPng(spec, payload.chromiumPath, payload.profileRoot, payload.launcher ?? undefined);
      await writeFileAtomic(payload.pngPaths[k]!, png);
      files.push(payload.pngPaths[k]!);
      pointsDrawn += countSpecPoints(spec);
    }
  } catch (err) {
    if (err instanceof ChromiumMissingError) return { ok: false, code: 'CHROMIUM_MISSING', reason: err.message };
    if (err instanceof ChromiumFailedError) return { ok: false, code: 'CHROMIUM_FAILED', reason: err.message };
    if (err instanceof PlotRenderError) return { ok: false, code: 'RENDER_FAILED', reason: err.message };
    return { ok: false, code: 'IO', reason: `cannot write PNG: ${err instanceof Error ? err.message : String(err)}` };
  }
  const t2 = performance.now();
  return {
    ok: true,
    files,
    stats: {
      rows: data.rows,
      pointsDrawn,
      parseMs: Math.round(t1 - t0),
      drawMs: Math.round(t2 - t1),
      totalMs: Math.round(t2 - t0),
      browserPid: session.pid,
      browserLaunches: session.launches,
    },
  };
}
