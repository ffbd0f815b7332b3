/** `beepbox sim` as a process: JSON line with the ports, real ttys, clean exit on SIGTERM/SIGINT. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { lstat, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const runSimModule = fileURLToPath(new URL('../../src/sim/run-sim.js', import.meta.url));

function startCli(args: string[]) {
  const script = `import(${JSON.stringify(runSimModule)}).then((m) => m.runSimCommand(${JSON.stringify(args)})).catch((e) => { console.error(e.message); process.exitCode = 2; });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const firstLine = new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', resolve);
    child.once('exit', () => reject(new Error('exited before printing the ports')));
  });
  firstLine.catch(() => undefined); // awaited only by the tests that expect a line
  return { child, exited, firstLine };
}

const isLink = (p: string) => lstat(p).then((s) => s.isSymbolicLink(), () => false);

describe('beepbox sim CLI', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`prints {"ports": [...]} when ready and removes its ptys on ${signal}`, async (t) => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'beepbox-sim-cli-'));
      t.after(() => rm(dir, { recursive: true, force: true }));
      const cli = startCli(['--slots', '3', '--dir', dir, '--interval-us', '400', '--seed', '9', '--noise', '0.5']);
      t.after(() => {
        if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
      });
      const parsed = JSON.parse(await cli.firstLine) as { ports: string[] };
      assert.deepEqual(parsed, { ports: [1, 2, 3].map((n) => path.join(dir, `ttyBEEP${n}`)) });
      for (const p of parsed.ports) assert.ok(await isLink(p), `${p} exists when announced`);
      cli.child.kill(signal);
      assert.equal(await cli.exited, 0);
      for (const p of parsed.ports) assert.equal(await isLink(p), false, `${p} removed`);
    });
  }

  it('rejects bad arguments', async () => {
    for (const args of [['--slots', '0'], ['--slots', '2', '--interval-us', 'fast'], ['--slots', '1', '--bogus']]) {
      const cli = startCli(args);
      assert.equal(await cli.exited, 2, args.join(' '));
    }
  });
});
