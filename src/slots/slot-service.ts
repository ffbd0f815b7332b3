/**
 * The slot worker's logic, built from src/ so it runs (and is tested) on any thread:
 * owns one port and driver, builds the plan, runs the right loop and streams rows out.
 */
import type { MessagePort } from 'node:worker_threads';
import { DaemonError, DeviceTimeoutError, PortError, ValidationError } from '../errors.js';
import { BeepDevice } from '../driver/beep-device.js';
import { runFifoMeasurement } from '../driver/fifo-run.js';
import { runGalvanostatic } from '../driver/gal-run.js';
import type { RunSummary } from '../driver/measurement.js';
import { ModbusClient } from '../driver/modbus-client.js';
import type { SampleSink } from '../driver/sample-sink.js';
import { buildPlan } from '../modes/plan.js';
import { normaliseModeName } from '../modes/catalogue.js';
import { Register } from '../protocol/constants.js';
import { formatUsbSerialNumber } from '../protocol/identity.js';
import { wordBytesToUint32 } from '../protocol/words.js';
import type { Port } from '../port/port.js';
import type { DeviceIdentity, MeasureRequest, SampleMessage, SlotApi } from './slot-api.js';

export type PortOpener = (path: string) => Promise<Port>;

/** Progress messages at most this often; rows themselves carry the exact count. */
const PROGRESS_PERIOD_MS = 100;

export class SlotService implements SlotApi {
  private device: BeepDevice | null = null;
  /** The port being opened: concurrent callers share one open (a cancelled acquisition may still be opening). */
  private opening: Promise<BeepDevice> | null = null;
  private running: AbortController | null = null;

  constructor(private readonly portPath: string, private readonly openPort: PortOpener) {}

  private ensureDevice(): Promise<BeepDevice> {
    if (this.device && !this.device.client.closed) return Promise.resolve(this.device);
    this.opening ??= this.openPort(this.portPath)
      .then((port) => (this.device = new BeepDevice(new ModbusClient(port))))
      .finally(() => (this.opening = null));
    return this.opening;
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
      onEvent: (event) => post({ kind: 'event', seq: seq++, event }),
    };
    const onProgress = (pointsDone: number) => {
      const now = Date.now();
      if (now - lastProgress < PROGRESS_PERIOD_MS) return;
      lastProgress = now;
      post({ kind: 'progress', seq: seq++, pointsDone });
    };
    try {
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
      const options = { tiaGain: request.tiaGain, signal: controller.signal, sink, onProgress, galPollIntervalMs: request.galPollIntervalMs };
      switch (plan.family) {
        case 'pot':
          return await runFifoMeasurement(device, plan.setpoints, plan.n, options);
        case 'ocp':
          return await runFifoMeasurement(device, null, plan.n, options);
        case 'gal':
          return await runGalvanostatic(device, { currentA: plan.steps.current, length: plan.steps.length }, plan.intervalS, options);
        default:
          throw new ValidationError('mode', 'unsupported plan family');
      }
    } catch (err) {
      if (err instanceof PortError) {
        throw new PortError(err.code, `device ${this.portPath} is gone: ${err.message}`, { cause: err });
      }
      throw err;
    } finally {
      this.running = null;
      samples.close();
    }
  }

  async abort(): Promise<void> {
    this.running?.abort();
  }

  async close(): Promise<void> {
    this.running?.abort();
    const port = this.device?.client.port;
    this.device = null;
    await port?.close();
  }
}
