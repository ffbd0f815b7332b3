/**
 * Counts the rows measured at the edge of the device's range: potential at a rail (the RE
 * ADC and the VCEIN DAC span ±4.95 V) or current at the full scale of the TIA gain in force
 * (4.95 V / gain ohms). Such a row is a clipped reading, not a measurement: a potentiostatic
 * mode asked for more current than the range holds, or a galvanostatic mode ran out of
 * compliance. Called per row where the blocks are built; allocates only when an overload
 * episode (a run of consecutive overloaded rows) ends, and itemises a bounded number of them.
 */
import { DEVICE_RANGE_V } from '../modes/constants.js';
import type { IntegrityEvent } from './run-accounting.js';
import { formatSi } from './si-format.js';

/** The device's analog range: potential setpoints and readings (RE ADC, VCEIN DAC), and the TIA output (V). */
const ANALOG_RANGE_V = DEVICE_RANGE_V;
/** A reading within this fraction of the range counts as at the range (noise and smoothing keep a clipped reading just below it). */
export const OVERLOAD_MARGIN = 0.005;
/** Overload episodes reported one by one; later ones are summed into one event. */
const MAX_ITEMISED_EPISODES = 20;

const CURRENT = 1;
const POTENTIAL = 2;

export interface OverloadFigures {
  /** Rows at a potential rail or at current full scale. */
  overloads: number;
  overloads_current: number;
  overloads_potential: number;
  /** Plan index of the first overloaded row, null when none. */
  first_overload_index: number | null;
}

/** Current full scale (A) for an effective TIA gain (Ω). */
export function currentFullScaleA(gainOhms: number): number {
  return ANALOG_RANGE_V / gainOhms;
}

export class OverloadCounter {
  points = 0;
  currentPoints = 0;
  potentialPoints = 0;
  firstIndex: number | null = null;
  private readonly currentLimitA: number;
  private readonly potentialLimitV = ANALOG_RANGE_V * (1 - OVERLOAD_MARGIN);
  private episodeFirst = -1;
  private episodeLast = -1;
  private episodePoints = 0;
  private episodeKinds = 0;
  private episodes = 0;
  private unitemisedPoints = 0;
  private unitemisedFirst = -1;

  /**
   * `fullScaleA`: the current full scale of the gain the mode runs with (null = unknown: only
   * the potential rails are checked). `emit` receives one event per itemised episode.
   */
  constructor(private readonly fullScaleA: number | null, private readonly emit: (event: IntegrityEvent) => void) {
    this.currentLimitA = fullScaleA === null ? Infinity : fullScaleA * (1 - OVERLOAD_MARGIN);
  }

  check(planIndex: number, currentA: number, potentialV: number): void {
    const kinds = (Math.abs(currentA) >= this.currentLimitA ? CURRENT : 0) | (Math.abs(potentialV) >= this.potentialLimitV ? POTENTIAL : 0);
    if (kinds === 0) {
      if (this.episodePoints > 0) this.closeEpisode();
      return;
    }
    this.points++;
    if (kinds & CURRENT) this.currentPoints++;
    if (kinds & POTENTIAL) this.potentialPoints++;
    this.firstIndex ??= planIndex;
    if (this.episodePoints === 0) this.episodeFirst = planIndex;
    this.episodeLast = planIndex;
    this.episodePoints++;
    this.episodeKinds |= kinds;
  }

  /** Closes the episode in progress and reports what was not itemised; call once at the end. */
  finish(): void {
    if (this.episodePoints > 0) this.closeEpisode();
    if (this.unitemisedPoints > 0) {
      this.emit({ kind: 'overload', planIndex: this.unitemisedFirst, count: this.unitemisedPoints, message: `${this.unitemisedPoints} more points at the range limits from plan index ${this.unitemisedFirst} (further episodes not itemised)` });
      this.unitemisedPoints = 0;
    }
  }

  figures(): OverloadFigures {
    return { overloads: this.points, overloads_current: this.currentPoints, overloads_potential: this.potentialPoints, first_overload_index: this.firstIndex };
  }

  private closeEpisode(): void {
    const n = this.episodePoints;
    this.episodePoints = 0;
    if (++this.episodes > MAX_ITEMISED_EPISODES) {
      if (this.unitemisedPoints === 0) this.unitemisedFirst = this.episodeFirst;
      this.unitemisedPoints += n;
      this.episodeKinds = 0;
      return;
    }
    const what: string[] = [];
    if (this.episodeKinds & CURRENT) what.push(`current at full scale (±${formatSi(this.fullScaleA!, 'A')})`);
    if (this.episodeKinds & POTENTIAL) what.push(`potential at the rail (±${ANALOG_RANGE_V} V)`);
    this.episodeKinds = 0;
    const where = n === 1 ? `at plan index ${this.episodeFirst}` : `from plan index ${this.episodeFirst} to ${this.episodeLast}`;
    this.emit({ kind: 'overload', planIndex: this.episodeFirst, count: n, message: `${n} points with ${what.join(' and ')} ${where}: readings clipped` });
  }
}
