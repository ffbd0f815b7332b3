/**
 * GET /openapi.json, GET /docs and the viewer's files under /docs/, generated from the whole
 * route table (which includes these routes). No key needed: they describe the API and hold no
 * data, and the viewer has to load before the user can enter the key (docs-page.ts). The
 * committed `schemas/openapi.json` is the same document.
 */
import { DOCS_CONTENT_SECURITY_POLICY, VIEWER_FILE_NAMES, loadViewerFile, renderDocsPage } from '../docs-page.js';
import { httpErrors } from '../errors.js';
import { buildOpenApiDocument } from '../openapi.js';
import { defineRoute, type AnyRoute } from '../route-types.js';

/** The documentation routes; `getTable` returns the finished table (built lazily, once). */
export function createDocRoutes(getTable: () => readonly AnyRoute[]): AnyRoute[] {
  let openApi: Record<string, unknown> | undefined;
  return [
    defineRoute({
      method: 'GET',
      path: '/openapi.json',
      operationId: 'getOpenApi',
      tag: 'docs',
      summary: 'OpenAPI 3.1 document',
      description: 'This API described in OpenAPI 3.1, with a JSON Schema for every request and response body (for client generators). No key needed.',
      auth: 'none',
      pathParams: [],
      bodySchema: null,
      querySchema: null,
      successStatus: 200,
      responseDescription: 'The OpenAPI 3.1 document.',
      responseSchema: { type: 'object', description: 'An OpenAPI 3.1 document.', required: ['openapi', 'info', 'paths'] },
      errorCodes: [],
      handler: () => ({ body: (openApi ??= buildOpenApiDocument(getTable())) }),
    }),
    defineRoute({
      method: 'GET',
      path: '/docs',
      operationId: 'getDocs',
      tag: 'docs',
      summary: 'Interactive API viewer',
      description:
        'This page: every operation with its parameters and schemas, and try-it-out against this box. Enter the API key under Authorize; it is kept for the browser tab only. Works without internet. No key needed.',
      auth: 'none',
      pathParams: [],
      bodySchema: null,
      querySchema: null,
      successStatus: 200,
      responseDescription: 'HTML page.',
      responseContentType: 'text/html',
      responseSchema: { type: 'string' },
      errorCodes: [],
      handler: () => ({
        body: renderDocsPage(),
        type: 'text/html; charset=utf-8',
        headers: { 'Content-Security-Policy': DOCS_CONTENT_SECURITY_POLICY },
      }),
    }),
    defineRoute({
      method: 'GET',
      path: '/docs/{file}',
      operationId: 'getDocsFile',
      tag: 'docs',
      summary: 'Files of the API viewer',
      description: `Script, stylesheet and icon of the /docs page: ${VIEWER_FILE_NAMES.join(', ')}. Any other name answers 404 http.not_found. No key needed.`,
      auth: 'none',
      pathParams: [{ name: 'file', description: 'File name.' }],
      bodySchema: null,
      querySchema: null,
      successStatus: 200,
      responseDescription: 'The file.',
      responseContentType: 'application/octet-stream',
      responseSchema: { type: 'string', format: 'binary' },
      errorCodes: ['http.not_found'],
      example: { path: '/docs/init.js' },
      handler: ({ params }) => {
        const file = loadViewerFile(params['file'] ?? '');
        if (file === undefined) throw httpErrors.notFound();
        return { body: file.body, type: file.type };
      },
    }),
  ];
}
