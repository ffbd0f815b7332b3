import { closeSync, openSync, readSync } from 'node:fs';
import { createCsvColumnParser, type CsvColumnBlock, type CsvColumnSpec, type CsvParseSummary } from './csv-columns.js';

/**
 * Streams a CSV file through the column parser with fixed-size synchronous reads. Meant for a
 * pool thread: it blocks that thread (not the supervisor) and never holds more than one read
 * buffer of text in memory, whatever the file size.
 */
export function readCsvColumns(
  filePath: string,
  columns: readonly CsvColumnSpec[],
  onBlock: (block: CsvColumnBlock) => void,
  options: { readBufferBytes?: number; blockRows?: number } = {},
): CsvParseSummary & { bytes: number } {
  const parser = createCsvColumnParser({ columns, onBlock, blockRows: options.blockRows });
  const buf = new Uint8Array(options.readBufferBytes ?? 4 * 1024 * 1024);
  const fd = openSync(filePath, 'r');
  let bytes = 0;
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      bytes += n;
      parser.push(n === buf.length ? buf : buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return { ...parser.end(), bytes };
}
