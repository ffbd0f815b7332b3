/**
 * The provenance consumer: keeps each job's entry of `run.json` (run-metadata.ts) in its run
 * directory. The entry is written when the job's first slot stream opens (what was asked, what
 * admission changed, the devices), updated at each mode boundary (counters, measured sample
 * period, files, analysis, plot) and completed by `slot-ended`.
 *
 * Essential: the slot's end waits for the last write, so the file is complete before the job is
 * handed to the NAS upload; a write that fails (disk full, read-only file system) fails the slot
 * with the reason, like a CSV that cannot be written. Blocks are ignored (cheap).
 */
import type { RunMetadataFiles } from '../../storage/run-metadata-file.js';
import { deriveJobState, isTerminal } from '../progress.js';
import { MAX_METADATA_EVENTS, emptyMeasuredMode, planJobProvenance, type JobProvenance, type MeasuredMode } from '../run-metadata.js';
import type { SlotEvent, SlotSubscriber, SubscriberFactory } from '../slot-events.js';
import { listSlotFiles } from '../slot-files.js';

interface OpenJob {
  readonly doc: JobProvenance;
  /** Slot streams of the job not closed yet. */
  open: number;
  /** The first write (the job's start), which every slot's first event waits for. */
  readonly started: Promise<void>;
}

export function metadataSubscriber(files: RunMetadataFiles<JobProvenance>): SubscriberFactory {
  const jobs = new Map<string, OpenJob>();
  const openJob = (runId: string, runDir: string, doc: JobProvenance): OpenJob => {
    const job = { doc, open: 0, started: files.update(runDir, doc) };
    jobs.set(runId, job);
    return job;
  };

  return (ctx): SlotSubscriber => {
    const { plan } = ctx;
    const job = jobs.get(plan.runId) ?? openJob(plan.runId, plan.runDir, planJobProvenance(plan));
    job.open++;
    const { doc } = job;
    const slot = doc.slots[ctx.slotIndex]!;
    const started = job.started;
    const write = (): Promise<void> => files.update(plan.runDir, doc);
    const modeOf = (index: number): MeasuredMode | undefined => slot.modes[index];
    const refreshFiles = async (index: number): Promise<void> => {
      const m = modeOf(index);
      if (m) m.files = await listSlotFiles(plan.runDir, [ctx.slot.files[index]!]);
    };

    async function handle(event: SlotEvent): Promise<void> {
      await started;
      switch (event.type) {
        case 'mode-started':
          slot.status = 'running';
          slot.started_at ??= event.at;
          if (doc.status === 'queued') doc.status = 'running';
          slot.modes[event.step.index] = emptyMeasuredMode(event.step, event.at);
          return write();
        case 'integrity': {
          const m = modeOf(event.modeIndex);
          if (m && m.events.length < MAX_METADATA_EVENTS) m.events.push(event.event);
          return;
        }
        case 'mode-ended': {
          const m = modeOf(event.modeIndex);
          if (!m) return;
          m.ended_at = event.at;
          m.counters = event.counters;
          m.measured_sample_period_us = event.counters?.measured_interval_us ?? null;
          m.error = event.error;
          await refreshFiles(event.modeIndex);
          return write();
        }
        case 'mode-recorded': {
          const m = modeOf(event.modeIndex);
          if (!m) return;
          if (event.result) {
            m.warnings.push(...event.result.warnings);
            m.analysis = (event.result as { analysis?: unknown }).analysis ?? null;
          }
          if (event.error !== null) m.error ??= event.error;
          await refreshFiles(event.modeIndex);
          return write();
        }
        case 'plot-rendered': {
          const m = modeOf(event.modeIndex);
          if (!m) return;
          m.plot = event.outcome;
          await refreshFiles(event.modeIndex);
          return write();
        }
        case 'slot-ended': {
          slot.status = event.status;
          slot.message = event.message;
          slot.ended_at = event.at;
          const state = deriveJobState(doc.slots.map((s) => s.status));
          doc.status = state;
          if (isTerminal(state)) doc.ended_at ??= event.at;
          return write();
        }
        default:
          return;
      }
    }

    return {
      name: 'run-metadata',
      essential: true,
      handle: (event) => (event.type === 'block' || event.type === 'progress' ? undefined : handle(event)),
      async close() {
        job.open--;
        if (job.open > 0) return;
        jobs.delete(plan.runId);
        await files.release(plan.runDir, plan.runId);
      },
    };
  };
}
