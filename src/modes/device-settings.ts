/**
 * Device conditions a mode runs under, decided from its final parameters: the firmware's
 * averaging of the WE and RE readings, and the rest before the mode.
 *
 * Averaging (beep-protocol.md 7.1, 7.4): each ADC conversion updates the reading as
 * mean := (mean·(N−1) + new)/N, N = the "averaging samples" of the analog-input calibration
 * group (default 100). One conversion is 256× oversampling of (12.5 sampling + 12.5 conversion)
 * ADC-clock cycles at 42.5 MHz = 150.6 µs; the firmware's main loop stretches that (the spec
 * gives 15–20 ms for N = 100), so we count 200 µs per conversion, the conservative end. The
 * time constant is then τ ≈ N × 200 µs (20 ms at the default).
 *
 * - EIS: N = 1, no smoothing: the host's lock-in does the filtering, and a 20 ms average
 *   attenuates and delays anything above ~8 Hz.
 * - Sweeps (LSV, CV, CDL): τ at most 1 % of the time the fastest sweep takes to cross the
 *   smallest potential window, so the smoothing lags the sweep by < 1 % of the window.
 * - Everything else: unchanged (null).
 */
import { commonParamsOf } from './common-params.js';
import type { CdlParams, CvParams, LsvParams, ModeName, ModeParams } from './types.js';

/** The firmware's default averaging length (WE and RE). */
export const FIRMWARE_DEFAULT_AVERAGING = 100;
/** Duration of one ADC conversion as the averaging sees it (conservative; see above), s. */
export const CONVERSION_PERIOD_S = 200e-6;
/** A sweep's smoothing time constant is at most this fraction of its fastest window crossing. */
export const SWEEP_SMOOTHING_FRACTION = 0.01;
/** EIS: no firmware smoothing. */
export const EIS_AVERAGING = 1;

/** Time constant (s) of the firmware's average over `samples` conversions. */
export function averagingTimeConstantS(samples: number): number {
  return samples * CONVERSION_PERIOD_S;
}

/** The largest averaging whose time constant stays within the fraction of `crossingS`, within 1…default. */
export function averagingForCrossing(crossingS: number): number {
  const n = Math.floor((SWEEP_SMOOTHING_FRACTION * crossingS) / CONVERSION_PERIOD_S);
  return Math.min(FIRMWARE_DEFAULT_AVERAGING, Math.max(1, n));
}

/** Shortest time (s) a sweep takes to cross one of its potential windows, or null for a mode that does not sweep. */
export function shortestWindowCrossingS(mode: ModeName, params: ModeParams): number | null {
  const spans = (points: number[]): number[] => points.slice(1).map((p, i) => Math.abs(p - points[i]!)).filter((d) => d > 0);
  let windows: number[];
  let rate: number;
  switch (mode) {
    case 'LSV': {
      const p = params as LsvParams;
      windows = spans([p.start, p.end]);
      rate = p.scan_rate;
      break;
    }
    case 'CV': {
      const p = params as CvParams;
      windows = spans([p.start, p.vertex1, p.vertex2, p.end]);
      rate = p.scan_rate;
      break;
    }
    case 'CDL': {
      const p = params as CdlParams;
      windows = spans([p.vertex_a, p.vertex_b]);
      rate = Math.max(...p.scan_rates);
      break;
    }
    default:
      return null;
  }
  if (windows.length === 0 || !(rate > 0)) return null;
  return Math.min(...windows) / rate;
}

/**
 * CDL never averages fewer than this many samples (τ ≈ 2 ms, about a typical cell's Ru·C_dl):
 * its currents are small (C_dl·v, often nA–µA) and the median within its ±10 mV window needs
 * quiet readings. A rate the smoothing cannot follow is flagged by the CDL analysis
 * (`scan_rate_too_fast`), which reads this same choice.
 */
export const CDL_MIN_AVERAGING = 10;

/** WE and RE averaging samples to run `mode` with, or null to leave the device's setting. */
export function averagingSamplesFor(mode: ModeName, params: ModeParams): number | null {
  if (mode === 'EIS') return EIS_AVERAGING;
  const crossing = shortestWindowCrossingS(mode, params);
  if (crossing === null) return null;
  const samples = averagingForCrossing(crossing);
  return mode === 'CDL' ? Math.min(FIRMWARE_DEFAULT_AVERAGING, Math.max(CDL_MIN_AVERAGING, samples)) : samples;
}

/**
 * A mode whose potentials are relative to the open-circuit potential measured at its start
 * (EIS with its dc level relative to OCP). It rests at open circuit.
 */
export function isOcpRelative(mode: ModeName, params: ModeParams): boolean {
  return mode === 'EIS' && (params as { dc_reference?: unknown }).dc_reference === 'ocp';
}

/** The rest before a mode: how long, and whether at open circuit (else holding the first applied potential). */
export interface RestSetting {
  seconds: number;
  openCircuit: boolean;
}

/**
 * `rest_s` from the final parameters (its default when absent). Potentiostatic modes hold their
 * first applied potential; galvanostatic modes, OCP and OCP-relative modes rest at open circuit.
 */
export function restSettingFor(mode: ModeName, family: 'pot' | 'gal' | 'ocp', params: ModeParams): RestSetting {
  const seconds = commonParamsOf(mode, params).restS;
  return { seconds: Number.isFinite(seconds) && seconds > 0 ? seconds : 0, openCircuit: family !== 'pot' || isOcpRelative(mode, params) };
}
