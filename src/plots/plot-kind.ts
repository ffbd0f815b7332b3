import type { PlotKind } from './types.js';

/** Figure sizes in CSS pixels at 100 dpi (modes.md 4: 8×6 in and 10×6 in). */
export const FIGURE_8X6 = { widthPx: 800, heightPx: 600 } as const;
export const FIGURE_10X6 = { widthPx: 1000, heightPx: 600 } as const;

/**
 * Which plot a mode gets (issue 4): CV → cycles, CDL → its analysed cycles plus capacitive
 * current vs scan rate, LSV → current vs potential, GCV → potential vs time per cycle,
 * EIS → Nyquist + Bode, everything else → time series.
 * Mode tokens are matched case-insensitively, like the reference host.
 */
export function plotKindForMode(mode: string): PlotKind {
  switch (mode.trim().toUpperCase()) {
    case 'CV':
      return 'cv-cycles';
    case 'CDL':
      return 'cdl';
    case 'LSV':
      return 'iv';
    case 'GCV':
      return 'gcv';
    case 'EIS':
      return 'eis';
    default:
      return 'time-series';
  }
}

/** Plot heading (figure suptitle); the request title (experiment · slot · mode) goes under it. */
export function describePlotHeading(kind: PlotKind, mode: string | null, part: 'main' | 'bode' | 'scan-rate' = 'main'): string {
  const m = mode?.trim().toUpperCase() ?? null;
  switch (kind) {
    case 'cv-cycles':
      return m === 'CDL' ? 'Double-Layer Capacitance (CDL) - Individual Cycles' : 'Cyclic Voltammetry (CV) - Individual Cycles';
    case 'time-series':
      return 'Current & Potential vs Time';
    case 'iv':
      return 'Current vs Potential';
    case 'gcv':
      return 'Galvanostatic Cycling (GCV) - Potential vs Time';
    case 'eis':
      return part === 'bode' ? 'EIS - Bode' : 'EIS - Nyquist';
    case 'cdl':
      return part === 'scan-rate' ? 'Capacitive current vs Scan rate' : 'Double-Layer Capacitance (CDL) - Analysed Cycles';
  }
}

/** `<base>_spectrum.csv` for an EIS run, given either that file or the raw `<base>.csv`. */
export function resolveSpectrumCsvPath(csvPath: string): string {
  if (csvPath.endsWith('_spectrum.csv')) return csvPath;
  return csvPath.replace(/\.csv$/i, '') + '_spectrum.csv';
}

/** `<base>_cdl.png` (current vs scan rate) beside the cycles plot `<base>.png`. */
export function deriveCdlPngPath(pngPath: string): string {
  return pngPath.replace(/\.png$/i, '') + '_cdl.png';
}

/** `<base>_bode.png` beside the Nyquist `<base>.png`. */
export function deriveBodePngPath(pngPath: string): string {
  return pngPath.replace(/\.png$/i, '') + '_bode.png';
}
