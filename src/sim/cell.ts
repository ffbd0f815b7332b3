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
 * Time integration (why the simulated impedance matches the circuit's):
 * - The diffusion of O (equal diffusion coefficients, so c_O + c_R is uniform) runs on an
 *   expanding finite-volume grid whose modes are integrated in closed form (diffusion-layer.ts):
 *   exact for any step length, so open-circuit relaxation, fast-forwarded idle gaps and ticks
 *   all see the same diffusion, and it adds no phase lag to the faradaic branch.
 * - The applied potential between two setpoints is a cubic through the last setpoints where they
 *   are smooth, a straight ramp elsewhere (applied-waveform.ts); the current is sampled at the
 *   end of the step, where the potential equals the setpoint, as the firmware pairs them.
 * - Each step is split into sub-steps of about 180 µs (at most 8). In each, the interface's
 *   charge balance takes the Ohmic and background currents by a θ-rule that is exact for the
 *   Ru–Cdl relaxation under a potential linear in the sub-step, and the faradaic charge exactly
 *   (see `subStep`); a scalar Newton solve gives the interface potential. Implicit Euler (the
 *   former scheme) added T/(2·Cdl) ≈ 9 Ω to the real part a host measures at one step per
 *   0.36 ms; this scheme has no such term and reads the analytic impedance within 0.07 % and
 *   0.1° from 1 Hz to 277.78 Hz (test/unit/sim/cell-impedance.test.ts).
 *
 * With the counter electrode switch closed the potentiostat holds the reference at the
 * applied potential (`potentialV` = applied, exactly); with it open no current flows and
 * the reference reads the interface potential plus a slow random wander (open-circuit drift).
 * The measuring side (noise, TIA saturation, firmware smoothing) is analog-front-end.ts.
 */
import { AppliedWaveform } from './applied-waveform.js';
import { DiffusionLayer } from './diffusion-layer.js';
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
/**
 * Sub-steps per step: as many as keep each under this length, i.e. two per nominal tick. Within
 * a sub-step the applied potential is taken as linear, which at 277.78 Hz leaves 0.09° of phase
 * on the virtual cell; four sub-steps would leave 0.02° for twice the CPU (a box simulates up to
 * 20 slots) ...
 */
const SUBSTEP_TARGET_S = 180e-6;
/** ... but no more than this (long idle or open-circuit steps need no resolution). */
const MAX_SUBSTEPS = 8;

export class ElectrochemicalCell implements CellModel {
  readonly params: Readonly<CellParams>;
  currentA = 0;
  potentialV: number;
  /** Interface (double-layer) potential (V). */
  interfaceV: number;
  /** Open-circuit drift state (V). */
  driftV = 0;

  private readonly diffusion: DiffusionLayer;
  private readonly waveform = new AppliedWaveform();
  private ceWasClosed = false;
  private readonly nf: number;
  /** nFA·c_total (C per unit of surface charge in c_total·cm). */
  private readonly faradaicScale: number;
  private readonly drift: NormalSource;
  private readonly driftNoise: number;
  /** exp(−2·W/b): product of the two window exponentials. */
  private readonly windowProduct: number;
  /** Slope dI/dE of the last `background` evaluation (S). */
  private bgSlope = 0;
  /** 1/leak resistance (S). */
  private readonly gLeak: number;
  /** Drift decay over the last step length and its noise weight: steps repeat one length, exp and sqrt run once per length. */
  private driftStepS = -1;
  private driftDecay = 1;
  private driftKick = 0;

  constructor(params: Partial<CellParams> = {}, options: { noise?: number; seed?: number } = {}) {
    const p = { ...DEFAULT_CELL_PARAMS, ...params };
    validateCellParams(p);
    this.params = Object.freeze(p);
    this.nf = (p.electrons * FARADAY) / (GAS_CONSTANT * p.temperatureK);
    this.faradaicScale = p.electrons * FARADAY * p.electrodeAreaCm2 * p.concentrationMolPerCm3;
    this.diffusion = new DiffusionLayer(p.diffusionCm2PerS, p.diffusionLayerCm, p.bulkOxidizedFraction);
    this.interfaceV = this.restPotentialV();
    this.potentialV = this.interfaceV;
    this.drift = new NormalSource((options.seed ?? 1) ^ 0x0d1f7);
    this.driftNoise = Math.max(0, options.noise ?? 1) * p.ocpDriftV;
    this.windowProduct = Math.exp((-2 * p.solventWindowV) / p.solventKneeV);
    this.gLeak = 1 / p.leakResistanceOhm;
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
    return this.diffusion.surface;
  }

  step(dtS: number, appliedV: number, ceClosed: boolean): void {
    if (!(dtS > 0)) return;
    this.waveform.push(dtS, appliedV, ceClosed && this.ceWasClosed);
    this.ceWasClosed = ceClosed;
    const n = Math.min(MAX_SUBSTEPS, Math.max(1, Math.ceil(dtS / SUBSTEP_TARGET_S - 1e-9)));
    const h = dtS / n;
    let vStart = this.waveform.at(-dtS);
    for (let j = 1; j <= n; j++) {
      const vEnd = j === n ? appliedV : this.waveform.at((j - n) * h);
      this.subStep(h, vStart, vEnd, ceClosed);
      vStart = vEnd;
    }

    if (this.driftNoise > 0) {
      if (dtS !== this.driftStepS) {
        const decay = Math.exp(-dtS / this.params.ocpDriftTimeS);
        this.driftStepS = dtS;
        this.driftDecay = decay;
        this.driftKick = this.driftNoise * Math.sqrt(1 - decay * decay);
      }
      this.driftV = this.driftV * this.driftDecay + this.driftKick * this.drift.next();
    }
    this.potentialV = ceClosed ? appliedV : this.interfaceV + this.driftV;
  }

  /**
   * One sub-step of `h` in which the applied potential goes linearly from v0 to v1: the charge
   * balance of the interface, C·Δe = ∫(v − e)/Ru dt − ∫i_F dt − ∫i_bg dt, with the faradaic
   * charge exact for a surface value linear in time (DiffusionLayer) and the other two integrals
   * by the θ-rule h·[θ·(end value) + (1 − θ)·(start value)] with θ from `exactLinearWeight`.
   * Why this is unbiased: implicit Euler (θ = 1) charges the capacitor as if the end values had
   * held over the whole sub-step, half a sub-step early, which a host reads as h/(2C) of extra
   * series resistance; θ = 1/2 + x/12 (x = h/(Ru·C) = 0.09 here) is the exact solution of the
   * RC circuit, so what remains is the potential's shape within the sub-step, an error even in
   * frequency (no lead or lag). With a small Ru (x ≫ 1) the same θ still decays exactly, where
   * the plain trapezoid would ring and implicit Euler would decay too slowly.
   */
  private subStep(h: number, v0: number, v1: number, ceClosed: boolean): void {
    const p = this.params;
    const cap = p.doubleLayerCapacitanceF;
    const ru = p.solutionResistanceOhm;
    const layer = this.diffusion;
    layer.beginStep(h);
    const kF = this.faradaicScale;
    const qA = kF * layer.chargeOffset;
    const qB = kF * layer.chargeSlope;
    const e0 = this.interfaceV;
    const bg0 = this.background(e0);
    let e: number;
    let currentA: number;
    if (ceClosed && ru <= 0) {
      e = v1;
      const s = this.surfaceFraction(e);
      layer.endStep(s);
      currentA = (cap * (e - e0) + qA + qB * s) / h + 0.5 * (bg0 + this.background(e));
    } else {
      const gU = ceClosed ? 1 / ru : 0;
      const g = gU + this.bgSlope;
      const theta = exactLinearWeight((g * h) / cap);
      const known = cap * e0 + h * (1 - theta) * (gU * (v0 - e0) - bg0) + h * theta * gU * v1 - qA;
      e = this.solveInterface(e0, known, cap + h * theta * gU, h * theta, qB);
      layer.endStep(this.surfaceFraction(e));
      currentA = ceClosed ? gU * (v1 - e) : 0;
    }
    this.interfaceV = e;
    this.currentA = currentA;
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
    const gLeak = this.gLeak;
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
   * Solves known = lin·e + w·background(e) + qB·s(e) for e (the sub-step's charge balance).
   * The right side is strictly increasing in e, so safeguarded Newton always converges.
   */
  private solveInterface(eStart: number, known: number, lin: number, w: number, qB: number): number {
    let lo = -Infinity;
    let hi = Infinity;
    let e = eStart;
    for (let iter = 0; iter < 100; iter++) {
      const s = this.surfaceFraction(e);
      const r = known - lin * e - w * this.background(e) - qB * s;
      if (r > 0) lo = e;
      else if (r < 0) hi = e;
      else return e;
      const slope = -lin - w * this.bgSlope - qB * this.nf * s * (1 - s);
      const delta = r / slope;
      let next = e - delta;
      if (Math.abs(delta) < 1e-12) return next;
      // Newton never leaves an open side of the bracket; bisect once both sides are known.
      if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
      e = next;
    }
    return e;
  }
}

/**
 * The weight θ of the end values in the θ-rule for C·e' = g·(v − e) that reproduces the exact
 * solution over a step of x = g·h/C time constants when v is linear in the step: the decay
 * (1 − (1 − θ)x)/(1 + θx) = e^{−x} and the inputs' weights then equal the exact ones. It is
 * 1/2 + x/12 for short steps (the trapezoid, whose symmetry leaves no real-part bias) and tends
 * to 1 for long ones (no ringing when Ru·Cdl is shorter than the step).
 */
function exactLinearWeight(x: number): number {
  if (!(x > 1e-4)) return 0.5 + x / 12;
  return 1 / -Math.expm1(-x) - 1 / x;
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
