import { fileURLToPath } from 'node:url';
import type { Transferable } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { Logger } from 'pino';
import { ValidationError } from '../errors.js';
import type { PoolWorkerData } from './thread-priority.js';

/**
 * One piscina pool for all heavy off-loop work (plots, zips). Task files live in `workers/`
 * and export named functions; `run('render.task', 'renderPlot', payload)` runs the export
 * `renderPlot` of `dist/workers/render.task.js` on a pool thread.
 *
 * Threads are started on demand (`minThreads: 0`) and end after `idleTimeoutMs` without work,
 * which also ends whatever heavy resource the thread owned (the plot thread's Chromium).
 * Atomics are disabled so a thread's event loop keeps running between tasks: task files hold
 * live resources (a browser connection) whose events must be processed while idle.
 *
 * Crossing the boundary: `payload` and the result are structured-cloned; buffers listed in
 * `transferList` are moved (the sender's copy is detached). A thread that dies fails the task
 * it was running with an error; piscina replaces the thread.
 */
export interface WorkerPoolOptions {
  /** Maximum pool threads (config `pool.size`). */
  size: number;
  /** Idle time after which a thread (and its browser) is ended. */
  idleTimeoutMs: number;
  logger: Logger;
  /** Tasks allowed to wait for a thread (default: unbounded). */
  maxQueue?: number;
  /** Folder holding the compiled task files (default `dist/workers/`, next to this module's tree). */
  workersDir?: URL;
  /**
   * Nice value for pool threads, applied by task files through `applyPoolThreadPriority()`
   * (default 10): renders and zips yield the CPU to the supervisor and the slot workers.
   */
  threadNice?: number;
}

export interface PoolRunOptions {
  /** Aborting removes a queued task, or ends the thread running it (and rejects with AbortError). */
  signal?: AbortSignal;
  transferList?: Transferable[];
}

export interface WorkerPoolStats {
  threads: number;
  queued: number;
  completed: number;
  /** Fraction of thread time spent on tasks since the pool started (0..1). */
  utilization: number;
}

export interface WorkerPool {
  /** Runs the named export of a task file (`'render.task'` → `workers/render.task.js`). */
  run<R = unknown>(taskFile: string, name: string, payload: unknown, options?: PoolRunOptions): Promise<R>;
  stats(): WorkerPoolStats;
  /** Waits for running tasks, then ends the threads. */
  close(): Promise<void>;
  /** Ends the threads now; queued and running tasks reject. */
  destroy(): Promise<void>;
}

const TASK_FILE = /^[a-z0-9][a-z0-9-]*\.task$/;

/** Absolute path of a compiled task file; only plain `name.task` names are accepted. */
export function resolveTaskFile(taskFile: string, workersDir: URL = new URL('../../workers/', import.meta.url)): string {
  const base = taskFile.replace(/\.(js|ts)$/, '');
  if (!TASK_FILE.test(base)) throw new ValidationError('taskFile', `not a task file name: ${JSON.stringify(taskFile)}`);
  return fileURLToPath(new URL(`${base}.js`, workersDir));
}

export function createWorkerPool(options: WorkerPoolOptions): WorkerPool {
  const { size, idleTimeoutMs, logger } = options;
  if (!Number.isInteger(size) || size < 1) throw new ValidationError('size', 'must be an integer ≥ 1');
  if (!(Number.isFinite(idleTimeoutMs) && idleTimeoutMs >= 0)) throw new ValidationError('idleTimeoutMs', 'must be a number ≥ 0');
  if (options.maxQueue !== undefined && !(Number.isInteger(options.maxQueue) && options.maxQueue >= 0)) {
    throw new ValidationError('maxQueue', 'must be an integer ≥ 0');
  }
  const log = logger.child({ component: 'pool' });
  const workersDir = options.workersDir ?? new URL('../../workers/', import.meta.url);
  const threadNice = options.threadNice ?? 10;
  if (!(Number.isInteger(threadNice) && threadNice >= 0 && threadNice <= 19)) throw new ValidationError('threadNice', 'must be an integer 0..19');
  const workerData: PoolWorkerData = { threadNice };
  const piscina = new Piscina({
    workerData,
    minThreads: 0,
    maxThreads: size,
    idleTimeout: idleTimeoutMs,
    atomics: 'disabled',
    ...(options.maxQueue !== undefined ? { maxQueue: options.maxQueue } : {}),
  });
  // Errors of a thread that was not running a task (e.g. an exception after a task returned).
  piscina.on('error', (err: unknown) => log.error({ err }, 'pool thread error'));
  piscina.on('workerCreate', () => log.debug({ threads: piscina.threads.length }, 'pool thread started'));
  piscina.on('workerDestroy', () => log.debug({ threads: piscina.threads.length }, 'pool thread ended'));
  const resolved = new Map<string, string>();

  return {
    run<R>(taskFile: string, name: string, payload: unknown, runOptions: PoolRunOptions = {}): Promise<R> {
      let filename = resolved.get(taskFile);
      if (filename === undefined) {
        try {
          filename = resolveTaskFile(taskFile, workersDir);
        } catch (err) {
          return Promise.reject(err);
        }
        resolved.set(taskFile, filename);
      }
      return piscina.run(payload, {
        filename,
        name,
        ...(runOptions.signal ? { signal: runOptions.signal } : {}),
        ...(runOptions.transferList ? { transferList: runOptions.transferList as never } : {}),
      }) as Promise<R>;
    },
    stats(): WorkerPoolStats {
      return {
        threads: piscina.threads.length,
        queued: piscina.queueSize,
        completed: piscina.completed,
        utilization: piscina.utilization,
      };
    },
    close: () => piscina.close(),
    destroy: () => piscina.destroy(),
  };
}
