/**
 * Main-thread handle of one slot worker thread: spawns it, talks comlink for control
 * and receives rows on a dedicated MessagePort per measurement.
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import { DaemonError } from '../errors.js';
import type { RunSummary } from '../driver/measurement.js';
import { Comlink, nodeEndpoint, type Remote } from './comlink.js';
import { installErrorTransfer } from './comlink-errors.js';
import { SampleStreamVerifier, type SampleConsumer, type StreamIntegrity } from './sample-stream.js';
import type { DeviceIdentity, MeasureRequest, SampleMessage, SlotApi } from './slot-api.js';

const WORKER_URL = new URL('../../workers/slot.worker.js', import.meta.url);

export interface MeasureOutcome {
  summary: RunSummary;
  integrity: StreamIntegrity;
}

export class SlotWorker {
  private readonly remote: Remote<SlotApi>;
  private crashed: DaemonError | null = null;
  private readonly crashListeners = new Set<(err: DaemonError) => void>();
  private terminated = false;

  private constructor(readonly portPath: string, private readonly worker: Worker) {
    installErrorTransfer();
    this.remote = Comlink.wrap<SlotApi>(nodeEndpoint(worker));
    const crash = (reason: string) => {
      if (this.terminated || this.crashed) return;
      this.crashed = new DaemonError('SLOT_CRASHED', `slot worker for ${portPath} crashed: ${reason}`);
      for (const l of this.crashListeners) l(this.crashed);
    };
    worker.on('error', (err) => crash(err.message));
    worker.on('exit', (code) => crash(`exited with code ${code}`));
  }

  static spawn(portPath: string): SlotWorker {
    const worker = new Worker(WORKER_URL, { workerData: { portPath } });
    return new SlotWorker(portPath, worker);
  }

  private guard<T>(promise: Promise<T>): Promise<T> {
    if (this.crashed) return Promise.reject(this.crashed);
    return new Promise<T>((resolve, reject) => {
      const onCrash = (err: DaemonError) => reject(err);
      this.crashListeners.add(onCrash);
      promise.then(resolve, reject).finally(() => this.crashListeners.delete(onCrash));
    });
  }

  get isCrashed(): boolean {
    return this.crashed !== null;
  }

  connect(): Promise<DeviceIdentity> {
    return this.guard(this.remote.connect());
  }

  /**
   * Runs one measurement. Resolves after the summary AND every row have arrived (the
   * worker closes the sample port last, so 'close' marks the end of the stream).
   */
  async measure(request: MeasureRequest, consumer: SampleConsumer): Promise<MeasureOutcome> {
    const { port1, port2 } = new MessageChannel();
    const verifier = new SampleStreamVerifier(consumer);
    const drained = new Promise<void>((resolve) => port1.once('close', () => resolve()));
    port1.on('message', (msg: SampleMessage) => verifier.accept(msg));
    try {
      const summary = await this.guard(this.remote.measure(request, Comlink.transfer(port2, [port2])));
      await drained;
      return { summary, integrity: verifier.integrity };
    } catch (err) {
      await Promise.race([drained, new Promise((r) => setTimeout(r, 200))]);
      throw err;
    } finally {
      port1.close();
    }
  }

  abort(): Promise<void> {
    return this.guard(this.remote.abort());
  }

  async close(): Promise<void> {
    if (this.terminated) return;
    try {
      let timer: NodeJS.Timeout | undefined;
      if (!this.crashed) await Promise.race([this.remote.close(), new Promise((r) => (timer = setTimeout(r, 2000)))]);
      // A pending timer would keep a stopping daemon alive for the whole 2 s.
      clearTimeout(timer);
    } finally {
      this.terminated = true;
      this.remote[Comlink.releaseProxy]();
      await this.worker.terminate();
    }
  }
}
