/** A TextSink over the storage layer's append-only writer (created at open, never overwritten). */
import { CsvFileWriter } from '../storage/csv-file-writer.js';
import type { TextSink } from './mode-recorder.js';

export async function openTextFileSink(path: string, onError: (err: Error) => void): Promise<TextSink> {
  const writer = await CsvFileWriter.open(path, { onError });
  return {
    append: (text) => void writer.append(text),
    close: () => writer.close(),
  };
}
