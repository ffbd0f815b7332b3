import { constants as fsConstants, readFileSync, rmSync } from 'node:fs';
import { access, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import type { MessagePort } from 'node:worker_threads';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { createChromiumHost, type ChromiumHost } from './chromium-host.js';
import { describeExit, launchHostedChromium, type HostedChromium } from './hosted-chromium.js';
import { buildPageHtml } from './page-html.js';
import type { PageSpec } from './page-spec.js';
import { encodePageSpecForTransfer } from './page-spec-transfer.js';

/** Chromium is not at the configured path. */
export class ChromiumMissingError extends Error {
  constructor(readonly executablePath: string) {
    super(`Chromium not found at ${executablePath}`);
    this.name = 'ChromiumMissingError';
  }
}

/** Chromium failed to launch, or crashed and could not be brought back for this render. */
export class ChromiumFailedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ChromiumFailedError';
  }
}

/** Chromium runs but the page could not draw this plot. */
export class PlotRenderError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PlotRenderError';
  }
}

export interface ChromiumSessionOptions {
  /** Timeout for launching the browser (default 30 s). */
  launchTimeoutMs?: number;
  /** Timeout for any single DevTools call (default 60 s). */
  protocolTimeoutMs?: number;
}

let pageHtmlCache: string | null = null;

/** The render page: uPlot's IIFE build and CSS read from node_modules once per thread. */
function loadPageHtml(): string {
  if (pageHtmlCache === null) {
    const require = createRequire(import.meta.url);
    const js = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8');
    const css = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
    pageHtmlCache = buildPageHtml(js, css);
  }
  return pageHtmlCache;
}

/** Flags for a locked-down headless box (issue 4). `--no-sandbox` only when running as root. */
export function buildChromiumArgs(isRoot: boolean): string[] {
  return [
    ...(isRoot ? ['--no-sandbox'] : []),
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-dev-shm-usage',
  ];
}

const PROFILE_PREFIX = 'profile-';
/** A profile folder without a lock that is older than this is an orphan. */
const ORPHAN_AGE_MS = 10 * 60_000;

/**
 * One Chromium and one page per pool thread, launched lazily and reused for every plot.
 *
 * Lifetime: the browser is started (and reaped) by the plot service's `ChromiumHost` in the main
 * thread, reached through the launcher port of the render task, and driven over a relayed
 * DevTools pipe. A pool thread that ends (idle timeout, abort, pool destroy) closes its ports;
 * the host then closes the browser's pipe and Chromium exits by itself, with a kill after a
 * grace period. (Spawned from the pool thread itself, a browser that exits after its thread is
 * never reaped: see `chromium-host.ts`.) Without a launcher port (a session used outside the
 * pool) the session runs its own host in the calling thread.
 *
 * A browser that died (crash, OOM kill) is noticed through `disconnected` and relaunched on the
 * next render; a render that hits a dead browser is retried once on a fresh one. Closing a
 * browser waits until the host reaped it.
 */
export class ChromiumSession {
  private browser: Browser | null = null;
  private chromium: HostedChromium | null = null;
  private localHost: ChromiumHost | null = null;
  private localLauncher: MessagePort | null = null;
  private page: Page | null = null;
  private profileDir: string | null = null;
  private executablePath: string | null = null;
  private viewport = { width: 0, height: 0 };
  private launching: Promise<Page> | null = null;
  /** Browsers launched by this session so far. */
  launches = 0;

  constructor(private readonly options: ChromiumSessionOptions = {}) {}

  /** PID of the live browser, if any. */
  get pid(): number | null {
    return this.browser ? (this.chromium?.pid ?? null) : null;
  }

  /**
   * Draws one page spec and returns the PNG bytes. Retries once on a fresh browser after a crash.
   * `launcher`: the render task's port to the plot service's `ChromiumHost`, used if a browser
   * has to be launched.
   */
  async renderPng(spec: PageSpec, executablePath: string, profileRoot: string, launcher?: MessagePort): Promise<Uint8Array> {
    try {
      return await this.renderOnce(spec, executablePath, profileRoot, launcher);
    } catch (err) {
      if (err instanceof ChromiumMissingError || err instanceof ChromiumFailedError) throw err;
      // The browser or page died under us (or the page got into a bad state): start over once.
      await this.discard();
      try {
        return await this.renderOnce(spec, executablePath, profileRoot, launcher);
      } catch (err2) {
        if (err2 instanceof ChromiumMissingError || err2 instanceof ChromiumFailedError) throw err2;
        // A live browser that still cannot draw points at the page or the data, not at Chromium.
        const browserAlive = this.browser?.connected === true;
        await this.discard();
        if (browserAlive) throw new PlotRenderError(`drawing failed: ${describeError(err2)}`, { cause: err2 });
        throw new ChromiumFailedError(`Chromium crashed while rendering: ${describeError(err2)}`, { cause: err2 });
      }
    }
  }

  private async renderOnce(spec: PageSpec, executablePath: string, profileRoot: string, launcher: MessagePort | undefined): Promise<Uint8Array> {
    const page = await this.ensurePage(executablePath, profileRoot, launcher);
    if (this.viewport.width !== spec.widthPx || this.viewport.height !== spec.heightPx) {
      await page.setViewport({ width: spec.widthPx, height: spec.heightPx, deviceScaleFactor: 1 });
      this.viewport = { width: spec.widthPx, height: spec.heightPx };
    }
    await page.evaluate(async (s: PageSpec) => {
      // Runs in the page, where globalThis is the window (the daemon is compiled without the DOM lib).
      const w = globalThis as unknown as { __beepboxRender: (spec: PageSpec) => Promise<unknown> };
      await w.__beepboxRender(s);
    }, encodePageSpecForTransfer(spec));
    return await page.screenshot({
      type: 'png',
      clip: { x: 0, y: 0, width: spec.widthPx, height: spec.heightPx },
      captureBeyondViewport: false,
      optimizeForSpeed: true,
    });
  }

  private async ensurePage(executablePath: string, profileRoot: string, launcher: MessagePort | undefined): Promise<Page> {
    if (this.browser?.connected && this.page && !this.page.isClosed() && this.executablePath === executablePath) return this.page;
    if (this.launching) return this.launching;
    this.launching = this.launch(executablePath, profileRoot, launcher).finally(() => {
      this.launching = null;
    });
    return this.launching;
  }

  private async launch(executablePath: string, profileRoot: string, launcher: MessagePort | undefined): Promise<Page> {
    await this.discard();
    try {
      await access(executablePath, fsConstants.X_OK);
    } catch {
      throw new ChromiumMissingError(executablePath);
    }
    await mkdir(profileRoot, { recursive: true });
    await sweepOrphanProfiles(profileRoot);
    const profileDir = await mkdtemp(join(profileRoot, PROFILE_PREFIX));
    // The arguments puppeteer.launch({headless: true, pipe: true, userDataDir, args}) would use.
    const args = [...puppeteer.defaultArgs({ headless: true, userDataDir: profileDir, args: buildChromiumArgs(process.getuid?.() === 0) }), '--remote-debugging-pipe'];
    const launchTimeoutMs = this.options.launchTimeoutMs ?? 30_000;
    let chromium: HostedChromium | null = null;
    let browser: Browser;
    try {
      // Chromium's singleton socket folders (and /dev/shm fallbacks) go under the profile root,
      // so a killed browser leaves nothing in the system temp dir.
      chromium = await launchHostedChromium(launcher ?? this.ownLauncher(), executablePath, args, { TMPDIR: profileRoot }, launchTimeoutMs);
      const started = chromium;
      let timer: NodeJS.Timeout | undefined;
      const connecting = puppeteer.connect({ transport: started.transport, defaultViewport: null, protocolTimeout: this.options.protocolTimeoutMs ?? 60_000 });
      try {
        browser = await Promise.race([
          connecting,
          // A browser that exits while starting up never answers: fail with how it ended.
          started.exited.then((e) => Promise.reject(new Error(describeExit(e)))),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no DevTools connection within ${launchTimeoutMs} ms`)), launchTimeoutMs);
          }),
        ]);
      } finally {
        clearTimeout(timer);
        connecting.catch(() => undefined);
      }
    } catch (err) {
      if (chromium) await this.endChromium(chromium);
      await rm(profileDir, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined);
      throw new ChromiumFailedError(`Chromium failed to launch: ${describeError(err)}`, { cause: err });
    }
    this.launches++;
    this.browser = browser;
    this.chromium = chromium;
    this.profileDir = profileDir;
    this.executablePath = executablePath;
    this.viewport = { width: 0, height: 0 };
    browser.on('disconnected', () => {
      if (this.browser === browser) {
        this.browser = null;
        this.page = null;
        const dir = this.profileDir;
        this.profileDir = null;
        if (dir) void rm(dir, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined);
      }
    });
    try {
      const page = (await browser.pages())[0] ?? (await browser.newPage());
      page.on('error', () => {
        // Renderer crash: drop the page; the next render makes a new one (or a new browser).
        if (this.page === page) this.page = null;
      });
      await page.setJavaScriptEnabled(true);
      await page.setContent(loadPageHtml(), { waitUntil: 'load' });
      const ready = await page.evaluate(() => typeof (globalThis as unknown as { __beepboxRender?: unknown }).__beepboxRender === 'function');
      if (!ready) throw new Error('render page did not initialise (uPlot missing?)');
      this.page = page;
      return page;
    } catch (err) {
      await this.discard();
      throw new ChromiumFailedError(`Chromium render page failed to load: ${describeError(err)}`, { cause: err });
    }
  }

  /** Closes the browser (if any), waits until it has exited and was reaped, and removes its profile. */
  async discard(): Promise<void> {
    const browser = this.browser;
    const chromium = this.chromium;
    const dir = this.profileDir;
    this.browser = null;
    this.chromium = null;
    this.page = null;
    this.profileDir = null;
    if (browser?.connected) {
      try {
        await Promise.race([browser.close(), new Promise((resolve) => setTimeout(resolve, 3000).unref())]);
      } catch {
        // already gone
      }
    }
    if (chromium) await this.endChromium(chromium);
    if (dir) await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }).catch(() => undefined);
  }

  /** Closes the DevTools pipe and waits for the exit; kills the browser if it lingers. */
  private async endChromium(chromium: HostedChromium): Promise<void> {
    chromium.close();
    if (await chromium.waitExit(3000)) return;
    chromium.kill();
    await chromium.waitExit(3000);
  }

  /** A host in this thread, for a session used without the plot service's launcher port. */
  private ownLauncher(): MessagePort {
    this.localHost ??= createChromiumHost();
    this.localLauncher ??= this.localHost.openLauncher().port;
    return this.localLauncher;
  }

  /** Synchronous last-resort cleanup (thread `exit` handler): the host kills the browser. */
  killNow(): void {
    this.chromium?.kill();
    this.chromium = null;
    if (this.profileDir) {
      try {
        rmSync(this.profileDir, { recursive: true, force: true });
      } catch {
        // ignore
      }
    }
    this.browser = null;
    this.page = null;
    this.profileDir = null;
  }
}

function describeError(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  // Puppeteer's launch errors carry the browser's whole stderr; the first lines say enough.
  return msg.split('\n').slice(0, 3).join(' ').slice(0, 300);
}

/**
 * Removes profile folders left by browsers that are gone (a pool thread that was terminated
 * cannot clean up after itself). A folder whose `SingletonLock` names a live PID is kept.
 * Chromium's singleton-socket folders (`org.chromium.Chromium.*`, created in TMPDIR, which is
 * the profile root) go once no remaining profile points at them.
 */
async function sweepOrphanProfiles(profileRoot: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(profileRoot);
  } catch {
    return;
  }
  const inUse = new Set<string>();
  await Promise.all(
    entries
      .filter((e) => e.startsWith(PROFILE_PREFIX))
      .map(async (e) => {
        const dir = join(profileRoot, e);
        try {
          let alive: boolean;
          try {
            const target = await readlink(join(dir, 'SingletonLock'));
            const pid = Number(target.slice(target.lastIndexOf('-') + 1));
            alive = Number.isInteger(pid) && pid > 0 && isProcessAlive(pid);
          } catch {
            const st = await stat(dir);
            alive = Date.now() - st.mtimeMs < ORPHAN_AGE_MS;
          }
          if (!alive) {
            await rm(dir, { recursive: true, force: true, maxRetries: 3 });
            return;
          }
          const socket = await readlink(join(dir, 'SingletonSocket')).catch(() => null);
          if (socket) inUse.add(basename(dirname(socket)));
        } catch {
          // best effort
        }
      }),
  );
  await Promise.all(
    entries
      .filter((e) => e.startsWith('org.chromium.') && !inUse.has(e))
      .map(async (e) => {
        const dir = join(profileRoot, e);
        try {
          const st = await stat(dir);
          if (Date.now() - st.mtimeMs > 60_000) await rm(dir, { recursive: true, force: true, maxRetries: 3 });
        } catch {
          // best effort
        }
      }),
  );
}

/**
 * Kills every Chromium process whose command line names a profile below `profileRoot` (Linux:
 * /proc) and waits, at most `timeoutMs`, until they are gone. For the plot service's close: the
 * browsers of terminated pool threads only notice their closed pipe later and then still write
 * into their profiles. A browser is a process-group leader (puppeteer spawns it detached), so the
 * group kill takes its helpers along.
 */
export async function killBrowsersUnder(profileRoot: string, timeoutMs = 3000): Promise<void> {
  const needle = `--user-data-dir=${join(profileRoot, PROFILE_PREFIX)}`;
  const pids: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(needle)) pids.push(Number(entry));
  }
  for (const pid of pids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  const deadline = Date.now() + timeoutMs;
  while (pids.some((pid) => isRunning(pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

/** Alive and not a zombie (a killed browser stays a zombie until the daemon exits). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
