/**
 * `beepbox` as a user types it: help and version, usage errors (exit 2 with the usage), `serve
 * --help` and a refused `serve` start nothing, and `measure` draws its progress bar only on a
 * terminal (a real pty through util-linux `script`), while a piped run prints the summary alone.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 20_000): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err !== null && typeof err.code !== 'number') reject(err);
      else resolve({ code: err === null ? 0 : (err.code as number), stdout, stderr });
    });
  });
}

function hasScript(): boolean {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('help and version', () => {
  test('--help, -h and help <command> print usage on stdout, exit 0', async () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const r = await runCli(args);
      assert.equal(r.code, 0, args.join(' '));
      assert.match(r.stdout, /^usage: beepbox <command>/);
      assert.match(r.stdout, /serve .*\n.*sim .*\n.*measure /);
    }
    assert.match((await runCli(['help', 'measure'])).stdout, /--sampling-interval S/);
  });

  test('--version prints the package version', async () => {
    const r = await runCli(['--version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^beepbox 0\.1\.0 \(node v\d+\.\d+\.\d+\)\n$/);
    assert.equal((await runCli(['-V'])).stdout, r.stdout);
  });

  test('every command answers --help without running', async () => {
    const measure = await runCli(['measure', '--help']);
    assert.equal(measure.code, 0);
    assert.match(measure.stdout, /^usage: beepbox measure/);
    assert.match(measure.stdout, /--no-progress/);
    const sim = await runCli(['sim', '--help']);
    assert.equal(sim.code, 0);
    assert.match(sim.stdout, /^usage: beepbox sim --slots N/);
    // Even with everything else on the line: help wins, nothing is measured.
    const withArgs = await runCli(['measure', '--simulate', '--mode', 'CA', '--params', '{}', '--out', '/nonexistent/x.csv', '-h']);
    assert.equal(withArgs.code, 0);
    assert.match(withArgs.stdout, /^usage: beepbox measure/);
  });

  test('no command: the usage on stderr, exit 2', async () => {
    const r = await runCli([]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^usage: beepbox <command>/);
  });
});

describe('usage errors exit 2 with the usage', () => {
  const cases: [string[], RegExp][] = [
    [['--frobnicate'], /^beepbox: unknown option '--frobnicate'\nusage: beepbox <command>/],
    [['frobnicate'], /^beepbox: unknown command 'frobnicate'\nusage: beepbox <command>/],
    [['serve', '--port', '9'], /^beepbox serve: Unknown option '--port'.*\nusage: beepbox serve\nTry 'beepbox serve --help'/],
    [['measure', '--simulate', '--bogus'], /^beepbox measure: Unknown option '--bogus'.*\nusage: beepbox measure \(--port PATH \| --simulate\)/],
    [['measure', '--mode'], /^beepbox measure: Option '--mode <value>' argument missing\nusage: beepbox measure/],
    [['measure', '--mode', 'CV'], /^beepbox measure: missing --port PATH or --simulate, --params, --out\nusage: beepbox measure/],
    [['sim', '--bogus'], /^beepbox sim: Unknown option '--bogus'.*\nusage: beepbox sim --slots N/],
  ];
  for (const [args, expected] of cases) {
    test(args.join(' '), async () => {
      const r = await runCli(args);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, expected);
    });
  }
});

describe('serve starts nothing it should not', () => {
  test('serve --help prints the help and exits; nothing listens, nothing is written', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'beepbox-cli-help-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    // Before the fix this started a daemon on HOST/PORT and never returned (the timeout kills it: code !== 0).
    const r = await runCli(['serve', '--help'], { PORT: '0', RUNS_ROOT: join(dir, 'runs'), BEEP_SIMULATE: '1' }, 10_000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^usage: beepbox serve/);
    assert.match(r.stdout, /HOST=127\.0\.0\.1 .*requires BOX_API_KEY/);
    assert.doesNotMatch(r.stdout + r.stderr, /listening/);
    assert.deepEqual(await readdir(dir), [], 'RUNS_ROOT was not created');
  });

  test('serve on a non-loopback HOST without BOX_API_KEY refuses to start (exit 2), before creating anything', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'beepbox-cli-help-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    for (const host of ['0.0.0.0', '::', '192.0.2.1']) {
      const r = await runCli(['serve'], { HOST: host, PORT: '0', BOX_API_KEY: '', RUNS_ROOT: join(dir, 'runs') }, 10_000);
      assert.equal(r.code, 2, host);
      assert.match(r.stderr, /BOX_API_KEY is empty/);
      assert.doesNotMatch(r.stdout + r.stderr, /listening/);
    }
    assert.deepEqual(await readdir(dir), []);
  });
});

describe('measure progress', () => {
  const params = '{"potential":0.1,"duration":2}';

  test('on a terminal (pty): a bar with ETA on stderr, then the summary', { skip: hasScript() ? false : 'util-linux script(1) is not installed' }, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'beepbox-cli-help-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const out = join(dir, 'ca.csv');
    const command = [process.execPath, CLI, 'measure', '--simulate', '--mode', 'CA', '--params', params, '--out', out].map((a) => `'${a}'`).join(' ');
    // script gives the child a pty for stdin/stdout/stderr and copies what it prints to our stdout.
    const transcript = await new Promise<string>((resolve, reject) => {
      execFile('script', ['-qec', command, '/dev/null'], { timeout: 60_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    });
    const frames = transcript.split('\r\x1b[2K');
    const bars = frames.filter((f) => /^CA \[[#-]+\]\s+\d+%  \d+\/5555  ETA \d+:\d\d/.test(f));
    assert.ok(bars.length >= 3, `several redraws of the bar: ${JSON.stringify(frames.slice(0, 4))}`);
    assert.match(bars.at(-1)!, /100%  5555\/5555  ETA 0:00/);
    const summary = JSON.parse(frames.at(-1)!.trim()) as { points: number; lost: number };
    assert.deepEqual([summary.points, summary.lost], [5555, 0], 'the summary follows the cleared bar');
  });

  test('piped: no bar, no control characters; the summary alone on stdout', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'beepbox-cli-help-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const r = await runCli(['measure', '--simulate', '--mode', 'CA', '--params', params, '--out', join(dir, 'ca.csv')], {}, 60_000);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.equal((JSON.parse(r.stdout) as { points: number }).points, 5555);
    assert.ok(!r.stdout.includes('\r') && !r.stdout.includes('\u001b'), 'no carriage return or escape code');
  });
});
