import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import '../../../bench/thread-names.js'; // installs the Worker wrapper in this (test) process
import { Worker } from 'node:worker_threads';

async function threadNames(): Promise<string[]> {
  const names: string[] = [];
  for (const tid of await readdir(`/proc/${process.pid}/task`)) names.push((await readFile(`/proc/${process.pid}/task/${tid}/comm`, 'utf8')).trim());
  return names;
}

test('worker threads get their OS thread name from their entry file', { skip: process.platform !== 'linux' }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'thread-names-'));
  const body = "import { parentPort } from 'node:worker_threads'; parentPort.postMessage('up'); parentPort.once('message', () => process.exit(0));\n";
  await writeFile(join(dir, 'package.json'), '{"type":"module"}');
  await writeFile(join(dir, 'slot.worker.js'), body);
  await writeFile(join(dir, 'recorder.worker.js'), body);
  const workers = [new Worker(join(dir, 'slot.worker.js')), new Worker(join(dir, 'recorder.worker.js'))];
  try {
    await Promise.all(workers.map((w) => once(w, 'message')));
    const names = await threadNames();
    assert.ok(names.some((n) => /^bb-slot-\d+$/.test(n)), `no slot thread among ${names.join(', ')}`);
    assert.ok(names.includes('bb-recorder'), `no recorder thread among ${names.join(', ')}`);
  } finally {
    for (const w of workers) w.postMessage('exit');
    await Promise.all(workers.map((w) => once(w, 'exit')));
    await rm(dir, { recursive: true, force: true });
  }
});
