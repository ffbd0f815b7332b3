/**
 * The /docs viewer in a real headless Chromium (Debian's, through puppeteer-core), against the
 * built daemon with an API key: the page loads with every request going to the daemon itself
 * (anything else is aborted and fails the test), no console errors (a Content-Security-Policy
 * violation is one), the key is entered under Authorize, and try-it-out on GET /health and on a
 * keyed route answers 200 in the page. Screenshot: test-artifacts/screenshots/docs.png.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type HTTPRequest, type Page } from 'puppeteer-core';
import { buildChromiumArgs } from '../../src/plots/chromium-session.js';
import { DEFAULT_CHROMIUM_PATH } from '../../src/plots/index.js';
import { createCleanupScope, makeTempDir, startDaemon, type DaemonHandle } from '../helpers/daemon.js';

/** dist/test/e2e → the repository's test-artifacts/screenshots. */
const SCREENSHOT_DIR = fileURLToPath(new URL('../../../test-artifacts/screenshots/', import.meta.url));

const scope = createCleanupScope();
let daemon: DaemonHandle;
let browser: Browser;
let page: Page;
const foreign: string[] = [];
const failed: string[] = [];
const consoleErrors: string[] = [];
const keyHeaders = new Map<string, string | undefined>();

/** The operation block of an operationId (Swagger UI ids: operations-<tag>-<operationId>). */
const operation = (tag: string, id: string): string => `#operations-${tag}-${id}`;

/** Text of the first element matching `selector` ('' without one); evaluated as page source (the tests have no DOM types). */
async function textOf(selector: string): Promise<string> {
  return String(await page.evaluate(`document.querySelector(${JSON.stringify(selector)})?.textContent ?? ''`));
}

async function tryItOut(selector: string): Promise<{ status: string; body: string }> {
  await page.click(`${selector} .opblock-summary`);
  await page.waitForSelector(`${selector} .try-out__btn`);
  await page.click(`${selector} .try-out__btn`);
  await page.waitForSelector(`${selector} .execute`);
  await page.click(`${selector} .execute`);
  const cell = `${selector} .live-responses-table .response .response-col_status`;
  await page.waitForSelector(cell, { timeout: 15_000 });
  return {
    status: (await textOf(cell)).trim(),
    body: await textOf(`${selector} .live-responses-table .response-col_description pre`),
  };
}

describe('/docs viewer in Chromium', { timeout: 120_000 }, () => {
  before(async () => {
    daemon = await startDaemon(scope);
    const profile = await makeTempDir(scope, 'beepbox-docs-chromium-');
    browser = await puppeteer.launch({
      executablePath: DEFAULT_CHROMIUM_PATH,
      headless: true,
      userDataDir: profile,
      args: buildChromiumArgs(process.getuid?.() === 0),
    });
    scope.defer(() => browser.close());
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    await page.setRequestInterception(true);
    const origin = new URL(daemon.url).origin;
    page.on('request', (request: HTTPRequest) => {
      const url = request.url();
      if (url.startsWith('data:')) return void request.continue();
      if (new URL(url).origin !== origin) {
        foreign.push(url);
        return void request.abort();
      }
      keyHeaders.set(new URL(url).pathname, request.headers()['x-api-key']);
      return void request.continue();
    });
    page.on('requestfailed', (request) => failed.push(`${request.url()}: ${request.failure()?.errorText ?? '?'}`));
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (err) => consoleErrors.push(String(err)));
  });

  after(() => scope.run());

  test('loads from the daemon alone, then try-it-out answers 200 with the key from Authorize', async () => {
    const res = await page.goto(`${daemon.url}/docs`, { waitUntil: 'networkidle0' });
    assert.equal(res?.status(), 200);
    await page.waitForSelector('.swagger-ui .info .title');
    assert.match(await textOf('.swagger-ui .info .title'), /beepbox API/);
    assert.ok((await page.$$('.opblock')).length > 20, 'every operation is listed');

    // The key, entered once under Authorize, is kept for the tab (the dashboard reads the same entry).
    await page.click('.btn.authorize');
    await page.waitForSelector('.auth-container input');
    await page.type('.auth-container input', daemon.apiKey);
    await page.click('.auth-btn-wrapper .btn.modal-btn.auth.authorize');
    await page.click('.auth-btn-wrapper .btn-done');
    assert.equal(await page.evaluate("sessionStorage.getItem('beepbox.apiKey')"), daemon.apiKey);

    const health = await tryItOut(operation('system', 'getHealth'));
    assert.equal(health.status, '200');
    assert.match(health.body, /"box_id": "e2e-box"/);
    const devices = await tryItOut(operation('devices', 'listDevices'));
    assert.equal(devices.status, '200', devices.body);
    assert.equal(keyHeaders.get('/devices'), daemon.apiKey, 'try-it-out sent the key to this daemon (servers: /)');

    await mkdir(SCREENSHOT_DIR, { recursive: true });
    await (await page.$(operation('system', 'getHealth')))!.scrollIntoView();
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'docs.png') });

    assert.deepEqual(foreign, [], 'no request to another host');
    assert.deepEqual(failed, [], 'no failed request');
    assert.deepEqual(consoleErrors, [], 'no console errors (CSP violations included)');
  });

  test('loading the page again keeps the key for the tab', async () => {
    // A fresh load without the deep link (#/devices/listDevices) that left the operation open.
    await page.goto(`${daemon.url}/docs`, { waitUntil: 'networkidle0' });
    await page.waitForSelector('.btn.authorize.locked');
    const devices = await tryItOut(operation('devices', 'listDevices'));
    assert.equal(devices.status, '200', devices.body);
    assert.deepEqual(consoleErrors, []);
  });
});
