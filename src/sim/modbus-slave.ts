/**
 * Modbus RTU slave as ModbusRTU.c/QueryList.c implement it: one delimited request at a
 * time, copied into a persistent receive buffer (stale bytes beyond a short frame are what
 * the firmware would read), function-code dispatch, CRC check, then the read or write
 * handler of the addressed register group. Exceptions are answered as the firmware does,
 * including its order of checks.
 */
import {
  ExceptionCode,
  FunctionCode,
  READ_MAX_DATA_BYTES,
  UNIT_ADDRESS,
  UNIT_ADDRESS_ALT,
  WRITE_MAX_OFFSET_BYTES,
  appendCrc,
  crc16Modbus,
  encodeExceptionResponse,
  encodeWriteResponse,
} from '../protocol/index.js';
import type { Controller, HandlerResult } from './controller.js';
import type { AdcFifo, DacFifo } from './fifos.js';
import type { GroupSlot, RegisterMemory } from './register-memory.js';

/**
 * The firmware's buffer is 256 bytes and unguarded: longer frames spill into the memory
 * behind it, and a large byte count puts the CRC there. The second half stands for that memory.
 */
const RX_BUFFER_BYTES = 512;

export class ModbusSlave {
  /** Fault knob: FIFO reads and writes answer SLAVE_DEVICE_BUSY until this time (µs). */
  busyStormUntilUs = -Infinity;
  private readonly rx = new Uint8Array(RX_BUFFER_BYTES);

  constructor(
    private readonly memory: RegisterMemory,
    private readonly adcFifo: AdcFifo,
    private readonly dacFifo: DacFifo,
    private readonly controller: Controller,
  ) {}

  /** Power-on: the receive buffer is zeroed. */
  clear(): void {
    this.rx.fill(0);
  }

  /**
   * Processes one non-empty delimited request received at `t` (µs) and returns the reply,
   * or null when the firmware stays silent (foreign address).
   */
  handle(frame: Uint8Array, t: number): Uint8Array | null {
    this.rx.set(frame.length > RX_BUFFER_BYTES ? frame.subarray(0, RX_BUFFER_BYTES) : frame, 0);
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
   * Read path: handler first, then the range check. Returns the complete reply frame
   * (words swapped out of the little-endian group buffer, CRC appended) or an exception code.
   */
  private read(address: number, fn: number, start: number, count: number, t: number): Uint8Array | number {
    const slot = this.memory.groupAt(start);
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
    this.memory.readWords(slot, offset, byteCount, reply, 3);
    appendCrc(reply, 3 + byteCount);
    return reply;
  }

  /** Write path: range check first, then copy, then the handler. */
  private write(start: number, count: number, dataAt: number, t: number): HandlerResult {
    const slot = this.memory.groupAt(start);
    if (!slot || slot.info.access === 'ro') return ExceptionCode.ILLEGAL_DATA_ADDRESS;
    const offset = 2 * (start & 0xff);
    const bytes = 2 * count;
    if (offset > WRITE_MAX_OFFSET_BYTES || offset + bytes > slot.info.bytes) return ExceptionCode.ILLEGAL_DATA_ADDRESS;
    this.memory.writeWords(slot, offset, this.rx, dataAt, bytes);
    return this.writeHandler(slot, bytes, t);
  }

  private readHandler(slot: GroupSlot, byteCount: number, t: number): HandlerResult {
    const m = this.memory;
    switch (slot) {
      case m.adc: {
        const pairs = byteCount >>> 3;
        if (t < this.busyStormUntilUs && pairs > 0) return ExceptionCode.SLAVE_DEVICE_BUSY;
        return this.adcFifo.popInto(m.adc.view, pairs) ? 0 : ExceptionCode.SLAVE_DEVICE_BUSY;
      }
      case m.pot:
        m.refreshPotValues(this.controller, this.adcFifo.reportedElements, this.dacFifo.reportedElements);
        return 0;
      case m.means:
        m.refreshAnalogMeans(this.controller);
        return 0;
      case m.dacOut:
        m.refreshDacOutputs(this.controller);
        return 0;
      case m.pid:
        m.refreshPidState(this.controller.pid);
        return 0;
      case m.chip:
        m.refreshChipId();
        return 0;
      case m.flash:
        m.refreshFlashStatus(m.flash.buf, 0);
        return 0;
      case m.dateTime:
        m.refreshDateTime(t);
        return 0;
      default:
        return 0;
    }
  }

  /** A host write to an output or configuration group, with the group's values after it. */
  private logWrite(slot: GroupSlot, t: number): void {
    const values: number[] = [];
    for (let at = 0; at + 4 <= slot.info.bytes; at += 4) values.push(slot.view.getFloat32(at, true));
    this.controller.log.add({ kind: 'write', simUs: t, wallMs: Date.now(), group: slot.info.id, values });
  }

  private writeHandler(slot: GroupSlot, bytes: number, t: number): HandlerResult {
    const m = this.memory;
    switch (slot) {
      case m.dac: {
        const setpoints = bytes >>> 2;
        if (t < this.busyStormUntilUs && setpoints > 0) return ExceptionCode.SLAVE_DEVICE_BUSY;
        return this.dacFifo.pushFrom(m.dac.view, setpoints) ? 0 : ExceptionCode.SLAVE_DEVICE_BUSY;
      }
      case m.cmd:
        return this.controller.executeCommand(t);
      case m.dacOut:
        this.controller.applyDacOutputs();
        this.logWrite(slot, t);
        return 0;
      case m.calIn:
      case m.calDac:
      case m.pidCfg:
      case m.timing:
        this.controller.parseConfig();
        this.logWrite(slot, t);
        return 0;
      case m.dateTime:
        m.setRtcFromBuffer(t);
        return 0;
      default:
        return 0;
    }
  }
}
