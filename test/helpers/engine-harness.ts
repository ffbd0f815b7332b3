/**
 * A job engine wired as the daemon wires it (real slot worker threads on real ptys answered by
 * the in-process simulator, the recorder thread, the job store and run index on a temp folder),
 * without HTTP, so tests can reach into the slot event pipeline: extra subscribers, a
 * controllable device acquisition, direct access to the engine's state.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { admitJob } from '../../src/jobs/admission.js';
import { JobEngine, type JobRuntime, type SlotAccess } from '../../src/jobs/engine.js';
import { isJobRecord, type JobRecord } from '../../src/jobs/job-record.js';
import type { SubscriberFactory } from '../../src/jobs/slot-events.js';
import { recordingSubscriber } from '../../src/jobs/subscribers/recording-subscriber.js';
import type { JobRequestBody } from '../../src/jobs/types.js';
import { RecorderThread } from '../../src/recording/recorder.js';
import { startSimulators, type SimulatorSet } from '../../src/sim/run-sim.js';
import { SlotRegistry } from '../../src/slots/slot-registry.js';
import { JobStore } from '../../src/storage/job-store.js';
import { RunIndex } from '../../src/storage/run-index.js';
import { listDevices } from '../../src/services/device-service.js';

export interface EngineHarness {
  engine: JobEngine;
  registry: SlotRegistry;
  /** The in-process simulators (null with `simulatorProcess`). */
  sims: SimulatorSet | null;
  ports: string[];
  runsRoot: string;
  /** Admits a job request and starts it. */
  submit(body: Partial<JobRequestBody> & Pick<JobRequestBody, 'modes' | 'params_by_mode'>): Promise<JobRuntime>;
  close(): Promise<void>;
}

export interface EngineHarnessOptions {
  slots: number;
  /** Consumers added after the recorder (the plot consumer is not wired: no Chromium here). */
  subscribers?: readonly SubscriberFactory[];
  /**
   * Run the virtual potentiostats in a child process, as the daemon does, instead of on this
   * thread: needed when a test stalls the event loop on purpose.
   */
  simulatorProcess?: boolean;
  /** Wraps device acquisition (delays, gates). */
  wrapAcquire?: (acquire: SlotAccess['acquire']) => SlotAccess['acquire'];
}

let jobCounter = 0;

export async function startEngineHarness(options: EngineHarnessOptions): Promise<EngineHarness> {
  const runsRoot = await mkdtemp(path.join(os.tmpdir(), 'beepbox-engine-'));
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const sims = options.simulatorProcess ? null : await startSimulators({ count: options.slots });
  const child = options.simulatorProcess ? await spawnSimulatorProcess(options.slots, path.join(runsRoot, '.sim')) : null;
  const ports = sims?.ports ?? child!.ports;
  const registry = new SlotRegistry({ configuredPorts: ports.join(','), logger, discover: async () => ports.map((p) => ({ path: p, source: 'config' as const, serialNumber: null, vendorId: null, productId: null, location: null })) });
  await registry.rescan();
  const recorder = new RecorderThread();
  const jobStore = new JobStore<JobRecord>(runsRoot, { logger, isRecord: isJobRecord });
  await jobStore.init();
  const runIndex = await RunIndex.load(runsRoot, { logger });
  const acquire = (slot: string) => registry.acquire(slot);
  const engine = new JobEngine({
    slots: { acquire: options.wrapAcquire ? options.wrapAcquire(acquire) : acquire },
    jobStore,
    runIndex,
    logger,
    versions: { beepbox: 'test', node: process.version, api: 'test' },
    subscribers: [recordingSubscriber(recorder), ...(options.subscribers ?? [])],
  });
  return {
    engine,
    registry,
    sims,
    ports,
    runsRoot,
    async submit(body) {
      jobCounter++;
      const plan = await admitJob(
        { devices: 'all', experiment_name: `Harness${jobCounter}`, client_datetime: '2026-01-01T00:00:00Z', make_plot: false, ...body },
        { runsRoot, devices: listDevices(registry) },
      );
      return engine.start(plan);
    },
    async close() {
      await engine.shutdown(5000);
      await registry.close();
      await recorder.terminate();
      await sims?.close();
      if (child) {
        child.process.kill('SIGTERM');
        await once(child.process, 'exit');
      }
      await rm(runsRoot, { recursive: true, force: true });
    },
  };
}

/** Resolves when every slot runner of the job has ended (its terminal state is then set). */
export async function settled(job: JobRuntime): Promise<void> {
  await Promise.all(job.runs.map((r) => r.runner));
}

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** `beepbox sim` in a child process; resolves with its pty paths. */
async function spawnSimulatorProcess(count: number, dir: string): Promise<{ process: ChildProcess; ports: string[] }> {
  const child = spawn(process.execPath, [CLI, 'sim', '--slots', String(count), '--dir', dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  for await (const line of createInterface({ input: child.stdout! })) {
    try {
      const parsed = JSON.parse(line) as { ports?: string[] };
      if (parsed.ports) return { process: child, ports: parsed.ports };
    } catch {
      // not a JSON line
    }
  }
  throw new Error('the simulator exited before reporting its ports');
}
