/** Recorder thread: formats CSV and writes measurement files off the supervisor's event loop. */
import { parentPort } from 'node:worker_threads';
import { setThreadNice } from '../src/pool/thread-priority.js';
import { serveRecorder } from '../src/recording/recorder-host.js';
import { openTextFileSink } from '../src/recording/text-file-sink.js';

// Formatting may lag behind the devices (rows queue in memory); the API and device I/O may not.
setThreadNice(5);
serveRecorder(parentPort!, openTextFileSink);
