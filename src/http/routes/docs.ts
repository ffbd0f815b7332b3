/**
 * GET /openapi.json and GET /docs, generated from the whole route table (which includes
 * these two routes). Both need the API key like every route the contract does not exempt
 * (rest-api.md 1.3); the committed `schemas/openapi.json` is the key-less copy.
 */
import { DOCS_CONTENT_SECURITY_POLICY, renderDocsPage } from '../docs-page.js';
import { buildOpenApiDocument } from '../openapi.js';
import { defineRoute, type AnyRoute } from '../route-types.js';

/** The two documentation routes; `getTable` returns the finished table (built lazily, once). */
export function createDocRoutes(getTable: () => readonly AnyRoute[]): AnyRoute[] {
  let openApi: Record<string, unknown> | undefined;
  let html: string | undefined;
  return [
    defineRoute({
      method: 'GET',
      path: '/openapi.json',
      operationId: 'getOpenApi',
      tag: 'docs',
      summary: 'OpenAPI 3.1 document',
      description: 'Generated from the route table and the JSON Schemas; the same document is committed as schemas/openapi.json.',
      auth: 'key',
      pathParams: [],
      bodySchema: null,
      querySchema: null,
      successStatus: 200,
      responseDescription: 'The OpenAPI 3.1 document.',
      errorCodes: [],
      handler: () => ({ body: (openApi ??= buildOpenApiDocument(getTable())) }),
    }),
    defineRoute({
      method: 'GET',
      path: '/docs',
      operationId: 'getDocs',
      tag: 'docs',
      summary: 'Readable API page',
      description: 'Self-contained HTML page (no scripts, no external resources) listing every endpoint with an example curl command.',
      auth: 'key',
      pathParams: [],
      bodySchema: null,
      querySchema: null,
      successStatus: 200,
      responseDescription: 'HTML page.',
      responseContentType: 'text/html',
      errorCodes: [],
      handler: () => ({
        body: (html ??= renderDocsPage(getTable())),
        type: 'text/html; charset=utf-8',
        // The page's own inline styles, nothing else (every other answer allows nothing at all).
        headers: { 'Content-Security-Policy': DOCS_CONTENT_SECURITY_POLICY },
      }),
    }),
  ];
}
