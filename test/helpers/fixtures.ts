import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Reads a JSON fixture from the source tree (test/fixtures), not from dist. */
export function readFixture<T>(relative: string): T {
  const url = new URL(`../../../test/fixtures/${relative}`, import.meta.url);
  return JSON.parse(readFileSync(fileURLToPath(url), 'utf8')) as T;
}
