/**
 * Run files for the HTTP layer (rest-api.md 3.13–3.15, 6.5–6.7): a run owns only its own
 * slots' `Wells/<slot>/` folders inside a possibly shared run directory.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DaemonError } from '../errors.js';
import type { JobEngine } from '../jobs/engine.js';
import { WELLS_DIR } from '../storage/names.js';
import { listRunFiles, openRunFile } from '../storage/run-files.js';
import { runNotFound, type RunIndex } from '../storage/run-index.js';
import { openZipStream, type ZipTaskRunner } from '../storage/zip-stream.js';
import type { RunApi } from './api.js';

export function createRunService(engine: JobEngine, runIndex: RunIndex, pool: ZipTaskRunner): RunApi {
  /**
   * Run directory and owned slots; legacy runs without a job record own every slot folder. A run
   * directory that a symlink leads out of RUNS_ROOT is not found (the index's lookup refuses those
   * itself; a job's recorded folder is checked here, in case one was swapped in since).
   */
  async function scope(runId: string): Promise<{ runDir: string; slots: string[] }> {
    // The job's compact fields: no record is read for a file or a ZIP.
    const known = engine.knownJob(runId);
    if (known) {
      if (await runIndex.leadsOutOfRoot(known.runDir)) throw runNotFound();
      return { runDir: known.runDir, slots: [...known.slots] };
    }
    const runDir = await runIndex.resolve(runId);
    let slots: string[] = [];
    try {
      slots = (await readdir(join(runDir, WELLS_DIR), { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      slots = [];
    }
    return { runDir, slots };
  }

  return {
    async listFiles(runId) {
      const s = await scope(runId);
      return listRunFiles(s.runDir, s.slots);
    },
    async openFile(runId, path) {
      const s = await scope(runId);
      const f = await openRunFile(s.runDir, s.slots, path);
      return { stream: f.stream, size: f.size, name: f.name };
    },
    async openZip(runId) {
      const s = await scope(runId);
      const files = await listRunFiles(s.runDir, s.slots);
      try {
        const stream = await openZipStream(pool, s.runDir, files);
        return { stream, filename: `${runId}.zip` };
      } catch (err) {
        if (err instanceof DaemonError) throw err;
        throw new DaemonError('INTERNAL', 'Could not create the ZIP', { cause: err });
      }
    },
  };
}
