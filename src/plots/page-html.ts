/**
 * Daemon side of the render page: the HTML handed to `page.setContent`. The page's own code lives
 * in page-script.ts (compiled with the DOM lib, tsconfig.page.json); here it is only turned into
 * source text (`Function.prototype.toString`), so the daemon never needs DOM types.
 */
import { computeLogSplits, formatAxisTicks, formatLogTicks, installPlotRenderer } from './page-script.js';
import { dequantize } from './page-spec.js';

/** The page's HTML: uPlot's CSS and JS inline (no network), the helpers and the renderer. */
export function buildPageHtml(uplotJs: string, uplotCss: string): string {
  const css = `
html, body { margin: 0; padding: 0; background: #fff; }
#root { overflow: hidden; background: #fff; font-family: 'DejaVu Sans', 'Liberation Sans', sans-serif; color: #000; }
.hdr { text-align: center; padding: 8px 0 4px 0; }
.hdr .heading { font-size: 17px; font-weight: bold; }
.hdr .sub { font-size: 12px; color: #333; margin-top: 2px; }
.uplot { font-family: 'DejaVu Sans', 'Liberation Sans', sans-serif; width: auto; }
.legend { text-align: center; font-size: 12px; font-weight: bold; padding: 2px 0 0 0; line-height: 20px; }
.legend .item { display: inline-block; margin: 0 9px; white-space: nowrap; }
.legend .swatch { display: inline-block; width: 22px; height: 3px; margin-right: 6px; vertical-align: middle; }
`;
  // Closing tags inside the scripts would end the <script> element early.
  const safe = (js: string) => js.replace(/<\/script/gi, '<\\/script');
  const helpers = [formatAxisTicks.toString(), computeLogSplits.toString(), formatLogTicks.toString(), dequantize.toString(), `(${installPlotRenderer.toString()})();`].join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><style>${uplotCss}</style><style>${css}</style>
<script>${safe(uplotJs)}</script></head><body><div id="root"></div><script>${safe(helpers)}</script></body></html>`;
}
