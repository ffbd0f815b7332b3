export { createPlotService, DEFAULT_CHROMIUM_PATH, type PlotService, type PlotServiceOptions } from './plot-service.js';
export { plotKindForMode, describePlotHeading, deriveBodePngPath, resolveSpectrumCsvPath } from './plot-kind.js';
export type { PlotKind, PlotRequest, PlotResult, PlotStatus, RenderStats } from './types.js';
export { PLOT_KINDS } from './types.js';
