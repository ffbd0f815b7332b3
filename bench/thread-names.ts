/**
 * Names a Node process's worker threads so /proc/<pid>/task/<tid>/comm tells them apart
 * (bench/thread-cpu.ts): "bb-slot-<n>" (slot workers), "bb-recorder", "bb-pool" (piscina), "bb-worker".
 *
 * Node 20 leaves every thread "node": the `name` option of `new Worker` only reaches the
 * inspector. A thread may rename itself by writing /proc/thread-self/comm, so this module, loaded
 * with `node --require <this file>` (Node ≥ 20.19 requires an ES module without top-level await),
 * does two things:
 * - in the main thread, it wraps `worker_threads.Worker` (and re-syncs the ES module exports, so
 *   `import { Worker }` in the daemon gets the wrapper) to give each new worker its name, chosen
 *   from the worker's entry file, in an environment variable;
 * - in a worker thread (`--require` preloads run in workers too), it writes that name to
 *   /proc/thread-self/comm before the worker's own code runs.
 * Importing it (the bench's --in-process mode) installs the wrapper in the importing process;
 * its workers then get `--require` in their execArgv. Nothing of the daemon's code changes.
 */
import wt from 'node:worker_threads';
import { writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { fileURLToPath } from 'node:url';

const NAME_VARIABLE = 'BEEPBOX_BENCH_THREAD_NAME';
export const THREAD_NAMES_PRELOAD = fileURLToPath(import.meta.url);

/** The thread name for a worker started from `entry` (a path or file URL); `slotSeq` numbers slot workers. */
export function threadNameFor(entry: string, slotSeq: number): string {
  if (/[\\/]slot\.worker\.js$/.test(entry)) return `bb-slot-${slotSeq}`; // comm keeps 15 bytes
  if (/[\\/]recorder\.worker\.js$/.test(entry)) return 'bb-recorder';
  if (/[\\/]piscina[\\/]/.test(entry)) return 'bb-pool';
  return 'bb-worker';
}

type WorkerArgs = ConstructorParameters<typeof wt.Worker>;

function installWorkerWrapper(): void {
  const preloadedByNode = process.execArgv.some((a) => a.includes('thread-names'));
  let slotSeq = 0;
  const Base = wt.Worker;
  class NamedWorker extends Base {
    constructor(entry: WorkerArgs[0], options: WorkerArgs[1] = {}) {
      const name = threadNameFor(String(entry), slotSeq);
      if (name.startsWith('bb-slot')) slotSeq++;
      // SHARE_ENV (a symbol) cannot carry a variable: such a worker stays unnamed ("other").
      const env = typeof options.env === 'symbol' ? options.env : { ...(options.env ?? process.env), [NAME_VARIABLE]: name };
      const execArgv = preloadedByNode ? options.execArgv : [...(options.execArgv ?? process.execArgv), '--require', THREAD_NAMES_PRELOAD];
      super(entry, { ...options, env, execArgv });
    }
  }
  wt.Worker = NamedWorker;
  syncBuiltinESMExports();
}

function nameThisThread(): void {
  const name = process.env[NAME_VARIABLE];
  if (!name) return;
  try {
    writeFileSync('/proc/thread-self/comm', name);
  } catch {
    // not Linux: the thread keeps its name and counts as "other"
  }
}

if (wt.isMainThread) installWorkerWrapper();
else nameThisThread();
