/**
 * Plots through the real pool and a real headless Chromium. Fixtures are generated here in the
 * exact CSV format of modes.md 3 (CRLF, Python float text) with realistic shapes.
 * Set PLOT_TEST_KEEP=<dir> to copy the PNGs somewhere for eyeballing.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { createPlotService, type PlotService } from '../../src/plots/plot-service.js';
import { TAB10, CURRENT_COLOR, POTENTIAL_COLOR } from '../../src/plots/page-spec.js';
import type { PlotKind, PlotResult } from '../../src/plots/types.js';
import { createWorkerPool, type WorkerPool } from '../../src/pool/worker-pool.js';
import { countDistinctColours, countPixelsNear, decodePng, hasPngSignature, readPngSize, type DecodedPng } from '../helpers/png.js';

const DT = 0.00036;
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

// ---------- CSV fixtures in the DataLogger format ----------

/** Python repr of a float (modes.md 3.3). */
function formatPyFloat(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  const [mant, expText] = v.toExponential().split('e') as [string, string];
  const e = Number(expText);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  if (e >= -4 && e < 16) {
    let s: string;
    if (e >= 0) {
      const intPart = digits.slice(0, e + 1).padEnd(e + 1, '0');
      const frac = digits.slice(e + 1) || '0';
      s = `${intPart}.${frac}`;
    } else {
      s = `0.${'0'.repeat(-e - 1)}${digits}`;
    }
    return neg ? `-${s}` : s;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const sign = e < 0 ? '-' : '+';
  return `${neg ? '-' : ''}${m}e${sign}${String(Math.abs(e)).padStart(2, '0')}`;
}

function toCsv(header: string[], rows: number[][]): string {
  return header.join(',') + '\r\n' + rows.map((r) => r.map(formatPyFloat).join(',')).join('\r\n');
}

/** Deterministic noise. */
function makeRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

/** Endpoint-inclusive float32 linspace (modes.md 1.3). */
function ramp(a: number, b: number, scanRate: number): number[] {
  const n = Math.trunc(Math.abs(b - a) / scanRate / DT);
  if (n === 1) return [Math.fround(a)];
  const s = (b - a) / (n - 1);
  return Array.from({ length: n }, (_, i) => Math.fround(i === n - 1 ? b : a + i * s));
}

/** CV of 3 cycles: one reversible couple (duck shape), double-layer charging, slow fading. */
function makeCvCsv(): string {
  const p = { start: 0, v1: 0.5, v2: -0.5, end: 0, rate: 0.5, cycles: 3 };
  const applied: number[] = [];
  const cycle: number[] = [];
  const push = (seg: number[], c: number) => seg.forEach((e) => (applied.push(e), cycle.push(c)));
  push(ramp(p.start, p.v1, p.rate), 1);
  push(ramp(p.v1, p.v2, p.rate), 1);
  for (let c = 2; c <= p.cycles; c++) {
    push(ramp(p.v2, p.v1, p.rate), c);
    push(ramp(p.v1, p.v2, p.rate), c);
  }
  if (p.end !== p.v2) push(ramp(p.v2, p.end, p.rate), p.cycles);
  const rnd = makeRandom(1);
  const rows = applied.map((e, i) => {
    const dir = i === 0 ? 1 : Math.sign(e - applied[i - 1]!) || 1;
    const fade = 1 - 0.12 * (cycle[i]! - 1);
    const peak = (x: number) => {
      // rise like a sigmoid, then a diffusion tail ~ 1/sqrt
      const rise = 1 / (1 + Math.exp(-x / 0.026));
      return (rise / Math.sqrt(1 + Math.max(0, x) / 0.05)) * 1.6;
    };
    const faradaic = dir > 0 ? 8e-5 * peak(e - 0.1) : -7e-5 * peak(0.06 - e);
    const current = Math.fround(fade * faradaic + dir * 1.2e-5 + 4e-7 * rnd());
    const potential = Math.fround(e + 2e-4 * rnd());
    return [i * DT, potential, current, cycle[i]!, 1, e];
  });
  return toCsv(['Time (s)', 'Potential (V)', 'Current (A)', 'Cycle', 'Exp', 'Applied potential (V)'], rows);
}

/** CA at 0.5 V for 2 s: Cottrell decay with noise. */
function makeCaCsv(): string {
  const n = Math.trunc(2 / DT);
  const rnd = makeRandom(2);
  const rows = Array.from({ length: n }, (_, i) => {
    const t = i * DT;
    const current = Math.fround(2e-6 + 6e-5 / Math.sqrt(t + 0.004) + 3e-7 * rnd());
    return [t, Math.fround(0.5 + 3e-4 * rnd()), current, 1, Math.fround(0.5)];
  });
  return toCsv(['Time (s)', 'Potential (V)', 'Current (A)', 'Exp', 'Applied potential (V)'], rows);
}

/** LSV −0.5 → 0.5 V at 0.1 V/s: a sigmoidal wave with a peak. */
function makeLsvCsv(): string {
  const applied = ramp(-0.5, 0.5, 0.1);
  const rnd = makeRandom(3);
  const rows = applied.map((e, i) => {
    const x = e - 0.05;
    const current = Math.fround(1e-4 / (1 + Math.exp(-x / 0.03)) / Math.sqrt(1 + Math.max(0, x) / 0.08) + 1e-6 * e + 5e-7 * rnd());
    return [i * DT, Math.fround(e + 2e-4 * rnd()), current, 1, e];
  });
  return toCsv(['Time (s)', 'Potential (V)', 'Current (A)', 'Exp', 'Applied potential (V)'], rows);
}

/** GCV-2 of modes.md 2.6 (9695 rows, cycles 1, 2, 3): potential follows IR drop plus charge. */
function makeGcvCsv(): string {
  const p = { start: 0, v1: 1e-3, v2: -1e-3, end: 5e-4, steps: 5, stepS: 0.1, cycles: 2 };
  const lin = (a: number, b: number) => Array.from({ length: p.steps }, (_, i) => Math.fround(i === p.steps - 1 ? b : a + (i * (b - a)) / (p.steps - 1)));
  const steps: { i: number; c: number }[] = [];
  for (let c = 1; c <= p.cycles; c++) for (const [a, b] of [[p.start, p.v1], [p.v1, p.v2], [p.v2, p.start]] as const) for (const i of lin(a, b)) steps.push({ i, c });
  if (p.end !== p.start) for (const i of lin(p.start, p.end)) steps.push({ i, c: p.cycles + 1 });
  const pps = Math.trunc(p.stepS / DT);
  const rnd = makeRandom(4);
  const rows: number[][] = [];
  let q = 0;
  for (const s of steps) {
    for (let k = 0; k < pps; k++) {
      const idx = rows.length;
      q += s.i * DT;
      const e = 0.2 + 80 * s.i + 400 * q + 1e-3 * rnd();
      rows.push([idx * DT, Math.fround(e), Math.fround(s.i + 2e-6 * rnd()), s.c, 1, s.i]);
    }
  }
  return toCsv(['Time (s)', 'Potential (V)', 'Current (A)', 'Cycle', 'Exp', 'Applied current (A)'], rows);
}

/** EIS spectrum (modes.md 7.6) of a Randles cell: Rs 100 Ω, Rct 1 kΩ, Cdl 10 µF, 277.78 → 1 Hz. */
function makeSpectrumCsv(): string {
  const n = 25;
  const rows: number[][] = [];
  for (let k = 0; k < n; k++) {
    const requested = 10 ** (Math.log10(277.7777777777778) + (k * (0 - Math.log10(277.7777777777778))) / (n - 1));
    const period = Math.max(10, Math.round(1 / (requested * DT)));
    const f = 1 / (period * DT);
    const w = 2 * Math.PI * f;
    // Z = Rs + Rct / (1 + j w Rct C)
    const rct = 1000;
    const c = 1e-5;
    const den = 1 + (w * rct * c) ** 2;
    const re = 100 + rct / den;
    const im = -(w * rct * rct * c) / den;
    const mod = Math.hypot(re, im);
    const phase = (Math.atan2(im, re) * 180) / Math.PI;
    rows.push([f, re, im, mod, phase, period, 3, requested, 0.01, 0.01 / mod]);
  }
  const header = ['Frequency (Hz)', 'Z_real (Ohm)', 'Z_imag (Ohm)', '|Z| (Ohm)', 'Phase (deg)', 'Points per period', 'Cycles used', 'Requested frequency (Hz)', 'E_amp (V)', 'I_amp (A)'];
  // Points per period and Cycles used are integers written without ".0" (modes.md 7.6).
  return header.join(',') + '\r\n' + rows.map((r) => r.map((v, j) => (j === 5 || j === 6 ? String(v) : formatPyFloat(v))).join(',')).join('\r\n');
}

// ---------- helpers ----------

function silentLogger() {
  return pino({ level: 'warn' }, new Writable({ write: (_c, _e, cb) => cb() }));
}

async function readPng(path: string): Promise<{ bytes: Uint8Array; img: DecodedPng }> {
  const bytes = new Uint8Array(await readFile(path));
  return { bytes, img: decodePng(bytes) };
}

function assertPngLooksDrawn(bytes: Uint8Array, img: DecodedPng, width: number, height: number): void {
  assert.ok(hasPngSignature(bytes), 'PNG signature');
  assert.deepEqual(readPngSize(bytes), { width, height });
  assert.equal(img.width, width);
  assert.equal(img.height, height);
  // Axes, text, grid, antialiased lines: a drawn plot has hundreds of distinct colours.
  const distinct = countDistinctColours(img);
  assert.ok(distinct > 50, `only ${distinct} distinct colours: blank plot?`);
  // Mostly white background, but not all of it.
  const white = countPixelsNear(img, '#ffffff', 2);
  assert.ok(white > img.width * img.height * 0.5 && white < img.width * img.height * 0.99, `white pixels ${white}`);
}

async function keepForViewing(files: string[]): Promise<void> {
  const dir = process.env.PLOT_TEST_KEEP;
  if (!dir) return;
  await mkdir(dir, { recursive: true });
  for (const f of files) await copyFile(f, join(dir, basename(f)));
}

function assertOk(result: PlotResult): asserts result is Extract<PlotResult, { ok: true }> {
  assert.ok(result.ok, `render failed: ${result.ok ? '' : result.reason}`);
}

// ---------- tests ----------

const haveChromium = existsSync(CHROMIUM);

describe('plots through the pool and headless Chromium', { skip: haveChromium ? false : `no Chromium at ${CHROMIUM}` }, () => {
  let dir: string;
  let pool: WorkerPool;
  let plots: PlotService;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'beepbox-plots-'));
    pool = createWorkerPool({ size: 2, idleTimeoutMs: 30_000, logger: silentLogger() });
    plots = createPlotService({ pool, logger: silentLogger(), chromiumPath: CHROMIUM, profileRoot: join(dir, 'profiles') });
  });
  after(async () => {
    await pool.destroy();
    await plots.close();
    await rm(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  });

  async function render(name: string, csv: string, kind: PlotKind, mode: string, extra: { maxCycles?: number } = {}) {
    const csvPath = join(dir, `${name}.csv`);
    await writeFile(csvPath, csv);
    const pngPath = join(dir, `${name}.png`);
    const result = await plots.renderPlot({ csvPath, pngPath, kind, title: `exp-test · slot01 · ${mode}`, mode, ...extra });
    assertOk(result);
    await keepForViewing(result.files);
    return { result, pngPath };
  }

  test('CV cycles: 800×600, one tab10 colour per cycle', async () => {
    const { result, pngPath } = await render('exp_slot01_CV', makeCvCsv(), 'cv-cycles', 'CV', { maxCycles: 3 });
    assert.deepEqual(result.files, [pngPath]);
    assert.equal(result.stats?.rows, 33_329);
    const { bytes, img } = await readPng(pngPath);
    assertPngLooksDrawn(bytes, img, 800, 600);
    for (let k = 0; k < 3; k++) {
      const n = countPixelsNear(img, TAB10[k]!, 20);
      assert.ok(n > 200, `cycle ${k + 1} colour ${TAB10[k]} has only ${n} pixels`);
    }
    // A fourth cycle colour must not appear: there are only 3 cycles.
    assert.ok(countPixelsNear(img, TAB10[3]!, 10) < 20, 'unexpected 4th cycle colour');
  });

  test('time series (CA): 1000×600, red current above blue potential', async () => {
    const { pngPath } = await render('exp_slot01_CA', makeCaCsv(), 'time-series', 'CA');
    const { bytes, img } = await readPng(pngPath);
    assertPngLooksDrawn(bytes, img, 1000, 600);
    const rowsWith = (hex: string) => {
      let top = Infinity;
      let bottom = -Infinity;
      const r = parseInt(hex.slice(1, 3), 16);
      const g = parseInt(hex.slice(3, 5), 16);
      const b = parseInt(hex.slice(5, 7), 16);
      for (let y = 0; y < img.height; y++)
        for (let x = 100; x < img.width; x++) {
          const i = (y * img.width + x) * 4;
          if (Math.abs(img.rgba[i]! - r) < 16 && Math.abs(img.rgba[i + 1]! - g) < 16 && Math.abs(img.rgba[i + 2]! - b) < 16) {
            top = Math.min(top, y);
            bottom = Math.max(bottom, y);
          }
        }
      return { top, bottom };
    };
    const red = rowsWith(CURRENT_COLOR);
    const blue = rowsWith(POTENTIAL_COLOR);
    assert.ok(Number.isFinite(red.top) && Number.isFinite(blue.top), 'both traces drawn');
    assert.ok(red.bottom < blue.top, `current (rows ${red.top}-${red.bottom}) should be above potential (rows ${blue.top}-${blue.bottom})`);
  });

  test('IV (LSV): 800×600', async () => {
    const { pngPath } = await render('exp_slot01_LSV', makeLsvCsv(), 'iv', 'LSV');
    const { bytes, img } = await readPng(pngPath);
    assertPngLooksDrawn(bytes, img, 800, 600);
    assert.ok(countPixelsNear(img, TAB10[0]!, 20) > 300);
  });

  test('GCV: 1000×600, one colour per cycle label (3 labels)', async () => {
    const { pngPath } = await render('exp_slot01_GCV', makeGcvCsv(), 'gcv', 'GCV');
    const { bytes, img } = await readPng(pngPath);
    assertPngLooksDrawn(bytes, img, 1000, 600);
    for (let k = 0; k < 3; k++) assert.ok(countPixelsNear(img, TAB10[k]!, 20) > 100, `cycle ${k + 1} colour missing`);
  });

  test('EIS: Nyquist 800×600 and Bode 1000×600 from the spectrum CSV', async () => {
    await writeFile(join(dir, 'exp_slot01_EIS_spectrum.csv'), makeSpectrumCsv());
    const csvPath = join(dir, 'exp_slot01_EIS.csv'); // raw CSV path: the service picks the spectrum beside it
    const pngPath = join(dir, 'exp_slot01_EIS.png');
    const result = await plots.renderPlot({ csvPath, pngPath, kind: 'eis', title: 'exp-test · slot01 · EIS', mode: 'EIS' });
    assertOk(result);
    assert.deepEqual(result.files, [pngPath, join(dir, 'exp_slot01_EIS_bode.png')]);
    await keepForViewing(result.files);
    const nyq = await readPng(pngPath);
    assertPngLooksDrawn(nyq.bytes, nyq.img, 800, 600);
    const bode = await readPng(result.files[1]!);
    assertPngLooksDrawn(bode.bytes, bode.img, 1000, 600);
    assert.ok(countPixelsNear(nyq.img, TAB10[0]!, 20) > 200);
  });

  test('an empty CSV (run without rows) is skipped with a reason and does not mark plotting unavailable', async () => {
    const csvPath = join(dir, 'empty.csv');
    await writeFile(csvPath, '');
    const result = await plots.renderPlot({ csvPath, pngPath: join(dir, 'empty.png'), kind: 'cv-cycles', title: 't' });
    assert.equal(result.ok, false);
    assert.match(result.ok ? '' : result.reason, /^plot skipped: empty\.csv is empty/);
    assert.equal(existsSync(join(dir, 'empty.png')), false);
    assert.equal(plots.status().available, true);
  });

  test('a CSV without the needed columns is skipped with a reason', async () => {
    const csvPath = join(dir, 'bad.csv');
    await writeFile(csvPath, 'Time (s),Exp\r\n0.0,1.0\r\n');
    const result = await plots.renderPlot({ csvPath, pngPath: join(dir, 'bad.png'), kind: 'time-series', title: 't' });
    assert.equal(result.ok, false);
    assert.match(result.ok ? '' : result.reason, /lacks columns 'Current \(A\)', 'Potential \(V\)'/);
  });

  test('no temporary files are left beside the PNGs', async () => {
    const leftovers = (await readdir(dir)).filter((f) => f.endsWith('.tmp'));
    assert.deepEqual(leftovers, []);
  });
});

describe('Chromium missing or crashing', { skip: haveChromium ? false : `no Chromium at ${CHROMIUM}` }, () => {
  test('CHROMIUM_PATH to a missing file: ok:false with the reason, status unavailable; a new service with a valid path works', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'beepbox-plots-missing-'));
    const pool = createWorkerPool({ size: 1, idleTimeoutMs: 10_000, logger: silentLogger() });
    const saved = process.env.CHROMIUM_PATH;
    t.after(async () => {
      if (saved === undefined) delete process.env.CHROMIUM_PATH;
      else process.env.CHROMIUM_PATH = saved;
      await pool.destroy();
      await rm(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
    });
    const csvPath = join(dir, 'ca.csv');
    await writeFile(csvPath, makeCaCsv());
    const missing = join(dir, 'no-such-chromium');
    process.env.CHROMIUM_PATH = missing;
    const broken = createPlotService({ pool, logger: silentLogger(), profileRoot: join(dir, 'p1') });
    t.after(() => broken.close());
    assert.deepEqual(broken.status(), { available: false, reason: `Chromium not found at ${missing}` });
    const r1 = await broken.renderPlot({ csvPath, pngPath: join(dir, 'ca.png'), kind: 'time-series', title: 't' });
    assert.deepEqual(r1, { ok: false, reason: `plot skipped: Chromium not found at ${missing}` });
    assert.equal(broken.status().available, false);
    assert.equal(existsSync(join(dir, 'ca.png')), false);

    process.env.CHROMIUM_PATH = CHROMIUM;
    const good = createPlotService({ pool, logger: silentLogger(), profileRoot: join(dir, 'p2') });
    t.after(() => good.close());
    assert.deepEqual(good.status(), { available: true, reason: null });
    const r2 = await good.renderPlot({ csvPath, pngPath: join(dir, 'ca.png'), kind: 'time-series', title: 't' });
    assertOk(r2);
    assert.ok(hasPngSignature(new Uint8Array(await readFile(join(dir, 'ca.png')))));
    assert.equal(good.status().available, true);
  });

  test('a file that is not a browser: launch fails, ok:false with the reason, status unavailable, no throw', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'beepbox-plots-notabrowser-'));
    const pool = createWorkerPool({ size: 1, idleTimeoutMs: 10_000, logger: silentLogger() });
    t.after(async () => {
      await pool.destroy();
      await rm(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
    });
    const fake = join(dir, 'fake-chromium');
    await writeFile(fake, '#!/bin/sh\necho "this is not chromium" >&2\nexit 3\n', { mode: 0o755 });
    const csvPath = join(dir, 'ca.csv');
    await writeFile(csvPath, makeCaCsv());
    const plots = createPlotService({ pool, logger: silentLogger(), chromiumPath: fake, profileRoot: join(dir, 'p') });
    t.after(() => plots.close());
    const r = await plots.renderPlot({ csvPath, pngPath: join(dir, 'ca.png'), kind: 'time-series', title: 't' });
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.reason, /^plot skipped: Chromium failed to launch: /);
    const status = plots.status();
    assert.equal(status.available, false);
    assert.match(status.reason ?? '', /^Chromium failed to launch/);
  });

  test('a killed browser is relaunched by the next render', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'beepbox-plots-kill-'));
    const pool = createWorkerPool({ size: 1, idleTimeoutMs: 30_000, logger: silentLogger() });
    const plots = createPlotService({ pool, logger: silentLogger(), chromiumPath: CHROMIUM, profileRoot: join(dir, 'p') });
    t.after(async () => {
      await pool.destroy();
      await plots.close();
      await rm(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
    });
    const csvPath = join(dir, 'cv.csv');
    await writeFile(csvPath, makeCvCsv());
    const first = await plots.renderPlot({ csvPath, pngPath: join(dir, 'a.png'), kind: 'cv-cycles', title: 't' });
    assertOk(first);
    const pid = first.stats?.browserPid;
    assert.ok(typeof pid === 'number' && pid > 0, 'browser pid reported');
    assert.equal(first.stats?.browserLaunches, 1);

    // Reuse: a second render in the same thread uses the same browser.
    const second = await plots.renderPlot({ csvPath, pngPath: join(dir, 'b.png'), kind: 'cv-cycles', title: 't' });
    assertOk(second);
    assert.equal(second.stats?.browserPid, pid);
    assert.equal(second.stats?.browserLaunches, 1);

    process.kill(pid, 'SIGKILL');
    await waitFor(() => !isAlive(pid), 5000);

    const third = await plots.renderPlot({ csvPath, pngPath: join(dir, 'c.png'), kind: 'cv-cycles', title: 't' });
    assertOk(third);
    assert.notEqual(third.stats?.browserPid, pid);
    assert.equal(third.stats?.browserLaunches, 2);
    const { bytes, img } = await readPng(join(dir, 'c.png'));
    assertPngLooksDrawn(bytes, img, 800, 600);
    assert.equal(plots.status().available, true);
  });

  test('a cancelled render returns ok:false, its thread and browser go away, and the next render works', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'beepbox-plots-cancel-'));
    const pool = createWorkerPool({ size: 1, idleTimeoutMs: 30_000, logger: silentLogger() });
    const profileRoot = join(dir, 'p');
    const plots = createPlotService({ pool, logger: silentLogger(), chromiumPath: CHROMIUM, profileRoot });
    t.after(async () => {
      await pool.destroy();
      await plots.close();
      await rm(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
    });
    const csvPath = join(dir, 'cv.csv');
    await writeFile(csvPath, makeCvCsv());
    // The first render has to launch Chromium, which takes far longer than 300 ms.
    const ac = new AbortController();
    const pending = plots.renderPlot({ csvPath, pngPath: join(dir, 'a.png'), kind: 'cv-cycles', title: 't', signal: ac.signal });
    await waitFor(() => chromiumPidsUsing(profileRoot).length > 0, 20_000);
    ac.abort();
    assert.deepEqual(await pending, { ok: false, reason: 'plot skipped: render cancelled' });
    assert.equal(existsSync(join(dir, 'a.png')), false);
    // The pool ended the thread; its DevTools pipe closed and Chromium exits on its own.
    await waitFor(() => chromiumPidsUsing(profileRoot).length === 0, 15_000);
    const next = await plots.renderPlot({ csvPath, pngPath: join(dir, 'b.png'), kind: 'cv-cycles', title: 't' });
    assertOk(next);
    assert.equal(next.stats?.browserLaunches, 1, 'a fresh thread launched its own browser');
    // The pool thread runs at a lower CPU priority than the supervisor (main) thread.
    const nices = threadNices(process.pid);
    assert.equal(nices.get(process.pid), 0, 'main thread keeps its priority');
    assert.ok([...nices.values()].includes(10), `a pool thread at nice 10: ${[...nices.values()].join(',')}`);
  });

  test('destroying the pool ends its Chromium processes', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'beepbox-plots-exit-'));
    t.after(() => rm(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 }));
    const pool = createWorkerPool({ size: 1, idleTimeoutMs: 30_000, logger: silentLogger() });
    const plots = createPlotService({ pool, logger: silentLogger(), chromiumPath: CHROMIUM, profileRoot: join(dir, 'p') });
    const csvPath = join(dir, 'ca.csv');
    await writeFile(csvPath, makeCaCsv());
    const r = await plots.renderPlot({ csvPath, pngPath: join(dir, 'ca.png'), kind: 'time-series', title: 't' });
    assertOk(r);
    const pid = r.stats!.browserPid!;
    assert.ok(isAlive(pid));
    await pool.destroy();
    await plots.close();
    // The thread is gone, its DevTools pipe closed, and Chromium exits on its own.
    await waitFor(() => !isAlive(pid) && chromiumPidsUsing(join(dir, 'p')).length === 0, 15_000);
    assert.equal(existsSync(join(dir, 'p')), false);
  });
});

/** PIDs of Chromium processes started with a profile under `profileRoot`. */
function chromiumPidsUsing(profileRoot: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (cmd.includes(profileRoot) && !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) pids.push(Number(entry));
    } catch {
      // process went away
    }
  }
  return pids;
}

/** Nice value of every thread of a process (/proc/<pid>/task/<tid>/stat field 19). */
function threadNices(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      out.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
    } catch {
      // thread ended
    }
  }
  return out;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (exited, not yet reaped) counts as dead.
  try {
    const stat = execFileSync('ps', ['-o', 'stat=', '-p', String(pid)]).toString().trim();
    return stat !== '' && !stat.startsWith('Z');
  } catch {
    return false;
  }
}

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
