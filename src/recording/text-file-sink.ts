/** A TextSink over the storage layer's append-only writer (created at open, never overwritten). */
import { CsvFileWriter } from '../storage/csv-file-writer.js';
import type { TextSink } from './mode-recorder.js';

export async function openTextFileSink(path: string): Promise<TextSink> {
  const writer = await CsvFileWriter.open(path);
  return {
    append: (text) => void writer.append(text),
    close: () => writer.close(),
  };
}
