/** GET /runs/{run_id}/files, /file?path=, /zip (rest-api.md 3.13–3.15). */
import { contentDispositionFor, contentTypeFor } from '../download.js';
import { defineRoute, type AnyRoute, type PathParamSpec } from '../route-types.js';
import { API_SCHEMAS, componentRef, RESPONSE_SCHEMAS, type RunFileQuery } from '../schemas.js';
import { RUN_ID_PATTERN_SOURCE } from '../../services/api.js';

export const RUN_RUN_ID: PathParamSpec = {
  name: 'run_id',
  description: `run_id of the run (${RUN_ID_PATTERN_SOURCE}; anything else is answered 404 runs.not_found).`,
  runIdNotFound: 'runs.not_found',
};

const EXAMPLE_RUN_ID = '20251103T091531_3fa9c2';

export const runRoutes: readonly AnyRoute[] = [
  defineRoute({
    method: 'GET',
    path: '/runs/{run_id}/files',
    operationId: 'listRunFiles',
    tag: 'runs',
    summary: 'Files of a run',
    description:
      "Every regular file the run owns (its own slots' Wells/<slot>/ folders plus the NAS markers), relative to the run directory with '/' separators, sorted by code point.",
    auth: 'key',
    pathParams: [RUN_RUN_ID],
    bodySchema: null,
    querySchema: null,
    successStatus: 200,
    responseDescription: '{files: string[]}.',
    responseSchema: componentRef(RESPONSE_SCHEMAS.RunFileList),
    errorCodes: ['runs.not_found'],
    example: {
      path: `/runs/${EXAMPLE_RUN_ID}/files`,
      response: { files: ['Wells/slot01/CV/Demo_BatchA_2025-11-03_10-15-31Z_slot01_CV.csv'] },
    },
    handler: async ({ services, params }) => ({ body: { files: await services.runs.listFiles(params['run_id'] ?? '') } }),
  }),
  defineRoute<undefined, RunFileQuery>({
    method: 'GET',
    path: '/runs/{run_id}/file',
    operationId: 'downloadRunFile',
    tag: 'runs',
    summary: 'Download one file of a run',
    description:
      'Raw bytes streamed from disk. Content-Type by extension (.csv text/csv; charset=utf-8, .png image/png, .json application/json, .txt or none text/plain; charset=utf-8, else application/octet-stream), Content-Length, Content-Disposition attachment with an RFC 5987 filename* for non-ASCII names. Any path problem (empty, absolute, NUL, escaping the run or its own files, missing, not a regular file, symlink out) → 404 runs.file_not_found.',
    auth: 'key',
    pathParams: [RUN_RUN_ID],
    bodySchema: null,
    querySchema: API_SCHEMAS.RunFileQuery,
    successStatus: 200,
    responseDescription: 'The file bytes.',
    responseContentType: 'application/octet-stream',
    responseSchema: { type: 'string', format: 'binary' },
    errorCodes: ['runs.not_found', 'runs.file_not_found'],
    example: {
      path: `/runs/${EXAMPLE_RUN_ID}/file`,
      query: 'path=Wells/slot01/CV/Demo_BatchA_2025-11-03_10-15-31Z_slot01_CV.csv',
      curlFlags: '-OJ',
    },
    handler: async ({ services, params, query }) => {
      const file = await services.runs.openFile(params['run_id'] ?? '', query.path);
      return {
        body: file.stream,
        type: contentTypeFor(file.name),
        length: file.size,
        headers: { 'Content-Disposition': contentDispositionFor(file.name) },
      };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/runs/{run_id}/zip',
    operationId: 'downloadRunZip',
    tag: 'runs',
    summary: 'Download a run as ZIP',
    description:
      'ZIP (DEFLATE, entries sorted) of the files the run owns, streamed with chunked transfer (no Content-Length); a client disconnect aborts the archive. Errors are detected before the first byte.',
    auth: 'key',
    pathParams: [RUN_RUN_ID],
    bodySchema: null,
    querySchema: null,
    successStatus: 200,
    responseDescription: 'The ZIP archive; Content-Disposition: attachment; filename="<run_id>.zip".',
    responseContentType: 'application/zip',
    responseSchema: { type: 'string', format: 'binary' },
    errorCodes: ['runs.not_found'],
    example: { path: `/runs/${EXAMPLE_RUN_ID}/zip`, curlFlags: '-OJ' },
    handler: async ({ services, params }) => {
      const runId = params['run_id'] ?? '';
      const zip = await services.runs.openZip(runId);
      return {
        body: zip.stream,
        type: 'application/zip',
        headers: { 'Content-Disposition': `attachment; filename="${runId}.zip"` },
      };
    },
  }),
];
