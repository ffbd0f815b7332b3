/**
 * comlink ships ESM builds without an `exports` map; import them by path (typed in
 * src/types/comlink-esm.d.ts) so Node's ESM loader gets real named exports.
 */
export * as Comlink from 'comlink/dist/esm/comlink.mjs';
export { default as nodeEndpoint } from 'comlink/dist/esm/node-adapter.mjs';
export type { Remote } from 'comlink';
