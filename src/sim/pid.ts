/**
 * The firmware's PID loop for the galvanostatic modes: it drives the cell potential so the
 * measured current reaches the target. Whole-millisecond dt, a dead band around the target,
 * a clamped integral and a slope-limited increment; float32 arithmetic where the MCU rounds.
 */
import { PID_CONFIG_AT } from './register-memory.js';

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

export class PidLoop {
  // State (published in the PID-state group).
  target = 0;
  error = 0;
  derivative = 0;
  integral = 0;
  output = 0;
  lastError = 0;
  lastOutput = 0;
  lastUpdateMs = 0;

  // Configuration (from the PID-config group).
  private kp = 100;
  private kd = 0.01;
  private ki = 2.5e-5;
  private errMax = 1e-11;
  private errMin = -1e-11;
  private itglMax = 10;
  private itglMin = -10;
  private rateMax = 0.05;
  private rateMin = -0.05;
  private outMax = 5;
  private outMin = -5;

  configure(p: DataView): void {
    const f = (o: number) => p.getFloat32(o, true);
    this.kp = f(PID_CONFIG_AT.kp);
    this.kd = f(PID_CONFIG_AT.kd);
    this.ki = f(PID_CONFIG_AT.ki);
    this.errMax = f(PID_CONFIG_AT.errMax);
    this.errMin = f(PID_CONFIG_AT.errMin);
    this.itglMax = f(PID_CONFIG_AT.itglMax);
    this.itglMin = f(PID_CONFIG_AT.itglMin);
    this.rateMax = f(PID_CONFIG_AT.rateMax);
    this.rateMin = f(PID_CONFIG_AT.rateMin);
    this.outMax = f(PID_CONFIG_AT.outMax);
    this.outMin = f(PID_CONFIG_AT.outMin);
  }

  reset(): void {
    this.target = this.error = this.derivative = this.integral = 0;
    this.output = this.lastError = this.lastOutput = 0;
    this.lastUpdateMs = 0;
  }

  /**
   * One update at `nowMs` (ms since boot, uint32) with the measured current. Returns true
   * when the output changed and must be applied as the new setpoint.
   */
  update(nowMs: number, measuredA: number): boolean {
    const dtMs = (nowMs - this.lastUpdateMs) >>> 0;
    if (dtMs === 0) return false;
    this.lastUpdateMs = nowMs;
    const f = Math.fround;
    const error = f(this.target - measuredA);
    this.error = error;
    if (error <= this.errMax && error >= this.errMin) {
      this.integral = 0;
      this.lastError = error;
      return false;
    }
    this.derivative = f((error - this.lastError) / dtMs);
    this.integral = clamp(f(this.integral + error * dtMs), this.itglMin, this.itglMax);
    let increment = f(this.kp * error + this.kd * this.derivative + this.ki * this.integral);
    increment = clamp(increment, this.rateMin * dtMs, this.rateMax * dtMs);
    this.lastError = error;
    this.lastOutput = this.output;
    const output = f(clamp(this.output + increment, this.outMin, this.outMax));
    if (output === this.output) return false;
    this.output = output;
    return true;
  }
}
