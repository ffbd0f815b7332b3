/**
 * Restart recovery (rest-api.md 4.8): loads the persisted job records; slots that were live
 * when the daemon died become `failed` ("interrupted by server restart") with the partial files
 * of their interrupted mode listed, and every job is handed to the engine for the views. Records
 * are loaded one at a time: the engine keeps only the latest few in full (job-table.ts), so a
 * restart after weeks of jobs does not hold every record at once.
 */
import type { Logger } from 'pino';
import type { JobStore } from '../storage/job-store.js';
import type { RunMetadataFiles } from '../storage/run-metadata-file.js';
import { computeRunLayout, type ModeFiles } from '../storage/run-layout.js';
import type { JobEngine } from './engine.js';
import type { JobRecord } from './job-record.js';
import { deriveJobState, isTerminal } from './progress.js';
import type { JobProvenance } from './run-metadata.js';
import { listSlotFiles } from './slot-files.js';

/** The mode files of a persisted job's slot, or null if its layout no longer matches its run folder. */
function recoverModeFiles(runsRoot: string, record: JobRecord, slot: string): ModeFiles[] | null {
  try {
    const layout = computeRunLayout(runsRoot, { experiment_name: record.experiment_name, subdir: record.storage_subfolder, client_datetime: record.client_datetime });
    return layout.runDir === record.run_dir ? record.modes.map((m) => layout.modeFiles(slot, m)) : null;
  } catch {
    return null;
  }
}

/** run.json says what the record now says: the interrupted job and its slots failed. */
async function amendRunMetadata(files: RunMetadataFiles<JobProvenance>, record: JobRecord): Promise<void> {
  await files.amend(record.run_dir, record.run_id, (entry) => {
    entry.status = record.status;
    entry.ended_at = record.ended_at;
    const slots = Array.isArray(entry.slots) ? (entry.slots as Array<Record<string, unknown>>) : [];
    for (const s of record.slots) {
      const slot = slots.find((x) => x.slot === s.slot);
      if (!slot) continue;
      slot.status = s.status;
      slot.message = s.message;
      slot.ended_at = s.ended_at;
    }
  });
}

export async function recoverJobs(
  engine: JobEngine,
  deps: { runsRoot: string; jobStore: JobStore<JobRecord>; logger: Logger; runMetadata?: RunMetadataFiles<JobProvenance> },
): Promise<number> {
  const at = new Date().toISOString();
  let loaded = 0;
  for await (const { record } of deps.jobStore.loadEach()) {
    loaded++;
    let changed = false;
    for (const s of record.slots) {
      if (isTerminal(s.status)) continue;
      s.status = 'failed';
      s.message = 'interrupted by server restart';
      s.ended_at = at;
      s.started_at ??= at;
      // A mode's files are recorded when it ends; list the partial files of the interrupted one (4.3).
      const files = s.mode_index >= 0 ? recoverModeFiles(deps.runsRoot, record, s.slot) : null;
      if (files) s.files = await listSlotFiles(record.run_dir, files.slice(0, s.mode_index + 1));
      changed = true;
    }
    if (changed || !isTerminal(record.status)) {
      record.status = deriveJobState(record.slots.map((s) => s.status));
      record.ended_at ??= at;
      await deps.jobStore.save(record.run_id, record);
      if (deps.runMetadata) {
        await amendRunMetadata(deps.runMetadata, record).catch((err: unknown) => deps.logger.warn({ err, runId: record.run_id }, 'run.json of an interrupted job not updated'));
      }
    }
    engine.adopt(record);
  }
  if (loaded > 0) deps.logger.info({ jobs: loaded, recordsInMemory: engine.memory.records }, 'job records loaded');
  return loaded;
}
