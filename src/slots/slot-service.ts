/**
 * The slot worker's logic, built from src/ so it runs (and is tested) on any thread:
 * owns one port and driver, builds the plan, runs the right loop and streams rows out.
 *
 * The port's life is serialised: one open at a time (concurrent callers share it), a close
 * waits for an open in flight and for the running measurement to wind down, and after
 * `close` the service opens nothing again (the supervisor terminates the thread next).
 * Modbus transactions are serialised by the client. A failure the thread could not attribute
 * to a call (an uncaught exception) poisons the service: the port is closed and every later
 * call, and the watchdog's `ping`, reports it, so the supervisor replaces the worker.
 */
import type { MessagePort } from 'node:worker_threads';
import { DaemonError, DeviceTimeoutError, PortError, ValidationError } from '../errors.js';
import { BeepDevice } from '../driver/beep-device.js';
import { runFifoMeasurement } from '../driver/fifo-run.js';
import { runGalvanostatic } from '../driver/gal-run.js';
import { runLimitsOf } from '../driver/run-limits.js';
import type { RunSummary } from '../driver/measurement.js';
import { ModbusClient } from '../driver/modbus-client.js';
import { BLOCK_MAX_AGE_MS, type SampleSink } from '../driver/sample-sink.js';
import { buildPlan } from '../modes/plan.js';
import { normaliseModeName } from '../modes/catalogue.js';
import { Command, Register } from '../protocol/constants.js';
import { formatUsbSerialNumber } from '../protocol/identity.js';
import { wordBytesToUint32 } from '../protocol/words.js';
import type { Port } from '../port/port.js';
import { averagingSamplesFor } from '../modes/device-settings.js';
import { cellControlFor, withAveraging } from './mode-conditions.js';
import type { DeviceIdentity, MeasureRequest, SampleMessage, SlotApi, SlotHealth } from './slot-api.js';

export type PortOpener = (path: string) => Promise<Port>;

/** Progress messages at most this often (as often as row blocks); rows themselves carry the exact count. */
const PROGRESS_PERIOD_MS = BLOCK_MAX_AGE_MS;
/** How long `close` lets an aborted measurement switch the device off before closing the port. */
const CLOSE_WAIT_FOR_RUN_MS = 3000;

export interface SlotServiceHooks {
  /** Called on every progress report of a measurement (test hooks of the worker entry point). */
  onProgress?(pointsDone: number): void;
}

export class SlotService implements SlotApi {
  private device: BeepDevice | null = null;
  /** The port being opened: concurrent callers share one open (a cancelled acquisition may still be opening). */
  private opening: Promise<BeepDevice> | null = null;
  private running: AbortController | null = null;
  /** Settles when the running measurement has ended. */
  private runningDone: Promise<void> = Promise.resolve();
  private closing: Promise<void> | null = null;
  private fatal: Error | null = null;
  /** The last measurement left the cell under control (CE closed, holding its last potential). */
  private cellHeld = false;

  constructor(
    private readonly portPath: string,
    private readonly openPort: PortOpener,
    private readonly hooks: SlotServiceHooks = {},
  ) {}

  private checkUsable(): void {
    if (this.fatal) throw new DaemonError('SLOT_CRASHED', `slot worker for ${this.portPath} failed: ${this.fatal.message}`);
    if (this.closing) throw new PortError('PORT_CLOSED', `slot on ${this.portPath} is closed`);
  }

  private ensureDevice(): Promise<BeepDevice> {
    try {
      this.checkUsable();
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.device && !this.device.client.closed) return Promise.resolve(this.device);
    this.opening ??= this.openPort(this.portPath)
      .then(async (port) => {
        if (this.closing || this.fatal) {
          // Closed (or poisoned) while the open was in flight: the new port is nobody's.
          await port.close().catch(() => undefined);
          throw new PortError('PORT_CLOSED', `slot on ${this.portPath} was closed while opening`);
        }
        return (this.device = new BeepDevice(new ModbusClient(port)));
      })
      .finally(() => (this.opening = null));
    return this.opening;
  }

  /** The watchdog's probe: answered at once by a live thread. */
  async ping(): Promise<SlotHealth> {
    return { fatal: this.fatal ? this.fatal.message : null, measuring: this.running !== null };
  }

  /** An uncaught failure in this thread: stop using the port and report it from now on. */
  poison(err: unknown): void {
    if (this.fatal) return;
    this.fatal = err instanceof Error ? err : new Error(String(err));
    this.running?.abort();
    const port = this.device?.client.port;
    this.device = null;
    void port?.close().catch(() => undefined);
  }

  async connect(): Promise<DeviceIdentity> {
    const device = await this.ensureDevice();
    // A busy host (many threads starting at once) may miss the first replies.
    let v;
    for (let attempt = 1; ; attempt++) {
      try {
        v = await device.readPotValues();
        break;
      } catch (err) {
        if (!(err instanceof DeviceTimeoutError) || attempt >= 3) throw err;
      }
    }
    let uid: string | null = null;
    try {
      // The serial-number string the device would show over USB, from its unique ID.
      const d = await device.readRegisters(Register.CHIP_ID, 6);
      uid = formatUsbSerialNumber(wordBytesToUint32(d, 0), wordBytesToUint32(d, 4), wordBytesToUint32(d, 8));
    } catch {
      uid = null;
    }
    return { path: this.portPath, status: v.status, gxOhm: v.gxOhm, uid };
  }

  async measure(request: MeasureRequest, samples: MessagePort): Promise<RunSummary> {
    if (this.running) throw new DaemonError('DEVICE_STATE', `slot on ${this.portPath} is already measuring`);
    const controller = new AbortController();
    this.running = controller;
    let ended!: () => void;
    this.runningDone = new Promise<void>((r) => (ended = r));
    let seq = 0;
    let lastProgress = 0;
    const post = (msg: SampleMessage, transfer: ArrayBuffer[] = []) => samples.postMessage(msg, transfer);
    const sink: SampleSink = {
      onBlock: (b) => {
        post({ kind: 'block', seq: seq++, firstIndex: b.firstIndex, count: b.count, current: b.current, potential: b.potential }, [
          b.current.buffer as ArrayBuffer,
          b.potential.buffer as ArrayBuffer,
        ]);
      },
      onBlocks: (blocks) => {
        const transfer: ArrayBuffer[] = [];
        for (const b of blocks) transfer.push(b.current.buffer as ArrayBuffer, b.potential.buffer as ArrayBuffer);
        post({ kind: 'blocks', seq: seq++, blocks }, transfer);
      },
      onEvent: (event) => post({ kind: 'event', seq: seq++, event }),
    };
    const onProgress = (pointsDone: number) => {
      const now = Date.now();
      if (now - lastProgress < PROGRESS_PERIOD_MS) return;
      lastProgress = now;
      post({ kind: 'progress', seq: seq++, pointsDone });
      this.hooks.onProgress?.(pointsDone);
    };
    try {
      this.checkUsable();
      // Parameters come from admission's plan (validated once there); the worker only builds
      // the waveform from them, and checks it against the plan's point count.
      const mode = normaliseModeName(request.mode);
      if (!mode) throw new ValidationError('mode', `unsupported mode '${request.mode}'`);
      const plan = buildPlan(mode, request.params as never);
      if (!(plan.n >= 1)) throw new ValidationError('*', 'the plan has no points');
      if (request.pointCount !== undefined && plan.n !== request.pointCount) {
        throw new DaemonError('INTERNAL', `waveform has ${plan.n} points, the job plan ${request.pointCount}`);
      }
      const device = await this.ensureDevice();
      // cellHeld changes only with a mode's outcome: after a failure it may be stale-true, which
      // costs at most one SET_SWITCH 0 at close (the setup checks the device before linking).
      const control = cellControlFor(mode, request.params, plan, request, this.cellHeld);
      const options = { tiaGain: request.tiaGain, signal: controller.signal, sink, onProgress, galPollIntervalMs: request.galPollIntervalMs, control, limits: runLimitsOf(mode, request.params) };
      // The client counts over the port's life; the summary reports this measurement's share.
      const linkBefore = { transactions: device.client.stats.transactions, timeouts: device.client.stats.timeouts };
      const summary = await withAveraging(device, averagingSamplesFor(mode, request.params), () => {
        switch (plan.family) {
          case 'pot':
            return runFifoMeasurement(device, plan.setpoints, plan.n, options);
          case 'ocp':
            return runFifoMeasurement(device, null, plan.n, options);
          case 'gal':
            return runGalvanostatic(device, { currentA: plan.steps.current, length: plan.steps.length }, plan.intervalS, options);
          default:
            throw new ValidationError('mode', 'unsupported plan family');
        }
      });
      this.cellHeld = summary.control?.held_after === true;
      return { ...summary, transactions: summary.transactions - linkBefore.transactions, timeouts: summary.timeouts - linkBefore.timeouts };
    } catch (err) {
      if (err instanceof PortError) {
        throw new PortError(err.code, `device ${this.portPath} is gone: ${err.message}`, { cause: err });
      }
      throw err;
    } finally {
      this.running = null;
      samples.close();
      ended();
    }
  }

  async abort(): Promise<void> {
    this.running?.abort();
  }

  /** Opens the CE switch of an idle device (a held cell whose sequence ended between modes). */
  async releaseCell(): Promise<void> {
    if (this.running) return; // the measurement's own abort opens it
    this.cellHeld = false;
    const device = this.device;
    if (!device || device.client.closed) return;
    await device.command(Command.SET_SWITCH, 0);
  }

  /**
   * Aborts the running measurement (it switches the device off), waits for an open in flight,
   * closes the port once. Final: nothing is opened afterwards.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.running?.abort();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.runningDone, new Promise((r) => (timer = setTimeout(r, CLOSE_WAIT_FOR_RUN_MS)))]);
      clearTimeout(timer);
      await this.opening?.catch(() => undefined);
      if (this.cellHeld) await this.releaseCell().catch(() => undefined);
      const port = this.device?.client.port;
      this.device = null;
      await port?.close().catch(() => undefined);
    })();
    return this.closing;
  }
}
