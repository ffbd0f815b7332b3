/**
 * The potentiostat controller: what the firmware does on every ADC frame and timer tick,
 * and on every command.
 *
 * A frame steps the cell model and runs the conversions (firmware smoothing); while RUN is
 * set and at least `fifo_smp` timer units have passed since the previous tick, it executes
 * one controller tick: push one ADC pair, apply the next DAC setpoint (FIFO modes) or run
 * the PID (galvanostatic modes), and end the run on STOP.
 *
 * RESET and flash writes are not executed here: a command records when they are due and
 * the tick scheduler runs them in order with the frames.
 */
import {
  Command,
  DEFAULT_TIA_GAIN_INDEX,
  ExceptionCode,
  StatusBit,
  TIA_GAIN_INDEX_MAX_ACCEPTED,
  TIA_GAIN_INDEX_MAX_EFFECTIVE,
  TIA_GAIN_OHMS,
  TIMER_UNIT_US,
} from '../protocol/index.js';
import type { AnalogFrontEnd } from './analog-front-end.js';
import type { CellModel } from './cell.js';
import type { DeviceStats } from './device-stats.js';
import { type CeCause, DeviceLog } from './device-log.js';
import type { AdcFifo, DacFifo } from './fifos.js';
import { PidLoop } from './pid.js';
import {
  CAL_OFFSET,
  CAL_RE,
  CAL_SAMPLES,
  CAL_WE,
  DACCAL_VCEIN,
  DAC_OUT_OPVREF_AT,
  DAC_OUT_TOAREF_AT,
  DAC_OUT_VCEIN_AT,
  FIFO_SMP_AT,
  type PublishedState,
  type RegisterMemory,
} from './register-memory.js';

const RESET_DELAY_US = 25_000;
const FLASH_DELAY_US = 25_000;
/** Conversions per frame are capped: after a long gap more would only re-settle the means. */
export const MAX_CONVERSIONS_PER_FRAME = 1000;
const F495 = Math.fround(4.95);
const DAC_PIN_MAX_V = 3.3;
const LOADDFLT_SAVE_BIT = 0x08;

const RUN_BITS = StatusBit.RUN | StatusBit.STOP | StatusBit.FIFO | StatusBit.PID | StatusBit.CE;

const COMMAND_NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(Command).map(([name, code]) => [code, name]));

/** Outcome code of a handler: 0 = success, otherwise a Modbus exception code. */
export type HandlerResult = number;

export class Controller implements PublishedState {
  /** Status word `st` (pot-values ST). */
  st = 0;
  gainIndex = DEFAULT_TIA_GAIN_INDEX;
  gx = TIA_GAIN_OHMS[DEFAULT_TIA_GAIN_INDEX]!;
  /** Moving average of the tick period in timer units (pot-values SAMP_TM). */
  sampTm = 0;
  readonly pid = new PidLoop();
  /** See VirtualPotentiostatOptions.pushPairsInPidMode (not firmware-faithful). */
  pushPairsInPidMode: boolean;
  /** Time at which a requested RESET reboots the MCU (µs), or Infinity. */
  pendingResetAtUs = Infinity;
  /** Time at which a requested flash write starts (µs), or Infinity. */
  pendingFlashAtUs = Infinity;

  // Outputs.
  vceinSetV = 0;
  vceinPinV = 0;
  toarefV = 0;
  opvrefV = 1.65;
  /** Potential the cell sees (setpoint after the DAC clip), V. */
  appliedV = 0;

  // Measurement (refreshed every frame).
  weoutA = 0;
  reoutV = 0;

  private bootUs = 0;
  private lastTickUnits = 0;

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

  constructor(
    private readonly memory: RegisterMemory,
    private readonly adcFifo: AdcFifo,
    private readonly dacFifo: DacFifo,
    private readonly cell: CellModel,
    private readonly frontEnd: AnalogFrontEnd,
    private readonly stats: DeviceStats,
    /** Duration of one ADC conversion (µs). */
    private readonly conversionPeriodUs: number,
    pushPairsInPidMode: boolean,
    /** Commands and CE-switch changes, for tests (device-log.ts). */
    readonly log: DeviceLog = new DeviceLog(),
  ) {
    this.pushPairsInPidMode = pushPairsInPidMode;
  }

  // ---------------------------------------------------------------- frames and ticks

  /** One ADC frame at `t` (µs), `dtUs` after the previous one. */
  frame(t: number, dtUs: number): void {
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

  /** Idle fast-forward: one coarse cell step, no conversions. */
  stepCell(dtUs: number): void {
    this.cell.step(dtUs * 1e-6, this.appliedV, (this.st & StatusBit.CE) !== 0);
  }

  /** Idle fast-forward: the means settle on the cell's present state. */
  settleReadings(): void {
    this.frontEnd.convert(this.cell.currentA, this.cell.potentialV, MAX_CONVERSIONS_PER_FRAME, F495 / this.gx, this.samplesWe, this.samplesRe);
    this.updateReadings();
  }

  private tick(t: number, units: number): void {
    const dt = (units - this.lastTickUnits) >>> 0;
    this.lastTickUnits = units;
    this.sampTm = ((this.sampTm * 63 + dt) >>> 0) >>> 6;
    this.stats.ticks++;
    if ((this.st & StatusBit.PID) !== 0) {
      // Whole milliseconds since boot, as the firmware's HAL tick counts them.
      if (this.pid.update(Math.floor((t - this.bootUs) / 1000) >>> 0, this.weoutA)) this.applySetpoint(this.pid.output);
      if (this.pushPairsInPidMode) this.adcFifo.push(this.weoutA, this.reoutV);
      if ((this.st & StatusBit.STOP) !== 0) this.stop(t);
      return;
    }
    if ((this.st & StatusBit.FIFO) === 0) return;
    this.adcFifo.push(this.weoutA, this.reoutV);
    const dac = this.dacFifo;
    if (dac.count > 0) {
      this.applySetpoint(dac.shift());
    } else {
      dac.markUnderrun();
      if ((this.st & StatusBit.STOP) !== 0) {
        this.stats.stopUnderruns++;
        this.stop(t);
      } else {
        this.stats.underruns++;
      }
    }
  }

  /** The firmware's stop: run bits cleared and the CE switch opened; VCEIN keeps its value. */
  private stop(t: number): void {
    if ((this.st & StatusBit.CE) !== 0) this.logCe(t, false, 'run_stop');
    this.st &= ~RUN_BITS;
  }

  private logCe(t: number, closed: boolean, cause: CeCause): void {
    this.log.add({ kind: 'ce', simUs: t, wallMs: Date.now(), closed, cause, vceinSetV: this.vceinSetV });
  }

  private unitsAt(t: number): number {
    return Math.floor((t - this.bootUs) / TIMER_UNIT_US) >>> 0;
  }

  // ---------------------------------------------------------------- outputs and readings

  /** pin = slope·sp + offset, clamped to 0–3.3 V; non-finite setpoints are ignored. */
  private applySetpoint(setpointV: number): void {
    if (!Number.isFinite(setpointV)) return;
    this.vceinSetV = setpointV;
    const pin = this.vceinSlope * setpointV + this.vceinOffset;
    this.vceinPinV = pin;
    if (pin >= 0 && pin <= DAC_PIN_MAX_V) this.appliedV = setpointV;
    else this.appliedV = this.vceinSlope !== 0 ? ((pin < 0 ? 0 : DAC_PIN_MAX_V) - this.vceinOffset) / this.vceinSlope : 0;
  }

  /** A host write to the DAC-outputs group sets the setpoint and both references. */
  applyDacOutputs(): void {
    const v = this.memory.dacOut.view;
    this.applySetpoint(v.getFloat32(DAC_OUT_VCEIN_AT, true));
    this.toarefV = v.getFloat32(DAC_OUT_TOAREF_AT, true);
    this.opvrefV = v.getFloat32(DAC_OUT_OPVREF_AT, true);
  }

  private updateReadings(): void {
    const meanA = this.frontEnd.currentMeanA;
    if (this.weSlope === 1) this.weoutA = this.weOffset === 0 ? meanA : meanA - (this.weOffset * 3) / this.gx;
    else this.weoutA = ((this.opvrefV - this.weCalibratedV()) * 3) / this.gx;
    this.reoutV = this.reK * this.frontEnd.potentialMeanV + this.reC;
  }

  /** Calibrated WE ADC value (V) as the firmware averages it (analog-means WE). */
  weCalibratedV(): number {
    const adcV = this.opvrefV - (this.frontEnd.currentMeanA * this.gx) / 3;
    return this.weSlope * adcV + this.weOffset;
  }

  // ---------------------------------------------------------------- commands

  /** Executes the command in the command group (and logs it). */
  executeCommand(t: number): HandlerResult {
    const buf = this.memory.cmd.buf;
    const command = buf[0]! | (buf[1]! << 8);
    const p0 = buf[2]!;
    const { vceinSetV, reoutV } = this;
    const result = this.runCommand(command, p0, t);
    this.log.add({ kind: 'command', simUs: t, wallMs: Date.now(), command, name: COMMAND_NAMES[command] ?? 'UNKNOWN', param: p0, result, vceinSetV, reoutV });
    return result;
  }

  private runCommand(command: number, p0: number, t: number): HandlerResult {
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
        this.setSwitch(p0 !== 0, t, 'SET_SWITCH');
        return 0;
      case Command.FIFO_START:
        this.adcFifo.clear();
        this.st |= StatusBit.RUN | StatusBit.FIFO;
        this.setSwitch(p0 !== 0, t, 'FIFO_START');
        return 0;
      case Command.PID_START: {
        const target = this.memory.cmd.view.getFloat32(2, true);
        if (Number.isFinite(target)) {
          this.pid.target = target;
          this.st |= StatusBit.RUN | StatusBit.FIFO | StatusBit.PID;
        }
        return 0;
      }
      case Command.TEST_STOP:
        this.st |= StatusBit.STOP;
        return 0;
      case Command.CLEAR_FIFO:
        if (p0 !== 0) this.adcFifo.clear();
        return 0;
      case Command.CFG_SAVE:
        this.pendingFlashAtUs = Math.min(this.pendingFlashAtUs, t + FLASH_DELAY_US);
        return 0;
      default:
        return ExceptionCode.ILLEGAL_DATA_VALUE;
    }
  }

  private setSwitch(closed: boolean, t: number, cause: CeCause): void {
    if (closed !== ((this.st & StatusBit.CE) !== 0)) this.logCe(t, closed, cause);
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
    const v = this.memory.calIn.view;
    v.setFloat32(CAL_WE + CAL_OFFSET, this.opvrefV - this.weCalibratedV(), true);
    v.setFloat32(CAL_RE + CAL_OFFSET, v.getFloat32(CAL_RE + CAL_OFFSET, true) - this.reoutV, true);
    this.parseConfig();
  }

  private loadDefaults(): void {
    this.memory.loadDefaults();
    this.parseConfig();
  }

  // ---------------------------------------------------------------- configuration

  /** Caches the calibration, PID and timing groups (after every write to them). */
  parseConfig(): void {
    const m = this.memory;
    const cal = m.calIn.view;
    this.weSlope = cal.getFloat32(CAL_WE, true);
    this.weOffset = cal.getFloat32(CAL_WE + CAL_OFFSET, true);
    this.samplesWe = cal.getFloat32(CAL_WE + CAL_SAMPLES, true);
    const reSlope = cal.getFloat32(CAL_RE, true);
    const reOffset = cal.getFloat32(CAL_RE + CAL_OFFSET, true);
    this.samplesRe = cal.getFloat32(CAL_RE + CAL_SAMPLES, true);
    // RE = slope·adc + offset with adc = (4.95 − E)/3, arranged so the defaults are exact.
    this.reK = -reSlope / 3;
    this.reC = reOffset - this.reK * F495;
    const dac = m.calDac.view;
    this.vceinSlope = dac.getFloat32(DACCAL_VCEIN, true);
    this.vceinOffset = dac.getFloat32(DACCAL_VCEIN + 4, true);
    this.pid.configure(m.pidCfg.view);
    this.fifoSmpUnits = m.timing.view.getUint32(FIFO_SMP_AT, true);
    this.updateReadings();
  }

  /**
   * Power-on state from time `t` (µs): defaults loaded, outputs at 0 V. Register memory
   * must have been cleared and the FIFOs reset first.
   */
  boot(t: number): void {
    this.bootUs = t;
    this.pendingResetAtUs = Infinity;
    this.pendingFlashAtUs = Infinity;
    this.lastTickUnits = 0;
    if ((this.st & StatusBit.CE) !== 0) this.logCe(t, false, 'boot');
    this.st = 0;
    this.gainIndex = DEFAULT_TIA_GAIN_INDEX;
    this.gx = TIA_GAIN_OHMS[DEFAULT_TIA_GAIN_INDEX]!;
    this.sampTm = 0;
    this.pid.reset();
    this.toarefV = 0;
    this.opvrefV = Math.fround(1.65);
    this.loadDefaults();
    this.applySetpoint(0);
    this.vceinSetV = 0;
  }
}
