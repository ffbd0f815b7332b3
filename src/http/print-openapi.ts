/**
 * CLI: print the OpenAPI document generated from the route table, in the exact text of the
 * committed copy. Refresh the copy with
 *   npx tsc -p tsconfig.json; node dist/src/http/print-openapi.js > schemas/openapi.json
 */
import { buildOpenApiDocument, formatOpenApiDocument } from './openapi.js';
import { createRouteTable } from './route-table.js';

process.stdout.write(formatOpenApiDocument(buildOpenApiDocument(createRouteTable())));
