/**
 * The CSV consumer: one recording per mode in the recorder thread (CSV, EIS spectrum, CDL
 * table, and the plot's data collected from the lines as they are written). When a mode's
 * recording closes it publishes `mode-recorded`. Essential: a recording that cannot be written
 * fails the slot — on the next event after the recorder thread reports it, so within one block
 * (~0.1 s) of a failing write, not at the mode's end.
 */
import { DaemonError } from '../../errors.js';
import type { Recording, RecorderThread } from '../../recording/recorder.js';
import type { SlotContext, SlotEvent, SlotSubscriber, SubscriberFactory } from '../slot-events.js';

export function recordingSubscriber(recorder: RecorderThread): SubscriberFactory {
  return (ctx: SlotContext): SlotSubscriber => {
    const open = new Map<number, Recording>();
    const { plan } = ctx;

    const check = (modeIndex: number, recording: Recording): void => {
      const failure = recording.failure;
      if (failure !== null) throw new DaemonError('INTERNAL', `writing ${plan.steps[modeIndex]!.token} data failed: ${failure}`);
    };

    async function start(event: Extract<SlotEvent, { type: 'mode-started' }>): Promise<void> {
      const { step, files } = event;
      const recording = await recorder.open({
        csvPath: files.csv,
        mode: step.mode,
        params: step.params,
        samplingIntervalS: plan.samplingIntervalS,
        spectrumPath: files.spectrumCsv ?? undefined,
        cdlPath: files.cdlCsv ?? undefined,
        plot: step.plot,
        requestParams: plan.requestParams[step.token],
      });
      open.set(step.index, recording);
    }

    /** `measuredIntervalUs`: the device's sample period over the mode (EIS frequency axis), null when not measured. */
    async function finish(modeIndex: number, measuredIntervalUs: number | null): Promise<void> {
      const recording = open.get(modeIndex);
      if (!recording) return;
      open.delete(modeIndex);
      try {
        const result = await recording.close({ measuredIntervalUs });
        ctx.publish({ type: 'mode-recorded', modeIndex, result, error: null });
      } catch (err) {
        const error = `writing ${plan.steps[modeIndex]!.token} data failed: ${(err as Error).message}`;
        ctx.publish({ type: 'mode-recorded', modeIndex, result: null, error });
        throw new DaemonError('INTERNAL', error, { cause: err });
      }
    }

    return {
      name: 'recorder',
      essential: true,
      handle(event) {
        switch (event.type) {
          case 'mode-started':
            return start(event);
          case 'block': {
            const recording = open.get(event.modeIndex);
            if (!recording) return;
            check(event.modeIndex, recording);
            recording.write(event.firstIndex, event.current, event.potential, event.count);
            return;
          }
          case 'mode-ended':
            return finish(event.modeIndex, event.counters?.measured_interval_us ?? null);
          default:
            return;
        }
      },
      async close() {
        // A slot that failed mid-mode still closes its files (partial data stays readable).
        for (const [k, recording] of open) {
          open.delete(k);
          await recording.close().catch(() => undefined);
        }
      },
    };
  };
}
