/**
 * The potential a cell sees within one step of the simulation, rebuilt from the values applied
 * at the ends of the last few steps.
 *
 * The firmware hands the cell one setpoint per tick and samples the current at the end of the
 * tick, when the potential has reached that setpoint. What the potential does between two
 * samples is not given, yet the cell's charge integrates it, so the choice shows in what a host
 * measures: a held value (staircase) leads the samples by half a tick; a straight line loses
 * about (ωT)²/12 of a sine's amplitude between samples, which at 277.78 Hz (10 samples a period)
 * turns the impedance's phase by 0.5°. A cubic through the last four setpoints follows a sampled
 * sine to O((ωT)⁴) and stays exact at every sample, so the pair (setpoint, current) the firmware
 * reports stays consistent; at 277.78 Hz its share of the impedance error is under 0.07 %.
 *
 * Setpoints of dc experiments are not smooth: a potential step, the corner of a CV or of the
 * PID's staircase would make a cubic overshoot by up to a quarter of the step. So the cubic is
 * kept only where the data look smooth (below), and elsewhere the potential ramps straight from
 * one setpoint to the next, with no overshoot.
 */

/** Points of the polynomial: the step's two ends plus this many earlier values. */
const ORDER = 3;
/** An earlier point is used only if its interval is within this ratio of the step's (jitter yes, idle fast-forward no). */
const MAX_INTERVAL_RATIO = 3;

/**
 * The cubic is used where the curvature of the last two triples agrees in sign and within this
 * factor (a sine sampled 10 times a period reaches 2.7 just after a zero crossing) ...
 */
const CURVATURE_RATIO = 4;
/** ... or where it bends the line by less than this fraction of the step's change (near a zero crossing: 0.11 at 10 samples a period; a step in the setpoints gives 0.19). */
const SMALL_BEND = 0.15;

export class AppliedWaveform {
  /** Times relative to the end of the current step (s, ≤ 0), oldest first. */
  private readonly times = new Float64Array(ORDER + 1);
  private readonly values = new Float64Array(ORDER + 1);
  private count = 0;
  /** Newton coefficients of the potential within the step and the nodes they refer to. */
  private c0 = 0;
  private c1 = 0;
  private c2 = 0;
  private c3 = 0;
  private x2 = 0;
  private x1 = 0;

  /**
   * Starts a step of `dtS` that ends at `appliedV`. Without `continuous` (the counter electrode
   * was just connected, or nothing came before) the potential is `appliedV` throughout.
   */
  push(dtS: number, appliedV: number, continuous: boolean): void {
    if (!continuous || this.count === 0) {
      this.count = 1;
    } else {
      if (this.count === ORDER + 1) this.dropOldest(1);
      for (let i = 0; i < this.count; i++) this.times[i]! -= dtS;
      this.count++;
      // Keep the step's start and, before it, only regularly spaced points.
      let oldest = this.count - 2;
      while (oldest > 0) {
        const interval = this.times[oldest]! - this.times[oldest - 1]!;
        if (!(interval * MAX_INTERVAL_RATIO >= dtS && interval <= dtS * MAX_INTERVAL_RATIO)) break;
        oldest--;
      }
      if (oldest > 0) this.dropOldest(oldest);
    }
    this.times[this.count - 1] = 0;
    this.values[this.count - 1] = appliedV;
    this.fit();
  }

  /** Forgets the `k` oldest points (a plain loop: copyWithin costs more than it moves for four points). */
  private dropOldest(k: number): void {
    const n = this.count - k;
    for (let i = 0; i < n; i++) {
      this.times[i] = this.times[i + k]!;
      this.values[i] = this.values[i + k]!;
    }
    this.count = n;
  }

  /** Potential at time `t` within the current step (−dt ≤ t ≤ 0). */
  at(t: number): number {
    return this.c0 + t * (this.c1 + (t - this.x2) * (this.c2 + (t - this.x1) * this.c3));
  }

  /**
   * Newton form of the polynomial through the points, newest first: the line through the step's
   * two ends, plus the cubic's terms when the signal is smooth there: the second divided
   * differences of the last two triples agree (sign, CURVATURE_RATIO), or the cubic bends the
   * line only a little (SMALL_BEND). At a step, a kink or a corner of a staircase neither holds
   * (one of the two curvatures is zero, or they have opposite signs, and the bend is large).
   */
  private fit(): void {
    const n = this.count;
    const t = this.times;
    const v = this.values;
    this.c0 = v[n - 1]!;
    this.c1 = 0;
    this.c2 = 0;
    this.c3 = 0;
    if (n < 2) return;
    const d32 = (v[n - 1]! - v[n - 2]!) / (t[n - 1]! - t[n - 2]!);
    this.c1 = d32;
    this.x2 = t[n - 2]!;
    if (n < 4) return;
    const d21 = (v[n - 2]! - v[n - 3]!) / (t[n - 2]! - t[n - 3]!);
    const d10 = (v[n - 3]! - v[n - 4]!) / (t[n - 3]! - t[n - 4]!);
    const late = (d32 - d21) / (t[n - 1]! - t[n - 3]!);
    const early = (d21 - d10) / (t[n - 2]! - t[n - 4]!);
    const c3 = (late - early) / (t[n - 1]! - t[n - 4]!);
    const consistent = late * early > 0 && Math.abs(late) <= CURVATURE_RATIO * Math.abs(early) && Math.abs(early) <= CURVATURE_RATIO * Math.abs(late);
    if (!consistent) {
      // Still smooth if the cubic's terms bend the line by under a tenth of the step's change.
      const mid = 0.5 * this.x2;
      const bend = (late + (mid - t[n - 3]!) * c3) * mid * (mid - this.x2);
      if (!(Math.abs(bend) <= SMALL_BEND * Math.abs(v[n - 1]! - v[n - 2]!))) return;
    }
    this.x1 = t[n - 3]!;
    this.c2 = late;
    this.c3 = c3;
  }
}
