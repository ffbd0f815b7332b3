import { DaemonError, type ErrorDetails } from '../errors.js';

/** A measurement CSV that cannot be plotted (missing column, no header). */
export class PlotDataError extends DaemonError {
  constructor(message: string, details?: ErrorDetails) {
    super('DATA_INTEGRITY', message, { details });
  }
}
