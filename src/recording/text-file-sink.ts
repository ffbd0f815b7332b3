/** A TextSink over a file (created empty at open so a starting run already shows it). */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { TextSink } from './mode-recorder.js';

export async function openTextFileSink(path: string): Promise<TextSink> {
  const stream = createWriteStream(path, { flags: 'wx', highWaterMark: 1 << 20 });
  await once(stream, 'open');
  return {
    append: (text) => void stream.write(text),
    close: async () => {
      stream.end();
      await once(stream, 'finish');
    },
  };
}
