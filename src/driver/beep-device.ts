/**
 * Typed register operations on one BEEP potentiostat (beep-protocol.md 3, 5, 8).
 * BUSY is a normal answer for FIFO reads/writes (returned as `null`), never an error;
 * any other exception reply becomes a ProtocolError naming the exception.
 */
import { ProtocolError } from '../errors.js';
import {
  Command, EXCEPTION_NAMES, ExceptionCode, MAX_ADC_READ_PAIRS, MAX_DAC_WRITE_SETPOINTS, POT_VALUES_REGISTERS,
  PotValue, Register, StatusBit, UNSAFE_WRITE_REGISTER_COUNTS,
} from '../protocol/constants.js';
import {
  encodeCommandRequest, encodeFloat32WriteRequestInto, encodePidStartRequest, encodeReadRequest, encodeReadRequestInto,
  encodeWriteRequest, READ_REQUEST_BYTES, type ResponseFrame,
} from '../protocol/frames.js';
import { encodeFloat32Words, float32ToWordBytes, wordBytesToFloat32, wordBytesToInt32, wordBytesToUint32 } from '../protocol/words.js';
import { ModbusClient, sleep } from './modbus-client.js';

export interface PotValues {
  weoutA: number;
  reoutV: number;
  gxOhm: number;
  adcFifoElem: number;
  dacFifoElem: number;
  sampTmUnits: number;
  status: number;
}

/** Analog-input calibration group: 5 × {slope, offset, averaging samples} float32 (WE, RE, VREFINT, temp, VBAT). */
const CAL_IN_REGISTERS = 30;
const CAL_IN_SAMPLES_WE_BYTE = 8;
const CAL_IN_SAMPLES_RE_BYTE = 20;
/** DAC-outputs group: VCEIN setpoint, TOAREF, OPVREF float32; a write applies all three. */
const DAC_OUTPUTS_REGISTERS = 6;

/** The firmware's moving-average lengths of the WE (current) and RE (potential) channels. */
export interface AveragingSamples {
  we: number;
  re: number;
}

/** The three DAC output set values (group 0x05). */
export interface DacOutputs {
  vceinV: number;
  toarefV: number;
  opvrefV: number;
}

/** Status bits that mean a run is active or a STOP is latched: the device is not cleanly idle. */
const BUSY_BITS = StatusBit.RUN | StatusBit.STOP | StatusBit.PID | StatusBit.FIFO;

const LIVE_READ_WHAT = `read 0x${Register.POT_VALUES.toString(16)}`;
/** The largest request the streaming loops send: a DAC FIFO write of 61 setpoints. */
const SETPOINT_WRITE_BYTES = 9 + 4 * MAX_DAC_WRITE_SETPOINTS;

export class BeepDevice {
  /**
   * Request buffers of the streaming loops, reused for every FIFO read and write (the client
   * copies a request that has to wait, so reuse is safe even with calls overlapping).
   */
  private readonly fifoRead = new Uint8Array(READ_REQUEST_BYTES);
  private readonly liveRead = encodeReadRequest(Register.POT_VALUES, 4);
  private readonly setpointWrite = new Uint8Array(SETPOINT_WRITE_BYTES);

  constructor(readonly client: ModbusClient) {}

  get path(): string {
    return this.client.port.path;
  }

  private check(frame: ResponseFrame, what: string): ResponseFrame {
    if (frame.exception !== null) {
      const name = EXCEPTION_NAMES[frame.exception] ?? 'UNKNOWN';
      throw new ProtocolError('PROTOCOL_EXCEPTION', `${what} on ${this.path}: device answered exception 0x${frame.exception.toString(16).padStart(2, '0')} (${name})`, {
        details: { exception: frame.exception },
      });
    }
    return frame;
  }

  async command(command: number, parameter = 0): Promise<void> {
    this.check(await this.client.transact(encodeCommandRequest(command, parameter)), `command 0x${command.toString(16)}`);
  }

  async pidStart(targetA: number): Promise<void> {
    this.check(await this.client.transact(encodePidStartRequest(targetA)), 'PID_START');
  }

  async readRegisters(start: number, count: number): Promise<Uint8Array> {
    return this.check(await this.client.transact(encodeReadRequest(start, count)), `read 0x${start.toString(16)}`).data;
  }

  async readPotValues(): Promise<PotValues> {
    const d = await this.readRegisters(Register.POT_VALUES, POT_VALUES_REGISTERS);
    return {
      weoutA: wordBytesToFloat32(d, PotValue.WEOUT * 2),
      reoutV: wordBytesToFloat32(d, PotValue.REOUT * 2),
      gxOhm: wordBytesToFloat32(d, PotValue.GX * 2),
      adcFifoElem: wordBytesToInt32(d, PotValue.ADC_FIFO_ELEM * 2),
      dacFifoElem: wordBytesToInt32(d, PotValue.DAC_FIFO_ELEM * 2),
      sampTmUnits: wordBytesToUint32(d, PotValue.SAMP_TM * 2),
      status: wordBytesToUint32(d, PotValue.ST * 2),
    };
  }

  /** Live current and potential only (4 registers): the galvanostatic polling read. */
  async readLiveValues(): Promise<{ weoutA: number; reoutV: number }> {
    // The same 8 bytes every poll: encoded once.
    const d = this.check(await this.client.transact(this.liveRead), LIVE_READ_WHAT).data;
    return { weoutA: wordBytesToFloat32(d, 0), reoutV: wordBytesToFloat32(d, 4) };
  }

  private async writeRegisters(start: number, data: Uint8Array, what: string): Promise<void> {
    this.check(await this.client.transact(encodeWriteRequest(start, data)), what);
  }

  async readDacOutputs(): Promise<DacOutputs> {
    const d = await this.readRegisters(Register.DAC_OUTPUTS, DAC_OUTPUTS_REGISTERS);
    return { vceinV: wordBytesToFloat32(d, 0), toarefV: wordBytesToFloat32(d, 4), opvrefV: wordBytesToFloat32(d, 8) };
  }

  /**
   * Sets the VCEIN potential setpoint while idle (group 0x05). A write applies all three
   * outputs, so the references are read first and written back unchanged.
   */
  async setIdlePotential(setpointV: number): Promise<void> {
    if (!Number.isFinite(setpointV)) throw new RangeError(`idle potential must be finite, got ${setpointV}`);
    const now = await this.readDacOutputs();
    await this.writeRegisters(Register.DAC_OUTPUTS, encodeFloat32Words([setpointV, now.toarefV, now.opvrefV]), 'DAC outputs write');
  }

  async readAveraging(): Promise<AveragingSamples> {
    const d = await this.readRegisters(Register.CAL_ANALOG_IN, CAL_IN_REGISTERS);
    return { we: wordBytesToFloat32(d, CAL_IN_SAMPLES_WE_BYTE), re: wordBytesToFloat32(d, CAL_IN_SAMPLES_RE_BYTE) };
  }

  /**
   * Sets the WE and RE averaging lengths (group 0x30) by read-modify-write, so every slope,
   * offset and the other channels stay as they are. Returns the values it replaced.
   */
  async setAveraging(samples: AveragingSamples): Promise<AveragingSamples> {
    for (const n of [samples.we, samples.re]) if (!(Number.isFinite(n) && n >= 1)) throw new RangeError(`averaging samples must be >= 1, got ${n}`);
    const raw = await this.readRegisters(Register.CAL_ANALOG_IN, CAL_IN_REGISTERS);
    const previous = { we: wordBytesToFloat32(raw, CAL_IN_SAMPLES_WE_BYTE), re: wordBytesToFloat32(raw, CAL_IN_SAMPLES_RE_BYTE) };
    const data = Uint8Array.from(raw);
    float32ToWordBytes(samples.we, data, CAL_IN_SAMPLES_WE_BYTE);
    float32ToWordBytes(samples.re, data, CAL_IN_SAMPLES_RE_BYTE);
    await this.writeRegisters(Register.CAL_ANALOG_IN, data, 'analog-input calibration write');
    return previous;
  }

  async readStatus(): Promise<number> {
    return wordBytesToUint32(await this.readRegisters(Register.POT_VALUES + PotValue.ST, 2), 0);
  }

  /**
   * Pops `pairs` (≤ 31) ADC pairs. Returns the raw pair bytes, or null when the device
   * has fewer pending (BUSY: nothing was removed).
   */
  async readPairs(pairs: number): Promise<Uint8Array | null> {
    if (pairs < 1 || pairs > MAX_ADC_READ_PAIRS) throw new RangeError(`pairs must be 1..${MAX_ADC_READ_PAIRS}`);
    const frame = await this.client.transact(encodeReadRequestInto(this.fifoRead, Register.ADC_FIFO, pairs * 4));
    if (frame.exception === ExceptionCode.SLAVE_DEVICE_BUSY) return null;
    return this.check(frame, 'ADC FIFO read').data;
  }

  /**
   * Queues setpoints [start, end) (≤ 61). Returns false on BUSY (not enough room;
   * nothing was queued). Register counts that could end in a one-byte USB packet
   * (28, 60, 92) are never produced: callers use `safeWriteSize`.
   */
  async writeSetpoints(values: Float32Array, start: number, end: number): Promise<boolean> {
    const n = end - start;
    if (n < 1 || n > MAX_DAC_WRITE_SETPOINTS || UNSAFE_WRITE_REGISTER_COUNTS.has(n * 2)) throw new RangeError(`unsafe setpoint write size ${n}`);
    const frame = await this.client.transact(encodeFloat32WriteRequestInto(this.setpointWrite, Register.DAC_FIFO, values, start, end));
    if (frame.exception === ExceptionCode.SLAVE_DEVICE_BUSY) return false;
    this.check(frame, 'DAC FIFO write');
    return true;
  }

  /** Polls `st` until RUN clears. */
  async waitForIdle(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const st = await this.readStatus();
      if (!(st & StatusBit.RUN)) return st;
      if (Date.now() > deadline) {
        throw new ProtocolError('PROTOCOL_MALFORMED', `device on ${this.path} still running after ${timeoutMs} ms (st=0x${st.toString(16)})`);
      }
      await sleep(5);
    }
  }

  /**
   * The device is idle with nothing left over from a previous run (no run, no latched STOP,
   * the last run's DAC FIFO ended empty) and its CE switch closed: the cell is under control at
   * the held VCEIN.
   */
  async heldIdle(): Promise<boolean> {
    const v = await this.readPotValues();
    return (v.status & BUSY_BITS) === 0 && (v.status & StatusBit.CE) !== 0 && v.dacFifoElem <= 0;
  }

  /**
   * Brings the device to a known idle state (beep-protocol.md 10.2): stops a run,
   * drains leftover setpoints with the CE switch open, consumes a latched STOP,
   * clears the ADC FIFO. TEST_STOP is only ever sent while a run is active.
   */
  async resetToIdle(): Promise<void> {
    await this.command(Command.SET_SWITCH, 0);
    for (let attempt = 0; attempt < 3; attempt++) {
      let st = await this.readStatus();
      if (st & StatusBit.RUN) {
        if (!(st & StatusBit.STOP)) await this.command(Command.TEST_STOP, 1);
        st = await this.waitForIdle(3000);
      }
      // A drain run with the CE switch open plays out leftovers and consumes a latched STOP.
      await this.command(Command.FIFO_START, 0);
      st = await this.readStatus();
      if (st & StatusBit.RUN) {
        if (!(st & StatusBit.STOP)) await this.command(Command.TEST_STOP, 1);
        st = await this.waitForIdle(3000);
      }
      if (!(st & StatusBit.STOP)) break;
    }
    await this.command(Command.CLEAR_FIFO, 1);
  }
}

/** Largest write ≤ want that avoids the bootloader-hazard register counts. */
export function safeWriteSize(want: number): number {
  let n = Math.min(want, MAX_DAC_WRITE_SETPOINTS);
  while (n > 1 && UNSAFE_WRITE_REGISTER_COUNTS.has(n * 2)) n--;
  return n;
}
