/**
 * The plot consumer: once a mode's files are written (`mode-recorded`) it renders the mode's
 * plot in the pool from the data the recorder collected, and publishes `plot-rendered`. The slot
 * goes on to its next mode meanwhile. Aborted, failed and unrecorded modes get no plot.
 * Essential, so the slot reports `done` only with its plots on disk (or a reason they are not).
 */
import type { PlotService } from '../../plots/plot-service.js';
import type { SlotContext, SlotEvent, SlotSubscriber, SubscriberFactory } from '../slot-events.js';

export function plotSubscriber(plots: PlotService | null): SubscriberFactory {
  return (ctx: SlotContext): SlotSubscriber | null => {
    if (!ctx.plan.makePlot) return null;
    /** Modes that ended complete (not aborted, no error): only they are drawn. */
    const complete = new Set<number>();

    async function render(event: Extract<SlotEvent, { type: 'mode-recorded' }>): Promise<void> {
      const step = ctx.plan.steps[event.modeIndex]!;
      // A cancelled or stopping slot ends now; its plots are not worth the wait.
      if (!complete.has(event.modeIndex) || event.result === null || step.plot === null || ctx.signal.aborted) return;
      let outcome = 'plot skipped: plotting is not configured';
      if (plots) {
        const files = ctx.slot.files[event.modeIndex]!;
        const kind = step.plot.kind;
        const result = await plots.renderPlot({
          csvPath: kind === 'eis' && files.spectrumCsv ? files.spectrumCsv : files.csv,
          pngPath: files.png,
          bodePngPath: files.bodePng ?? undefined,
          kind,
          title: `${ctx.plan.experimentName} · ${ctx.slot.slot} · ${step.token}`,
          mode: step.token,
          maxCycles: step.plot.maxCycles ?? undefined,
          data: event.result.plotData,
        });
        outcome = result.ok ? 'ok' : result.reason;
      }
      ctx.publish({ type: 'plot-rendered', modeIndex: event.modeIndex, outcome });
    }

    return {
      name: 'plots',
      essential: true,
      handle(event) {
        if (event.type === 'mode-recorded') return render(event);
        if (event.type === 'mode-ended' && event.error === null && event.counters !== null && !event.counters.aborted) complete.add(event.modeIndex);
        return undefined;
      },
    };
  };
}
