/** How the dashboard writes numbers, durations and times. */

/** 75 → "1 min 15 s", 7300 → "2 h 02 min". */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** Local clock time of an ISO timestamp, with the date when it is not today. */
export function formatTime(iso: string | null): string {
  if (iso === null) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return d.toDateString() === new Date().toDateString() ? time : `${d.toLocaleDateString()} ${time}`;
}

const SI_PREFIXES: ReadonlyArray<[number, string]> = [
  [1e-12, 'p'], [1e-9, 'n'], [1e-6, 'µ'], [1e-3, 'm'], [1, ''], [1e3, 'k'], [1e6, 'M'],
];

/** 2.5e-6, 'A' → "2.50 µA". */
export function formatSi(value: number, unit: string, digits = 3): string {
  if (!Number.isFinite(value)) return '—';
  if (value === 0) return `0 ${unit}`;
  const abs = Math.abs(value);
  let chosen: [number, string] = SI_PREFIXES[0]!;
  for (const p of SI_PREFIXES) if (abs >= p[0]) chosen = p;
  return `${(value / chosen[0]).toPrecision(digits)} ${chosen[1]}${unit}`;
}

/** Compact axis tick labels: engineering notation for small and large magnitudes. */
export function formatTicks(splits: readonly (number | null)[]): string[] {
  let maxAbs = 0;
  for (const v of splits) if (v !== null && Number.isFinite(v)) maxAbs = Math.max(maxAbs, Math.abs(v));
  if (maxAbs !== 0 && (maxAbs < 1e-2 || maxAbs >= 1e5)) {
    const e = Math.floor(Math.log10(maxAbs) / 3) * 3;
    const p = 10 ** e;
    return splits.map((v) => (v === null || !Number.isFinite(v) ? '' : `${Number((v / p).toPrecision(3))}e${e}`));
  }
  return splits.map((v) => (v === null || !Number.isFinite(v) ? '' : String(Number(v.toPrecision(4)))));
}

/** Tick labels with one SI prefix for the whole axis: [-1e-4, 0, 1e-4], 'A' → ["−100 µA", "0", "100 µA"]. */
export function formatSiTicks(splits: readonly (number | null)[], unit: string): string[] {
  let maxAbs = 0;
  for (const v of splits) if (v !== null && Number.isFinite(v)) maxAbs = Math.max(maxAbs, Math.abs(v));
  let chosen: [number, string] = [1, ''];
  for (const p of SI_PREFIXES) if (maxAbs >= p[0]) chosen = p;
  return splits.map((v) => {
    if (v === null || !Number.isFinite(v)) return '';
    return v === 0 ? '0' : `${Number((v / chosen[0]).toPrecision(4)).toString().replace('-', '−')} ${chosen[1]}${unit}`;
  });
}
