/**
 * GET /docs: the interactive API viewer. Swagger UI (the `swagger-ui-dist` package, pinned to
 * its last release without dependencies or install scripts) renders `/openapi.json`, served
 * from node_modules with the page's own start script: nothing is fetched from another host
 * (its spec validator badge is turned off), so the page works on a box without internet.
 *
 * The page, its files and the document need no API key: they hold no data, and the viewer must
 * load before the user can enter one. The key goes in Authorize (the ApiKey scheme, X-API-Key);
 * it is kept in the browser tab's sessionStorage under the dashboard's name, so a key entered in
 * either page serves both, and is never written to disk.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { buildPageContentSecurityPolicy } from './security-headers.js';

/**
 * Policy of the viewer: its own scripts and styles, images from itself or inline (the icons in
 * Swagger UI's stylesheet are data: URIs), and calls to this origin only (the document and
 * try-it-out). No inline scripts: the start script is a file of its own.
 */
export const DOCS_CONTENT_SECURITY_POLICY = buildPageContentSecurityPolicy(
  "script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'",
);

/** sessionStorage name of the API key, shared with the dashboard (web/src/api.ts). */
export const API_KEY_STORAGE_NAME = 'beepbox.apiKey';

/**
 * The start script: Swagger UI on `openapi.json` (relative to the page, so a path prefix added
 * by a reverse proxy still works), try-it-out calling the `servers` entry of the document (`/`,
 * the daemon that served it), the key carried over from the tab's session.
 */
const INIT_SCRIPT = `'use strict';
(function () {
  var KEY = ${JSON.stringify(API_KEY_STORAGE_NAME)};
  function readKey() {
    try { return window.sessionStorage.getItem(KEY) || ''; } catch (e) { return ''; }
  }
  function writeKey(value) {
    try {
      if (value) window.sessionStorage.setItem(KEY, value);
      else window.sessionStorage.removeItem(KEY);
    } catch (e) { /* storage disabled: the key lasts as long as the page */ }
  }
  // Keeps the key of the ApiKey scheme in the tab's session when it is entered or removed.
  function SessionKeyPlugin() {
    return {
      statePlugins: {
        auth: {
          wrapActions: {
            authorize: function (original) {
              return function (payload) {
                var entry = payload && payload.ApiKey;
                if (entry && entry.value) writeKey(String(entry.value));
                return original(payload);
              };
            },
            logout: function (original) {
              return function (payload) {
                if (payload && payload.indexOf && payload.indexOf('ApiKey') >= 0) writeKey('');
                return original(payload);
              };
            }
          }
        }
      }
    };
  }
  var ui = window.SwaggerUIBundle({
    url: 'openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    displayRequestDuration: true,
    docExpansion: 'list',
    defaultModelsExpandDepth: 0,
    tryItOutEnabled: false,
    queryConfigEnabled: false,
    presets: [window.SwaggerUIBundle.presets.apis],
    plugins: [SessionKeyPlugin],
    layout: 'BaseLayout',
    onComplete: function () {
      var key = readKey();
      if (key) ui.preauthorizeApiKey('ApiKey', key);
    }
  });
  window.ui = ui;
})();
`;

/** The page: Swagger UI's stylesheet and bundle, then the start script. Relative URLs, like the document's. */
const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>beepbox API</title>
<link rel="icon" type="image/png" href="docs/favicon-32x32.png">
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<noscript>This viewer needs JavaScript. The API description itself is at <a href="openapi.json">/openapi.json</a> (OpenAPI 3.1).</noscript>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/init.js"></script>
</body>
</html>
`;

/** A file of the viewer: its bytes and Content-Type. */
export interface ViewerFile {
  body: Buffer;
  type: string;
}

/** File name under /docs/ → where it comes from: a file of swagger-ui-dist, or text of this module. */
const VIEWER_SOURCES: Readonly<Record<string, { dist: string; type: string } | { text: string; type: string }>> = {
  'swagger-ui-bundle.js': { dist: 'swagger-ui-bundle.js', type: 'text/javascript; charset=utf-8' },
  'swagger-ui.css': { dist: 'swagger-ui.css', type: 'text/css; charset=utf-8' },
  'favicon-32x32.png': { dist: 'favicon-32x32.png', type: 'image/png' },
  'init.js': { text: INIT_SCRIPT, type: 'text/javascript; charset=utf-8' },
};

/** Names served under /docs/ (the route's path parameter must be one of them). */
export const VIEWER_FILE_NAMES: readonly string[] = Object.keys(VIEWER_SOURCES);

function swaggerUiDistDir(): string {
  return path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
}

const loaded = new Map<string, ViewerFile>();

/**
 * One file of the viewer, read once and kept in memory (about 1.5 MB in all), or undefined for a
 * name that is not one of {@link VIEWER_FILE_NAMES}: no request path ever reaches the file system.
 */
export function loadViewerFile(name: string): ViewerFile | undefined {
  if (!Object.hasOwn(VIEWER_SOURCES, name)) return undefined;
  const cached = loaded.get(name);
  if (cached !== undefined) return cached;
  const source = VIEWER_SOURCES[name]!;
  const body = 'dist' in source ? readFileSync(path.join(swaggerUiDistDir(), source.dist)) : Buffer.from(source.text, 'utf8');
  const file = { body, type: source.type };
  loaded.set(name, file);
  return file;
}

/** The HTML of GET /docs. */
export function renderDocsPage(): string {
  return PAGE_HTML;
}
