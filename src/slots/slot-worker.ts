/**
 * Main-thread handle of one slot worker thread: spawns it, talks comlink for control
 * and receives rows on a dedicated MessagePort per measurement.
 *
 * Two guarantees the rest of the daemon relies on:
 * - **The thread is never terminated under a native call.** `close` asks the worker to close
 *   its port (it waits for an open in flight), then seals the thread's {@link NativeCallGate}
 *   and only then terminates it. A thread that cannot be sealed (stuck with a native open in
 *   flight) is left to finish in the background and terminated once sealed; it is never
 *   killed under the call, which would abort the whole process.
 * - **A hung thread is noticed.** The watchdog pings the worker every second; no answer within
 *   `pingTimeoutMs`, or no sample message for `stallMs` while a measurement streams, or a worker
 *   that reports an uncaught failure, marks the worker crashed: every pending and later call
 *   rejects with `SLOT_CRASHED` and a message saying what happened, `onCrash` listeners run
 *   (the registry replaces the worker), and the thread is closed as above. Checks are skipped
 *   while this thread's own event loop was stalled, so a busy supervisor does not convict a
 *   healthy worker.
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import { DaemonError, reviveError } from '../errors.js';
import type { RunSummary } from '../driver/measurement.js';
import { NativeCallGate } from '../port/native-call-gate.js';
import { Comlink, nodeEndpoint, type Remote } from './comlink.js';
import { installErrorTransfer } from './comlink-errors.js';
import { SampleStreamVerifier, type SampleConsumer, type StreamIntegrity } from './sample-stream.js';
import type { DeviceIdentity, MeasureRequest, SampleMessage, SlotApi, SlotWorkerData } from './slot-api.js';

const WORKER_URL = new URL('../../workers/slot.worker.js', import.meta.url);

export interface MeasureOutcome {
  summary: RunSummary;
  integrity: StreamIntegrity;
}

export interface WatchdogOptions {
  /** Period of the watchdog's check and ping (ms). Default 1000. */
  intervalMs?: number;
  /** A worker that answers no ping for this long is hung (ms). Default 5000. */
  pingTimeoutMs?: number;
  /** The same before the thread first answered anything: starting many threads at once is slow (ms). Default 30000. */
  bootTimeoutMs?: number;
  /** A streaming measurement with no sample message for this long is stalled (ms). Default 10000. */
  stallMs?: number;
  /** Off: no pings (tests that count control calls). Default on. */
  enabled?: boolean;
}

export interface SlotWorkerOptions {
  watchdog?: WatchdogOptions;
}

/** How long `close` lets the worker close its port before terminating it anyway (ms). */
const CLOSE_GRACE_MS = 4000;
/** How long `close` waits for a native call in flight before leaving the thread to finish it (ms). */
const SEAL_WAIT_MS = 5000;

/**
 * A failed measurement's error, saying how many rows of the mode had arrived (they are with the
 * consumer: in the CSV). Cancellations are left as they are.
 */
function withRowsReceived(err: unknown, rows: number): unknown {
  if (!(err instanceof DaemonError) || err.code === 'ABORTED') return err;
  return reviveError({ ...err.toJSON(), message: `${err.message} (${rows} points of this mode were received before the failure)` });
}

export class SlotWorker {
  private readonly remote: Remote<SlotApi>;
  private crashed: DaemonError | null = null;
  private readonly crashListeners = new Set<(err: DaemonError) => void>();
  private readonly onCrashListeners = new Set<(err: DaemonError) => void>();
  private terminated = false;
  private closing: Promise<void> | null = null;
  private readonly watchdog: Required<WatchdogOptions>;
  private timer: NodeJS.Timeout | null = null;
  private lastTickAt = performance.now();
  private pingSentAt: number | null = null;
  /** The thread has answered a call (it is up). */
  private booted = false;
  /** The current measurement's stream: last message time, null before its first message. */
  private stream: { lastMessageAt: number | null } | null = null;

  private constructor(
    readonly portPath: string,
    private readonly worker: Worker,
    private readonly gate: NativeCallGate,
    options: SlotWorkerOptions,
  ) {
    installErrorTransfer();
    this.remote = Comlink.wrap<SlotApi>(nodeEndpoint(worker));
    worker.on('error', (err) => this.markCrashed(`slot worker for ${portPath} crashed: ${err.message}`));
    worker.on('exit', (code) => this.markCrashed(`slot worker for ${portPath} crashed: exited with code ${code}`));
    this.watchdog = {
      intervalMs: options.watchdog?.intervalMs ?? 1000,
      pingTimeoutMs: options.watchdog?.pingTimeoutMs ?? 5000,
      bootTimeoutMs: options.watchdog?.bootTimeoutMs ?? 30_000,
      stallMs: options.watchdog?.stallMs ?? 10_000,
      enabled: options.watchdog?.enabled ?? true,
    };
    if (this.watchdog.enabled) {
      this.timer = setInterval(() => this.tick(), this.watchdog.intervalMs);
      this.timer.unref();
    }
  }

  static spawn(portPath: string, options: SlotWorkerOptions = {}): SlotWorker {
    const gate = new NativeCallGate();
    const data: SlotWorkerData = { portPath, nativeGate: gate.buffer };
    const worker = new Worker(WORKER_URL, { workerData: data });
    return new SlotWorker(portPath, worker, gate, options);
  }

  /** Runs once when the worker crashes or is found hung (not after a normal close). */
  onCrash(listener: (err: DaemonError) => void): void {
    if (this.crashed) queueMicrotask(() => listener(this.crashed!));
    else this.onCrashListeners.add(listener);
  }

  private markCrashed(message: string): void {
    if (this.terminated || this.crashed) return;
    this.crashed = new DaemonError('SLOT_CRASHED', message);
    this.stopWatchdog();
    for (const l of this.crashListeners) l(this.crashed);
    for (const l of this.onCrashListeners) {
      try {
        l(this.crashed);
      } catch {
        // a listener's failure must not stop the others
      }
    }
    this.onCrashListeners.clear();
    // The thread is not trusted any more: terminate it (safely) in the background.
    void this.close();
  }

  private stopWatchdog(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private tick(): void {
    const now = performance.now();
    const lag = now - this.lastTickAt - this.watchdog.intervalMs;
    this.lastTickAt = now;
    if (this.crashed || this.terminated) return;
    if (lag > this.watchdog.intervalMs) {
      // This thread's own loop was stalled: replies may be waiting behind this timer. Restart the clocks.
      if (this.pingSentAt !== null) this.pingSentAt = now;
      if (this.stream?.lastMessageAt != null) this.stream.lastMessageAt = now;
      return;
    }
    const limit = this.booted ? this.watchdog.pingTimeoutMs : this.watchdog.bootTimeoutMs;
    if (this.pingSentAt !== null && now - this.pingSentAt > limit) {
      this.markCrashed(
        `slot worker for ${this.portPath} stopped answering (watchdog: no reply to a control call within ${Math.round(limit / 1000)} s); the worker was terminated and will be replaced`,
      );
      return;
    }
    const last = this.stream?.lastMessageAt;
    if (last != null && now - last > this.watchdog.stallMs) {
      this.markCrashed(
        `measurement on ${this.portPath} made no progress for ${Math.round(this.watchdog.stallMs / 1000)} s (watchdog); the slot worker was terminated and will be replaced`,
      );
      return;
    }
    if (this.pingSentAt === null && !this.closing) {
      const sent = (this.pingSentAt = now);
      this.remote.ping().then(
        (health) => {
          this.booted = true;
          if (this.pingSentAt === sent) this.pingSentAt = null;
          if (health.fatal !== null) this.markCrashed(`slot worker for ${this.portPath} failed: ${health.fatal}; the worker was terminated and will be replaced`);
        },
        () => undefined,
      );
    }
  }

  private guard<T>(promise: Promise<T>): Promise<T> {
    if (this.crashed) {
      promise.catch(() => undefined);
      return Promise.reject(this.crashed);
    }
    return new Promise<T>((resolve, reject) => {
      const onCrash = (err: DaemonError) => reject(err);
      this.crashListeners.add(onCrash);
      promise
        .then((value) => {
          this.booted = true;
          resolve(value);
        }, reject)
        .finally(() => this.crashListeners.delete(onCrash));
    });
  }

  get isCrashed(): boolean {
    return this.crashed !== null;
  }

  /** Why the worker is crashed, or null. */
  get crashReason(): string | null {
    return this.crashed?.message ?? null;
  }

  /** Closed, closing or crashed: not to be used for new work. */
  get isUsable(): boolean {
    return !this.crashed && !this.closing && !this.terminated;
  }

  private refuseIfClosed(): void {
    if (this.closing || this.terminated) throw new DaemonError('SLOT_CRASHED', `slot worker for ${this.portPath} is closed`);
  }

  /** Resolves once the thread is up and answering (rejects after `timeoutMs`, or if it crashed). */
  async ready(timeoutMs: number): Promise<void> {
    if (this.booted) return;
    this.refuseIfClosed();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DaemonError('DEVICE_TIMEOUT', `slot worker for ${this.portPath} did not start within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const health = await Promise.race([this.guard(this.remote.ping()), timeout]);
      this.booted = true;
      if (health.fatal !== null) throw new DaemonError('SLOT_CRASHED', `slot worker for ${this.portPath} failed: ${health.fatal}`);
    } finally {
      clearTimeout(timer);
    }
  }

  connect(): Promise<DeviceIdentity> {
    try {
      this.refuseIfClosed();
    } catch (err) {
      return Promise.reject(err);
    }
    return this.guard(this.remote.connect());
  }

  /**
   * Runs one measurement. Resolves after the summary AND every row have arrived (the
   * worker closes the sample port last, so 'close' marks the end of the stream).
   */
  async measure(request: MeasureRequest, consumer: SampleConsumer): Promise<MeasureOutcome> {
    this.refuseIfClosed();
    const { port1, port2 } = new MessageChannel();
    const verifier = new SampleStreamVerifier(consumer);
    const drained = new Promise<void>((resolve) => port1.once('close', () => resolve()));
    const stream = { lastMessageAt: null as number | null };
    this.stream = stream;
    let consumerError: unknown = null;
    port1.on('message', (msg: SampleMessage) => {
      stream.lastMessageAt = performance.now();
      if (consumerError !== null) return;
      try {
        verifier.accept(msg);
      } catch (err) {
        // A consumer's failure must not escape into the port's callback (an uncaught exception
        // on the supervisor's thread): the measurement is stopped and fails with it.
        consumerError = err;
        this.abort().catch(() => undefined);
      }
    });
    try {
      const summary = await this.guard(this.remote.measure(request, Comlink.transfer(port2, [port2])));
      await drained;
      if (consumerError !== null) throw consumerError;
      return { summary, integrity: verifier.integrity };
    } catch (err) {
      await Promise.race([drained, new Promise((r) => setTimeout(r, 200))]);
      throw withRowsReceived(consumerError ?? err, verifier.integrity.rows);
    } finally {
      if (this.stream === stream) this.stream = null;
      port1.close();
    }
  }

  abort(): Promise<void> {
    return this.guard(this.remote.abort());
  }

  /** Opens the CE switch of an idle device whose cell a mode left under control (sequence cancelled or failed between modes). */
  releaseCell(): Promise<void> {
    return this.guard(this.remote.releaseCell());
  }

  /**
   * Closes the worker's port (inside the worker) and terminates the thread once no native call
   * is in flight. Idempotent: every caller gets the same promise.
   */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    this.stopWatchdog();
    if (!this.crashed) {
      let timer: NodeJS.Timeout | undefined;
      const closed = this.remote.close().catch(() => undefined);
      await Promise.race([closed, new Promise((r) => (timer = setTimeout(r, CLOSE_GRACE_MS)))]);
      // A pending timer would keep a stopping daemon alive for the whole grace period.
      clearTimeout(timer);
    }
    const sealed = await this.seal(SEAL_WAIT_MS);
    this.terminated = true;
    // Calls still waiting for the thread get no reply any more: they fail now, not never.
    const gone = new DaemonError('PORT_CLOSED', `slot worker for ${this.portPath} was closed`);
    for (const reject of [...this.crashListeners]) reject(gone);
    this.remote[Comlink.releaseProxy]();
    if (sealed) {
      await this.worker.terminate();
      return;
    }
    // Stuck inside a native open: terminating now would abort the process. Let the call finish
    // and terminate then; the thread must not keep the daemon alive meanwhile.
    this.worker.unref();
    const retry = setInterval(() => {
      if (!this.gate.trySeal()) return;
      clearInterval(retry);
      void this.worker.terminate();
    }, 100);
    retry.unref();
  }

  private async seal(waitMs: number): Promise<boolean> {
    const deadline = performance.now() + waitMs;
    while (!this.gate.trySeal()) {
      if (performance.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    return true;
  }
}
