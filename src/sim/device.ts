/**
 * Firmware-faithful virtual BEEP potentiostat (beep-protocol.md 2, 3, 5, 6, 7, 8, 10.1).
 *
 * The device is a pure state machine driven by an injected clock in microseconds:
 * - `advanceTo(t)` runs every ADC frame due up to t. A frame steps the cell model, runs the
 *   conversions (firmware smoothing) and, while RUN is set and at least `fifo_smp` timer
 *   units have passed since the previous tick, executes one controller tick (6.4).
 *   Frames are scheduled at `base + k·tickIntervalUs` (+ optional jitter), so there is no
 *   cumulative drift; a suspension (stall, flash write) rebases the schedule, so there is
 *   no catch-up afterwards.
 * - `handleRequest(frame, t)` first advances to t (ticks never interleave with a request),
 *   then processes ONE delimited request exactly as ModbusRTU.c/QueryList.c do, including
 *   the persistent 256-byte receive buffer (stale bytes beyond a short frame are what the
 *   firmware would read).
 *
 * Memory layout follows the MCU: every group buffer is little-endian; reads swap the two
 * bytes of each 16-bit word on the way out, writes swap them on the way in (4.2).
 */
import { formatUsbSerialNumber } from '../protocol/identity.js';
import {
  ADC_FIFO_CAPACITY_PAIRS,
  Command,
  DAC_FIFO_CAPACITY_SETPOINTS,
  DEFAULT_TIA_GAIN_INDEX,
  ExceptionCode,
  FunctionCode,
  NOMINAL_POINT_INTERVAL_US,
  READ_MAX_DATA_BYTES,
  REGISTER_GROUPS,
  Register,
  type RegisterGroup,
  StatusBit,
  TIA_GAIN_INDEX_MAX_ACCEPTED,
  TIA_GAIN_INDEX_MAX_EFFECTIVE,
  TIA_GAIN_OHMS,
  TIMER_UNIT_US,
  UNIT_ADDRESS,
  UNIT_ADDRESS_ALT,
  WRITE_MAX_OFFSET_BYTES,
  appendCrc,
  crc16Modbus,
  encodeExceptionResponse,
  encodeWriteResponse,
} from '../protocol/index.js';
import { AnalogFrontEnd, type CellModel, type CellParams, ElectrochemicalCell } from './cell.js';
import { Prng } from './random.js';

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
  /** Firmware moving average (1/N per conversion, N from group 0x30). Default true. */
  smoothing?: boolean;
  /** Cell parameters for the built-in model, or a complete cell model. */
  cell?: Partial<CellParams> | CellModel;
  /**
   * NOT FIRMWARE-FAITHFUL compatibility switch: push one ADC pair per tick in PID mode, as
   * pyBEEP's galvanostatic loop expects (the firmware has this code commented out, 6.5).
   */
  pushPairsInPidMode?: boolean;
  /** 96-bit MCU unique ID (12 bytes). Default: derived from the seed. */
  uid?: Uint8Array;
  /** Wall clock (ms since epoch) at construction for the RTC (group 0x45). Default Date.now(). */
  rtcEpochMs?: number;
  /** Flash erase + programme stall after CFG_SAVE (µs). Default 40 000. */
  flashStallUs?: number;
}

export interface DeviceStats {
  frames: number;
  ticks: number;
  /** Underrun ticks that did not end the run (each shifts later data by one pair). */
  underruns: number;
  /** Underrun ticks that ended a run because STOP was set. */
  stopUnderruns: number;
  /** Pushes that overwrote the oldest pair of a full ADC FIFO. */
  adcOverwrittenPairs: number;
  /** Times the ADC FIFO started overwriting (reset by any pop or clear). */
  adcOverflowEvents: number;
  reboots: number;
  flashWrites: number;
}

const RESET_DELAY_US = 25_000;
const FLASH_DELAY_US = 25_000;
/** Idle gaps longer than this are fast-forwarded with coarse cell steps. */
const FAST_FORWARD_US = 2_000_000;
const FAST_FORWARD_STEP_US = 50_000;
const MAX_CONVERSIONS_PER_FRAME = 1000;
const F495 = Math.fround(4.95);
const DAC_PIN_MAX_V = 3.3;
const RX_BUFFER_BYTES = 512;
const LOADDFLT_SAVE_BIT = 0x08;
const BOARD_TEMPERATURE_C = 23.5;
const BOARD_HUMIDITY_PCT = 41.0;

// Byte offsets of the configuration fields (little-endian float32 / uint32).
const CAL_WE = 0;
const CAL_RE = 12;
const CAL_SAMPLES = 8;
const CAL_OFFSET = 4;
const DACCAL_VCEIN = 0;
const PIDCFG = { kp: 0, kd: 4, ki: 8, errMax: 12, errMin: 16, itglMax: 20, itglMin: 24, rateMax: 28, rateMin: 32, outMax: 36, outMin: 40 } as const;
const TIMING = { frameDet: 0, adcSmp: 4, htSmp: 8, fifoSmp: 12 } as const;

const RUN_BITS = StatusBit.RUN | StatusBit.STOP | StatusBit.FIFO | StatusBit.PID | StatusBit.CE;

function writeDefaults(view: DataView, values: readonly number[]): void {
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
}

const CAL_IN_DEFAULTS = [1, 0, 100, -3, 4.95, 100, 1, 0, 10, 0.4, -279, 10, 3, 0, 10];
const CAL_DAC_DEFAULTS = [-1 / 3, 1.65, 0, 1, 0, 0, 1, 0, 1.65];
const PID_DEFAULTS = [100, 0.01, 2.5e-5, 1e-11, -1e-11, 10, -10, 0.05, -0.05, 5, -5];
const TIMING_DEFAULTS = [200, 50, 10_000, 200];

interface GroupSlot {
  info: RegisterGroup;
  buf: Uint8Array;
  view: DataView;
}

/** Outcome code of a group handler: 0 = success, otherwise a Modbus exception code. */
type HandlerResult = number;

export class VirtualPotentiostat {
  readonly uid: Uint8Array;
  /** USB serial-number string the real device would report (usbd_desc.c). */
  readonly serialNumber: string;
  readonly cell: CellModel;
  readonly frontEnd: AnalogFrontEnd;
  readonly stats: DeviceStats = { frames: 0, ticks: 0, underruns: 0, stopUnderruns: 0, adcOverwrittenPairs: 0, adcOverflowEvents: 0, reboots: 0, flashWrites: 0 };
  /** See VirtualPotentiostatOptions.pushPairsInPidMode (not firmware-faithful). */
  pushPairsInPidMode: boolean;
  /** Fault knob: FIFO reads and writes answer SLAVE_DEVICE_BUSY until this time (µs). */
  busyStormUntilUs = -Infinity;
  /** Frames (ticks, conversions) are suspended until this time (µs). */
  suspendedUntilUs = -Infinity;
  /** Time at which a requested RESET reboots the MCU (µs), or Infinity. */
  pendingResetAtUs = Infinity;

  readonly now: () => number;
  private tickIntervalUs: number;
  private tickJitterUs: number;
  private readonly conversionPeriodUs: number;
  private readonly flashStallUs: number;
  private readonly jitterRng: Prng;

  // Clock and schedule.
  private bootUs = 0;
  private lastAdvanceUs: number;
  private lastFrameUs: number;
  private frameBaseUs = 0;
  private frameIndex = 0;
  private nextFrameUs = 0;
  private pendingFlashAtUs = Infinity;
  private lastTickUnits = 0;

  // Register groups.
  private readonly groups: Array<GroupSlot | undefined> = new Array(256);
  private readonly rx = new Uint8Array(RX_BUFFER_BYTES);
  private readonly g: Record<'adc' | 'dac' | 'pot' | 'means' | 'dacOut' | 'pid' | 'calIn' | 'calDac' | 'pidCfg' | 'timing' | 'chip' | 'flash' | 'dateTime' | 'cmd' | 'password' | 'access', GroupSlot>;
  private readonly chipNoise: Uint8Array;

  // Run state.
  private st = 0;
  private gainIndex = DEFAULT_TIA_GAIN_INDEX;
  private gx = TIA_GAIN_OHMS[DEFAULT_TIA_GAIN_INDEX]!;
  private readonly adcFifo = new Float32Array(ADC_FIFO_CAPACITY_PAIRS * 2);
  private adcHead = 0;
  private adcCount = 0;
  private adcOverflowing = false;
  private readonly dacFifo = new Float32Array(DAC_FIFO_CAPACITY_SETPOINTS);
  private dacHead = 0;
  private dacCount = 0;
  private adcFifoElem = 0;
  private dacFifoElem = 0;
  private sampTm = 0;

  // Outputs.
  private vceinSetV = 0;
  private vceinPinV = 0;
  private toarefV = 0;
  private opvrefV = 1.65;
  private appliedV = 0;

  // Measurement (refreshed every frame).
  private weoutA = 0;
  private reoutV = 0;

  // Cached configuration.
  private fifoSmpUnits = 200;
  private samplesWe = 100;
  private samplesRe = 100;
  private weSlope = 1;
  private weOffset = 0;
  private reK = 1;
  private reC = 0;
  private vceinSlope = Math.fround(-1 / 3);
  private vceinOffset = Math.fround(1.65);
  private pidCfg = { kp: 100, kd: 0.01, ki: 2.5e-5, errMax: 1e-11, errMin: -1e-11, itglMax: 10, itglMin: -10, rateMax: 0.05, rateMin: -0.05, outMax: 5, outMin: -5 };

  // PID state.
  private pidTarget = 0;
  private pidError = 0;
  private pidDerivative = 0;
  private pidIntegral = 0;
  private pidOutput = 0;
  private pidLastError = 0;
  private pidLastOutput = 0;
  private pidLastUpdateMs = 0;

  // RTC and flash.
  private rtcBaseMs: number;
  private rtcRefUs: number;
  private flashCount = 0;
  private readonly saveDate = new Uint8Array(6);

  constructor(options: VirtualPotentiostatOptions = {}) {
    this.now = options.now ?? (() => performance.now() * 1000);
    const seed = options.seed ?? 1;
    this.tickIntervalUs = validateInterval(options.tickIntervalUs ?? NOMINAL_POINT_INTERVAL_US);
    this.tickJitterUs = clampJitter(options.tickJitterUs ?? 0, this.tickIntervalUs);
    this.conversionPeriodUs = options.conversionPeriodUs ?? 180;
    if (!(this.conversionPeriodUs > 0)) throw new RangeError('conversionPeriodUs must be > 0');
    this.flashStallUs = options.flashStallUs ?? 40_000;
    this.pushPairsInPidMode = options.pushPairsInPidMode ?? false;
    this.jitterRng = new Prng(seed ^ 0x71773e);
    const noise = options.noise ?? 1;
    this.cell = isCellModel(options.cell) ? options.cell : new ElectrochemicalCell(options.cell ?? {}, { noise, seed });
    this.frontEnd = new AnalogFrontEnd({ noise, smoothing: options.smoothing ?? true, seed: seed ^ 0x5a5a });

    const idRng = new Prng(seed ^ 0xc41d);
    this.uid = options.uid ? Uint8Array.from(options.uid) : Uint8Array.from({ length: 12 }, () => idRng.nextUint32() & 0xff);
    if (this.uid.length !== 12) throw new RangeError('uid must be 12 bytes (96 bits)');
    this.serialNumber = formatSerialNumber(this.uid);
    this.chipNoise = Uint8Array.from({ length: 180 }, () => idRng.nextUint32() & 0xff);

    for (const info of REGISTER_GROUPS) {
      const buf = new Uint8Array(info.bytes);
      this.groups[info.id] = { info, buf, view: new DataView(buf.buffer) };
    }
    const slot = (address: number): GroupSlot => this.groups[address >>> 8]!;
    this.g = {
      adc: slot(Register.ADC_FIFO),
      dac: slot(Register.DAC_FIFO),
      pot: slot(Register.POT_VALUES),
      means: slot(Register.ANALOG_MEANS),
      dacOut: slot(Register.DAC_OUTPUTS),
      pid: slot(Register.PID_STATE),
      calIn: slot(Register.CAL_ANALOG_IN),
      calDac: slot(Register.CAL_DAC),
      pidCfg: slot(Register.PID_CONFIG),
      timing: slot(Register.TIMING),
      chip: slot(Register.CHIP_ID),
      flash: slot(Register.FLASH_STATUS),
      dateTime: slot(Register.DATE_TIME),
      cmd: slot(Register.COMMAND),
      password: slot(Register.PASSWORD),
      access: slot(Register.ACCESS_LEVEL),
    };

    const t = this.now();
    this.lastAdvanceUs = t;
    this.lastFrameUs = Math.round(t);
    this.rtcBaseMs = options.rtcEpochMs ?? Date.now();
    this.rtcRefUs = t;
    this.boot(t);
    this.rebaseFrames(t + this.tickIntervalUs);
  }

  // ---------------------------------------------------------------- public state

  /** Status word `st` (group 0x03, 8). */
  get status(): number {
    return this.st;
  }
  get tiaGainIndex(): number {
    return this.gainIndex;
  }
  get gxOhm(): number {
    return this.gx;
  }
  get adcPendingPairs(): number {
    return this.adcCount;
  }
  get dacPendingSetpoints(): number {
    return this.dacCount;
  }
  /** Potential the cell currently sees (setpoint after the DAC clip), V. */
  get appliedPotentialV(): number {
    return this.appliedV;
  }
  get currentReadingA(): number {
    return this.weoutA;
  }
  get potentialReadingV(): number {
    return this.reoutV;
  }
  get pidOutputV(): number {
    return this.pidOutput;
  }
  get sampleTimeUnits(): number {
    return this.sampTm;
  }
  get tickInterval(): number {
    return this.tickIntervalUs;
  }

  /** Changes the frame period (and jitter) from now on. */
  setTickInterval(intervalUs: number, jitterUs = this.tickJitterUs): void {
    this.tickIntervalUs = validateInterval(intervalUs);
    this.tickJitterUs = clampJitter(jitterUs, this.tickIntervalUs);
    this.rebaseFrames(Math.max(this.lastFrameUs + this.tickIntervalUs, this.lastAdvanceUs));
  }

  // ---------------------------------------------------------------- clock

  /** Executes every frame (and controller tick) due at or before `t` (µs). */
  advanceTo(t: number): void {
    if (!(t > this.lastAdvanceUs)) return;
    this.lastAdvanceUs = t;
    for (;;) {
      const eventUs = this.pendingResetAtUs < this.pendingFlashAtUs ? this.pendingResetAtUs : this.pendingFlashAtUs;
      const frameUs = this.nextFrameUs;
      if (eventUs <= frameUs) {
        if (eventUs > t) return;
        this.runEvent(eventUs);
        continue;
      }
      if (frameUs > t) return;
      if ((this.st & StatusBit.RUN) === 0 && t - frameUs > FAST_FORWARD_US && eventUs > t) {
        this.fastForward(t - 2 * this.tickIntervalUs);
        continue;
      }
      this.frame(frameUs);
      this.frameIndex++;
      const jitter = this.tickJitterUs > 0 ? this.tickJitterUs * (2 * this.jitterRng.nextFloat() - 1) : 0;
      this.nextFrameUs = this.frameBaseUs + this.frameIndex * this.tickIntervalUs + jitter;
    }
  }

  /**
   * Suspends the main loop (no conversions, no ticks) from now for `durationUs`. Frames
   * resume at the end without catching up; the next tick sees a long dt.
   */
  suspend(durationUs: number, atUs = this.now()): void {
    this.advanceTo(atUs);
    this.suspendUntil(atUs + Math.max(0, durationUs));
  }

  /** Reboots the MCU now (power cycle, or RESET after its delay). The cell is untouched. */
  reboot(atUs = this.now()): void {
    this.advanceTo(atUs);
    this.boot(atUs);
    this.stats.reboots++;
  }

  // ---------------------------------------------------------------- requests

  /**
   * Processes one delimited request as the firmware does and returns the reply, or null
   * when the firmware stays silent (foreign address, empty frame).
   */
  handleRequest(frame: Uint8Array, atUs = this.now()): Uint8Array | null {
    this.advanceTo(atUs);
    if (frame.length === 0) return null;
    this.rx.set(frame.length > RX_BUFFER_BYTES ? frame.subarray(0, RX_BUFFER_BYTES) : frame, 0);
    return this.process(atUs);
  }

  private process(t: number): Uint8Array | null {
    const rx = this.rx;
    const address = rx[0]!;
    if (address !== UNIT_ADDRESS && address !== UNIT_ADDRESS_ALT) return null;
    const fn = rx[1]!;
    let crcAt: number;
    switch (fn) {
      case FunctionCode.READ_HOLDING:
      case FunctionCode.READ_INPUT:
        crcAt = 6;
        break;
      case FunctionCode.WRITE_MULTIPLE:
        crcAt = 7 + rx[6]!;
        break;
      case FunctionCode.READ_WRITE_MULTIPLE:
        crcAt = 11 + rx[10]!;
        break;
      default:
        return encodeExceptionResponse(address, fn, ExceptionCode.ILLEGAL_FUNCTION);
    }
    const crc = crc16Modbus(rx, 0, crcAt);
    if (rx[crcAt] !== (crc & 0xff) || rx[crcAt + 1] !== crc >>> 8) return encodeExceptionResponse(address, fn, ExceptionCode.ILLEGAL_DATA_VALUE);

    const word = (i: number): number => (rx[i]! << 8) | rx[i + 1]!;
    if (fn === FunctionCode.WRITE_MULTIPLE) {
      const start = word(2);
      const count = word(4);
      const code = this.write(start, count, 7, t);
      return code ? encodeExceptionResponse(address, fn, code) : encodeWriteResponse(address, start, count);
    }
    if (fn === FunctionCode.READ_WRITE_MULTIPLE) {
      const code = this.write(word(6), word(8), 11, t);
      if (code) return encodeExceptionResponse(address, fn, code);
    }
    const out = this.read(address, fn, word(2), word(4), t);
    return typeof out === 'number' ? encodeExceptionResponse(address, fn, out) : out;
  }

  /**
   * Read path (2.3 step 5): handler first, then the range check. Returns the complete
   * reply frame (built in place: words swapped out of the little-endian group buffer,
   * CRC appended) or an exception code.
   */
  private read(address: number, fn: number, start: number, count: number, t: number): Uint8Array | number {
    const slot = this.groups[start >>> 8];
    if (!slot || slot.info.access === 'wo') return ExceptionCode.ILLEGAL_DATA_ADDRESS;
    const byteCount = (2 * count) & 0xff;
    const offset = (2 * (start & 0xff)) & 0xff;
    const code = this.readHandler(slot, byteCount, t);
    if (code) return code;
    if (byteCount > READ_MAX_DATA_BYTES || offset + byteCount > slot.info.bytes) return ExceptionCode.ILLEGAL_DATA_ADDRESS;
    const reply = new Uint8Array(5 + byteCount);
    reply[0] = address;
    reply[1] = fn;
    reply[2] = byteCount;
    const buf = slot.buf;
    for (let i = 0; i < byteCount; i += 2) {
      reply[3 + i] = buf[offset + i + 1]!;
      reply[4 + i] = buf[offset + i]!;
    }
    appendCrc(reply, 3 + byteCount);
    return reply;
  }

  /** Write path (2.3 step 6): range check first, then copy, then the handler. */
  private write(start: number, count: number, dataAt: number, t: number): HandlerResult {
    const slot = this.groups[start >>> 8];
    if (!slot || slot.info.access === 'ro') return ExceptionCode.ILLEGAL_DATA_ADDRESS;
    const offset = 2 * (start & 0xff);
    const bytes = 2 * count;
    if (offset > WRITE_MAX_OFFSET_BYTES || offset + bytes > slot.info.bytes) return ExceptionCode.ILLEGAL_DATA_ADDRESS;
    const rx = this.rx;
    const buf = slot.buf;
    for (let i = 0; i < bytes; i += 2) {
      buf[offset + i] = rx[dataAt + i + 1]!;
      buf[offset + i + 1] = rx[dataAt + i]!;
    }
    return this.writeHandler(slot, bytes, t);
  }

  private readHandler(slot: GroupSlot, byteCount: number, t: number): HandlerResult {
    const g = this.g;
    switch (slot) {
      case g.adc:
        return this.popPairs(byteCount >>> 3, t);
      case g.pot:
        this.refreshPotValues();
        return 0;
      case g.means:
        this.refreshAnalogMeans();
        return 0;
      case g.dacOut:
        writeDefaults(g.dacOut.view, [this.vceinSetV, this.toarefV, this.opvrefV]);
        return 0;
      case g.pid:
        this.refreshPidState();
        return 0;
      case g.chip:
        this.refreshChipId();
        return 0;
      case g.flash:
        this.refreshFlashStatus(g.flash.buf, 0);
        return 0;
      case g.dateTime:
        this.refreshDateTime(t);
        return 0;
      default:
        return 0;
    }
  }

  private writeHandler(slot: GroupSlot, bytes: number, t: number): HandlerResult {
    const g = this.g;
    switch (slot) {
      case g.dac:
        return this.pushSetpoints(bytes >>> 2, t);
      case g.cmd:
        return this.executeCommand(t);
      case g.dacOut: {
        const v = g.dacOut.view;
        this.applySetpoint(v.getFloat32(0, true));
        this.toarefV = v.getFloat32(4, true);
        this.opvrefV = v.getFloat32(8, true);
        return 0;
      }
      case g.calIn:
      case g.calDac:
      case g.pidCfg:
      case g.timing:
        this.parseConfig();
        return 0;
      case g.dateTime:
        this.setRtcFromBuffer(t);
        return 0;
      default:
        return 0;
    }
  }

  // ---------------------------------------------------------------- FIFOs

  private popPairs(pairs: number, t: number): HandlerResult {
    if (t < this.busyStormUntilUs && pairs > 0) return ExceptionCode.SLAVE_DEVICE_BUSY;
    if (this.adcCount < pairs) return ExceptionCode.SLAVE_DEVICE_BUSY;
    const view = this.g.adc.view;
    const fifo = this.adcFifo;
    let head = this.adcHead;
    for (let p = 0; p < pairs; p++) {
      view.setFloat32(p * 8, fifo[2 * head]!, true);
      view.setFloat32(p * 8 + 4, fifo[2 * head + 1]!, true);
      head = (head + 1) & (ADC_FIFO_CAPACITY_PAIRS - 1);
    }
    this.adcHead = head;
    this.adcCount -= pairs;
    if (pairs > 0) this.adcOverflowing = false;
    return 0;
  }

  private pushSetpoints(setpoints: number, t: number): HandlerResult {
    if (t < this.busyStormUntilUs && setpoints > 0) return ExceptionCode.SLAVE_DEVICE_BUSY;
    if (DAC_FIFO_CAPACITY_SETPOINTS - this.dacCount < setpoints) return ExceptionCode.SLAVE_DEVICE_BUSY;
    const view = this.g.dac.view;
    let tail = (this.dacHead + this.dacCount) & (DAC_FIFO_CAPACITY_SETPOINTS - 1);
    for (let s = 0; s < setpoints; s++) {
      this.dacFifo[tail] = view.getFloat32(s * 4, true);
      tail = (tail + 1) & (DAC_FIFO_CAPACITY_SETPOINTS - 1);
    }
    this.dacCount += setpoints;
    return 0;
  }

  private clearAdcFifo(): void {
    this.adcHead = 0;
    this.adcCount = 0;
    this.adcOverflowing = false;
  }

  // ---------------------------------------------------------------- commands (5)

  private executeCommand(t: number): HandlerResult {
    const buf = this.g.cmd.buf;
    const command = buf[0]! | (buf[1]! << 8);
    const p0 = buf[2]!;
    switch (command) {
      case Command.SENSOR_ZERO:
        this.sensorZero();
        return 0;
      case Command.RESET:
        if (p0 !== 0) this.pendingResetAtUs = Math.min(this.pendingResetAtUs, t + RESET_DELAY_US);
        return 0;
      case Command.LOADDFLT:
        this.loadDefaults();
        if (p0 & LOADDFLT_SAVE_BIT) this.pendingFlashAtUs = Math.min(this.pendingFlashAtUs, t);
        return 0;
      case Command.SET_TIA_GAIN:
        if (p0 > TIA_GAIN_INDEX_MAX_ACCEPTED) return ExceptionCode.ILLEGAL_DATA_VALUE;
        this.setGain(Math.min(p0, TIA_GAIN_INDEX_MAX_EFFECTIVE));
        return 0;
      case Command.SET_SWITCH:
        this.setSwitch(p0 !== 0);
        return 0;
      case Command.FIFO_START:
        this.clearAdcFifo();
        this.st |= StatusBit.RUN | StatusBit.FIFO;
        this.setSwitch(p0 !== 0);
        return 0;
      case Command.PID_START: {
        const target = this.g.cmd.view.getFloat32(2, true);
        if (Number.isFinite(target)) {
          this.pidTarget = target;
          this.st |= StatusBit.RUN | StatusBit.FIFO | StatusBit.PID;
        }
        return 0;
      }
      case Command.TEST_STOP:
        this.st |= StatusBit.STOP;
        return 0;
      case Command.CLEAR_FIFO:
        if (p0 !== 0) this.clearAdcFifo();
        return 0;
      case Command.CFG_SAVE:
        this.pendingFlashAtUs = Math.min(this.pendingFlashAtUs, t + FLASH_DELAY_US);
        return 0;
      default:
        return ExceptionCode.ILLEGAL_DATA_VALUE;
    }
  }

  private setSwitch(closed: boolean): void {
    if (closed) this.st |= StatusBit.CE;
    else this.st &= ~StatusBit.CE;
  }

  private setGain(index: number): void {
    const gx = TIA_GAIN_OHMS[index]!;
    // The firmware averages WE volts: right after a change the reading is off by gx_old/gx_new.
    if (gx !== this.gx) this.frontEnd.rescaleCurrent(this.gx / gx);
    this.gainIndex = index;
    this.gx = gx;
    this.updateReadings();
  }

  private sensorZero(): void {
    const v = this.g.calIn.view;
    v.setFloat32(CAL_WE + CAL_OFFSET, this.opvrefV - this.weCalibratedV(), true);
    v.setFloat32(CAL_RE + CAL_OFFSET, v.getFloat32(CAL_RE + CAL_OFFSET, true) - this.reoutV, true);
    this.parseConfig();
  }

  private loadDefaults(): void {
    const g = this.g;
    writeDefaults(g.calIn.view, CAL_IN_DEFAULTS);
    writeDefaults(g.calDac.view, CAL_DAC_DEFAULTS);
    writeDefaults(g.pidCfg.view, PID_DEFAULTS);
    TIMING_DEFAULTS.forEach((v, i) => g.timing.view.setUint32(i * 4, v, true));
    g.access.buf.fill(0);
    this.parseConfig();
  }

  private parseConfig(): void {
    const cal = this.g.calIn.view;
    this.weSlope = cal.getFloat32(CAL_WE, true);
    this.weOffset = cal.getFloat32(CAL_WE + CAL_OFFSET, true);
    this.samplesWe = cal.getFloat32(CAL_WE + CAL_SAMPLES, true);
    const reSlope = cal.getFloat32(CAL_RE, true);
    const reOffset = cal.getFloat32(CAL_RE + CAL_OFFSET, true);
    this.samplesRe = cal.getFloat32(CAL_RE + CAL_SAMPLES, true);
    // RE = slope·adc + offset with adc = (4.95 − E)/3, arranged so the defaults are exact.
    this.reK = -reSlope / 3;
    this.reC = reOffset - this.reK * F495;
    const dac = this.g.calDac.view;
    this.vceinSlope = dac.getFloat32(DACCAL_VCEIN, true);
    this.vceinOffset = dac.getFloat32(DACCAL_VCEIN + 4, true);
    const p = this.g.pidCfg.view;
    const f = (o: number) => p.getFloat32(o, true);
    this.pidCfg = {
      kp: f(PIDCFG.kp), kd: f(PIDCFG.kd), ki: f(PIDCFG.ki), errMax: f(PIDCFG.errMax), errMin: f(PIDCFG.errMin),
      itglMax: f(PIDCFG.itglMax), itglMin: f(PIDCFG.itglMin), rateMax: f(PIDCFG.rateMax), rateMin: f(PIDCFG.rateMin),
      outMax: f(PIDCFG.outMax), outMin: f(PIDCFG.outMin),
    };
    this.fifoSmpUnits = this.g.timing.view.getUint32(TIMING.fifoSmp, true);
    this.updateReadings();
  }

  // ---------------------------------------------------------------- controller (6.4)

  private frame(t: number): void {
    const tr = Math.round(t);
    const dtUs = tr - this.lastFrameUs;
    this.lastFrameUs = tr;
    this.stats.frames++;
    const ceClosed = (this.st & StatusBit.CE) !== 0;
    this.cell.step(dtUs * 1e-6, this.appliedV, ceClosed);
    let conversions = Math.round(dtUs / this.conversionPeriodUs);
    if (conversions < 1) conversions = 1;
    else if (conversions > MAX_CONVERSIONS_PER_FRAME) conversions = MAX_CONVERSIONS_PER_FRAME;
    this.frontEnd.convert(this.cell.currentA, this.cell.potentialV, conversions, F495 / this.gx, this.samplesWe, this.samplesRe);
    this.updateReadings();
    if ((this.st & StatusBit.RUN) !== 0) {
      const units = this.unitsAt(t);
      if (((units - this.lastTickUnits) >>> 0) >= this.fifoSmpUnits) this.tick(t, units);
    }
  }

  private tick(t: number, units: number): void {
    const dt = (units - this.lastTickUnits) >>> 0;
    this.lastTickUnits = units;
    this.sampTm = ((this.sampTm * 63 + dt) >>> 0) >>> 6;
    this.stats.ticks++;
    if ((this.st & StatusBit.PID) !== 0) {
      this.runPid(t);
      if (this.pushPairsInPidMode) this.pushPair();
      if ((this.st & StatusBit.STOP) !== 0) this.stop();
      return;
    }
    if ((this.st & StatusBit.FIFO) === 0) return;
    this.pushPair();
    if (this.dacCount > 0) {
      const sp = this.dacFifo[this.dacHead]!;
      this.dacHead = (this.dacHead + 1) & (DAC_FIFO_CAPACITY_SETPOINTS - 1);
      this.dacCount--;
      this.dacFifoElem = this.dacCount;
      this.applySetpoint(sp);
    } else {
      this.dacFifoElem = -1;
      if ((this.st & StatusBit.STOP) !== 0) {
        this.stats.stopUnderruns++;
        this.stop();
      } else {
        this.stats.underruns++;
      }
    }
  }

  private pushPair(): void {
    const fifo = this.adcFifo;
    const cap = ADC_FIFO_CAPACITY_PAIRS;
    const slot = (this.adcHead + this.adcCount) & (cap - 1);
    fifo[2 * slot] = this.weoutA;
    fifo[2 * slot + 1] = this.reoutV;
    if (this.adcCount === cap) {
      this.adcHead = (this.adcHead + 1) & (cap - 1);
      this.stats.adcOverwrittenPairs++;
      if (!this.adcOverflowing) {
        this.adcOverflowing = true;
        this.stats.adcOverflowEvents++;
      }
    } else {
      this.adcCount++;
    }
    this.adcFifoElem = this.adcCount;
  }

  private stop(): void {
    this.st &= ~RUN_BITS;
  }

  /** 5.4: whole-millisecond dt, dead band, clamped integral, slope-limited increment. */
  private runPid(t: number): void {
    const nowMs = Math.floor((t - this.bootUs) / 1000) >>> 0;
    const dtMs = (nowMs - this.pidLastUpdateMs) >>> 0;
    if (dtMs === 0) return;
    this.pidLastUpdateMs = nowMs;
    const c = this.pidCfg;
    const f = Math.fround;
    const error = f(this.pidTarget - this.weoutA);
    this.pidError = error;
    if (error <= c.errMax && error >= c.errMin) {
      this.pidIntegral = 0;
      this.pidLastError = error;
      return;
    }
    this.pidDerivative = f((error - this.pidLastError) / dtMs);
    this.pidIntegral = clamp(f(this.pidIntegral + error * dtMs), c.itglMin, c.itglMax);
    let increment = f(c.kp * error + c.kd * this.pidDerivative + c.ki * this.pidIntegral);
    increment = clamp(increment, c.rateMin * dtMs, c.rateMax * dtMs);
    this.pidLastError = error;
    this.pidLastOutput = this.pidOutput;
    const output = f(clamp(this.pidOutput + increment, c.outMin, c.outMax));
    if (output !== this.pidOutput) {
      this.pidOutput = output;
      this.applySetpoint(output);
    }
  }

  /** 6.3: pin = slope·sp + offset, clamped to 0–3.3 V; non-finite setpoints are ignored. */
  private applySetpoint(setpointV: number): void {
    if (!Number.isFinite(setpointV)) return;
    this.vceinSetV = setpointV;
    const pin = this.vceinSlope * setpointV + this.vceinOffset;
    this.vceinPinV = pin;
    if (pin >= 0 && pin <= DAC_PIN_MAX_V) this.appliedV = setpointV;
    else this.appliedV = this.vceinSlope !== 0 ? ((pin < 0 ? 0 : DAC_PIN_MAX_V) - this.vceinOffset) / this.vceinSlope : 0;
  }

  private updateReadings(): void {
    const meanA = this.frontEnd.currentMeanA;
    if (this.weSlope === 1) this.weoutA = this.weOffset === 0 ? meanA : meanA - (this.weOffset * 3) / this.gx;
    else this.weoutA = ((this.opvrefV - this.weCalibratedV()) * 3) / this.gx;
    this.reoutV = this.reK * this.frontEnd.potentialMeanV + this.reC;
  }

  /** Calibrated WE ADC value (V) as the firmware averages it (group 0x04, 0). */
  private weCalibratedV(): number {
    const adcV = this.opvrefV - (this.frontEnd.currentMeanA * this.gx) / 3;
    return this.weSlope * adcV + this.weOffset;
  }

  private unitsAt(t: number): number {
    return Math.floor((t - this.bootUs) / TIMER_UNIT_US) >>> 0;
  }

  // ---------------------------------------------------------------- schedule helpers

  private rebaseFrames(firstFrameUs: number): void {
    this.frameBaseUs = firstFrameUs;
    this.frameIndex = 0;
    this.nextFrameUs = firstFrameUs;
  }

  private suspendUntil(untilUs: number): void {
    if (untilUs > this.suspendedUntilUs) this.suspendedUntilUs = untilUs;
    if (this.nextFrameUs < untilUs) this.rebaseFrames(untilUs);
  }

  private runEvent(eventUs: number): void {
    if (this.pendingResetAtUs === eventUs) {
      this.boot(eventUs);
      this.stats.reboots++;
      return;
    }
    this.pendingFlashAtUs = Infinity;
    this.flashCount++;
    this.stats.flashWrites++;
    const d = new Date(this.rtcMs(eventUs));
    this.saveDate.set([d.getUTCSeconds(), d.getUTCMinutes(), d.getUTCHours(), d.getUTCDate(), d.getUTCMonth() + 1, d.getUTCFullYear() - 2000]);
    this.suspendUntil(eventUs + this.flashStallUs);
  }

  /** Idle only: coarse cell steps across a long gap, then normal frames resume. */
  private fastForward(targetUs: number): void {
    const target = Math.round(targetUs);
    let remaining = target - this.lastFrameUs;
    const ceClosed = (this.st & StatusBit.CE) !== 0;
    const steps = Math.min(256, Math.ceil(remaining / FAST_FORWARD_STEP_US));
    const stepUs = Math.floor(remaining / steps);
    for (let s = 0; s < steps; s++) {
      const dt = s === steps - 1 ? remaining : stepUs;
      remaining -= dt;
      this.cell.step(dt * 1e-6, this.appliedV, ceClosed);
    }
    this.frontEnd.convert(this.cell.currentA, this.cell.potentialV, MAX_CONVERSIONS_PER_FRAME, F495 / this.gx, this.samplesWe, this.samplesRe);
    this.updateReadings();
    this.lastFrameUs = target;
    this.rebaseFrames(target + this.tickIntervalUs);
  }

  /** Power-on state (beep-protocol.md: defaults always loaded at boot, FIFOs empty). */
  private boot(t: number): void {
    this.bootUs = t;
    this.pendingResetAtUs = Infinity;
    this.pendingFlashAtUs = Infinity;
    this.lastTickUnits = 0;
    this.st = 0;
    this.gainIndex = DEFAULT_TIA_GAIN_INDEX;
    this.gx = TIA_GAIN_OHMS[DEFAULT_TIA_GAIN_INDEX]!;
    this.clearAdcFifo();
    this.dacHead = 0;
    this.dacCount = 0;
    this.adcFifoElem = 0;
    this.dacFifoElem = 0;
    this.sampTm = 0;
    this.pidTarget = this.pidError = this.pidDerivative = this.pidIntegral = 0;
    this.pidOutput = this.pidLastError = this.pidLastOutput = 0;
    this.pidLastUpdateMs = 0;
    this.toarefV = 0;
    this.opvrefV = Math.fround(1.65);
    this.rx.fill(0);
    for (const slot of Object.values(this.g)) slot.buf.fill(0);
    this.loadDefaults();
    this.applySetpoint(0);
    this.vceinSetV = 0;
  }

  // ---------------------------------------------------------------- group refreshers

  private refreshPotValues(): void {
    const v = this.g.pot.view;
    v.setFloat32(0, this.weoutA, true);
    v.setFloat32(4, this.reoutV, true);
    v.setFloat32(8, this.vceinPinV, true);
    v.setFloat32(12, this.toarefV, true);
    v.setFloat32(16, this.opvrefV, true);
    v.setFloat32(20, BOARD_TEMPERATURE_C, true);
    v.setFloat32(24, BOARD_HUMIDITY_PCT, true);
    v.setFloat32(28, this.gx, true);
    v.setInt32(32, this.adcFifoElem, true);
    v.setInt32(36, this.dacFifoElem, true);
    v.setUint32(40, this.sampTm, true);
    v.setUint32(44, this.st, true);
  }

  private refreshAnalogMeans(): void {
    writeDefaults(this.g.means.view, [this.weCalibratedV(), this.reoutV, 3.3, 31.5, 3.0]);
  }

  private refreshPidState(): void {
    const v = this.g.pid.view;
    writeDefaults(v, [this.pidTarget, this.pidError, this.pidDerivative, this.pidIntegral, this.pidOutput, this.pidLastError, this.pidLastOutput]);
    v.setUint32(28, this.pidLastUpdateMs, true);
  }

  private refreshChipId(): void {
    const buf = this.g.chip.buf;
    buf.set(this.uid, 0);
    buf.fill(0, 12, 16);
    this.refreshFlashStatus(buf, 16);
    let sum = 0;
    for (const slot of [this.g.calIn, this.g.calDac, this.g.pidCfg, this.g.timing]) for (const b of slot.buf) sum = (sum + b) >>> 0;
    this.g.chip.view.setUint32(28, sum, true);
    buf.set(this.chipNoise, 32);
  }

  private refreshFlashStatus(buf: Uint8Array, at: number): void {
    buf.set(this.saveDate, at);
    buf[at + 6] = 0;
    buf[at + 7] = 0;
    new DataView(buf.buffer, buf.byteOffset).setUint32(at + 8, this.flashCount, true);
  }

  private rtcMs(t: number): number {
    return this.rtcBaseMs + (t - this.rtcRefUs) / 1000;
  }

  private refreshDateTime(t: number): void {
    const d = new Date(Math.floor(this.rtcMs(t) / 1000) * 1000);
    const startOfYear = Date.UTC(d.getUTCFullYear(), 0, 1);
    const fields = [d.getUTCSeconds(), d.getUTCMinutes(), d.getUTCHours(), d.getUTCDate(), d.getUTCMonth(), d.getUTCFullYear() - 1900, d.getUTCDay(), Math.floor((d.getTime() - startOfYear) / 86_400_000), 0];
    fields.forEach((x, i) => this.g.dateTime.view.setInt32(i * 4, x, true));
  }

  private setRtcFromBuffer(t: number): void {
    const v = this.g.dateTime.view;
    const f = (i: number) => v.getInt32(i * 4, true);
    const ms = Date.UTC(f(5) + 1900, f(4), f(3), f(2), f(1), f(0));
    if (Number.isFinite(ms)) {
      this.rtcBaseMs = ms;
      this.rtcRefUs = t;
    }
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

function validateInterval(us: number): number {
  if (!(us >= 1 && Number.isFinite(us))) throw new RangeError(`tickIntervalUs must be a finite number >= 1, got ${us}`);
  return us;
}

function clampJitter(jitterUs: number, intervalUs: number): number {
  if (!(jitterUs >= 0)) throw new RangeError(`tickJitterUs must be >= 0, got ${jitterUs}`);
  return Math.min(jitterUs, 0.45 * intervalUs);
}

function isCellModel(x: unknown): x is CellModel {
  return typeof x === 'object' && x !== null && typeof (x as CellModel).step === 'function';
}

/** 12 upper-case hex characters: (UID word 0 + word 2) then the top 16 bits of word 1. */
function formatSerialNumber(uid: Uint8Array): string {
  const v = new DataView(uid.buffer, uid.byteOffset, 12);
  return formatUsbSerialNumber(v.getUint32(0, true), v.getUint32(4, true), v.getUint32(8, true));
}
