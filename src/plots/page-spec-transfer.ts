import { quantize, type PageSpec, type SeriesSpec } from './page-spec.js';

/**
 * The page spec as it crosses the DevTools pipe: every series as base64 16-bit positions within
 * its chart's axis ranges (1/65535 of the range, far below a pixel) instead of JSON numbers —
 * about a quarter of the bytes of Float64 and a tenth of JSON text. The page maps them back
 * (`dequantize` in page-spec.ts, called by page-script.ts). Series must lie inside the ranges
 * (they do: ranges are built from the data with a margin). Daemon side (uses `Buffer`).
 */
export function encodePageSpecForTransfer(spec: PageSpec): PageSpec {
  const b64 = (a: Uint16Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
  return {
    ...spec,
    charts: spec.charts.map((c) => ({
      ...c,
      series: c.series.map((s) => ({ ...s, xs: [], ys: [], xq: b64(quantize(s.xs, c.xScale)), yq: b64(quantize(s.ys, c.yScale)) }) as SeriesSpec),
    })),
  };
}
