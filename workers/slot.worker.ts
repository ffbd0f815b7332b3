/** Slot worker thread: owns one device port; everything it does is built in src/slots. */
import { readFileSync, renameSync } from 'node:fs';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { setThreadNice } from '../src/pool/thread-priority.js';
import { NativeCallGate } from '../src/port/native-call-gate.js';
import { TtyPort } from '../src/port/tty-port.js';
import { Comlink, nodeEndpoint } from '../src/slots/comlink.js';
import { installErrorTransfer } from '../src/slots/comlink-errors.js';
import type { SlotWorkerData } from '../src/slots/slot-api.js';
import { SlotService, type SlotServiceHooks } from '../src/slots/slot-service.js';

// Device I/O is the only work with a hard deadline (the ADC FIFO holds ~0.7 s): run it ahead
// of bulk work (CSV formatting, plots, ZIPs) when the box is loaded. Needs privileges; else unchanged.
setThreadNice(Number(process.env.BEEPBOX_SLOT_NICE ?? -5));
installErrorTransfer();
const { portPath, nativeGate } = workerData as SlotWorkerData;
const gate = new NativeCallGate(nativeGate);

/**
 * TEST ONLY, inert unless BEEPBOX_TEST_HANG_TRIGGER names a file: once a measurement has
 * streamed HANG_AFTER_POINTS points (some of them already with the supervisor), a worker that finds that file holding its port path (or nothing)
 * claims it (rename, so exactly one worker does) and blocks its thread for good, like a worker
 * stuck in native code: it answers no call and streams nothing. The supervisor's watchdog must
 * notice, fail the slot, terminate the thread and replace it.
 */
const HANG_AFTER_POINTS = 2000;

function testHangHooks(trigger: string | undefined): SlotServiceHooks {
  if (!trigger) return {};
  return {
    onProgress(pointsDone) {
      if (pointsDone < HANG_AFTER_POINTS) return;
      let target: string;
      try {
        target = readFileSync(trigger, 'utf8').trim();
      } catch {
        return;
      }
      if (target !== '' && target !== portPath) return;
      try {
        renameSync(trigger, `${trigger}.taken-${threadId}`);
      } catch {
        return; // another worker claimed it
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    },
  };
}

// The thread owns its port: it waits for each reply blocked in read(2), not in its event loop
// (about a quarter less CPU per transaction, measured). BEEPBOX_SLOT_BLOCKING_IO=0 turns it off.
const blockingReplies = process.env.BEEPBOX_SLOT_BLOCKING_IO !== '0';
const service = new SlotService(portPath, (path) => TtyPort.open(path, { gate, blockingReplies }), testHangHooks(process.env.BEEPBOX_TEST_HANG_TRIGGER));
// Nothing thrown outside a call may kill the thread (its exit would tear the thread down under
// whatever native call is in flight): the service is poisoned instead, reports it to the
// watchdog's ping, and the supervisor closes and replaces the worker.
process.on('uncaughtException', (err) => service.poison(err));
process.on('unhandledRejection', (reason) => service.poison(reason));
Comlink.expose(service, nodeEndpoint(parentPort));
