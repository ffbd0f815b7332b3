/**
 * Per-channel least-squares fit of one EIS analysis window, from running sums (so the analyser
 * stays streaming): x_m ≈ a + b·(m − m̄) + c·cos θm + d·sin θm, θ = 2π/P, m = 0 … M−1, M a whole
 * number of periods.
 *
 * plus the same for 2θ and 3θ (the harmonics the quality figures report).
 *
 * Why a joint fit: the single-bin DFT already ignores a constant over whole periods, but a drift
 * (a slow relaxation after the previous mode, the diffusion layer settling) leaks into the
 * fundamental — a ramp of Δ across k periods adds about Δ/(πk) to the amplitude. Fitting the line
 * together with the sines (the line is not orthogonal to them, so a harmonic left out would bend
 * the slope) removes the leak exactly for a linear drift; each bin is then X_h − b·L_h with
 * L_h = Σ m·e^{−jhθm} = M(−½ + ½j·cot(hθ/2)).
 */

/** Running sums of one channel over the analysed window (x centred on a reference value). */
export interface ChannelSums {
  /** Σ x */
  s0: number;
  /** Σ m·x */
  s1: number;
  /** Σ x² */
  s2: number;
  /** Σ x·cos(hθm) for h = 1, 2, 3. */
  re: [number, number, number];
  /** −Σ x·sin(hθm) for h = 1, 2, 3. */
  im: [number, number, number];
}

export function emptyChannelSums(): ChannelSums {
  return { s0: 0, s1: 0, s2: 0, re: [0, 0, 0], im: [0, 0, 0] };
}

export interface ChannelFit {
  /** Drift-corrected DFT of the fundamental, Σ (x − line)·e^{−jθm}. */
  re: number;
  im: number;
  /** Fundamental amplitude 2|X₁'|/M (peak). */
  amplitude: number;
  /** Slope removed, as its change across the window relative to the amplitude (|b|·M / amplitude). */
  driftRel: number;
  /** √(A₂² + A₃²) / A₁: energy at 2f and 3f relative to the fundamental. */
  harmonicsRel: number;
  /** RMS of what is left after the line and the fundamental (harmonics included), relative to the fundamental's RMS. */
  residualRel: number;
  /**
   * Standard uncertainty of the fundamental relative to its amplitude, σ·√(2/M) / A₁, with σ the
   * RMS of what is left after the line and the three sines (taken as white noise).
   */
  uncertaintyRel: number;
}

/** L_h / M = −½ + ½j·cot(πh/P) for a window of whole periods. */
function rampDft(h: number, P: number): { re: number; im: number } {
  return { re: -0.5, im: 0.5 / Math.tan((Math.PI * h) / P) };
}

/** Fits one channel of a window of M = cycles × P samples. */
export function fitChannel(s: ChannelSums, M: number, P: number): ChannelFit {
  const mean = s.s0 / M;
  const mBar = (M - 1) / 2;
  const suu = (M * (M * M - 1)) / 12;
  const sux = s.s1 - mBar * s.s0;
  // The sines of h = 1, 2, 3 are orthogonal to each other and to the constant over whole periods
  // (Σcos² = Σsin² = M/2); only the line couples to them: Σu·cos(hθm) = Re L_h, Σu·sin(hθm) = −Im L_h.
  // Eliminating their coefficients leaves one equation for the slope b.
  const ramps = [1, 2, 3].map((h) => {
    const l = rampDft(h, P);
    return { re: l.re * M, im: l.im * M };
  });
  let denominator = suu;
  let numerator = sux;
  ramps.forEach((l, k) => {
    denominator -= (2 / M) * (l.re * l.re + l.im * l.im);
    numerator -= (2 / M) * (l.re * s.re[k]! + l.im * s.im[k]!);
  });
  const slope = numerator / denominator;
  // Drift-corrected DFT bins X_h' = X_h − b·L_h, their amplitudes 2|X_h'|/M, and the fitted energy Σ β·Xᵀy per bin.
  const bins = ramps.map((l, k) => {
    const re = s.re[k]! - slope * l.re;
    const im = s.im[k]! - slope * l.im;
    const c = (2 / M) * re;
    const d = (-2 / M) * im;
    return { re, im, amplitude: (2 * Math.hypot(re, im)) / M, explained: c * s.re[k]! - d * s.im[k]! };
  });
  const [x1, x2, x3] = bins as [typeof bins[0], typeof bins[0], typeof bins[0]];
  // Residual sums of squares: after the line and all three sines (noise), and after the line and the fundamental only.
  const centred = s.s2 - mean * s.s0;
  const rssFull = Math.max(0, centred - slope * sux - x1.explained - x2.explained - x3.explained);
  const rssFundamental = rssFull + (M / 2) * (x2.amplitude ** 2 + x3.amplitude ** 2);
  const sigma = Math.sqrt(rssFull / Math.max(1, M - 8));
  const amplitude = x1.amplitude;
  return {
    re: x1.re,
    im: x1.im,
    amplitude,
    driftRel: (Math.abs(slope) * M) / amplitude,
    harmonicsRel: Math.hypot(x2.amplitude, x3.amplitude) / amplitude,
    residualRel: Math.sqrt(rssFundamental / M) / (amplitude / Math.SQRT2),
    uncertaintyRel: (sigma * Math.sqrt(2 / M)) / amplitude,
  };
}
