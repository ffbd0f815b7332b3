/**
 * The search for the highest clean slot count: counts are tried in ascending order; the first
 * count with any loss, underrun or overflow is run once more to confirm. A failure confirmed
 * stops the search; a clean repeat means the first run was a fluke (reported as such) and the
 * search goes on.
 */

export interface SearchRun {
  slots: number;
  clean: boolean;
}

export type SearchStep =
  | { kind: 'run'; slots: number; repeat: boolean }
  | { kind: 'done'; highestClean: number | null; firstFailing: number | null; flukes: number[] };

/** What to do after `history` (every run so far, in order) over the ascending `counts`. */
export function nextSearchStep(counts: readonly number[], history: readonly SearchRun[]): SearchStep {
  const flukes: number[] = [];
  let highestClean: number | null = null;
  let i = 0; // index into history
  for (const slots of counts) {
    const first = history[i];
    if (!first) return { kind: 'run', slots, repeat: false };
    if (first.slots !== slots) throw new Error(`search history out of order: ran ${first.slots}, expected ${slots}`);
    i++;
    if (!first.clean) {
      const second = history[i];
      if (!second) return { kind: 'run', slots, repeat: true };
      if (second.slots !== slots) throw new Error(`search history out of order: ran ${second.slots}, expected a repeat of ${slots}`);
      i++;
      if (!second.clean) return { kind: 'done', highestClean, firstFailing: slots, flukes };
      flukes.push(slots);
    }
    highestClean = slots;
  }
  return { kind: 'done', highestClean, firstFailing: null, flukes };
}

/** Parses "8,16,24" into ascending distinct positive integers. */
export function parseCounts(list: string): number[] {
  const counts = list.split(',').map((s) => Number(s.trim()));
  if (counts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`slot counts must be positive integers: ${list}`);
  return [...new Set(counts)].sort((a, b) => a - b);
}
