/**
 * The dashboard at GET / in a real headless Chromium (Debian's, through puppeteer-core), against
 * the built daemon with an API key and two simulated slots. The page loads with every request going
 * to the daemon itself and no console errors (a Content-Security-Policy violation is one); the key
 * is typed into its dialog once; the virtual devices are shown; a CV is started from the form; the
 * live chart's point count grows while the run is still running (sampled twice); the run ends done
 * in the job list and its ZIP link, fetched by the page with the session's key, is a ZIP.
 * Screenshots (desktop 1366×768, tablet 820×1180) go to test-artifacts/screenshots/.
 *
 * Also, over plain HTTP: content types, ETag revalidation, the page's CSP, no key needed for the
 * files, and paths outside the served set (traversal attempts included) answer 404.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type HTTPRequest, type Page } from 'puppeteer-core';
import { buildChromiumArgs } from '../../src/plots/chromium-session.js';
import { DEFAULT_CHROMIUM_PATH } from '../../src/plots/index.js';
import { startSimulators, type SimulatorSet } from '../../src/sim/run-sim.js';
import { createCleanupScope, makeTempDir, startDaemon, waitForJob, type DaemonHandle } from '../helpers/daemon.js';

/** dist/test/e2e → the repository's test-artifacts/screenshots. */
const SCREENSHOT_DIR = fileURLToPath(new URL('../../../test-artifacts/screenshots/', import.meta.url));

const DESKTOP = { width: 1366, height: 768 };
const TABLET = { width: 820, height: 1180 };

const scope = createCleanupScope();
let sims: SimulatorSet;
let daemon: DaemonHandle;
let browser: Browser;
let page: Page;
const foreign: string[] = [];
const consoleErrors: string[] = [];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Run an expression in the page. Browser code is passed as text: the tests are compiled without the
 * DOM library (tsconfig.test.json), so `document` and friends do not exist on this side.
 */
async function inPage<T>(expression: string): Promise<T> {
  return (await page.evaluate(expression)) as T;
}

/** Wait until a page expression is truthy; its value. */
async function waitInPage<T>(expression: string, timeout: number): Promise<T> {
  const handle = await page.waitForFunction(expression, { timeout, polling: 200 });
  return (await handle.jsonValue()) as T;
}

const q = (selector: string): string => JSON.stringify(selector);

async function screenshot(name: string, viewport: { width: number; height: number }): Promise<void> {
  await page.setViewport(viewport);
  await page.evaluate('window.scrollTo(0, 0)');
  await sleep(400); // charts follow their container's size on the next frame
  await page.screenshot({ path: `${SCREENSHOT_DIR}${name}.png`, fullPage: true });
}

/** Points drawn in the live chart of `runId`'s slot01 (the chart's data-points attribute). */
function livePoints(runId: string): Promise<number> {
  return inPage<number>(`Number(document.querySelector(${q(`.live-card[data-run="${runId}"] .chart-main`)})?.dataset.points ?? '0')`);
}

describe('dashboard', { timeout: 180_000 }, () => {
  before(async () => {
    sims = await startSimulators({ count: 2, firstIndex: 71 });
    scope.defer(() => sims.close());
    daemon = await startDaemon(scope, { ports: sims.ports });
    await mkdir(SCREENSHOT_DIR, { recursive: true });
  });
  after(() => scope.run());

  test('files: content types, ETag, CSP, no key needed; nothing outside the served set', async () => {
    const index = await daemon.get('/', { key: null });
    assert.equal(index.status, 200);
    assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(index.text, /data-auth="key"/, 'the page knows the daemon needs a key');
    const csp = String(index.headers['content-security-policy']);
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(index.headers['cache-control'], 'no-cache');
    const etag = String(index.headers['etag']);
    const again = await daemon.get('/', { key: null, headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);

    const expected: Array<[string, string]> = [
      ['/ui/js/main.js', 'text/javascript; charset=utf-8'],
      ['/ui/dashboard.css', 'text/css; charset=utf-8'],
      ['/ui/favicon.svg', 'image/svg+xml'],
      ['/ui/vendor/uPlot.iife.min.js', 'text/javascript; charset=utf-8'],
      ['/ui/vendor/uPlot.min.css', 'text/css; charset=utf-8'],
    ];
    for (const [url, type] of expected) {
      const res = await daemon.get(url, { key: null });
      assert.equal(res.status, 200, url);
      assert.equal(res.headers['content-type'], type, url);
      assert.ok(res.body.length > 0, url);
    }
    const head = await daemon.request('HEAD', '/ui/js/main.js', { key: null });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);

    for (const url of [
      '/ui/../package.json',
      '/ui/%2e%2e/package.json',
      '/ui/..%2fpackage.json',
      '/ui/src/main.ts',
      '/ui/js/main.js.map',
      '/ui/vendor/uPlot.esm.js',
      '/ui/',
      '/ui/index.html/',
      '/ui//etc/passwd',
    ]) {
      const res = await daemon.get(url, { key: null });
      assert.equal(res.status, 404, `${url} → ${res.status}`);
      assert.doesNotMatch(res.text, /"name": "beepbox"|root:/, url);
    }
    // The API behind the page still needs the key.
    assert.equal((await daemon.get('/devices', { key: null })).status, 401);
  });

  test('loads, shows the devices, starts a CV, the live chart grows, the run ends done and its ZIP downloads', async () => {
    try {
      await runDashboardScenario();
    } catch (err) {
      // What the page showed when it failed, and what it logged, for the CI artefacts.
      await page?.screenshot({ path: `${SCREENSHOT_DIR}dashboard-failure.png`, fullPage: true }).catch(() => undefined);
      throw new Error(`${String(err)}\nconsole errors: ${JSON.stringify(consoleErrors)}`, { cause: err });
    }
  });
});

async function runDashboardScenario(): Promise<void> {
  {
    const profile = await makeTempDir(scope, 'beepbox-dashboard-chromium-');
    browser = await puppeteer.launch({
      executablePath: DEFAULT_CHROMIUM_PATH,
      headless: true,
      userDataDir: profile,
      args: buildChromiumArgs(process.getuid?.() === 0),
    });
    scope.defer(() => browser.close());
    page = await browser.newPage();
    await page.setViewport(DESKTOP);
    await page.setRequestInterception(true);
    const origin = new URL(daemon.url).origin;
    page.on('request', (request: HTTPRequest) => {
      const url = request.url();
      if (url.startsWith('data:') || url.startsWith('blob:')) return void request.continue();
      if (new URL(url).origin !== origin) {
        foreign.push(url);
        return void request.abort();
      }
      return void request.continue();
    });
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (err) => consoleErrors.push(String(err)));

    await page.goto(`${daemon.url}/`, { waitUntil: 'load' });

    // The key, once: the dialog asks before any keyed call is made.
    await page.waitForSelector('#key-dialog[open]', { timeout: 10_000 });
    await page.type('#key-input', daemon.apiKey);
    await page.click('#key-submit');
    assert.equal(await inPage<string | null>(`sessionStorage.getItem('beepbox.apiKey')`), daemon.apiKey);

    // The virtual devices.
    await page.waitForSelector('#devices .device[data-slot="slot02"]', { timeout: 15_000 });
    const slots = await inPage<string[]>(`[...document.querySelectorAll('#devices .device')].map((el) => el.dataset.slot)`);
    assert.deepEqual(slots, ['slot01', 'slot02']);
    const ports = await inPage<string[]>(`[...document.querySelectorAll('#devices .device-port')].map((el) => el.textContent)`);
    assert.ok(ports.every((p, k) => p.includes(sims.ports[k]!)), `ports shown: ${ports.join(' | ')}`);

    // The form: generated from the CV schema; a value out of range is caught in the page.
    await page.waitForSelector('#job-form .mode-card[data-mode="CV"] #p-CV-scan_rate');
    await page.type('#p-CV-vertex1', '7');
    await page.waitForSelector('.field[data-field="vertex1"].has-error', { timeout: 5000 });
    const hint = await inPage<string>(`document.querySelector('.field[data-field="vertex1"] .field-message').textContent`);
    assert.match(hint, /≤ 4\.95/);
    await inPage(`document.querySelector('#p-CV-vertex1').value = ''`);
    const values: Record<string, string> = { start: '0', vertex1: '0.3', vertex2: '-0.3', end: '0', scan_rate: '0.2', cycles: '2' };
    for (const [field, value] of Object.entries(values)) await page.type(`#p-CV-${field}`, value);
    const slot01 = await inPage<boolean>(`document.querySelector('#dev-slot01').checked`);
    assert.equal(slot01, true, 'the first idle device is chosen by default');

    await page.click('#start-job');
    // Warnings from the server's validation ask for a second click before the job starts.
    const runId = await waitInPage<string>(
      `(() => {
        const status = document.querySelector('#job-form .form-status');
        if (status.classList.contains('warning')) document.querySelector('#start-job').click();
        return /^Started (\\S+)\\.$/.exec(status.textContent)?.[1] ?? false;
      })()`,
      20_000,
    );
    assert.match(runId, /^[A-Za-z0-9_-]+$/);

    // The live chart grows while the run is running: two samples a second apart.
    await waitInPage(`Number(document.querySelector(${q(`.live-card[data-run="${runId}"] .chart-main`)})?.dataset.points ?? '0') > 0`, 15_000);
    const first = await livePoints(runId);
    await sleep(1200);
    const second = await livePoints(runId);
    const during = await daemon.get<{ status: string }>(`/jobs/${runId}`);
    assert.equal(during.json.status, 'running', 'the second sample was taken while the run was still going');
    assert.ok(second > first, `chart points ${first} → ${second}`);
    const legend = await inPage<string>(`document.querySelector(${q(`.live-card[data-run="${runId}"] .legend`)}).textContent`);
    assert.match(legend, /cycle 1/, 'CV is drawn per cycle');

    await screenshot('dashboard-desktop-running', DESKTOP);
    await screenshot('dashboard-tablet-running', TABLET);
    await page.setViewport(DESKTOP);

    // The run ends done, in the API and on the page.
    const done = await waitForJob(daemon, runId, undefined, 60_000);
    assert.equal(done.status, 'done');
    await page.waitForSelector(`#jobs .job[data-run="${runId}"][data-state="done"] a.zip-link`, { timeout: 10_000 });

    // The ZIP link, fetched the way the page's download handler does: with the session's key.
    const href = await inPage<string>(`document.querySelector(${q(`#jobs .job[data-run="${runId}"] a.zip-link`)}).getAttribute('href')`);
    assert.equal(href, `/runs/${runId}/zip`);
    const zip = await inPage<{ status: number; type: string | null; head: number[]; size: number }>(`(async () => {
      const res = await fetch(${q(href)}, { headers: { 'X-API-Key': sessionStorage.getItem('beepbox.apiKey') } });
      const bytes = new Uint8Array(await res.arrayBuffer());
      return { status: res.status, type: res.headers.get('content-type'), head: [...bytes.subarray(0, 4)], size: bytes.length };
    })()`);
    assert.equal(zip.status, 200);
    assert.equal(zip.type, 'application/zip');
    assert.deepEqual(zip.head, [0x50, 0x4b, 0x03, 0x04], 'ZIP local file header signature');
    assert.ok(zip.size > 1000, `ZIP of ${zip.size} bytes`);

    // The file list of the finished run.
    await page.click(`#jobs .job[data-run="${runId}"] .job-files summary`);
    await page.waitForSelector(`#jobs .job[data-run="${runId}"] .file-list a.file-link`, { timeout: 10_000 });
    const files = await inPage<string[]>(`[...document.querySelectorAll(${q(`#jobs .job[data-run="${runId}"] .file-list a.file-link`)})].map((el) => el.textContent)`);
    assert.ok(files.some((f) => f.endsWith('_CV.csv')), files.join(', '));

    await page.waitForSelector(`.live-card[data-run="${runId}"].ended`, { timeout: 10_000 });
    await screenshot('dashboard-desktop-done', DESKTOP);
    await screenshot('dashboard-tablet-done', TABLET);

    assert.deepEqual(foreign, [], 'every request goes to the daemon');
    assert.deepEqual(consoleErrors, [], 'no console errors');
  }
}
