/**
 * The dashboard: `GET /` and its static assets under `/ui/`, served from the repository and
 * node_modules (no network at run time). These are files, not API routes: they are not in the
 * route table or the OpenAPI document, and they need no API key (they hold no data; the page asks
 * for the key and sends it with every API call it makes). The Host and Origin checks apply as for
 * every request (app.ts mounts this after the request guard).
 *
 * URL → file:
 *   /                          web/index.html
 *   /ui/<name>                 web/<name> (HTML, CSS, SVG, PNG; not web/src/)
 *   /ui/js/<name>.js           dist/web/src/<name>.js (the page's TypeScript, built by tsconfig.web.json)
 *   /ui/vendor/uPlot.iife.min.js, /ui/vendor/uPlot.min.css   from node_modules/uplot/dist
 *
 * No path from a request ever reaches the file system: the files are listed once, at the first
 * request, into a table keyed by URL path, and a request is answered only when its path is a key
 * of that table (so `..`, encoded slashes and symlinks lead nowhere). Contents are read once and
 * kept in memory (about 200 kB); answers carry an ETag and `Cache-Control: no-cache`, so a browser
 * revalidates (304) and a daemon upgrade is seen on the next load.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Koa from 'koa';

/** Content types of what the dashboard serves; files with other extensions are not served. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * Policy of the dashboard page: its own scripts, styles and images, API calls and the live stream
 * to this origin only; no inline code, no frames, no forms posted anywhere (the page's forms are
 * handled by its script). `blob:` lets the page hand a downloaded file (fetched with the key) to
 * the browser; `data:` is for uPlot's canvas snapshots.
 */
export const DASHBOARD_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

export interface DashboardOptions {
  /** Folder of the static files (default: the repository's web/). */
  webRoot?: string;
  /** Folder of the compiled page scripts (default: dist/web/src). */
  scriptRoot?: string;
  /** Folder of uPlot's distribution files (default: resolved from node_modules). */
  uplotDir?: string;
  /**
   * Whether the API needs a key: the page is served with `data-auth="key"` and asks for the key
   * before its first call, instead of learning it from a 401.
   */
  keyRequired?: boolean;
}

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/** dist/src/http/routes/dashboard.js → the repository root. */
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

function defaultUplotDir(): string {
  return path.dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));
}

/** Regular files under `dir` (recursively, skipping `skip` folders), as paths relative to `dir` with `/`. */
function listFiles(dir: string, skip: ReadonlySet<string> = new Set()): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true, recursive: true });
  } catch {
    return []; // not built yet, or not shipped: those URLs answer 404
  }
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .filter((rel) => !skip.has(rel.split('/')[0] ?? ''));
}

function makeAsset(file: string, edit?: (text: string) => string): Asset | null {
  const type = CONTENT_TYPES[path.extname(file).toLowerCase()];
  if (type === undefined) return null;
  const raw = readFileSync(file);
  const body = edit === undefined ? raw : Buffer.from(edit(raw.toString('utf8')), 'utf8');
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  return { body, type, etag };
}

/** URL path → asset, for every file the dashboard may serve. */
export function buildAssetTable(options: DashboardOptions = {}): Map<string, Asset> {
  const webRoot = options.webRoot ?? path.join(REPO_ROOT, 'web');
  const scriptRoot = options.scriptRoot ?? path.join(REPO_ROOT, 'dist', 'web', 'src');
  const uplotDir = options.uplotDir ?? defaultUplotDir();
  const table = new Map<string, Asset>();
  const auth = options.keyRequired === true ? 'key' : 'open';
  const add = (url: string, file: string): void => {
    const edit = url.endsWith('.html') ? (text: string) => text.replace('data-auth="open"', `data-auth="${auth}"`) : undefined;
    const asset = makeAsset(file, edit);
    if (asset !== null) table.set(url, asset);
  };
  // web/src holds the TypeScript sources; the browser gets their compiled output under /ui/js/.
  for (const rel of listFiles(webRoot, new Set(['src']))) add(`/ui/${rel}`, path.join(webRoot, rel));
  for (const rel of listFiles(scriptRoot)) if (rel.endsWith('.js')) add(`/ui/js/${rel}`, path.join(scriptRoot, rel));
  for (const name of ['uPlot.iife.min.js', 'uPlot.min.css']) add(`/ui/vendor/${name}`, path.join(uplotDir, name));
  const index = table.get('/ui/index.html');
  if (index !== undefined) table.set('/', index);
  return table;
}

/** Whether an `If-None-Match` header names `etag` (a list, or `*`). */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}

/**
 * Koa middleware answering GET/HEAD of `/` and `/ui/...` from the asset table; anything else goes
 * on (an unknown `/ui/` path ends in the app's 404 envelope).
 */
export function createDashboardMiddleware(options: DashboardOptions = {}): Koa.Middleware {
  let table: Map<string, Asset> | null = null;
  return async (ctx, next) => {
    if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || (ctx.path !== '/' && !ctx.path.startsWith('/ui/'))) {
      await next();
      return;
    }
    table ??= buildAssetTable(options);
    const asset = table.get(ctx.path);
    if (asset === undefined) {
      await next();
      return;
    }
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('ETag', asset.etag);
    if (asset.type.startsWith('text/html')) ctx.set('Content-Security-Policy', DASHBOARD_CONTENT_SECURITY_POLICY);
    if (matchesEtag(ctx.get('If-None-Match') || undefined, asset.etag)) {
      ctx.status = 304;
      return;
    }
    ctx.status = 200;
    ctx.type = asset.type;
    ctx.body = asset.body;
  };
}
