/**
 * GET /docs: one self-contained HTML page (inline CSS, no scripts, nothing fetched from
 * elsewhere) generated from the route table and the schemas, so it lists exactly the
 * endpoints the router serves. It is served with {@link DOCS_CONTENT_SECURITY_POLICY}, which
 * allows its one `<style>` element (by hash) and nothing else.
 */
import { createHash } from 'node:crypto';
import { MAX_JSON_BODY_BYTES } from './body.js';
import { buildErrorEnvelope, statusOfCode } from './errors.js';
import { MAX_HEADER_BYTES, MAX_JSON_DEPTH } from './limits.js';
import { groupCodesByStatus, listRouteErrorCodes } from './openapi.js';
import type { AnyRoute } from './route-types.js';
import { ALL_API_SCHEMAS, listModeParamSchemas } from './schemas.js';
import { buildDocsContentSecurityPolicy } from './security-headers.js';

/** The page's only styles (one inline element; the page's CSP allows exactly this text). */
const DOCS_PAGE_STYLE = `
body { font-family: system-ui, sans-serif; max-width: 62rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; color: #1d2329; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.9em; }
pre { background: #f4f6f8; padding: 0.75rem; overflow-x: auto; border-radius: 4px; }
pre.curl { background: #1d2329; color: #e8edf2; }
section { border-top: 1px solid #d5dbe1; padding-top: 0.5rem; margin-top: 1.5rem; }
.method { display: inline-block; min-width: 3.2rem; text-align: center; font-weight: 600; border-radius: 3px; padding: 0 0.3rem; color: #fff; font-size: 0.85em; }
.method.get { background: #2f7d4f; } .method.post { background: #2a5ea8; }
.meta, .note { color: #55606b; }
table { border-collapse: collapse; } td, th { border: 1px solid #d5dbe1; padding: 0.2rem 0.5rem; text-align: left; vertical-align: top; }
ul.toc { list-style: none; padding-left: 0; } ul.toc a { text-decoration: none; }
`;

/** Content-Security-Policy of the page: its own `<style>` element and nothing else. */
export const DOCS_CONTENT_SECURITY_POLICY = buildDocsContentSecurityPolicy(createHash('sha256').update(DOCS_PAGE_STYLE, 'utf8').digest('base64'));

/** Codes answered before a request reaches the router (server.ts), listed once for the whole API. */
const CONNECTION_ERROR_CODES = ['http.bad_request', 'http.request_timeout', 'http.headers_too_large'] as const;

/** Base URL used in the curl examples. */
export const DOCS_BASE_URL = 'http://localhost:8000';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** Single-quote a string for a POSIX shell. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The example curl command of a route. */
export function buildCurlExample(route: AnyRoute): string {
  const parts = ['curl -sS'];
  if (route.method !== 'GET') parts.push(`-X ${route.method}`);
  if (route.auth === 'key') parts.push('-H "X-API-Key: $BOX_API_KEY"');
  if (route.example?.body !== undefined) {
    parts.push("-H 'Content-Type: application/json'", `-d ${shellQuote(JSON.stringify(route.example.body))}`);
  }
  if (route.example?.curlFlags !== undefined) parts.push(route.example.curlFlags);
  const path = route.example?.path ?? route.path;
  const query = route.example?.query !== undefined ? `?${route.example.query}` : '';
  parts.push(`"${DOCS_BASE_URL}${path}${query}"`);
  return parts.join(' ');
}

function anchorOf(route: AnyRoute): string {
  return route.operationId;
}

function renderJson(value: unknown): string {
  return `<pre>${escapeHtml(JSON.stringify(value, null, 2))}</pre>`;
}

function renderRoute(route: AnyRoute): string {
  const params: string[] = route.pathParams.map(
    (p) => `<li><code>${escapeHtml(p.name)}</code> (path): ${escapeHtml(p.description)}</li>`,
  );
  if (route.querySchema !== null) {
    const props = (route.querySchema.schema['properties'] ?? {}) as Record<string, Record<string, unknown>>;
    const required = new Set((route.querySchema.schema['required'] ?? []) as string[]);
    for (const [name, prop] of Object.entries(props)) {
      const enumText = Array.isArray(prop['enum']) ? ` One of ${(prop['enum'] as unknown[]).map(String).join(', ')}.` : '';
      params.push(
        `<li><code>${escapeHtml(name)}</code> (query, ${required.has(name) ? 'required' : 'optional'}): ${escapeHtml(
          String(prop['description'] ?? ''),
        )}${escapeHtml(enumText)}</li>`,
      );
    }
  }
  const errors = groupCodesByStatus(listRouteErrorCodes(route))
    .map(([status, codes]) => `<tr><td>${status}</td><td>${codes.map((c) => `<code>${escapeHtml(c)}</code>`).join(', ')}</td></tr>`)
    .join('');
  const body =
    route.bodySchema !== null
      ? `<h4>Request body <code>${escapeHtml(route.bodySchema.name)}</code></h4>${renderJson(route.bodySchema.schema)}`
      : route.method === 'POST'
        ? '<p class="note">No request body: a missing, empty or any body is accepted and ignored.</p>'
        : '';
  const response =
    route.example?.response !== undefined ? `<h4>Example response</h4>${renderJson(route.example.response)}` : '';
  return `
<section id="${escapeHtml(anchorOf(route))}">
  <h3><span class="method ${route.method.toLowerCase()}">${route.method}</span> <code>${escapeHtml(route.path)}</code></h3>
  <p class="meta">Auth: ${route.auth === 'key' ? '<strong>X-API-Key</strong> (when BOX_API_KEY is set)' : '<strong>none</strong>'} · Success: ${route.successStatus} (${escapeHtml(route.responseContentType ?? 'application/json')})</p>
  <p><strong>${escapeHtml(route.summary)}.</strong> ${escapeHtml(route.description)}</p>
  ${params.length > 0 ? `<h4>Parameters</h4><ul>${params.join('')}</ul>` : ''}
  ${body}
  <h4>Response ${route.successStatus}</h4><p>${escapeHtml(route.responseDescription)}</p>
  ${response}
  <h4>Errors</h4><table><tr><th>Status</th><th>Codes</th></tr>${errors}</table>
  <h4>Example</h4><pre class="curl">${escapeHtml(buildCurlExample(route))}</pre>
</section>`;
}

/** Render the page. Pure: same table → same HTML. */
export function renderDocsPage(routes: readonly AnyRoute[]): string {
  const toc = routes
    .map(
      (r) =>
        `<li><a href="#${escapeHtml(anchorOf(r))}"><span class="method ${r.method.toLowerCase()}">${r.method}</span> ${escapeHtml(
          r.path,
        )}</a> — ${escapeHtml(r.summary)}${r.auth === 'none' ? ' <em>(no key)</em>' : ''}</li>`,
    )
    .join('\n');
  const envelope = buildErrorEnvelope('jobs.not_found', 'Unknown run_id', 'Check the run_id or fetch the job list.');
  const validation = buildErrorEnvelope('request.validation_error', 'Request validation failed', 'Please check request payload and fields.', [
    { loc: ['body', 'experiment_name'], msg: 'Field required', type: 'missing' },
    { loc: ['query', 'state'], msg: "Input should be 'incomplete' or 'completed'", type: 'enum' },
  ]);
  const schemas = [
    ...ALL_API_SCHEMAS.map((s) => ({ name: s.name, schema: s.schema })),
    ...listModeParamSchemas().map((m) => ({ name: m.name, schema: m.schema })),
  ]
    .map((s) => `<details id="schema-${escapeHtml(s.name)}"><summary><code>${escapeHtml(s.name)}</code></summary>${renderJson(s.schema)}</details>`)
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>beepbox API</title>
<style>${DOCS_PAGE_STYLE}</style>
</head>
<body>
<h1>beepbox API <small>(API version 1.0)</small></h1>
<p>HTTP API of the BEEP potentiostat box, base URL <code>${DOCS_BASE_URL}</code>. Request and response bodies are JSON
(the body is parsed as JSON whatever its Content-Type; at most 1 MiB). Unknown request fields are ignored; absent optional
response values are <code>null</code>. Timestamps are ISO-8601 UTC with a trailing <code>Z</code>.
The machine-readable description is <a href="/openapi.json"><code>/openapi.json</code></a> (OpenAPI 3.1).</p>
<h2>Authentication</h2>
<p>When <code>BOX_API_KEY</code> is set, every endpoint except <code>GET /version</code> and <code>GET /health</code> needs
the header <code>X-API-Key</code> with exactly that value, else <code>401 auth.invalid_api_key</code>. Checks run in this order:
route (404 <code>http.not_found</code>, 405 <code>http.method_not_allowed</code> with an <code>Allow</code> header), key, then input validation.</p>
<h2>Errors</h2>
<p>Every non-2xx response has this envelope (<code>detail</code> repeats the triple and is always an object):</p>
${renderJson(envelope)}
<p>Input that fails the request schemas answers <code>422 request.validation_error</code> with one entry per problem in
<code>errors</code>; entries never contain the offending value:</p>
${renderJson(validation)}
<h2>Security and limits</h2>
<ul>
<li>The <code>Host</code> header must name the box as it answers to: <code>localhost</code>, <code>127.0.0.1</code>,
<code>[::1]</code>, its host name, the address the request arrived on, or a name listed in <code>BOX_ALLOWED_HOSTS</code>,
with the box's port; else <code>421 http.forbidden_host</code> (protection against DNS rebinding).</li>
<li>Requests other than GET, HEAD and OPTIONS sent by a web page of another origin (an <code>Origin</code> header that is
not the box's own, or <code>Sec-Fetch-Site: cross-site</code>/<code>same-site</code>) are refused with
<code>403 http.forbidden_origin</code>. Programs such as curl or the GUI client send no <code>Origin</code> and are not affected.</li>
<li>JSON bodies: at most ${MAX_JSON_BODY_BYTES / 1024 / 1024} MiB (<code>413 request.too_large</code>) and at most
${MAX_JSON_DEPTH} levels of nested arrays/objects (<code>422 request.validation_error</code>, type <code>json_too_deep</code>).</li>
<li>Malformed HTTP answers <code>400 http.bad_request</code>, a request (headers and body) not received within the server's
time limit <code>408 http.request_timeout</code>, request headers over ${MAX_HEADER_BYTES / 1024} KiB
<code>431 http.headers_too_large</code>; each closes the connection. Downloads are never cut by a time limit while they progress.</li>
</ul>
<h2>Endpoints</h2>
<ul class="toc">
${toc}
</ul>
${routes.map(renderRoute).join('\n')}
<h2>Schemas</h2>
<p>Request schemas (JSON Schema 2020-12) and the parameter schema of every measurement mode. Numeric mode parameters also
accept numeric strings such as <code>"0.1"</code>.</p>
${schemas}
<h2>Error codes</h2>
<table><tr><th>Status</th><th>Code</th></tr>
${[...new Set(['http.not_found', 'http.method_not_allowed', ...CONNECTION_ERROR_CODES, ...routes.flatMap(listRouteErrorCodes)])]
  .sort((a, b) => statusOfCode(a) - statusOfCode(b) || (a < b ? -1 : 1))
  .map((c) => `<tr><td>${statusOfCode(c)}</td><td><code>${escapeHtml(c)}</code></td></tr>`)
  .join('\n')}
</table>
</body>
</html>
`;
}
