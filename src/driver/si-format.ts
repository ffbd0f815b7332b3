/** Short human-readable quantities for messages ("4.95 mA", "1.02 mC", "−120 µA"). */

const PREFIXES: ReadonlyArray<[number, string]> = [
  [1, ''],
  [1e-3, 'm'],
  [1e-6, 'µ'],
  [1e-9, 'n'],
  [1e-12, 'p'],
];

/** `value` with an SI prefix chosen so the mantissa is ≥ 1 (down to pico), three significant digits. */
export function formatSi(value: number, unit: string): string {
  if (!Number.isFinite(value)) return `${value} ${unit}`;
  const magnitude = Math.abs(value);
  if (magnitude === 0) return `0 ${unit}`;
  const [scale, prefix] = PREFIXES.find(([s]) => magnitude >= s * 0.9995) ?? PREFIXES[PREFIXES.length - 1]!;
  return `${Number((value / scale).toPrecision(3))} ${prefix}${unit}`;
}
