/** Counters of one virtual potentiostat, shared by the modules that compose it. */
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

export function createDeviceStats(): DeviceStats {
  return { frames: 0, ticks: 0, underruns: 0, stopUnderruns: 0, adcOverwrittenPairs: 0, adcOverflowEvents: 0, reboots: 0, flashWrites: 0 };
}
