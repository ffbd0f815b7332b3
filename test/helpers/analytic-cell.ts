/**
 * Analytic small-signal impedance of the virtual cell's equivalent circuit, written from the
 * physics and not from the simulator's code, so a test can hold the simulator to it:
 *
 *   Z(ω) = Ru + 1 / ( jω·Cdl + G_bg + 1/Z_W )
 *
 * - Ru in series; the double layer Cdl in parallel with the couple and the background.
 * - The couple is reversible (Nernstian, no kinetic limitation: R_ct = 0) with equal diffusion
 *   coefficients, so only the diffusion impedance remains. Planar diffusion across a Nernst
 *   layer of thickness δ whose far side is held at the bulk composition (a transmissive
 *   boundary) gives the finite-length Warburg
 *     Z_W = R_T · tanh(δ·√(jω/D)) / √(jωD),   R_T = RT / (n²F²A·c·s̄(1 − s̄)),
 *   with s̄ the oxidised surface fraction in Nernstian equilibrium with the interface potential.
 * - G_bg: the leak conductance plus the slope of the soft-linear solvent window at the bias.
 *
 * The interface's dc potential is found from the steady state at the applied bias:
 * (E_bias − e)/Ru = i_F(e) + i_bg(e), with the steady finite-length flux i_F = nFAcD(s̄ − s_bulk)/δ.
 */

export interface AnalyticCellConstants {
  solutionResistanceOhm: number;
  doubleLayerCapacitanceF: number;
  formalPotentialV: number;
  electrons: number;
  electrodeAreaCm2: number;
  /** Total concentration of the couple (mol/cm³). */
  concentrationMolPerCm3: number;
  /** Oxidised fraction of the couple in the bulk. */
  bulkOxidizedFraction: number;
  diffusionCm2PerS: number;
  diffusionLayerCm: number;
  temperatureK: number;
  leakResistanceOhm: number;
  solventWindowV: number;
  solventConductanceS: number;
  solventKneeV: number;
}

/**
 * The virtual cell's constants as plain numbers: the defaults documented for the simulator's cell
 * (a 3 mm disc in 1 mM of a one-electron couple at +0.2 V, Ru 100 Ω, Cdl 20 µF, δ = 300 µm, a
 * 100 MΩ leak, a ±0.8 V solvent window of 2 mS with a 50 mV knee). A unit test asserts they equal
 * the simulator's exported defaults, so the two cannot drift apart silently.
 */
export const VIRTUAL_CELL: Readonly<AnalyticCellConstants> = Object.freeze({
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
});

/** CODATA 2018 exact values. */
const FARADAY_C_PER_MOL = 96485.33212;
const GAS_J_PER_MOL_K = 8.314462618;

export interface Complex {
  re: number;
  im: number;
}

const c = (re: number, im = 0): Complex => ({ re, im });
const add = (a: Complex, b: Complex): Complex => c(a.re + b.re, a.im + b.im);
const mul = (a: Complex, b: Complex): Complex => c(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re);
function div(a: Complex, b: Complex): Complex {
  const d = b.re * b.re + b.im * b.im;
  return c((a.re * b.re + a.im * b.im) / d, (a.im * b.re - a.re * b.im) / d);
}
/** Principal square root. */
function sqrt(a: Complex): Complex {
  const r = Math.hypot(a.re, a.im);
  const re = Math.sqrt((r + a.re) / 2);
  const im = Math.sqrt(Math.max(0, (r - a.re) / 2));
  return c(re, a.im < 0 ? -im : im);
}
/** tanh of a complex number, stable for large real parts. */
function tanh(a: Complex): Complex {
  if (a.re > 20) {
    // tanh → 1 − 2e^{−2a}: the correction is below 1e-17.
    return c(1, 0);
  }
  const e2re = Math.exp(2 * a.re);
  const cos2 = Math.cos(2 * a.im);
  const sin2 = Math.sin(2 * a.im);
  const den = e2re + 1 / e2re + 2 * cos2; // 2(cosh 2x + cos 2y)
  return c((e2re - 1 / e2re) / den, (2 * sin2) / den);
}

export const magnitude = (z: Complex): number => Math.hypot(z.re, z.im);
export const phaseDeg = (z: Complex): number => (Math.atan2(z.im, z.re) * 180) / Math.PI;

function logistic(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

function softplus(x: number): number {
  return x > 30 ? x : Math.log1p(Math.exp(x));
}

/** Background current (leak + solvent window) at interface potential e, and its slope. */
function background(k: AnalyticCellConstants, e: number): { currentA: number; slopeS: number } {
  const b = k.solventKneeV;
  const up = (e - k.solventWindowV) / b;
  const down = (-e - k.solventWindowV) / b;
  return {
    currentA: e / k.leakResistanceOhm + k.solventConductanceS * b * (softplus(up) - softplus(down)),
    slopeS: 1 / k.leakResistanceOhm + k.solventConductanceS * (logistic(up) + logistic(down)),
  };
}

/** nF/RT (1/V). */
function nfOf(k: AnalyticCellConstants): number {
  return (k.electrons * FARADAY_C_PER_MOL) / (GAS_J_PER_MOL_K * k.temperatureK);
}

/** The interface's dc potential in the steady state under an applied bias (bisection: monotone). */
export function steadyInterfacePotentialV(biasV: number, k: AnalyticCellConstants = VIRTUAL_CELL): number {
  if (k.solutionResistanceOhm <= 0) return biasV;
  const nf = nfOf(k);
  const fluxScale = k.electrons * FARADAY_C_PER_MOL * k.electrodeAreaCm2 * k.concentrationMolPerCm3 * (k.diffusionCm2PerS / k.diffusionLayerCm);
  const residual = (e: number): number => {
    const s = logistic(nf * (e - k.formalPotentialV));
    return (biasV - e) / k.solutionResistanceOhm - fluxScale * (s - k.bulkOxidizedFraction) - background(k, e).currentA;
  };
  let lo = biasV - 1;
  let hi = biasV + 1;
  for (let i = 0; i < 200; i++) {
    const mid = 0.5 * (lo + hi);
    if (residual(mid) > 0) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/** The parts of the impedance, for tables and for tests that look at one branch. */
export interface AnalyticImpedance {
  total: Complex;
  /** Finite-length Warburg of the couple (Infinity when the couple is absent at the bias). */
  warburg: Complex;
  interfaceDcV: number;
}

/** Small-signal impedance of the virtual cell at `freqHz` around the steady state at `biasV`. */
export function analyticCellImpedance(freqHz: number, biasV: number, k: AnalyticCellConstants = VIRTUAL_CELL): AnalyticImpedance {
  const omega = 2 * Math.PI * freqHz;
  const e = steadyInterfacePotentialV(biasV, k);
  const nf = nfOf(k);
  const s = logistic(nf * (e - k.formalPotentialV));
  const jw = c(0, omega);
  // R_T = RT / (n²F²A·c·s(1−s)) = 1 / (nf · nFAc · s(1−s)).
  const nFAc = k.electrons * FARADAY_C_PER_MOL * k.electrodeAreaCm2 * k.concentrationMolPerCm3;
  const rT = 1 / (nf * nFAc * s * (1 - s));
  const root = sqrt(mul(jw, c(k.diffusionCm2PerS))); // √(jωD)
  const kDelta = mul(sqrt(div(jw, c(k.diffusionCm2PerS))), c(k.diffusionLayerCm)); // δ√(jω/D)
  const warburg = mul(c(rT), div(tanh(kDelta), root));
  const admittance = add(add(mul(jw, c(k.doubleLayerCapacitanceF)), c(background(k, e).slopeS)), div(c(1), warburg));
  return { total: add(c(k.solutionResistanceOhm), div(c(1), admittance)), warburg, interfaceDcV: e };
}
