/**
 * Supervisor side of the recorder thread: `open()` a recording per slot-mode, feed it
 * sample blocks (transferred, not copied), `close()` to get the files written.
 */
import { Worker } from 'node:worker_threads';
import { DaemonError } from '../errors.js';
import type { RecordingCloseOptions, RecordingResult, RecordingSpec } from './mode-recorder.js';
import type { RecorderReply, RecorderRequest } from './recorder-protocol.js';

const WORKER_URL = new URL('../../workers/recorder.worker.js', import.meta.url);

interface Waiter {
  resolve(r: RecorderReply): void;
}

export class Recording {
  constructor(private readonly owner: RecorderThread, readonly id: number) {}

  /**
   * Rows for plan indices [firstIndex, firstIndex + count). The arrays are copied, not
   * transferred: other consumers of the slot's stream may still read them.
   */
  write(firstIndex: number, current: Float32Array, potential: Float32Array, count: number): void {
    this.owner.send({ kind: 'rows', id: this.id, firstIndex, count, current, potential });
  }

  /** Why the recorder thread gave up on this recording (a write failed), or null. */
  get failure(): string | null {
    return this.owner.failureOf(this.id);
  }

  close(options: RecordingCloseOptions = {}): Promise<RecordingResult> {
    return this.owner.closeRecording(this.id, options);
  }
}

export class RecorderThread {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly waiters = new Map<number, Waiter>();
  private readonly failures = new Map<number, string>();
  private dead: Error | null = null;

  constructor() {
    this.worker = new Worker(WORKER_URL);
    this.worker.on('message', (msg: RecorderReply) => {
      if (msg.kind === 'failed') this.failures.set(msg.id, msg.message);
      const w = this.waiters.get(msg.id);
      if (w) {
        this.waiters.delete(msg.id);
        w.resolve(msg);
      }
    });
    const die = (err: Error) => {
      this.dead = err;
      for (const [id, w] of this.waiters) w.resolve({ kind: 'failed', id, message: `recorder thread died: ${err.message}` });
      this.waiters.clear();
    };
    this.worker.on('error', die);
    this.worker.on('exit', (code) => die(new Error(`exited with code ${code}`)));
  }

  send(msg: RecorderRequest, transfer: ArrayBuffer[] = []): void {
    if (!this.dead) this.worker.postMessage(msg, transfer);
  }

  private request(msg: RecorderRequest): Promise<RecorderReply> {
    if (this.dead) return Promise.resolve({ kind: 'failed', id: msg.id, message: `recorder thread died: ${this.dead.message}` });
    return new Promise((resolve) => {
      this.waiters.set(msg.id, { resolve });
      this.send(msg);
    });
  }

  async open(spec: RecordingSpec): Promise<Recording> {
    const id = this.nextId++;
    const r = await this.request({ kind: 'open', id, spec });
    if (r.kind === 'failed') throw new DaemonError('INTERNAL', `cannot create ${spec.csvPath}: ${r.message}`);
    return new Recording(this, id);
  }

  failureOf(id: number): string | null {
    return this.failures.get(id) ?? (this.dead ? `recorder thread died: ${this.dead.message}` : null);
  }

  async closeRecording(id: number, options: RecordingCloseOptions = {}): Promise<RecordingResult> {
    // Sent even after a failure: the recorder thread answers `failed` again and forgets the id.
    const r = await this.request({ kind: 'close', id, options });
    // The id is done with either way; the map must not grow over weeks of runs.
    this.failures.delete(id);
    if (r.kind !== 'closed') throw new DaemonError('INTERNAL', `recording failed: ${r.kind === 'failed' ? r.message : 'unexpected reply'}`);
    return r.result;
  }

  async terminate(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}
