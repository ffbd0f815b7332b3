/** NAS setup, health and per-run upload for the HTTP routes, over the NAS service. */
import { DaemonError } from '../errors.js';
import type { JobEngine } from '../jobs/engine.js';
import type { NasService } from '../nas/index.js';
import type { RunIndex } from '../storage/run-index.js';
import type { NasApi } from './api.js';

export function createNasApi(nas: NasService, engine: JobEngine, runIndex: RunIndex): NasApi {
  const runDirOf = async (runId: string): Promise<string> => engine.job(runId)?.record.run_dir ?? (await runIndex.resolve(runId));
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
