/**
 * Timing and limits shared by every measurement mode (modes.md sections 1, 5, 6.3, 7.3).
 * Pure constants, safe in any thread.
 */
import { NOMINAL_POINT_INTERVAL_US } from '../protocol/constants.js';

/** Δt: one setpoint / one measured pair per point (`POINT_INTERVAL`), the device's controller period in seconds. */
export const POINT_INTERVAL_S = NOMINAL_POINT_INTERVAL_US / 1e6;

/** Fixed setup time added to every mode's planned duration for the ETA (modes.md 5). */
export const SETUP_TIME_S = 1.0;

/**
 * The device's analog range (V): the counter-electrode DAC drives VCEIN = 1.65 − E/3 on 0–3.3 V,
 * so E spans ±4.95 V, and the transimpedance amplifier's output spans the same ±4.95 V.
 */
export const DEVICE_RANGE_V = 4.95;

/**
 * Limit for every potential parameter and every applied potential: the device range. Beyond it
 * the DAC saturates at the rail while the CSV would say otherwise, so validation refuses it.
 */
export const POTENTIAL_LIMIT_V = DEVICE_RANGE_V;

/** Highest usable EIS frequency: at least 10 points per period, 1/(10 Δt) ≈ 277.78 Hz (modes.md 7.3). */
export const EIS_MAX_FREQ_HZ = 1 / (10 * POINT_INTERVAL_S);

/** Smallest number of samples per EIS period (modes.md 7.4). */
export const EIS_MIN_POINTS_PER_PERIOD = 10;

/**
 * Largest plan we accept (validation error `too_many_points`). 100 M points is 10 h at 0.36 ms;
 * a POT plan of that size holds 400 MB of float32 setpoints plus labels, and its CSV is ~8 GB.
 */
export const MAX_PLAN_POINTS = 100_000_000;

/** Planned durations above this produce the warning `long_duration` (modes.md 7.3, applied to every mode). */
export const LONG_DURATION_WARN_S = 3600;

/** Scan rates above this produce the warning `high_value` (CV, LSV, CDL). */
export const HIGH_SCAN_RATE_V_PER_S = 5;

/** Cycle counts above this produce the warning `high_value` (CV, GCV). */
export const HIGH_CYCLE_COUNT = 50;

/** EIS amplitudes above this produce the warning `high_value` (response may not be linear). */
export const EIS_HIGH_AMPLITUDE_V = 0.05;
