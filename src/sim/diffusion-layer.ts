/**
 * Planar diffusion of a redox couple across a Nernst layer, integrated exactly in time.
 *
 * The couple has equal diffusion coefficients, so c_O + c_R is uniform and one field, the
 * oxidised fraction u(x, t), describes it: u(0) = s is the surface value (set by the electrode),
 * u(δ) is the bulk value. Space is a finite-volume grid that expands away from the surface; time
 * is not discretised at all. The semi-discrete system M·u' = −K·u + (surface, bulk terms) is
 * split into its steady profile (linear in x) and decaying modes (K·φ = λ·M·φ, computed once per
 * grid), and each mode is integrated in closed form for a surface value that moves linearly in
 * time over the step. Hence any step length is exact for such a surface history (no ringing of
 * stiff modes on a potential step, no phase lag that an implicit Euler step would add to the
 * faradaic admittance), and a step costs O(number of nodes).
 *
 * Units: the charge through the surface is returned in (c_total · cm), i.e. per n·F·A·c_total.
 */

/** Grid: first spacing and expansion factor (≈ 60 nodes up to a 300 µm layer). */
const GRID_FIRST_CM = 5e-6;
const GRID_EXPANSION = 1.12;
const STEP_CACHE_MAX = 256;

/** Modes of the grid: everything that depends on the grid only. */
interface Modes {
  /** Decay rates λ_i (1/s). */
  lambda: Float64Array;
  /** Each mode's value at the first interior node, φ_i(x_1). */
  phiFirst: Float64Array;
  /** Projection of the steady surface profile on each mode, γ_i = φ_iᵀ·M·g. */
  gamma: Float64Array;
  /** D/h_0 (cm/s), D/δ (cm/s), and the surface half-cell h_0/2 (cm). */
  dOverFirst: number;
  dOverLayer: number;
  halfFirst: number;
}

/** Per step length: the closed-form weights of every mode. */
interface StepWeights {
  decay: Float64Array;
  /** γ_i·(1 − e^{−λh})/(λh): a mode's response to a unit surface change over the step. */
  kick: Float64Array;
  /** φ_i(x_1)·(1 − e^{−λh})/λ: a mode's contribution to the flux integral, per unit amplitude. */
  fluxWeight: Float64Array;
  /** d(charge)/d(s_end) at fixed history (c_total·cm). */
  chargePerSurface: number;
}

const modesCache = new Map<string, Modes>();

export class DiffusionLayer {
  /** Oxidised fraction at the surface at the end of the last step. */
  surface: number;
  /** After `beginStep`: the charge over the step for an end surface value s is offset + slope·s. */
  chargeOffset = 0;
  chargeSlope = 0;

  private readonly modes: Modes;
  private readonly amplitude: Float64Array;
  private readonly stepCache = new Map<number, StepWeights>();
  private weights: StepWeights | null = null;
  private weightsFor = -1;
  /**
   * Σ fluxWeight_i·c_i for the present amplitudes and weights, summed by `endStep` as it updates
   * them (same terms, same order), so the next step of the same length skips a pass over the modes.
   */
  private modalNext = 0;
  private modalValid = false;

  constructor(
    diffusionCm2PerS: number,
    layerCm: number,
    private readonly bulkFraction: number,
  ) {
    this.modes = modesOf(diffusionCm2PerS, layerCm);
    this.amplitude = new Float64Array(this.modes.lambda.length);
    this.surface = bulkFraction;
  }

  /** Number of grid nodes (surface and bulk included). */
  get nodes(): number {
    return this.modes.lambda.length + 2;
  }

  /**
   * Prepares a step of `h` seconds in which the surface value moves linearly from `surface` to
   * an end value s; the charge through the surface over the step is then chargeOffset + chargeSlope·s.
   */
  beginStep(h: number): void {
    const sameLength = h === this.weightsFor;
    const w = sameLength ? this.weights! : this.weightsOf(h);
    const m = this.modes;
    let modal = this.modalNext;
    if (!(sameLength && this.modalValid)) {
      const c = this.amplitude;
      modal = 0;
      for (let i = 0; i < c.length; i++) modal += w.fluxWeight[i]! * c[i]!;
    }
    const s0 = this.surface;
    // ∫J dt = (D/δ)·∫(s − s_bulk) dt − (D/h0)·∫Σc_i·φ_i(x_1) dt + (h0/2)·(s1 − s0), with s linear in t.
    this.chargeSlope = w.chargePerSurface;
    this.chargeOffset = m.dOverLayer * h * (0.5 * s0 - this.bulkFraction) - m.dOverFirst * modal - s0 * (w.chargePerSurface - 0.5 * m.dOverLayer * h);
  }

  /** Ends the step prepared by `beginStep` at surface value `s`. */
  endStep(s: number): void {
    const w = this.weights!;
    const c = this.amplitude;
    const ds = s - this.surface;
    const flux = w.fluxWeight;
    let modal = 0;
    for (let i = 0; i < c.length; i++) {
      const ci = c[i]! * w.decay[i]! - w.kick[i]! * ds;
      c[i] = ci;
      modal += flux[i]! * ci;
    }
    this.modalNext = modal;
    this.modalValid = true;
    this.surface = s;
  }

  private weightsOf(h: number): StepWeights {
    let w = this.stepCache.get(h);
    if (!w) {
      if (this.stepCache.size >= STEP_CACHE_MAX) this.stepCache.clear();
      w = stepWeights(this.modes, h);
      this.stepCache.set(h, w);
    }
    this.weights = w;
    this.weightsFor = h;
    return w;
  }
}

function stepWeights(m: Modes, h: number): StepWeights {
  const n = m.lambda.length;
  const decay = new Float64Array(n);
  const kick = new Float64Array(n);
  const fluxWeight = new Float64Array(n);
  // Σ φ_i(x_1)·γ_i·∫_0^h (1 − e^{−λt})/λ dt / h: how the modes oppose a surface change within the step.
  let lag = 0;
  for (let i = 0; i < n; i++) {
    const lambda = m.lambda[i]!;
    const x = lambda * h;
    const frac = x < 1e-6 ? 1 - x / 2 : -Math.expm1(-x) / x; // (1 − e^{−x})/x
    decay[i] = Math.exp(-x);
    kick[i] = m.gamma[i]! * frac;
    fluxWeight[i] = m.phiFirst[i]! * frac * h;
    const rest = x < 1e-4 ? 0.5 - x / 6 + (x * x) / 24 : (x + Math.expm1(-x)) / (x * x); // (x − 1 + e^{−x})/x²
    lag += m.phiFirst[i]! * m.gamma[i]! * rest * h;
  }
  const chargePerSurface = 0.5 * m.dOverLayer * h + m.dOverFirst * lag + m.halfFirst;
  return { decay, kick, fluxWeight, chargePerSurface };
}

function modesOf(d: number, layerCm: number): Modes {
  const key = `${d}:${layerCm}`;
  let m = modesCache.get(key);
  if (!m) {
    m = computeModes(d, layerCm);
    modesCache.set(key, m);
  }
  return m;
}

function gridSpacing(layerCm: number): Float64Array {
  const spacing: number[] = [];
  let x = 0;
  let h = Math.min(GRID_FIRST_CM, layerCm / 4);
  while (x + h < layerCm) {
    spacing.push(h);
    x += h;
    h *= GRID_EXPANSION;
  }
  spacing.push(layerCm - x);
  return Float64Array.from(spacing);
}

/**
 * Interior nodes j = 1 … N−2 with volumes vol_j = (h_{j−1} + h_j)/2 and couplings D/h:
 * vol_j·u_j' = (D/h_{j−1})(u_{j−1} − u_j) + (D/h_j)(u_{j+1} − u_j). The symmetric form
 * M^{−1/2}·K·M^{−1/2} is diagonalised; φ_i = M^{−1/2}·ψ_i are M-orthonormal.
 */
function computeModes(d: number, layerCm: number): Modes {
  const h = gridSpacing(layerCm);
  const n = h.length - 1;
  const vol = new Float64Array(n);
  const a = new Float64Array(n * n);
  let x = 0;
  const steady = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    vol[k] = 0.5 * (h[k]! + h[k + 1]!);
    x += h[k]!;
    steady[k] = 1 - x / layerCm; // the steady profile for a unit surface value is linear in x
  }
  for (let k = 0; k < n; k++) {
    a[k * n + k] = (d / h[k]! + d / h[k + 1]!) / vol[k]!;
    if (k + 1 < n) {
      const off = -(d / h[k + 1]!) / Math.sqrt(vol[k]! * vol[k + 1]!);
      a[k * n + k + 1] = off;
      a[(k + 1) * n + k] = off;
    }
  }
  const { values, vectors } = symmetricEigen(a, n);
  const phiFirst = new Float64Array(n);
  const gamma = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    phiFirst[i] = vectors[0 * n + i]! / Math.sqrt(vol[0]!);
    let g = 0;
    for (let k = 0; k < n; k++) g += vectors[k * n + i]! * Math.sqrt(vol[k]!) * steady[k]!;
    gamma[i] = g;
  }
  return { lambda: values, phiFirst, gamma, dOverFirst: d / h[0]!, dOverLayer: d / layerCm, halfFirst: 0.5 * h[0]! };
}

/**
 * Eigenvalues and eigenvectors (columns of `vectors`, row-major n×n) of a symmetric matrix by
 * cyclic Jacobi rotations: small (n ≈ 60), run once per grid, accurate to rounding.
 */
export function symmetricEigen(matrix: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let p = 0; p < n; p++) {
      diag += a[p * n + p]! * a[p * n + p]!;
      for (let q = p + 1; q < n; q++) off += a[p * n + q]! * a[p * n + q]!;
    }
    if (off <= 1e-30 * diag) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        const app = a[p * n + p]!;
        const aqq = a[q * n + q]!;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i]!;
  return { values, vectors: v };
}
