/** Every launcher that is a text file starts node with the daemon's flags (src/cli/node-flags.ts). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { DAEMON_NODE_FLAGS, missingDaemonNodeFlags } from '../../../src/cli/node-flags.js';

/** dist/test/unit/cli/ → the repository root */
const repoFile = (path: string) => readFileSync(new URL(`../../../../${path}`, import.meta.url), 'utf8');

function nodeArgsOf(commandLine: string): string[] {
  const words = commandLine.trim().split(/\s+/);
  const node = words.findIndex((w) => w === 'node' || w.endsWith('/node'));
  assert.ok(node >= 0, `no node in: ${commandLine}`);
  // The flags end at the script (a shebang has none: the script is the file itself).
  const script = words.findIndex((w, i) => i > node && !w.startsWith('-'));
  return words.slice(node + 1, script < 0 ? undefined : script);
}

test('npm start and npm run sim pass every daemon flag', () => {
  const scripts = (JSON.parse(repoFile('package.json')) as { scripts: Record<string, string> }).scripts;
  for (const name of ['start', 'sim']) {
    const command = scripts[name]!.split('&&').at(-1)!;
    assert.deepEqual(missingDaemonNodeFlags(nodeArgsOf(command)), [], `scripts.${name}`);
  }
});

test('the systemd unit passes every daemon flag', () => {
  const execStart = repoFile('docs/deploy/beepbox.service').split('\n').find((l) => l.startsWith('ExecStart='));
  assert.ok(execStart);
  assert.deepEqual(missingDaemonNodeFlags(nodeArgsOf(execStart.slice('ExecStart='.length))), []);
});

test('bin/beepbox.js passes every daemon flag in its shebang', () => {
  const shebang = repoFile('bin/beepbox.js').split('\n')[0]!;
  assert.match(shebang, /^#!\/usr\/bin\/env -S node /);
  assert.deepEqual(missingDaemonNodeFlags(nodeArgsOf(shebang.slice('#!/usr/bin/env -S '.length))), []);
});

test('missingDaemonNodeFlags names exactly the flags not given', () => {
  assert.deepEqual(missingDaemonNodeFlags(DAEMON_NODE_FLAGS), []);
  assert.deepEqual(missingDaemonNodeFlags([]), [...DAEMON_NODE_FLAGS]);
  assert.deepEqual(missingDaemonNodeFlags(['--expose-gc', '--max-old-space-size=512']), ['--single-threaded-gc']);
});
