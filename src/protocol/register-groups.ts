/**
 * Register groups as the firmware registers them (beep-protocol.md 3.2): the high byte of
 * a register address selects a group, each group is one buffer of fixed length.
 */
import { Register } from './constants.js';

export type GroupAccess = 'ro' | 'wo' | 'rw';

export interface RegisterGroup {
  /** High byte of the register address. */
  readonly id: number;
  readonly name: string;
  readonly access: GroupAccess;
  /** Buffer length in bytes; requests beyond it get ILLEGAL_DATA_ADDRESS. */
  readonly bytes: number;
}

const group = (address: number, name: string, access: GroupAccess, bytes: number): RegisterGroup => ({ id: address >>> 8, name, access, bytes });

export const REGISTER_GROUPS: readonly RegisterGroup[] = [
  group(Register.ADC_FIFO, 'adc-fifo', 'ro', 256),
  group(Register.DAC_FIFO, 'dac-fifo', 'rw', 256),
  group(Register.POT_VALUES, 'pot-values', 'ro', 48),
  group(Register.ANALOG_MEANS, 'analog-means', 'ro', 20),
  group(Register.DAC_OUTPUTS, 'dac-outputs', 'rw', 12),
  group(Register.PID_STATE, 'pid-state', 'ro', 32),
  group(Register.CAL_ANALOG_IN, 'cal-analog-in', 'rw', 60),
  group(Register.CAL_DAC, 'cal-dac', 'rw', 36),
  group(Register.PID_CONFIG, 'pid-config', 'rw', 44),
  group(Register.TIMING, 'timing', 'rw', 16),
  group(Register.CHIP_ID, 'chip-id', 'ro', 212),
  group(Register.FLASH_STATUS, 'flash-status', 'ro', 12),
  group(Register.DATE_TIME, 'date-time', 'rw', 36),
  group(Register.COMMAND, 'command', 'wo', 20),
  group(Register.PASSWORD, 'password', 'rw', 24),
  group(Register.ACCESS_LEVEL, 'access-level', 'rw', 24),
];

/** Largest data byte count a read reply may carry (126 registers). */
export const READ_MAX_DATA_BYTES = 252;
/** Writes whose byte offset (2 × low byte) exceeds this get ILLEGAL_DATA_ADDRESS. */
export const WRITE_MAX_OFFSET_BYTES = 252;
/** Command group: uint16 command followed by parameter bytes p[0]..p[17]. */
export const COMMAND_BUFFER_BYTES = 20;
