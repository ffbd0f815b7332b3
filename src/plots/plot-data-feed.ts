/**
 * Builds a plot's data while its CSV is being written: the recorder hands over the numbers
 * of every CSV line, so a finished run is plotted without reading its CSV back and a
 * 10-million-row run plots as fast as a small one. The values are exactly those the CSV
 * lines carry (its text parses back to the same doubles), so the picture is the same.
 */
import { COLUMN, createPlotDataCollector, type PlotData, type PlotDataCollector } from './collect-plot-data.js';
import type { PlotKind } from './types.js';

const BLOCK_ROWS = 4096;

type LineField = 'time' | 'potential' | 'current' | 'cycle';
const FIELD_OF_COLUMN: ReadonlyMap<string, LineField> = new Map([
  [COLUMN.time, 'time'],
  [COLUMN.potential, 'potential'],
  [COLUMN.current, 'current'],
  [COLUMN.cycle, 'cycle'],
]);

export class PlotDataFeed {
  private readonly collector: PlotDataCollector;
  private readonly fields: LineField[];
  private readonly columns: (Float64Array | null)[];
  private pending = 0;
  private rows = 0;

  /** True when the kind's data comes from measurement CSV lines (EIS plots use the spectrum file). */
  static supports(kind: PlotKind): boolean {
    return kind !== 'eis';
  }

  /**
   * `cycleLabels`: the Cycle column's value per plan index, or null when the CSV has none.
   * `include`: plan indices whose lines are drawn (CDL: only the analysed cycles); absent = all.
   */
  constructor(
    kind: PlotKind,
    maxCycles: number | null,
    private readonly cycleLabels: ArrayLike<number> | null,
    private readonly include: ((index: number) => boolean) | null = null,
  ) {
    if (!PlotDataFeed.supports(kind)) throw new RangeError(`plot kind ${kind} is not fed from CSV lines`);
    this.collector = createPlotDataCollector(kind, { maxCycles });
    this.fields = this.collector.columns.map((spec) => FIELD_OF_COLUMN.get(spec.name)!);
    this.columns = this.fields.map((f) => (f === 'cycle' && cycleLabels === null ? null : new Float64Array(BLOCK_ROWS)));
  }

  addLine(index: number, timeS: number, potential: number, current: number): void {
    if (this.include !== null && !this.include(index)) return;
    const k = this.pending;
    for (let c = 0; c < this.fields.length; c++) {
      const column = this.columns[c];
      if (!column) continue;
      const field = this.fields[c];
      column[k] = field === 'time' ? timeS : field === 'potential' ? potential : field === 'current' ? current : this.cycleLabels![index]!;
    }
    if (++this.pending === BLOCK_ROWS) this.flush();
  }

  finish(): PlotData {
    this.flush();
    return this.collector.finish(this.rows);
  }

  private flush(): void {
    if (this.pending === 0) return;
    this.collector.onBlock({ columns: this.columns, rows: this.pending, firstRow: this.rows });
    this.rows += this.pending;
    this.pending = 0;
  }
}
