/**
 * Numeric rules shared by all waveforms (modes.md 1.1 and 1.3): point counts by truncation,
 * endpoint-inclusive linspace evaluated in double and stored as float32, Python rounding.
 */
import { POINT_INTERVAL_S } from './constants.js';

/** N = trunc(duration / Δt) in IEEE double (0.36 s → 999, 1 s → 2777, 3.6 s → 10000). */
export function countDurationPoints(durationS: number): number {
  return Math.trunc(durationS / POINT_INTERVAL_S);
}

/**
 * Points of a potential sweep: L(a, b) = trunc((|b − a| / rate) / Δt). Two roundings in a row,
 * never simplified to |ΔE| / (rate × Δt) (modes.md 2.2, 2.3).
 */
export function countSweepPoints(from: number, to: number, scanRate: number): number {
  return Math.trunc(Math.abs(to - from) / scanRate / POINT_INTERVAL_S);
}

/**
 * Write numpy `linspace(a, b, count)` cast to float32 into `out` at `offset`:
 * value_i = f32(a + i × (b − a)/(count − 1)) for i < count − 1 and f32(b) at the end;
 * count 1 gives [f32(a)], count 0 writes nothing. Returns the index after the segment.
 */
export function fillLinspaceF32(out: Float32Array, offset: number, a: number, b: number, count: number): number {
  if (count <= 0) return offset;
  if (count === 1) {
    out[offset] = a;
    return offset + 1;
  }
  const step = (b - a) / (count - 1);
  const last = offset + count - 1;
  if (step === 0) {
    // numpy takes a different path when the step is zero: (i / div) × delta + a, which is a here too.
    out.fill(a, offset, last);
  } else {
    for (let i = 0, k = offset; k < last; i++, k++) out[k] = i * step + a;
  }
  out[last] = b;
  return last + 1;
}

/** Python's `round(x)` for a double: ties go to the even neighbour (6.5 → 6, 1.5 → 2). */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff < 0.5) return f;
  if (diff > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** Round half up, as `Math.round` (exact for all doubles; used for EIS points per period, modes.md 7.4). */
export function roundHalfUp(x: number): number {
  return Math.round(x);
}
