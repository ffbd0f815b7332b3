/**
 * Physical model of the electrochemical cell behind a virtual potentiostat.
 *
 * Cell (all currents anodic positive, potentials vs the reference electrode):
 *
 *   applied E ──Ru── interface ─┬─ Cdl
 *                               ├─ Faradaic: reversible couple O + n e⁻ ⇌ R (Nernstian),
 *                               │  planar diffusion across a Nernst layer of thickness δ
 *                               ├─ leak resistance
 *                               └─ solvent window: soft-linear conductance beyond ±E_w
 *
 * The diffusion of O (equal diffusion coefficients, so c_O + c_R is uniform) runs on an
 * exponentially expanding finite-volume grid, implicit in time, so any step size is
 * stable. The tridiagonal factorisation depends only on the step size and is cached; the
 * surface concentration enters linearly, so one substitution sweep plus a scalar Newton
 * solve for the interface potential (Ohmic drop, double layer, Nernst) make one step.
 *
 * With the counter electrode switch closed the potentiostat holds the reference at the
 * applied potential (`potentialV` = applied, exactly); with it open no current flows and
 * the reference reads the interface potential plus a slow random wander (open-circuit drift).
 * The measuring side (noise, TIA saturation, firmware smoothing) is analog-front-end.ts.
 */
import { NormalSource } from './random.js';

export interface CellParams {
  /** Uncompensated solution resistance Ru (Ω). */
  solutionResistanceOhm: number;
  doubleLayerCapacitanceF: number;
  /** Formal potential E0' of the couple (V vs RE). */
  formalPotentialV: number;
  electrons: number;
  electrodeAreaCm2: number;
  /** Total concentration c_O + c_R (mol/cm³; 1e-6 = 1 mM). */
  concentrationMolPerCm3: number;
  /** Fraction of the couple in the oxidised form in the bulk (sets the rest potential). */
  bulkOxidizedFraction: number;
  diffusionCm2PerS: number;
  /** Nernst diffusion layer thickness (cm): bulk concentration is restored beyond it. */
  diffusionLayerCm: number;
  temperatureK: number;
  /** Parallel leak resistance at the interface (Ω); Infinity for none. */
  leakResistanceOhm: number;
  /** Solvent window: background current grows linearly beyond ±windowV ... */
  solventWindowV: number;
  /** ... with this slope (S) ... */
  solventConductanceS: number;
  /** ... and a rounded knee of this width (V). */
  solventKneeV: number;
  /** Open-circuit drift: stationary standard deviation of the wander (V, scaled by noise). */
  ocpDriftV: number;
  /** Open-circuit drift correlation time (s). */
  ocpDriftTimeS: number;
}

/**
 * Defaults: a 3 mm disc in 1 mM of a one-electron couple at +0.2 V (ferrocene-like),
 * Ru 100 Ω, Cdl 20 µF. The solvent window (±0.8 V, then 1/500 S) is tuned for the firmware
 * PID (kp = 100 V/A per ms, slew ≤ 0.05 V/ms, current smoothed over ~100 conversions): at
 * TIA gain 0 it settles on ±1 mA (at about ±1.4 V) within 2 % in about 50 ms without
 * sustained oscillation; within ±0.5 V the window adds under 0.3 µA.
 */
export const DEFAULT_CELL_PARAMS: Readonly<CellParams> = Object.freeze({
  solutionResistanceOhm: 100,
  doubleLayerCapacitanceF: 20e-6,
  formalPotentialV: 0.2,
  electrons: 1,
  electrodeAreaCm2: 0.0707,
  concentrationMolPerCm3: 1e-6,
  bulkOxidizedFraction: 1e-3,
  diffusionCm2PerS: 1e-5,
  diffusionLayerCm: 0.03,
  temperatureK: 298.15,
  leakResistanceOhm: 1e8,
  solventWindowV: 0.8,
  solventConductanceS: 1 / 500,
  solventKneeV: 0.05,
  ocpDriftV: 2e-3,
  ocpDriftTimeS: 30,
});

/** What the device needs from a cell: advance it and read the true current and potential. */
export interface CellModel {
  /**
   * Advances the cell by `dtS` seconds under `appliedV` (held constant over the step)
   * with the counter electrode connected (`ceClosed`) or open.
   */
  step(dtS: number, appliedV: number, ceClosed: boolean): void;
  /** True current through the working electrode at the end of the last step (A). */
  readonly currentA: number;
  /** True reference potential at the end of the last step (V). */
  readonly potentialV: number;
}

const FARADAY = 96485.33212;
const GAS_CONSTANT = 8.314462618;
/** Grid: first spacing and expansion factor (≈ 25 nodes up to a 300 µm layer). */
const GRID_FIRST_CM = 2e-5;
const GRID_EXPANSION = 1.3;
const FACTOR_CACHE_MAX = 512;

interface Factorisation {
  /** Thomas upper coefficients c'_k and inverse pivots for the interior nodes. */
  cp: Float64Array;
  inv: Float64Array;
  /** vol_k / dt for interior nodes. */
  volOverDt: Float64Array;
  /** Interior solution for a unit surface concentration and zero elsewhere. */
  q: Float64Array;
  /** Surface flux per unit surface concentration, and h0 / (2 dt). */
  fluxPerSurface: number;
  halfCellOverDt: number;
}

export class ElectrochemicalCell implements CellModel {
  readonly params: Readonly<CellParams>;
  currentA = 0;
  potentialV: number;
  /** Interface (double-layer) potential (V). */
  interfaceV: number;
  /** Open-circuit drift state (V). */
  driftV = 0;

  private readonly nodes: number;
  private readonly spacing: Float64Array;
  /** Oxidised fraction c_O / (c_O + c_R) at each node; node 0 is the surface. */
  private readonly u: Float64Array;
  private readonly work: Float64Array;
  /** D / h_k: coupling of node k + 1 to node k. */
  private readonly lowerCoef: Float64Array;
  /** Right-hand side contribution of the fixed bulk node to the last interior row. */
  private readonly bulkCoef: number;
  private readonly factorCache = new Map<number, Factorisation>();
  private lastFactor: Factorisation | null = null;
  private lastDtS = -1;
  private readonly nf: number;
  /** nFA·c_total (A per unit flux in cm/s). */
  private readonly faradaicScale: number;
  private readonly drift: NormalSource;
  private readonly driftNoise: number;
  /** exp(−2·W/b): product of the two window exponentials. */
  private readonly windowProduct: number;
  /** Slope dI/dE of the last `background` evaluation (S). */
  private bgSlope = 0;

  constructor(params: Partial<CellParams> = {}, options: { noise?: number; seed?: number } = {}) {
    const p = { ...DEFAULT_CELL_PARAMS, ...params };
    validateCellParams(p);
    this.params = Object.freeze(p);
    this.nf = (p.electrons * FARADAY) / (GAS_CONSTANT * p.temperatureK);
    this.faradaicScale = p.electrons * FARADAY * p.electrodeAreaCm2 * p.concentrationMolPerCm3;
    const spacing: number[] = [];
    let x = 0;
    let h = Math.min(GRID_FIRST_CM, p.diffusionLayerCm / 4);
    while (x + h < p.diffusionLayerCm) {
      spacing.push(h);
      x += h;
      h *= GRID_EXPANSION;
    }
    spacing.push(p.diffusionLayerCm - x);
    this.spacing = Float64Array.from(spacing);
    this.nodes = spacing.length + 1;
    this.u = new Float64Array(this.nodes).fill(p.bulkOxidizedFraction);
    this.work = new Float64Array(this.nodes);
    this.lowerCoef = this.spacing.map((hj) => p.diffusionCm2PerS / hj);
    this.bulkCoef = (p.diffusionCm2PerS / this.spacing[this.nodes - 2]!) * p.bulkOxidizedFraction;
    this.interfaceV = this.restPotentialV();
    this.potentialV = this.interfaceV;
    this.drift = new NormalSource((options.seed ?? 1) ^ 0x0d1f7);
    this.driftNoise = Math.max(0, options.noise ?? 1) * p.ocpDriftV;
    this.windowProduct = Math.exp((-2 * p.solventWindowV) / p.solventKneeV);
  }

  /** Nernst potential of the bulk (the rest potential of a fresh cell). */
  restPotentialV(): number {
    const f = this.params.bulkOxidizedFraction;
    if (f <= 0) return this.params.formalPotentialV - 0.5;
    if (f >= 1) return this.params.formalPotentialV + 0.5;
    return this.params.formalPotentialV + Math.log(f / (1 - f)) / this.nf;
  }

  /** Oxidised fraction at the electrode surface. */
  get surfaceOxidizedFraction(): number {
    return this.u[0]!;
  }

  step(dtS: number, appliedV: number, ceClosed: boolean): void {
    if (!(dtS > 0)) return;
    const p = this.params;
    const f = dtS === this.lastDtS ? this.lastFactor! : this.factorFor(dtS);
    const u = this.u;
    const w = this.work;
    const m = this.nodes - 2;
    const a1 = this.lowerCoef[0]!;

    // Interior solution with a zero surface value (Thomas sweeps on the cached factors).
    const cp = f.cp;
    const inv = f.inv;
    const vd = f.volOverDt;
    const ac = this.lowerCoef;
    let y = vd[0]! * u[1]! * inv[0]!;
    w[1] = y;
    const last = m - 1;
    for (let k = 1; k < last; k++) {
      y = (vd[k]! * u[k + 1]! + ac[k]! * y) * inv[k]!;
      w[k + 1] = y;
    }
    if (last > 0) w[m] = (vd[last]! * u[m]! + this.bulkCoef + ac[last]! * y) * inv[last]!;
    else w[1] = (vd[0]! * u[1]! + this.bulkCoef) * inv[0]!;
    for (let k = m - 2; k >= 0; k--) w[k + 1] = w[k + 1]! - cp[k]! * w[k + 2]!;

    // Surface flux J = A + B·s (units of c_total · cm/s), s = surface oxidised fraction.
    const h0half = f.halfCellOverDt;
    const fluxA = -a1 * w[1]! - h0half * u[0]!;
    const fluxB = f.fluxPerSurface;
    const kF = this.faradaicScale; // nFA·c_total
    const capOverDt = p.doubleLayerCapacitanceF / dtS;
    const eOld = this.interfaceV;
    const ru = p.solutionResistanceOhm;

    let e: number;
    let s: number;
    if (ceClosed && ru <= 0) {
      e = appliedV;
      s = this.surfaceFraction(e);
    } else {
      const gU = ceClosed ? 1 / ru : 0;
      e = this.solveInterface(eOld, appliedV, gU, capOverDt, kF * fluxA, kF * fluxB);
      s = this.surfaceFraction(e);
    }
    const faradaicA = kF * (fluxA + fluxB * s);
    let currentA: number;
    if (!ceClosed) currentA = 0;
    else if (ru <= 0) currentA = capOverDt * (e - eOld) + faradaicA + this.background(e);
    else currentA = (appliedV - e) / ru;

    u[0] = s;
    const q = f.q;
    for (let j = 1; j <= m; j++) u[j] = w[j]! + s * q[j]!;
    this.interfaceV = e;
    this.currentA = currentA;

    if (this.driftNoise > 0) {
      const tau = p.ocpDriftTimeS;
      const decay = Math.exp(-dtS / tau);
      this.driftV = this.driftV * decay + this.driftNoise * Math.sqrt(1 - decay * decay) * this.drift.next();
    }
    this.potentialV = ceClosed ? appliedV : e + this.driftV;
  }

  /** Oxidised surface fraction in Nernstian equilibrium at interface potential e. */
  private surfaceFraction(e: number): number {
    const x = this.nf * (e - this.params.formalPotentialV);
    if (x >= 0) return 1 / (1 + Math.exp(-x));
    const ex = Math.exp(x);
    return ex / (1 + ex);
  }

  /**
   * Leak plus solvent-window current at interface potential e (A); its slope dI/dE is left
   * in `bgSlope`. Window: G·b·[softplus((e − W)/b) − softplus((−e − W)/b)], evaluated with
   * one exponential (the two arguments' exponentials multiply to exp(−2W/b)).
   */
  private background(e: number): number {
    const p = this.params;
    const gLeak = 1 / p.leakResistanceOhm;
    const g = p.solventConductanceS;
    if (g === 0) {
      this.bgSlope = gLeak;
      return e * gLeak;
    }
    const b = p.solventKneeV;
    const xUp = (e - p.solventWindowV) / b;
    const xDown = (-e - p.solventWindowV) / b;
    const up = Math.exp(xUp);
    const down = this.windowProduct > 0 && up > 1e-300 && up < 1e300 ? this.windowProduct / up : Math.exp(xDown);
    this.bgSlope = gLeak + g * (logisticOf(up) + logisticOf(down));
    return e * gLeak + g * b * (softplusOf(up, xUp) - softplusOf(down, xDown));
  }

  /**
   * Solves gU·(Eapp − e) = Cdl·(e − eOld)/dt + iA + iB·s(e) + background(e) for e.
   * The residual is strictly decreasing in e, so safeguarded Newton always converges.
   */
  private solveInterface(eOld: number, appliedV: number, gU: number, capOverDt: number, iA: number, iB: number): number {
    let lo = -Infinity;
    let hi = Infinity;
    let e = eOld;
    for (let iter = 0; iter < 100; iter++) {
      const s = this.surfaceFraction(e);
      const r = gU * (appliedV - e) - capOverDt * (e - eOld) - iA - iB * s - this.background(e);
      if (r > 0) lo = e;
      else if (r < 0) hi = e;
      else return e;
      const slope = -gU - capOverDt - iB * this.nf * s * (1 - s) - this.bgSlope;
      const delta = r / slope;
      let next = e - delta;
      if (Math.abs(delta) < 1e-12) return next;
      // Newton never leaves an open side of the bracket; bisect once both sides are known.
      if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
      e = next;
    }
    return e;
  }

  private factorFor(dtS: number): Factorisation {
    const key = dtS;
    let f = this.factorCache.get(key);
    if (!f) {
      if (this.factorCache.size >= FACTOR_CACHE_MAX) this.factorCache.clear();
      f = this.buildFactor(dtS);
      this.factorCache.set(key, f);
    }
    this.lastFactor = f;
    this.lastDtS = dtS;
    return f;
  }

  private buildFactor(dtS: number): Factorisation {
    const d = this.params.diffusionCm2PerS;
    const h = this.spacing;
    const m = this.nodes - 2;
    const cp = new Float64Array(m);
    const inv = new Float64Array(m);
    const volOverDt = new Float64Array(m);
    for (let k = 0; k < m; k++) {
      const j = k + 1;
      const a = d / h[j - 1]!;
      const b = d / h[j]!;
      volOverDt[k] = (0.5 * (h[j - 1]! + h[j]!)) / dtS;
      const diag = volOverDt[k]! + a + b;
      const pivot = k === 0 ? diag : diag + a * cp[k - 1]!;
      inv[k] = 1 / pivot;
      cp[k] = -b / pivot;
    }
    // Unit surface value: right-hand side a_1 in the first interior row only.
    const q = new Float64Array(this.nodes);
    let y = (d / h[0]!) * inv[0]!;
    q[1] = y;
    for (let k = 1; k < m; k++) {
      const a = d / h[k]!;
      y = a * y * inv[k]!;
      q[k + 1] = y;
    }
    for (let k = m - 2; k >= 0; k--) q[k + 1] = q[k + 1]! - cp[k]! * q[k + 2]!;
    const halfCellOverDt = (0.5 * h[0]!) / dtS;
    const fluxPerSurface = (d / h[0]!) * (1 - q[1]!) + halfCellOverDt;
    return { cp, inv, volOverDt, q, fluxPerSurface, halfCellOverDt };
  }
}

/** softplus(x) = ln(1 + e^x), given ex = e^x. */
function softplusOf(ex: number, x: number): number {
  if (ex < 1e-5) return ex;
  if (ex > 1e15) return x;
  return Math.log1p(ex);
}

/** 1 / (1 + e^−x), given ex = e^x. */
function logisticOf(ex: number): number {
  return ex > 1e15 ? 1 : ex / (1 + ex);
}

function validateCellParams(p: CellParams): void {
  const positive: Array<keyof CellParams> = ['doubleLayerCapacitanceF', 'electrons', 'electrodeAreaCm2', 'diffusionCm2PerS', 'diffusionLayerCm', 'temperatureK', 'leakResistanceOhm', 'solventKneeV', 'ocpDriftTimeS'];
  for (const k of positive) if (!(p[k] > 0)) throw new RangeError(`cell parameter ${k} must be > 0, got ${p[k]}`);
  const nonNegative: Array<keyof CellParams> = ['solutionResistanceOhm', 'concentrationMolPerCm3', 'solventConductanceS', 'ocpDriftV', 'solventWindowV'];
  for (const k of nonNegative) if (!(p[k] >= 0)) throw new RangeError(`cell parameter ${k} must be >= 0, got ${p[k]}`);
  if (!(p.bulkOxidizedFraction >= 0 && p.bulkOxidizedFraction <= 1)) throw new RangeError('cell parameter bulkOxidizedFraction must be within [0, 1]');
  if (!Number.isFinite(p.formalPotentialV)) throw new RangeError('cell parameter formalPotentialV must be finite');
}
