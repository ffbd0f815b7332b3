/**
 * Issue #10: a path-traversal corpus over real HTTP against GET /runs/{id}/file?path=…,
 * /runs/{id}/zip, /runs/{id}/files, GET and POST /runs/{id}/upload and GET /jobs/{id}:
 * percent-encoded, double-encoded, overlong UTF-8, NUL, backslashes, absolute paths, `..` in
 * every position, Windows drive letters and UNC names, look-alike dots, plus symlinks and
 * hardlinks placed inside a run and beside it (pointing outside RUNS_ROOT), and a symlink placed
 * directly in RUNS_ROOT (the legacy layout). Every one is refused with 404 in the envelope, and no
 * response ever carries a byte of the files outside.
 */
import assert from 'node:assert/strict';
import { link, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSimulators, type SimulatorSet } from '../../src/sim/run-sim.js';
import { RUN_INDEX_FILE } from '../../src/storage/run-index.js';
import {
  assertEnvelope,
  createCleanupScope,
  makeTempDir,
  readZip,
  startDaemon,
  submitJob,
  waitForJob,
  type DaemonHandle,
  type DaemonResponse,
  type JobStatusLike,
} from '../helpers/daemon.js';

const SECRET = 'TOP-SECRET-OUTSIDE-THE-RUNS-7f3a';

const scope = createCleanupScope();
let sims: SimulatorSet;
let daemon: DaemonHandle;
let outside: string;
let run: JobStatusLike;
let csvPath: string;

/** GET/POST with the raw path exactly as given (node's http client sends it unchanged). */
function raw(method: string, rawPath: string): Promise<DaemonResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: daemon.port, method, path: rawPath, agent: false, headers: { 'X-API-Key': daemon.apiKey } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const text = body.toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text, json });
      });
    });
    req.setTimeout(20_000, () => req.destroy(new Error(`${method} ${rawPath}: no answer`)));
    req.on('error', reject);
    req.end();
  });
}

const NOT_FOUND_CODES = ['runs.not_found', 'runs.file_not_found', 'jobs.not_found', 'http.not_found'];

function assertRefused(res: DaemonResponse, what: string): void {
  assert.equal(res.status, 404, `${what}: ${res.status} ${res.text.slice(0, 200)}`);
  const body = assertEnvelope(res, 404, String((res.json as { code?: unknown } | undefined)?.code));
  assert.ok(NOT_FOUND_CODES.includes(String(body.code)), `${what}: ${String(body.code)}`);
  assertNoSecret(res, what);
}

function assertNoSecret(res: DaemonResponse, what: string): void {
  assert.ok(!res.body.includes(Buffer.from(SECRET)), `${what}: the answer carries an outside file`);
  if (String(res.headers['content-type']).startsWith('application/zip')) {
    for (const e of readZip(res.body)) assert.ok(!e.data.includes(Buffer.from(SECRET)), `${what}: ZIP entry ${e.name} is an outside file`);
  }
}

describe('path traversal over HTTP', { timeout: 120_000 }, () => {
  before(async () => {
    sims = await startSimulators({ count: 1 });
    scope.defer(() => sims.close());
    daemon = await startDaemon(scope, { ports: sims.ports });
    // Outside RUNS_ROOT (same file system, so a hardlink to it is possible).
    outside = path.join(await makeTempDir(scope, 'beepbox-outside-'), 'secret-place');
    await mkdir(path.join(outside, 'Wells/slot01/CA'), { recursive: true });
    await writeFile(path.join(outside, 'secret.txt'), SECRET);
    await writeFile(path.join(outside, 'Wells/slot01/CA/secret.csv'), SECRET);
    await writeFile(path.join(outside, 'upload_failed'), SECRET);

    run = await submitJob(daemon, {
      devices: ['slot01'],
      modes: ['CA'],
      params_by_mode: { CA: { potential: 0.1, duration: 0.3 } },
      experiment_name: 'Trav',
      client_datetime: '2026-05-01T10:00:00Z',
      run_name: 'trav',
      make_plot: false,
    });
    run = await waitForJob(daemon, run.run_id);
    assert.equal(run.status, 'done');
    csvPath = run.slots[0]!.files.find((f) => f.endsWith('_CA.csv'))!;
    const runDir = path.join(daemon.runsRoot, 'Trav', '2026-05-01T10-00-00Z');
    const wells = path.join(runDir, 'Wells/slot01/CA');

    // Traps inside the run.
    await symlink(path.join(outside, 'secret.txt'), path.join(wells, 'sym_file.csv'));
    await symlink('../../../../../../' + path.relative('/', outside) + '/secret.txt', path.join(wells, 'sym_rel.csv'));
    await symlink(outside, path.join(runDir, 'Wells/slot01/sym_dir'));
    await link(path.join(outside, 'secret.txt'), path.join(wells, 'hard.csv'));
    await symlink(path.join(outside, 'upload_failed'), path.join(runDir, 'upload_failed'));
    // Traps beside the run (in its experiment folder and in RUNS_ROOT).
    await symlink(outside, path.join(daemon.runsRoot, 'Trav', 'beside_link'));
    await symlink(outside, path.join(daemon.runsRoot, 'legacy_link'));
    await link(path.join(outside, 'secret.txt'), path.join(daemon.runsRoot, 'Trav', 'beside_hard.txt'));
    // An index entry leading through a symlinked folder (written as another tool might).
    const indexPath = path.join(daemon.runsRoot, RUN_INDEX_FILE);
    const index = JSON.parse(await readFile(indexPath, 'utf8')) as Record<string, string>;
    await writeFile(indexPath, JSON.stringify({ ...index, index_link: 'Trav/beside_link', index_root: '.', index_up: '..' }));
  });

  after(() => scope.run());

  test('the run itself is served (the corpus is refused for the right reason)', async () => {
    const ok = await raw('GET', `/runs/trav/file?path=${encodeURIComponent(csvPath)}`);
    assert.equal(ok.status, 200);
    const files = await raw('GET', '/runs/trav/files');
    assert.deepEqual((files.json as { files: string[] }).files, [...run.slots[0]!.files.filter((f) => f !== 'upload_failed'), 'run.json']);
    assertNoSecret(files, 'files');
    const zip = await raw('GET', '/runs/trav/zip');
    assert.equal(zip.status, 200);
    assert.deepEqual(readZip(zip.body).map((e) => e.name), [csvPath, 'run.json'], 'no symlink, hardlink or linked marker in the ZIP');
    assertNoSecret(zip, 'zip');
    const upload = await raw('GET', '/runs/trav/upload');
    assert.equal(upload.status, 200);
    assert.notEqual((upload.json as { state?: string }).state, 'failed', 'a symlinked upload_failed marker is not read');
    assertNoSecret(upload, 'upload');
  });

  test('file paths: every traversal, encoding and link trick is 404', async () => {
    const own = 'Wells/slot01/CA';
    const up = (n: number): string => '../'.repeat(n);
    const outsideAbs = path.join(outside, 'secret.txt');
    const plain = [
      // `..` in every position
      '..', '../', `${up(1)}secret.txt`, `${up(3)}secret-place/secret.txt`, `${up(8)}etc/passwd`,
      `Wells/..`, `Wells/../..`, `Wells/../../beside_link/secret.txt`, `Wells/slot01/../../../beside_link/secret.txt`,
      `${own}/..`, `${own}/../..`, `${own}/../../../../legacy_link/secret.txt`, `${own}/../../../../..${outsideAbs}`,
      `${own}/x/../../../../../beside_hard.txt`, `./../beside_hard.txt`, `Wells/./slot01/./../../../beside_hard.txt`,
      `${up(2)}Trav/beside_link/secret.txt`, `${up(1)}beside_link/Wells/slot01/CA/secret.csv`,
      // absolute, UNC, drive letters
      outsideAbs, `/${outsideAbs}`, '/etc/passwd', '//etc/passwd', 'C:\\Windows\\win.ini', 'C:/Windows/win.ini', 'c:secret.txt',
      '\\\\server\\share\\secret.txt', '\\etc\\passwd', 'file:///etc/passwd',
      // backslashes
      '..\\..\\..\\secret.txt', `Wells\\slot01\\..\\..\\..\\beside_hard.txt`, `${own}\\..\\..\\..\\..\\beside_hard.txt`,
      // NUL
      `${csvPath}\0`, `${csvPath}\0.png`, `\0../../secret.txt`, `${own}/\0/../../../../beside_hard.txt`,
      // look-alike dots and odd dot runs
      '....//....//secret.txt', '.../.../secret.txt', '\u2024\u2024/\u2024\u2024/secret.txt', '\uff0e\uff0e/\uff0e\uff0e/secret.txt', '..\u2215..\u2215secret.txt',
      // links inside and beside the run
      `${own}/sym_file.csv`, `${own}/sym_rel.csv`, 'Wells/slot01/sym_dir/secret.txt', 'Wells/slot01/sym_dir/Wells/slot01/CA/secret.csv',
      `${own}/hard.csv`, 'upload_failed', '../beside_hard.txt', '../beside_link/secret.txt',
      // another slot, directories, missing
      'Wells/slot02/CA/x.csv', own, `${own}/`, 'Wells', '', ' ', '.',
    ];
    const queries: string[] = [];
    for (const p of plain) {
      queries.push(encodeURIComponent(p)); // percent-encoded once (what a client sends)
      queries.push(encodeURIComponent(encodeURIComponent(p))); // double-encoded
    }
    // Hand-made encodings: mixed case, overlong UTF-8 and invalid sequences for '.', '/' and '\'.
    queries.push(
      '%2e%2e%2f%2e%2e%2f%2e%2e%2fsecret.txt', '%2E%2E/%2E%2E/beside_hard.txt', '..%2f..%2f..%2fbeside_hard.txt', '..%5c..%5c..%5cbeside_hard.txt',
      '%252e%252e%252fsecret.txt', '%25252e%25252e%25252f', '%c0%ae%c0%ae/%c0%ae%c0%ae/beside_hard.txt', '%c0%ae%c0%ae%c0%af%c0%ae%c0%ae%c0%afbeside_hard.txt',
      '%e0%80%ae%e0%80%ae/beside_hard.txt', '%c1%9c..%c1%9cbeside_hard.txt', '%uff0e%uff0e/secret.txt', '..%00/beside_hard.txt', '%00',
      '..%u2215beside_hard.txt', `Wells/slot01/CA/..%2f..%2f..%2f..%2fbeside_hard.txt`, '%2fetc%2fpasswd', 'C%3a%5cWindows%5cwin.ini', '%5c%5cserver%5cshare',
      '%', '%zz', '%c0', '%ff%fe',
    );
    for (const q of queries) {
      assertRefused(await raw('GET', `/runs/trav/file?path=${q}`), `path=${q}`);
    }
    // Repeated and array-style parameters: not a string, refused by the query schema (422), nothing served.
    for (const q of [`path=${encodeURIComponent('../beside_hard.txt')}&path=${encodeURIComponent(csvPath)}`, `path[]=${encodeURIComponent('../beside_hard.txt')}`]) {
      const res = await raw('GET', `/runs/trav/file?${q}`);
      assert.ok(res.status === 404 || res.status === 422, `${q}: ${res.status}`);
      assertEnvelope(res, res.status, String((res.json as { code?: unknown }).code));
      assertNoSecret(res, q);
    }
    process.stdout.write(`# traversal: ${queries.length + 2} file paths refused\n`);
  });

  test('run ids: traversal in the path segment, the legacy symlink and index entries through symlinks are 404 on every endpoint', async () => {
    const ids = [
      'legacy_link', 'index_link', 'index_root', 'index_up', '..', '.', '%2e%2e', '%2E%2E', '%252e%252e', '%c0%ae%c0%ae', '%e0%80%ae%e0%80%ae',
      '..%2f..%2fetc', '..%2Fbeside_link', '..%5c..%5c', '%2e%2e%2f%2e%2e%2fTrav', 'Trav%2fbeside_link', 'Trav%2f2026-05-01T10-00-00Z', '%2fetc', '%2F',
      'C%3A', 'C%3A%5CWindows', '%5c%5cserver%5cshare', 'trav%00', '%00', 'trav%2f..', 'legacy_link%00', '%20legacy_link', 'legacy_link%20',
      'LEGACY_LINK', 'legacy%5flink%2f', '%uff0e%uff0e', '\u2024\u2024'.replace(/./g, (c) => encodeURIComponent(c)), 'x'.repeat(129), '.jobs', '_run_paths.json',
    ];
    const endpoints: Array<[string, (id: string) => string]> = [
      ['GET', (id) => `/runs/${id}/files`],
      ['GET', (id) => `/runs/${id}/zip`],
      ['GET', (id) => `/runs/${id}/file?path=${encodeURIComponent('Wells/slot01/CA/secret.csv')}`],
      ['GET', (id) => `/runs/${id}/file?path=secret.txt`],
      ['GET', (id) => `/runs/${id}/upload`],
      ['POST', (id) => `/runs/${id}/upload`],
      ['GET', (id) => `/jobs/${id}`],
      ['POST', (id) => `/jobs/${id}/cancel`],
    ];
    // Whole paths that try to climb out of /runs/ itself.
    const paths = [
      '/runs/../jobs', '/runs/trav/../legacy_link/files', '/runs/trav/files/../../legacy_link/zip', '/runs//legacy_link/files', '/runs/./legacy_link/files',
      '/runs/legacy_link/./files', '/runs/%2e%2e/%2e%2e/etc/passwd', '/runs/trav/file/../../../etc/passwd', '/jobs/../runs/legacy_link/zip', '/runs\\legacy_link\\files',
    ];
    let requests = 0;
    for (const id of ids) {
      for (const [method, make] of endpoints) {
        assertRefused(await raw(method, make(id)), `${method} ${make(id)}`);
        requests++;
      }
    }
    for (const p of paths) {
      assertRefused(await raw('GET', p), `GET ${p}`);
      requests++;
    }
    process.stdout.write(`# traversal: ${ids.length} run ids × ${endpoints.length} endpoints + ${paths.length} whole paths = ${requests} requests refused\n`);
  });
});
