/**
 * Piscina task file for plots. Thread entry only: one Chromium session per pool thread,
 * launched lazily by the first render and reused; the logic lives in `src/plots/`.
 */
import { ChromiumSession } from '../src/plots/chromium-session.js';
import { applyPoolThreadPriority } from '../src/pool/thread-priority.js';
import { renderPlotFiles } from '../src/plots/render-plot.js';
import type { RenderTaskPayload, RenderTaskResult } from '../src/plots/types.js';

// CSV parsing in this thread yields the CPU to the supervisor and the slot workers.
applyPoolThreadPriority();

const session = new ChromiumSession();

// A terminated pool thread closes the DevTools pipe and Chromium exits on its own; this only
// covers a thread that exits normally.
process.on('exit', () => session.killNow());

export function renderPlot(payload: RenderTaskPayload): Promise<RenderTaskResult> {
  return renderPlotFiles(payload, session);
}
