/** Recorder thread: formats CSV and writes measurement files off the supervisor's event loop. */
import { parentPort } from 'node:worker_threads';
import { serveRecorder } from '../src/recording/recorder-host.js';
import { openTextFileSink } from '../src/recording/text-file-sink.js';

serveRecorder(parentPort!, openTextFileSink);
