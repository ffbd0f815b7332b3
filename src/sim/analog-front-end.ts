/**
 * The analog front end of a virtual potentiostat: how the firmware measures the cell (ADC
 * noise, TIA saturation at full scale, the moving averages it keeps per channel).
 */
import { NormalSource } from './random.js';

export interface FrontEndOptions {
  /** Noise scale: 1 = realistic, 0 = none (deterministic). */
  noise?: number;
  /** Firmware moving average over conversions; false makes each reading the last conversion. */
  smoothing?: boolean;
  seed?: number;
}

/** Current noise per conversion, relative to the TIA full scale, at noise = 1. */
const CURRENT_NOISE_REL = 1e-4;
/** Potential noise per conversion (V) at noise = 1. */
const POTENTIAL_NOISE_V = 5e-4;

/**
 * The measuring side: each ADC conversion samples the cell (plus noise), saturates the
 * current at the TIA full scale, and updates the firmware's moving averages
 * mean := (mean·(N−1) + new)/N. The current mean is kept in amperes at the gain in force;
 * `rescaleCurrent` emulates the firmware averaging WE volts across a gain change.
 */
export class AnalogFrontEnd {
  currentMeanA = 0;
  potentialMeanV = 0;
  readonly smoothing: boolean;
  private readonly noise: number;
  private readonly normal: NormalSource;

  constructor(options: FrontEndOptions = {}) {
    this.noise = Math.max(0, options.noise ?? 1);
    this.smoothing = options.smoothing ?? true;
    this.normal = new NormalSource(options.seed ?? 1);
  }

  /**
   * Runs `conversions` conversions of a cell whose true values are currentA/potentialV.
   * `samplesWe`/`samplesRe` are the averaging lengths N from the calibration group.
   */
  convert(currentA: number, potentialV: number, conversions: number, fullScaleA: number, samplesWe: number, samplesRe: number): void {
    const noisy = this.noise > 0;
    const sigmaI = noisy ? this.noise * CURRENT_NOISE_REL * fullScaleA : 0;
    const sigmaE = noisy ? this.noise * POTENTIAL_NOISE_V : 0;
    const nWe = this.smoothing && samplesWe > 1 ? samplesWe : 1;
    const nRe = this.smoothing && samplesRe > 1 ? samplesRe : 1;
    let mi = this.currentMeanA;
    let me = this.potentialMeanV;
    for (let c = 0; c < conversions; c++) {
      let i = noisy ? currentA + sigmaI * this.normal.next() : currentA;
      if (i > fullScaleA) i = fullScaleA;
      else if (i < -fullScaleA) i = -fullScaleA;
      const e = noisy ? potentialV + sigmaE * this.normal.next() : potentialV;
      mi = nWe === 1 ? i : (mi * (nWe - 1) + i) / nWe;
      me = nRe === 1 ? e : (me * (nRe - 1) + e) / nRe;
    }
    this.currentMeanA = mi;
    this.potentialMeanV = me;
  }

  rescaleCurrent(factor: number): void {
    this.currentMeanA *= factor;
  }
}
