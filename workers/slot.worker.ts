/** Slot worker thread: owns one device port; everything it does is built in src/slots. */
import { parentPort, workerData } from 'node:worker_threads';
import { TtyPort } from '../src/port/tty-port.js';
import { Comlink, nodeEndpoint } from '../src/slots/comlink.js';
import { installErrorTransfer } from '../src/slots/comlink-errors.js';
import { SlotService } from '../src/slots/slot-service.js';

installErrorTransfer();
const { portPath } = workerData as { portPath: string };
Comlink.expose(new SlotService(portPath, (path) => TtyPort.open(path)), nodeEndpoint(parentPort));
