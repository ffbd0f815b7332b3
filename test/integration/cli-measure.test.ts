/** `beepbox measure` as a user runs it: a child process, a simulated device, a CSV and one JSON line. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

test('measure --simulate CV: summary reports every point, none lost; CSV matches modes.md', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'beepbox-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const out = join(dir, 'cv.csv');
  const params = '{"start":0,"vertex1":0.5,"vertex2":-0.5,"end":0,"scan_rate":1,"cycles":2}';
  const { stdout } = await run(process.execPath, [CLI, 'measure', '--simulate', '--mode', 'CV', '--params', params, '--out', out], { timeout: 60_000 });
  const summary = JSON.parse(stdout.trim()) as Record<string, number>;
  assert.equal(summary.expected_points, 11107);
  assert.equal(summary.points, summary.expected_points);
  assert.deepEqual([summary.lost, summary.duplicated, summary.dac_underruns, summary.adc_overflows], [0, 0, 0, 0]);
  const text = await readFile(out, 'utf8');
  const lines = text.split('\r\n');
  assert.equal(lines[0], 'Time (s),Potential (V),Current (A),Cycle,Exp,Applied potential (V)');
  assert.equal(lines.at(-1), '', 'CRLF after the last row, no blank line');
  assert.equal(lines.length - 2, 11107);
  assert.match(lines[1]!, /^0\.0,[^,]+,[^,]+,1\.0,1\.0,0\.0$/);
  assert.ok(!text.includes('\n\n') && !/[^\r]\n/.test(text), 'every line ends with CRLF');
});

test('measure refuses bad parameters with the field named, and never overwrites a file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'beepbox-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const out = join(dir, 'x.csv');
  await assert.rejects(run(process.execPath, [CLI, 'measure', '--simulate', '--mode', 'CV', '--params', '{"start":0,"vertex1":0.5,"vertex2":-0.5,"end":0,"scan_rate":-1,"cycles":2}', '--out', out]), (err: { code: number; stderr: string }) => {
    assert.equal(err.code, 2);
    assert.match(err.stderr, /scan_rate/);
    return true;
  });
  await writeFile(out, 'precious');
  await assert.rejects(run(process.execPath, [CLI, 'measure', '--simulate', '--mode', 'CA', '--params', '{"potential":0.1,"duration":0.1}', '--out', out]), /exists/);
  assert.equal(await readFile(out, 'utf8'), 'precious');
});
