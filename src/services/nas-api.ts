/** NAS setup, health and per-run upload for the HTTP routes, over the NAS service. */
import { DaemonError } from '../errors.js';
import type { JobEngine } from '../jobs/engine.js';
import type { NasService } from '../nas/index.js';
import { runNotFound, type RunIndex } from '../storage/run-index.js';
import type { NasApi } from './api.js';

export function createNasApi(nas: NasService, engine: JobEngine, runIndex: RunIndex): NasApi {
  /** A job's folder, else the index's lookup; never a folder that a symlink leads out of RUNS_ROOT. */
  const runDirOf = async (runId: string): Promise<string> => {
    const known = engine.knownJob(runId)?.runDir;
    if (known === undefined) return runIndex.resolve(runId);
    if (await runIndex.leadsOutOfRoot(known)) throw runNotFound();
    return known;
  };
  return {
    setup: (body) => nas.setup(body),
    health: () => nas.health(),
    async enqueueUpload(runId) {
      if (!nas.supported) throw new DaemonError('nas.unsupported_platform', 'NAS/SMB is not supported on this platform');
      const runDir = await runDirOf(runId);
      return { ok: true, enqueued: nas.enqueueUpload(runId, runDir).enqueued, run_id: runId };
    },
    async uploadState(runId) {
      const state = await nas.uploadState(await runDirOf(runId));
      return { run_id: runId, ...state };
    },
  };
}
