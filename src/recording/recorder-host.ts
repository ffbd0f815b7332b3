/** Recorder thread side: serves many open recordings, one message port. */
import type { MessagePort } from 'node:worker_threads';
import { ModeRecorder, type SinkOpener } from './mode-recorder.js';
import type { RecorderReply, RecorderRequest } from './recorder-protocol.js';

export function serveRecorder(port: MessagePort, openSink: SinkOpener): void {
  const open = new Map<number, ModeRecorder>();
  const failed = new Map<number, string>();
  const reply = (msg: RecorderReply) => port.postMessage(msg);
  const fail = (id: number, err: unknown) => {
    if (failed.has(id)) return;
    const message = err instanceof Error ? err.message : String(err);
    failed.set(id, message);
    const r = open.get(id);
    open.delete(id);
    // Release its file handles; the data already failed to reach the disk.
    void r?.close().catch(() => undefined);
    reply({ kind: 'failed', id, message });
  };
  // Opens and closes are async; rows for a file arriving meanwhile wait in order.
  let chain: Promise<void> = Promise.resolve();
  port.on('message', (msg: RecorderRequest) => {
    chain = chain.then(async () => {
      const earlier = failed.get(msg.id);
      if (earlier !== undefined) {
        if (msg.kind === 'close') {
          failed.delete(msg.id);
          reply({ kind: 'failed', id: msg.id, message: earlier });
        }
        return;
      }
      try {
        switch (msg.kind) {
          case 'open': {
            // A write that fails later (disk full) is reported at once, not at close.
            const r = new ModeRecorder(msg.spec, openSink, (err) => fail(msg.id, err));
            await r.open();
            open.set(msg.id, r);
            reply({ kind: 'opened', id: msg.id });
            break;
          }
          case 'rows':
            open.get(msg.id)?.write(msg.firstIndex, msg.current, msg.potential, msg.count);
            break;
          case 'close': {
            const r = open.get(msg.id);
            open.delete(msg.id);
            if (r) reply({ kind: 'closed', id: msg.id, result: await r.close(msg.options) });
            break;
          }
        }
      } catch (err) {
        fail(msg.id, err);
      }
    });
  });
}
