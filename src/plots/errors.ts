import { DaemonError } from '../errors.js';

/** A measurement CSV that cannot be plotted (missing column, no header). */
export class PlotDataError extends DaemonError {
  constructor(message: string, details?: unknown) {
    super('DATA_INTEGRITY', message, { details });
  }
}
