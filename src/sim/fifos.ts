/**
 * The two FIFOs between the host and the controller, as fixed-capacity ring buffers:
 * - ADC FIFO: (current A, potential V) pairs, pushed once per tick, popped by host reads
 *   of the ADC group. When full, a push overwrites the oldest pair.
 * - DAC FIFO: setpoints (V), pushed by host writes to the DAC group, consumed one per tick.
 *   A tick that finds it empty is an underrun.
 * Pops and pushes that do not fit fail as a whole (the Modbus slave answers busy).
 * Both capacities are powers of two, so wrapping is a mask.
 */
import { ADC_FIFO_CAPACITY_PAIRS, DAC_FIFO_CAPACITY_SETPOINTS } from '../protocol/index.js';
import type { DeviceStats } from './device-stats.js';

const ADC_MASK = ADC_FIFO_CAPACITY_PAIRS - 1;
const DAC_MASK = DAC_FIFO_CAPACITY_SETPOINTS - 1;

export class AdcFifo {
  /** Pending pairs. */
  count = 0;
  /** Element count the pot-values group reports: the count after the last push. */
  reportedElements = 0;
  private readonly pairs = new Float32Array(ADC_FIFO_CAPACITY_PAIRS * 2);
  private head = 0;
  private overflowing = false;

  constructor(private readonly stats: DeviceStats) {}

  push(currentA: number, potentialV: number): void {
    const fifo = this.pairs;
    const slot = (this.head + this.count) & ADC_MASK;
    fifo[2 * slot] = currentA;
    fifo[2 * slot + 1] = potentialV;
    if (this.count === ADC_FIFO_CAPACITY_PAIRS) {
      this.head = (this.head + 1) & ADC_MASK;
      this.stats.adcOverwrittenPairs++;
      if (!this.overflowing) {
        this.overflowing = true;
        this.stats.adcOverflowEvents++;
      }
    } else {
      this.count++;
    }
    this.reportedElements = this.count;
  }

  /** Moves `pairs` pairs into the ADC group buffer (little-endian float32); false when fewer are pending. */
  popInto(view: DataView, pairs: number): boolean {
    if (this.count < pairs) return false;
    const fifo = this.pairs;
    let head = this.head;
    for (let p = 0; p < pairs; p++) {
      view.setFloat32(p * 8, fifo[2 * head]!, true);
      view.setFloat32(p * 8 + 4, fifo[2 * head + 1]!, true);
      head = (head + 1) & ADC_MASK;
    }
    this.head = head;
    this.count -= pairs;
    if (pairs > 0) this.overflowing = false;
    return true;
  }

  /** FIFO_START and CLEAR_FIFO: drops pending pairs; the reported count keeps its value. */
  clear(): void {
    this.head = 0;
    this.count = 0;
    this.overflowing = false;
  }

  /** Power-on state. */
  reset(): void {
    this.clear();
    this.reportedElements = 0;
  }
}

export class DacFifo {
  /** Pending setpoints. */
  count = 0;
  /** Element count the pot-values group reports: the count after the last tick, −1 after an underrun. */
  reportedElements = 0;
  private readonly setpoints = new Float32Array(DAC_FIFO_CAPACITY_SETPOINTS);
  private head = 0;

  /** Appends `setpoints` setpoints from the DAC group buffer; false when they do not fit. */
  pushFrom(view: DataView, setpoints: number): boolean {
    if (DAC_FIFO_CAPACITY_SETPOINTS - this.count < setpoints) return false;
    let tail = (this.head + this.count) & DAC_MASK;
    for (let s = 0; s < setpoints; s++) {
      this.setpoints[tail] = view.getFloat32(s * 4, true);
      tail = (tail + 1) & DAC_MASK;
    }
    this.count += setpoints;
    return true;
  }

  /** Removes and returns the oldest setpoint; only call with count > 0. */
  shift(): number {
    const sp = this.setpoints[this.head]!;
    this.head = (this.head + 1) & DAC_MASK;
    this.count--;
    this.reportedElements = this.count;
    return sp;
  }

  markUnderrun(): void {
    this.reportedElements = -1;
  }

  /** Power-on state (only a reboot empties the DAC FIFO). */
  reset(): void {
    this.head = 0;
    this.count = 0;
    this.reportedElements = 0;
  }
}
