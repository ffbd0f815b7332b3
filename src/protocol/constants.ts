/**
 * BEEP potentiostat protocol constants (beep-protocol.md). The one home for register
 * addresses, function codes, exception codes, commands and device limits: the driver,
 * the simulator and the tests import them from here.
 */

export const USB_VENDOR_ID = 0x07e6;
export const USB_PRODUCT_ID = 0x5653;
export const DEFAULT_BAUD_RATE = 1_500_000;

/** The device answers these unit addresses and echoes the one used. */
export const UNIT_ADDRESS = 0x01;
export const UNIT_ADDRESS_ALT = 0xff;

export const FunctionCode = {
  READ_HOLDING: 0x03,
  READ_INPUT: 0x04,
  WRITE_MULTIPLE: 0x10,
  READ_WRITE_MULTIPLE: 0x17,
} as const;
export type FunctionCodeValue = (typeof FunctionCode)[keyof typeof FunctionCode];

export const ExceptionCode = {
  ILLEGAL_FUNCTION: 0x01,
  ILLEGAL_DATA_ADDRESS: 0x02,
  ILLEGAL_DATA_VALUE: 0x03,
  SLAVE_DEVICE_BUSY: 0x06,
} as const;
export type ExceptionCodeValue = (typeof ExceptionCode)[keyof typeof ExceptionCode];

export const EXCEPTION_NAMES: Readonly<Record<number, string>> = {
  0x01: 'ILLEGAL_FUNCTION',
  0x02: 'ILLEGAL_DATA_ADDRESS',
  0x03: 'ILLEGAL_DATA_VALUE',
  0x04: 'SLAVE_DEVICE_FAILURE',
  0x05: 'ACKNOWLEDGE',
  0x06: 'SLAVE_DEVICE_BUSY',
  0x08: 'MEMORY_PARITY_ERROR',
  0x0a: 'GATEWAY_PATH_UNAVAILABLE',
  0x0b: 'GATEWAY_TARGET_FAILED',
};

/** Register group base addresses (high byte = group, low byte = word index). */
export const Register = {
  ADC_FIFO: 0x0100,
  DAC_FIFO: 0x0200,
  POT_VALUES: 0x0300,
  ANALOG_MEANS: 0x0400,
  DAC_OUTPUTS: 0x0500,
  PID_STATE: 0x0600,
  CAL_ANALOG_IN: 0x3000,
  CAL_DAC: 0x3100,
  PID_CONFIG: 0x3200,
  TIMING: 0x4000,
  CHIP_ID: 0x4300,
  FLASH_STATUS: 0x4400,
  DATE_TIME: 0x4500,
  COMMAND: 0x4f00,
  PASSWORD: 0x5000,
  ACCESS_LEVEL: 0x5100,
} as const;

/** Word offsets inside the potentiostat-values group (0x0300, 24 registers). */
export const PotValue = {
  WEOUT: 0x00,
  REOUT: 0x02,
  DAC_VCEIN: 0x04,
  DAC_TOAREF: 0x06,
  DAC_OPVREF: 0x08,
  EXT_TEMP: 0x0a,
  HUMIDITY: 0x0c,
  GX: 0x0e,
  ADC_FIFO_ELEM: 0x10,
  DAC_FIFO_ELEM: 0x12,
  SAMP_TM: 0x14,
  ST: 0x16,
} as const;
export const POT_VALUES_REGISTERS = 24;

/** Word offsets in the timing configuration group (0x4000). */
export const TimingConfig = { FRAME_DET: 0x00, ADC_SMP: 0x02, HT_SMP: 0x04, FIFO_SMP: 0x06 } as const;

export const StatusBit = {
  WE_READY: 0x001,
  RE_READY: 0x002,
  FIFO: 0x004,
  PID: 0x008,
  RUN: 0x010,
  STOP: 0x020,
  CE: 0x100,
} as const;

export const Command = {
  SENSOR_ZERO: 0xe0,
  RESET: 0xe1,
  LOADDFLT: 0xe2,
  SET_TIA_GAIN: 0xe3,
  SET_SWITCH: 0xe4,
  FIFO_START: 0xe5,
  PID_START: 0xe6,
  TEST_STOP: 0xe7,
  CLEAR_FIFO: 0xe8,
  CFG_SAVE: 0xf0,
} as const;
export type CommandValue = (typeof Command)[keyof typeof Command];

/**
 * Effective TIA gain in ohms per index as the firmware stores it (float32): the switched
 * resistor in parallel with the fixed 10 MΩ, i.e. bit patterns 0x4479F99A, 0x461C180A,
 * 0x47C160F3, 0x495DF22F (beep-protocol.md 5.3; fround(909090.9) would be one ulp low).
 * 4 and 5 clamp to 3.
 */
export const TIA_GAIN_OHMS: readonly number[] = [1e3, 1e4, 1e5, 1e6].map((r) => Math.fround(1 / (1 / r + 1 / 1e7)));
/** Indices the command accepts (4, 5 are clamped to 3); > 5 is ILLEGAL_DATA_VALUE. */
export const TIA_GAIN_INDEX_MAX_ACCEPTED = 5;
/** Indices a host should send: only these take distinct effect. */
export const TIA_GAIN_INDEX_MAX_EFFECTIVE = 3;
export const DEFAULT_TIA_GAIN_INDEX = 2;

export const ADC_FIFO_CAPACITY_PAIRS = 2048;
export const DAC_FIFO_CAPACITY_SETPOINTS = 4096;

/** Read at most 31 pairs (124 registers, 252 data bytes). */
export const MAX_READ_REGISTERS = 126;
export const MAX_ADC_READ_PAIRS = 31;
/** Write at most 61 setpoints (122 registers, 253-byte request). */
export const MAX_WRITE_REGISTERS = 123;
export const MAX_DAC_WRITE_SETPOINTS = 61;
/** Device receive buffer; requests must never exceed it. */
export const DEVICE_RX_BUFFER_BYTES = 256;
/**
 * Register counts whose write leaves a one-byte final USB packet that may
 * match the bootloader string (beep-protocol.md 1.6).
 */
export const UNSAFE_WRITE_REGISTER_COUNTS: ReadonlySet<number> = new Set([28, 60, 92]);

export const USB_PACKET_BYTES = 64;
export const BOOTLOADER_MAGIC = 'BOOT_DFU_MODE';

/** Nominal controller period assumed by pyBEEP and by the plans (360 µs). */
export const NOMINAL_POINT_INTERVAL_US = 360;
/** One firmware timer unit in microseconds (170 MHz / 171). */
export const TIMER_UNIT_US = 171 / 170;
