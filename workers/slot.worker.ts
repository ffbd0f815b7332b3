/** Slot worker thread: owns one device port; everything it does is built in src/slots. */
import { parentPort, workerData } from 'node:worker_threads';
import { setThreadNice } from '../src/pool/thread-priority.js';
import { TtyPort } from '../src/port/tty-port.js';
import { Comlink, nodeEndpoint } from '../src/slots/comlink.js';
import { installErrorTransfer } from '../src/slots/comlink-errors.js';
import { SlotService } from '../src/slots/slot-service.js';

// Device I/O is the only work with a hard deadline (the ADC FIFO holds ~0.7 s): run it ahead
// of bulk work (CSV formatting, plots, ZIPs) when the box is loaded. Needs privileges; else unchanged.
setThreadNice(Number(process.env.BEEPBOX_SLOT_NICE ?? -5));
installErrorTransfer();
const { portPath } = workerData as { portPath: string };
Comlink.expose(new SlotService(portPath, (path) => TtyPort.open(path)), nodeEndpoint(parentPort));
