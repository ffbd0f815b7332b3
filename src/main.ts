/**
 * Composition root: config → logger → services → HTTP. The only module that knows every
 * part; it holds no logic of its own beyond wiring and the shutdown order.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { hostname, setPriority } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import type { DaemonConfig } from './config.js';
import { EventLoopMonitor } from './event-loop-monitor.js';
import { createApp } from './http/app.js';
import { createHttpServer } from './http/server.js';
import { HTTP_REDACT_PATHS } from './http/request-log.js';
import { JobEngine } from './jobs/engine.js';
import { countJobsByState } from './jobs/job-state-counts.js';
import { isJobRecord, type JobRecord } from './jobs/job-record.js';
import { recoverJobs } from './jobs/recovery.js';
import { RUN_METADATA_SCHEMA, type JobProvenance } from './jobs/run-metadata.js';
import { metadataSubscriber } from './jobs/subscribers/metadata-subscriber.js';
import { metricsSubscriber } from './jobs/subscribers/metrics-subscriber.js';
import { plotSubscriber } from './jobs/subscribers/plot-subscriber.js';
import { recordingSubscriber } from './jobs/subscribers/recording-subscriber.js';
import { liveSubscriber } from './jobs/subscribers/live-subscriber.js';
import { LiveHub } from './jobs/live/live-hub.js';
import { buildJobStatus } from './jobs/status-views.js';
import type { AppServices } from './services/api.js';
import { createDeviceService, listDevices } from './services/device-service.js';
import { createJobService } from './services/job-service.js';
import { createModeService } from './services/mode-service.js';
import { createNasApi } from './services/nas-api.js';
import { createRunService } from './services/run-service.js';
import { createLiveService } from './services/live-service.js';
import { BoxMetrics } from './metrics/index.js';
import { NasService } from './nas/index.js';
import { createPlotService } from './plots/index.js';
import { DAEMON_NODE_FLAGS } from './cli/node-flags.js';
import { createWorkerPool } from './pool/worker-pool.js';
import { RecorderThread } from './recording/recorder.js';
import { SlotRegistry } from './slots/slot-registry.js';
import { JobStore } from './storage/job-store.js';
import { RunIndex } from './storage/run-index.js';
import { RunMetadataFiles } from './storage/run-metadata-file.js';

export const API_VERSION = '1.0';
export const DRIVER_VERSION = '0.1.0';

export function createLogger(level: string): Logger {
  return pino({ level, redact: { paths: [...HTTP_REDACT_PATHS], censor: '[redacted]' } });
}

/** Starts `beepbox sim` in a child process and returns its pty paths. */
async function startSimulatorProcess(count: number, dir: string, logger: Logger): Promise<{ child: ChildProcess; ports: string[] }> {
  const cli = fileURLToPath(new URL('./cli/main.js', import.meta.url));
  // stdin is a pipe held by this process and never written: when the daemon dies, even by SIGKILL,
  // the simulator sees EOF and removes its ptys (--watch-parent); its socats die with it.
  const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, cli, 'sim', '--watch-parent', '--slots', String(count), '--dir', dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin!.on('error', () => undefined);
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    try {
      const parsed = JSON.parse(line) as { ports?: string[] };
      if (parsed.ports) {
        logger.info({ ports: parsed.ports }, 'virtual potentiostats started');
        return { child, ports: parsed.ports };
      }
    } catch {
      // not a JSON line
    }
  }
  throw new Error('the simulator exited before reporting its ports');
}

export interface Daemon {
  server: Server;
  /** Graceful stop: measurements stopped, devices switched off, files flushed, runs marked. */
  close(): Promise<void>;
}

/**
 * CPU priorities (Linux nice, per thread): the supervisor's loop (API, sample forwarding: little
 * work, latency-bound) first, then the slot workers (device I/O with a ~0.7 s FIFO deadline),
 * then bulk work (recorder +5, plot/ZIP pool +10). Raising needs privileges; otherwise all
 * threads simply stay at the default.
 */
const SUPERVISOR_NICE = -10;

export async function startDaemon(config: DaemonConfig, logger: Logger): Promise<Daemon> {
  await mkdir(config.runsRoot, { recursive: true });
  const cleanups: Array<() => Promise<void>> = [];
  let sim: ChildProcess | null = null;
  let ports = config.beepPorts;
  if (config.simulate > 0) {
    // Started before the priority change: virtual devices stand in for hardware, not for the daemon.
    const started = await startSimulatorProcess(config.simulate, join(config.runsRoot, '.sim'), logger);
    sim = started.child;
    ports = [ports, ...started.ports].filter(Boolean).join(',');
  }
  try {
    setPriority(SUPERVISOR_NICE);
  } catch {
    logger.debug('running at default CPU priority (no privilege to raise it)');
  }
  // Slot names are kept per device across rescans and restarts (RUNS_ROOT/.slots.json).
  const registry = new SlotRegistry({ configuredPorts: ports, logger: logger.child({ component: 'slots' }), identityFile: join(config.runsRoot, '.slots.json') });
  await registry.rescan();
  const recorder = new RecorderThread();
  const pool = createWorkerPool({ size: config.plotPoolSize, idleTimeoutMs: 60_000, logger: logger.child({ component: 'pool' }) });
  const plots = createPlotService({ pool, logger: logger.child({ component: 'plots' }), chromiumPath: config.chromiumPath });
  const runIndex = await RunIndex.load(config.runsRoot, { logger });
  const jobStore = new JobStore<JobRecord>(config.runsRoot, { logger, isRecord: isJobRecord });
  await jobStore.init();

  const software = { beepbox: DRIVER_VERSION, build: config.build, api: API_VERSION, runtime: `node ${process.version}`, platform: `${process.platform} ${process.arch}` };
  const runMetadata = new RunMetadataFiles<JobProvenance>(() => ({
    schema: RUN_METADATA_SCHEMA, box_id: config.boxId || hostname(), software, updated_at: new Date().toISOString(),
  }));

  let nas: NasService | null = null;
  const loop = new EventLoopMonitor(Number(process.env.BEEPBOX_LOOP_WINDOW_S ?? 10));
  // Sources are read at scrape time, once the engine and the NAS service exist.
  const metrics = new BoxMetrics({
    identity: { boxId: config.boxId || hostname(), version: DRIVER_VERSION, build: config.build },
    state: { jobsByState: () => countJobsByState(engine), busySlots: () => engine.busySlots.length, uploads: () => nas?.uploadStats() ?? null, jobRecordsInMemory: () => engine.memory.records },
    loopDelay: { window: () => loop.read(), totals: () => loop.totals() },
    slots: registry.list().map((e) => e.slot),
  });
  // Live SSE streams (GET /runs/{run_id}/stream): an optional consumer of every slot's stream.
  const live = new LiveHub({ status: (runId) => { const job = engine.job(runId); return job ? buildJobStatus(job) : null; } });
  const engine: JobEngine = new JobEngine({
    slots: registry,
    jobStore,
    runIndex,
    subscribers: [recordingSubscriber(recorder), plotSubscriber(plots), metadataSubscriber(runMetadata), liveSubscriber(live), metricsSubscriber(metrics.slots)],
    logger: logger.child({ component: 'jobs' }),
    versions: { beepbox: DRIVER_VERSION, node: process.version, api: API_VERSION },
    galPollIntervalMs: config.galPollIntervalMs,
    recordsInMemory: config.jobsInMemory,
    onJobDone: (runId, runDir) => {
      nas?.notifyRunDirsChanged();
      if (nas?.configured) nas.enqueueUpload(runId, runDir);
    },
  });
  // A rescan never touches the worker of a slot the engine holds.
  registry.useReservations((slot) => engine.reservationOf(slot) !== undefined);
  await recoverJobs(engine, { runsRoot: config.runsRoot, jobStore, logger, runMetadata });

  if (process.platform !== 'win32') {
    nas = new NasService({
      logger,
      runsRoot: config.runsRoot,
      configPath: config.nasConfigPath,
      credentialsPath: config.nasCredentialsPath,
      mountRoot: config.nasMountRoot,
      isRunDirBusy: (dir) => engine.isRunDirBusy(dir),
      onRunDirDeleted: async (dir) => {
        const ids = await engine.forgetRunDir(dir);
        await runIndex.remove(ids);
      },
    });
    await nas.start();
  }

  const services: AppServices = {
    devices: createDeviceService(registry, engine),
    modes: createModeService(() => registry.list().length > 0),
    jobs: createJobService({ engine, runsRoot: config.runsRoot, devices: () => listDevices(registry), minFreeBytes: config.minFreeMb === null ? null : config.minFreeMb * 1_000_000 }),
    runs: createRunService(engine, runIndex, pool),
    live: createLiveService(live),
    nas: nas ? createNasApi(nas, engine, runIndex) : null,
    health: { details: () => ({ plotting: plots.status(), event_loop_delay: loop.read(), slots_busy: engine.busySlots.length }) },
    metrics,
    config: { apiKey: config.apiKey, boxId: config.boxId, build: config.build, driverVersion: DRIVER_VERSION, firmwareVersion: 'unknown' },
  };
  const app = createApp({ services, logger, guard: { allowedHosts: config.allowedHosts, listenHost: config.host } });
  const server = createHttpServer(app, { logger, limits: config.httpLimits });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  // Always emitted (warn level too) so supervisors and benches learn the bound port.
  logger[logger.isLevelEnabled('info') ? 'info' : 'warn']({ address, slots: registry.list().length, runsRoot: config.runsRoot }, 'beepbox listening');

  cleanups.push(
    async () => live.close(),
    async () => void (await new Promise((r) => server.close(() => r(undefined)))),
    () => engine.shutdown(),
    async () => void (await nas?.close()),
    () => registry.close(),
    () => recorder.terminate(),
    () => pool.destroy(),
    () => plots.close(),
    async () => loop.stop(),
    async () => {
      if (sim && sim.exitCode === null) {
        sim.kill('SIGTERM');
        await new Promise((r) => sim!.once('exit', r));
      }
    },
  );
  let closing: Promise<void> | null = null;
  return {
    server,
    close() {
      closing ??= (async () => {
        server.closeAllConnections?.();
        for (const step of cleanups) {
          try {
            await step();
          } catch (err) {
            logger.warn({ err }, 'shutdown step failed');
          }
        }
        logger.info('beepbox stopped');
      })();
      return closing;
    },
  };
}
