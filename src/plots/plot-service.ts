import { accessSync, constants as fsConstants } from 'node:fs';
import { access, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ValidationError } from '../errors.js';
import type { WorkerPool } from '../pool/worker-pool.js';
import { createChromiumHost } from './chromium-host.js';
import { killBrowsersUnder } from './chromium-session.js';
import { deriveBodePngPath, deriveCdlPngPath, resolveSpectrumCsvPath } from './plot-kind.js';
import { PLOT_KINDS, type PlotRequest, type PlotResult, type PlotStatus, type RenderTaskPayload, type RenderTaskResult } from './types.js';

export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

export interface PlotServiceOptions {
  pool: WorkerPool;
  logger: Logger;
  /** Default: `CHROMIUM_PATH` from the environment, else /usr/bin/chromium. */
  chromiumPath?: string;
  /** Whole-render limit, queue time included (default 5 min). */
  timeoutMs?: number;
  /** Parent folder of the per-browser temporary profiles (default: a fresh folder in the OS temp dir). */
  profileRoot?: string;
}

export interface PlotService {
  /** Renders the PNG(s) for one CSV. Never throws: failures come back as `{ok:false, reason}`. */
  renderPlot(request: PlotRequest): Promise<PlotResult>;
  /** For /health: false with a reason once Chromium turned out missing or broken; true again after a successful render. */
  status(): PlotStatus;
  /** Stops accepting renders and removes the profile folder. Call after the pool is destroyed. */
  close(): Promise<void>;
}

const SKIPPED = 'plot skipped: ';

export function createPlotService(options: PlotServiceOptions): PlotService {
  const { pool, logger } = options;
  if (!pool || typeof pool.run !== 'function') throw new ValidationError('pool', 'a WorkerPool is required');
  const chromiumPath = options.chromiumPath ?? (process.env.CHROMIUM_PATH || DEFAULT_CHROMIUM_PATH);
  const timeoutMs = options.timeoutMs ?? 5 * 60_000;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new ValidationError('timeoutMs', 'must be a positive number');
  const profileRoot = options.profileRoot ?? join(tmpdir(), `beepbox-chromium-${process.pid}-${Date.now().toString(36)}`);
  const log = logger.child({ component: 'plots' });
  // Browsers are started and reaped here, in the thread that owns the service, not in the pool
  // threads that drive them (a child whose spawning thread ended is never reaped).
  const host = createChromiumHost();

  let state: PlotStatus = isExecutable(chromiumPath) ? { available: true, reason: null } : { available: false, reason: `Chromium not found at ${chromiumPath}` };
  if (!state.available) log.warn({ chromiumPath }, 'Chromium not found; plots will be skipped');
  let closed = false;

  function markUnavailable(reason: string): void {
    if (state.available || state.reason !== reason) log.warn({ reason }, 'plotting unavailable');
    state = { available: false, reason };
  }

  async function renderPlot(request: PlotRequest): Promise<PlotResult> {
    if (closed) return { ok: false, reason: `${SKIPPED}plot service is closed` };
    if (!request || !PLOT_KINDS.includes(request.kind)) return { ok: false, reason: `${SKIPPED}unknown plot kind ${JSON.stringify(request?.kind)}` };
    if (typeof request.csvPath !== 'string' || typeof request.pngPath !== 'string') {
      return { ok: false, reason: `${SKIPPED}csvPath and pngPath are required` };
    }
    try {
      await access(chromiumPath, fsConstants.X_OK);
    } catch {
      const reason = `Chromium not found at ${chromiumPath}`;
      markUnavailable(reason);
      return { ok: false, reason: SKIPPED + reason };
    }
    const isEis = request.kind === 'eis';
    const payload: RenderTaskPayload = {
      csvPath: isEis ? resolveSpectrumCsvPath(request.csvPath) : request.csvPath,
      kind: request.kind,
      title: request.title ?? '',
      mode: request.mode ?? null,
      pngPaths: isEis
        ? [request.pngPath, request.bodePngPath ?? deriveBodePngPath(request.pngPath)]
        : request.kind === 'cdl'
          ? [request.pngPath, request.cdlPngPath ?? deriveCdlPngPath(request.pngPath)]
          : [request.pngPath],
      maxCycles: request.maxCycles ?? null,
      data: request.data ?? null,
      chromiumPath,
      profileRoot,
    };
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
    let result: RenderTaskResult;
    const launcher = host.openLauncher();
    payload.launcher = launcher.port;
    try {
      result = await pool.run<RenderTaskResult>('render.task', 'renderPlot', payload, { signal, transferList: [launcher.port] });
    } catch (err) {
      if (request.signal?.aborted) return { ok: false, reason: `${SKIPPED}render cancelled` };
      if (timeout.aborted) {
        log.warn({ csvPath: request.csvPath, timeoutMs }, 'plot render timed out');
        return { ok: false, reason: `${SKIPPED}render timed out after ${Math.round(timeoutMs / 1000)} s` };
      }
      log.error({ err, csvPath: request.csvPath }, 'plot render worker failed');
      return { ok: false, reason: `${SKIPPED}render worker failed: ${err instanceof Error ? err.message : String(err)}` };
    } finally {
      launcher.release();
    }
    if (!result.ok) {
      if (result.code === 'CHROMIUM_MISSING' || result.code === 'CHROMIUM_FAILED') markUnavailable(result.reason);
      else log.warn({ code: result.code, reason: result.reason, csvPath: request.csvPath }, 'plot skipped');
      return { ok: false, reason: SKIPPED + result.reason };
    }
    if (!state.available) log.info('plotting available again');
    state = { available: true, reason: null };
    log.debug({ files: result.files, ...result.stats }, 'plot rendered');
    return { ok: true, files: result.files, stats: result.stats };
  }

  return {
    renderPlot,
    status: () => ({ ...state }),
    async close() {
      closed = true;
      // The pool is destroyed first, which closed the browsers' pipes; kill what still runs and
      // wait until it was reaped, or it writes into the profile root after the rm.
      await host.close();
      await killBrowsersUnder(profileRoot);
      await rm(profileRoot, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 }).catch(() => undefined);
    },
  };
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}
