/**
 * Register memory as the MCU holds it: one buffer per register group, every field
 * little-endian. Modbus words are big-endian, so reads swap the two bytes of each 16-bit
 * word on the way out and writes swap them on the way in.
 *
 * The read-only groups are not kept current: like the firmware's read handlers, the
 * `refresh…` methods fill a group from live state just before it is read. The RTC and
 * the flash status (save date, write count) live here because only these groups show them.
 */
import {
  PotValue,
  REGISTER_GROUPS,
  Register,
  type RegisterGroup,
  TimingConfig,
} from '../protocol/index.js';

export interface GroupSlot {
  info: RegisterGroup;
  buf: Uint8Array;
  view: DataView;
}

/** Controller state the pot-values, analog-means, DAC-outputs and PID-state groups publish. */
export interface PublishedState {
  readonly st: number;
  readonly gx: number;
  readonly weoutA: number;
  readonly reoutV: number;
  readonly vceinSetV: number;
  readonly vceinPinV: number;
  readonly toarefV: number;
  readonly opvrefV: number;
  readonly sampTm: number;
  weCalibratedV(): number;
  readonly pid: PublishedPidState;
}

export interface PublishedPidState {
  readonly target: number;
  readonly error: number;
  readonly derivative: number;
  readonly integral: number;
  readonly output: number;
  readonly lastError: number;
  readonly lastOutput: number;
  readonly lastUpdateMs: number;
}

// Byte offsets of the configuration fields (little-endian float32 / uint32).
export const CAL_WE = 0;
export const CAL_RE = 12;
export const CAL_SAMPLES = 8;
export const CAL_OFFSET = 4;
export const DACCAL_VCEIN = 0;
export const PID_CONFIG_AT = { kp: 0, kd: 4, ki: 8, errMax: 12, errMin: 16, itglMax: 20, itglMin: 24, rateMax: 28, rateMin: 32, outMax: 36, outMin: 40 } as const;
export const FIFO_SMP_AT = TimingConfig.FIFO_SMP * 2;
/** DAC-outputs group: VCEIN setpoint, TOAREF, OPVREF (float32). */
export const DAC_OUT_VCEIN_AT = 0;
export const DAC_OUT_TOAREF_AT = 4;
export const DAC_OUT_OPVREF_AT = 8;

// Chip-ID group: UID, 4 zero bytes, a copy of the flash status, the config checksum, noise.
const CHIP_FLASH_STATUS_AT = 16;
const CHIP_CONFIG_SUM_AT = 28;
const CHIP_NOISE_AT = 32;

const BOARD_TEMPERATURE_C = 23.5;
const BOARD_HUMIDITY_PCT = 41.0;

const CAL_IN_DEFAULTS = [1, 0, 100, -3, 4.95, 100, 1, 0, 10, 0.4, -279, 10, 3, 0, 10];
const CAL_DAC_DEFAULTS = [-1 / 3, 1.65, 0, 1, 0, 0, 1, 0, 1.65];
const PID_DEFAULTS = [100, 0.01, 2.5e-5, 1e-11, -1e-11, 10, -10, 0.05, -0.05, 5, -5];
const TIMING_DEFAULTS = [200, 50, 10_000, 200];

function writeFloat32s(view: DataView, values: readonly number[]): void {
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
}

export class RegisterMemory {
  readonly adc: GroupSlot;
  readonly dac: GroupSlot;
  readonly pot: GroupSlot;
  readonly means: GroupSlot;
  readonly dacOut: GroupSlot;
  readonly pid: GroupSlot;
  readonly calIn: GroupSlot;
  readonly calDac: GroupSlot;
  readonly pidCfg: GroupSlot;
  readonly timing: GroupSlot;
  readonly chip: GroupSlot;
  readonly flash: GroupSlot;
  readonly dateTime: GroupSlot;
  readonly cmd: GroupSlot;
  readonly password: GroupSlot;
  readonly access: GroupSlot;

  /** Indexed by group id, the high byte of a register address. */
  private readonly groups: Array<GroupSlot | undefined> = new Array<GroupSlot | undefined>(256);
  private readonly all: readonly GroupSlot[];
  private readonly uid: Uint8Array;
  private readonly chipNoise: Uint8Array;

  // RTC and flash.
  private rtcBaseMs: number;
  private rtcRefUs: number;
  private flashCount = 0;
  private readonly saveDate = new Uint8Array(6);

  /** The RTC reads `rtcEpochMs` at clock time `t` (µs). */
  constructor(uid: Uint8Array, chipNoise: Uint8Array, rtcEpochMs: number, t: number) {
    this.uid = uid;
    this.chipNoise = chipNoise;
    this.rtcBaseMs = rtcEpochMs;
    this.rtcRefUs = t;
    for (const info of REGISTER_GROUPS) {
      const buf = new Uint8Array(info.bytes);
      this.groups[info.id] = { info, buf, view: new DataView(buf.buffer) };
    }
    const slot = (address: number): GroupSlot => this.groups[address >>> 8]!;
    this.adc = slot(Register.ADC_FIFO);
    this.dac = slot(Register.DAC_FIFO);
    this.pot = slot(Register.POT_VALUES);
    this.means = slot(Register.ANALOG_MEANS);
    this.dacOut = slot(Register.DAC_OUTPUTS);
    this.pid = slot(Register.PID_STATE);
    this.calIn = slot(Register.CAL_ANALOG_IN);
    this.calDac = slot(Register.CAL_DAC);
    this.pidCfg = slot(Register.PID_CONFIG);
    this.timing = slot(Register.TIMING);
    this.chip = slot(Register.CHIP_ID);
    this.flash = slot(Register.FLASH_STATUS);
    this.dateTime = slot(Register.DATE_TIME);
    this.cmd = slot(Register.COMMAND);
    this.password = slot(Register.PASSWORD);
    this.access = slot(Register.ACCESS_LEVEL);
    this.all = [this.adc, this.dac, this.pot, this.means, this.dacOut, this.pid, this.calIn, this.calDac, this.pidCfg, this.timing, this.chip, this.flash, this.dateTime, this.cmd, this.password, this.access];
  }

  /** The group a register address falls in, if any. */
  groupAt(address: number): GroupSlot | undefined {
    return this.groups[address >>> 8];
  }

  /** Copies `bytes` bytes of a group from `offset` into `out` at `at`, as big-endian words. */
  readWords(slot: GroupSlot, offset: number, bytes: number, out: Uint8Array, at: number): void {
    const buf = slot.buf;
    for (let i = 0; i < bytes; i += 2) {
      out[at + i] = buf[offset + i + 1]!;
      out[at + i + 1] = buf[offset + i]!;
    }
  }

  /** Copies `bytes` bytes of big-endian words from `src` at `srcAt` into a group at `offset`. */
  writeWords(slot: GroupSlot, offset: number, src: Uint8Array, srcAt: number, bytes: number): void {
    const buf = slot.buf;
    for (let i = 0; i < bytes; i += 2) {
      buf[offset + i] = src[srcAt + i + 1]!;
      buf[offset + i + 1] = src[srcAt + i]!;
    }
  }

  /** Power-on: every group zeroed (the configuration defaults are loaded afterwards). */
  clear(): void {
    for (const slot of this.all) slot.buf.fill(0);
  }

  /** LOADDFLT and boot: factory calibration, PID and timing configuration; access level 0. */
  loadDefaults(): void {
    writeFloat32s(this.calIn.view, CAL_IN_DEFAULTS);
    writeFloat32s(this.calDac.view, CAL_DAC_DEFAULTS);
    writeFloat32s(this.pidCfg.view, PID_DEFAULTS);
    TIMING_DEFAULTS.forEach((v, i) => this.timing.view.setUint32(i * 4, v, true));
    this.access.buf.fill(0);
  }

  // ---------------------------------------------------------------- group refreshers

  refreshPotValues(c: PublishedState, adcElements: number, dacElements: number): void {
    const v = this.pot.view;
    v.setFloat32(PotValue.WEOUT * 2, c.weoutA, true);
    v.setFloat32(PotValue.REOUT * 2, c.reoutV, true);
    v.setFloat32(PotValue.DAC_VCEIN * 2, c.vceinPinV, true);
    v.setFloat32(PotValue.DAC_TOAREF * 2, c.toarefV, true);
    v.setFloat32(PotValue.DAC_OPVREF * 2, c.opvrefV, true);
    v.setFloat32(PotValue.EXT_TEMP * 2, BOARD_TEMPERATURE_C, true);
    v.setFloat32(PotValue.HUMIDITY * 2, BOARD_HUMIDITY_PCT, true);
    v.setFloat32(PotValue.GX * 2, c.gx, true);
    v.setInt32(PotValue.ADC_FIFO_ELEM * 2, adcElements, true);
    v.setInt32(PotValue.DAC_FIFO_ELEM * 2, dacElements, true);
    v.setUint32(PotValue.SAMP_TM * 2, c.sampTm, true);
    v.setUint32(PotValue.ST * 2, c.st, true);
  }

  refreshAnalogMeans(c: PublishedState): void {
    writeFloat32s(this.means.view, [c.weCalibratedV(), c.reoutV, 3.3, 31.5, 3.0]);
  }

  refreshDacOutputs(c: PublishedState): void {
    writeFloat32s(this.dacOut.view, [c.vceinSetV, c.toarefV, c.opvrefV]);
  }

  refreshPidState(p: PublishedPidState): void {
    const v = this.pid.view;
    writeFloat32s(v, [p.target, p.error, p.derivative, p.integral, p.output, p.lastError, p.lastOutput]);
    v.setUint32(28, p.lastUpdateMs, true);
  }

  refreshChipId(): void {
    const buf = this.chip.buf;
    buf.set(this.uid, 0);
    buf.fill(0, 12, CHIP_FLASH_STATUS_AT);
    this.refreshFlashStatus(buf, CHIP_FLASH_STATUS_AT);
    let sum = 0;
    for (const slot of [this.calIn, this.calDac, this.pidCfg, this.timing]) for (const b of slot.buf) sum = (sum + b) >>> 0;
    this.chip.view.setUint32(CHIP_CONFIG_SUM_AT, sum, true);
    buf.set(this.chipNoise, CHIP_NOISE_AT);
  }

  /** Save date (6 bytes), 2 zero bytes, uint32 write count, at `at` of `buf` (flash-status or chip-ID group). */
  refreshFlashStatus(buf: Uint8Array, at: number): void {
    buf.set(this.saveDate, at);
    buf[at + 6] = 0;
    buf[at + 7] = 0;
    new DataView(buf.buffer, buf.byteOffset).setUint32(at + 8, this.flashCount, true);
  }

  refreshDateTime(t: number): void {
    const d = new Date(Math.floor(this.rtcMs(t) / 1000) * 1000);
    const startOfYear = Date.UTC(d.getUTCFullYear(), 0, 1);
    const fields = [d.getUTCSeconds(), d.getUTCMinutes(), d.getUTCHours(), d.getUTCDate(), d.getUTCMonth(), d.getUTCFullYear() - 1900, d.getUTCDay(), Math.floor((d.getTime() - startOfYear) / 86_400_000), 0];
    fields.forEach((x, i) => this.dateTime.view.setInt32(i * 4, x, true));
  }

  // ---------------------------------------------------------------- RTC and flash

  /** A host write to the date-time group sets the RTC (invalid dates are ignored). */
  setRtcFromBuffer(t: number): void {
    const v = this.dateTime.view;
    const f = (i: number) => v.getInt32(i * 4, true);
    const ms = Date.UTC(f(5) + 1900, f(4), f(3), f(2), f(1), f(0));
    if (Number.isFinite(ms)) {
      this.rtcBaseMs = ms;
      this.rtcRefUs = t;
    }
  }

  /** A flash write completes at `t`: one more write, stamped with the RTC date. */
  recordFlashWrite(t: number): void {
    this.flashCount++;
    const d = new Date(this.rtcMs(t));
    this.saveDate.set([d.getUTCSeconds(), d.getUTCMinutes(), d.getUTCHours(), d.getUTCDate(), d.getUTCMonth() + 1, d.getUTCFullYear() - 2000]);
  }

  private rtcMs(t: number): number {
    return this.rtcBaseMs + (t - this.rtcRefUs) / 1000;
  }
}
