/**
 * Firmware-faithful virtual BEEP potentiostat, composed like the firmware:
 * - register memory (register-memory.ts): the little-endian group buffers;
 * - FIFOs (fifos.ts): ADC pairs out, DAC setpoints in;
 * - controller (controller.ts, pid.ts): frames, ticks, PID, configuration, commands;
 * - Modbus slave (modbus-slave.ts): request processing and the receive buffer;
 * - tick scheduler (tick-scheduler.ts): the main loop in time, reboots.
 *
 * The device is a pure state machine driven by an injected clock in microseconds:
 * `advanceTo(t)` runs every ADC frame (and controller tick) due up to t;
 * `handleRequest(frame, t)` first advances to t (ticks never interleave with a request),
 * then processes ONE delimited request exactly as the firmware does.
 */
import { formatUsbSerialNumber } from '../protocol/identity.js';
import { NOMINAL_POINT_INTERVAL_US } from '../protocol/index.js';
import { AnalogFrontEnd } from './analog-front-end.js';
import { type CellModel, type CellParams, ElectrochemicalCell } from './cell.js';
import { Controller } from './controller.js';
import { type DeviceStats, createDeviceStats } from './device-stats.js';
import { DeviceLog } from './device-log.js';
import { AdcFifo, DacFifo } from './fifos.js';
import { ModbusSlave } from './modbus-slave.js';
import { Prng } from './random.js';
import { RegisterMemory } from './register-memory.js';
import { TickScheduler, clampJitter, validateInterval } from './tick-scheduler.js';

export type { DeviceStats } from './device-stats.js';
export type { DeviceLog, DeviceLogEntry, OpenInterval } from './device-log.js';

export interface VirtualPotentiostatOptions {
  /** Monotonic clock in microseconds. Default: `performance.now() * 1000`. */
  now?: () => number;
  /** Effective controller period (µs); ticks are never closer than `fifo_smp` timer units. Default 360. */
  tickIntervalUs?: number;
  /** Uniform jitter ±tickJitterUs on each frame time (not cumulative; capped at 45 % of the interval). Default 0. */
  tickJitterUs?: number;
  /** Duration of one ADC conversion (µs); a frame runs round(interval / this) conversions. Default 180 (≈ 2 per tick). */
  conversionPeriodUs?: number;
  /** Seeds noise, jitter, the chip UID and the drift. Default 1. */
  seed?: number;
  /** Noise scale: 1 = realistic, 0 = deterministic. Default 1. */
  noise?: number;
  /** Firmware moving average (1/N per conversion, N from the analog-input calibration group). Default true. */
  smoothing?: boolean;
  /** Cell parameters for the built-in model, or a complete cell model. */
  cell?: Partial<CellParams> | CellModel;
  /**
   * NOT FIRMWARE-FAITHFUL compatibility switch: push one ADC pair per tick in PID mode, as
   * pyBEEP's galvanostatic loop expects (the firmware has this code commented out).
   */
  pushPairsInPidMode?: boolean;
  /** 96-bit MCU unique ID (12 bytes). Default: derived from the seed. */
  uid?: Uint8Array;
  /** Wall clock (ms since epoch) at construction for the RTC (date-time group). Default Date.now(). */
  rtcEpochMs?: number;
  /** Flash erase + programme stall after CFG_SAVE (µs). Default 40 000. */
  flashStallUs?: number;
}

export class VirtualPotentiostat {
  readonly uid: Uint8Array;
  /** USB serial-number string the real device would report (usbd_desc.c). */
  readonly serialNumber: string;
  readonly cell: CellModel;
  readonly frontEnd: AnalogFrontEnd;
  readonly stats: DeviceStats = createDeviceStats();
  /** Every command, CE-switch change (with its cause) and output/configuration write, time-stamped. */
  readonly log = new DeviceLog();
  readonly now: () => number;

  private readonly memory: RegisterMemory;
  private readonly adcFifo: AdcFifo;
  private readonly dacFifo: DacFifo;
  private readonly controller: Controller;
  private readonly slave: ModbusSlave;
  private readonly scheduler: TickScheduler;

  constructor(options: VirtualPotentiostatOptions = {}) {
    this.now = options.now ?? (() => performance.now() * 1000);
    const seed = options.seed ?? 1;
    const tickIntervalUs = validateInterval(options.tickIntervalUs ?? NOMINAL_POINT_INTERVAL_US);
    const tickJitterUs = clampJitter(options.tickJitterUs ?? 0, tickIntervalUs);
    const conversionPeriodUs = options.conversionPeriodUs ?? 180;
    if (!(conversionPeriodUs > 0)) throw new RangeError('conversionPeriodUs must be > 0');
    const noise = options.noise ?? 1;
    this.cell = isCellModel(options.cell) ? options.cell : new ElectrochemicalCell(options.cell ?? {}, { noise, seed });
    this.frontEnd = new AnalogFrontEnd({ noise, smoothing: options.smoothing ?? true, seed: seed ^ 0x5a5a });

    const idRng = new Prng(seed ^ 0xc41d);
    this.uid = options.uid ? Uint8Array.from(options.uid) : Uint8Array.from({ length: 12 }, () => idRng.nextUint32() & 0xff);
    if (this.uid.length !== 12) throw new RangeError('uid must be 12 bytes (96 bits)');
    this.serialNumber = formatSerialNumber(this.uid);
    const chipNoise = Uint8Array.from({ length: 180 }, () => idRng.nextUint32() & 0xff);

    const t = this.now();
    this.memory = new RegisterMemory(this.uid, chipNoise, options.rtcEpochMs ?? Date.now(), t);
    this.adcFifo = new AdcFifo(this.stats);
    this.dacFifo = new DacFifo();
    this.controller = new Controller(this.memory, this.adcFifo, this.dacFifo, this.cell, this.frontEnd, this.stats, conversionPeriodUs, options.pushPairsInPidMode ?? false, this.log);
    this.slave = new ModbusSlave(this.memory, this.adcFifo, this.dacFifo, this.controller);
    this.scheduler = new TickScheduler(
      { startUs: t, tickIntervalUs, tickJitterUs, flashStallUs: options.flashStallUs ?? 40_000, seed },
      this.controller, this.memory, this.stats, (at) => this.boot(at),
    );
    this.boot(t);
    this.scheduler.start(t);
  }

  // ---------------------------------------------------------------- public state

  /** Status word `st` (pot-values ST). */
  get status(): number {
    return this.controller.st;
  }
  get tiaGainIndex(): number {
    return this.controller.gainIndex;
  }
  get gxOhm(): number {
    return this.controller.gx;
  }
  get adcPendingPairs(): number {
    return this.adcFifo.count;
  }
  get dacPendingSetpoints(): number {
    return this.dacFifo.count;
  }
  /** Potential the cell currently sees (setpoint after the DAC clip), V. */
  get appliedPotentialV(): number {
    return this.controller.appliedV;
  }
  get currentReadingA(): number {
    return this.controller.weoutA;
  }
  get potentialReadingV(): number {
    return this.controller.reoutV;
  }
  get pidOutputV(): number {
    return this.controller.pid.output;
  }
  get sampleTimeUnits(): number {
    return this.controller.sampTm;
  }
  get tickInterval(): number {
    return this.scheduler.tickInterval;
  }

  /** See VirtualPotentiostatOptions.pushPairsInPidMode (not firmware-faithful). */
  get pushPairsInPidMode(): boolean {
    return this.controller.pushPairsInPidMode;
  }
  set pushPairsInPidMode(on: boolean) {
    this.controller.pushPairsInPidMode = on;
  }
  /** Fault knob: FIFO reads and writes answer SLAVE_DEVICE_BUSY until this time (µs). */
  get busyStormUntilUs(): number {
    return this.slave.busyStormUntilUs;
  }
  set busyStormUntilUs(us: number) {
    this.slave.busyStormUntilUs = us;
  }
  /** Frames (ticks, conversions) are suspended until this time (µs). */
  get suspendedUntilUs(): number {
    return this.scheduler.suspendedUntilUs;
  }
  set suspendedUntilUs(us: number) {
    this.scheduler.suspendedUntilUs = us;
  }
  /** Time at which a requested RESET reboots the MCU (µs), or Infinity. */
  get pendingResetAtUs(): number {
    return this.controller.pendingResetAtUs;
  }
  set pendingResetAtUs(us: number) {
    this.controller.pendingResetAtUs = us;
  }

  /** Changes the frame period (and jitter) from now on. */
  setTickInterval(intervalUs: number, jitterUs?: number): void {
    this.scheduler.setTickInterval(intervalUs, jitterUs);
  }

  // ---------------------------------------------------------------- clock

  /** Executes every frame (and controller tick) due at or before `t` (µs). */
  advanceTo(t: number): void {
    this.scheduler.advanceTo(t);
  }

  /**
   * Suspends the main loop (no conversions, no ticks) from now for `durationUs`. Frames
   * resume at the end without catching up; the next tick sees a long dt.
   */
  suspend(durationUs: number, atUs = this.now()): void {
    this.scheduler.suspend(durationUs, atUs);
  }

  /** Reboots the MCU now (power cycle, or RESET after its delay). The cell is untouched. */
  reboot(atUs = this.now()): void {
    this.scheduler.reboot(atUs);
  }

  // ---------------------------------------------------------------- requests

  /**
   * Processes one delimited request as the firmware does and returns the reply, or null
   * when the firmware stays silent (foreign address, empty frame).
   */
  handleRequest(frame: Uint8Array, atUs = this.now()): Uint8Array | null {
    this.scheduler.advanceTo(atUs);
    if (frame.length === 0) return null;
    return this.slave.handle(frame, atUs);
  }

  /** Power-on state (defaults always loaded at boot, FIFOs empty). */
  private boot(t: number): void {
    this.adcFifo.reset();
    this.dacFifo.reset();
    this.slave.clear();
    this.memory.clear();
    this.controller.boot(t);
  }
}

function isCellModel(x: unknown): x is CellModel {
  return typeof x === 'object' && x !== null && typeof (x as CellModel).step === 'function';
}

/** 12 upper-case hex characters: (UID word 0 + word 2) then the top 16 bits of word 1. */
function formatSerialNumber(uid: Uint8Array): string {
  const v = new DataView(uid.buffer, uid.byteOffset, 12);
  return formatUsbSerialNumber(v.getUint32(0, true), v.getUint32(4, true), v.getUint32(8, true));
}
