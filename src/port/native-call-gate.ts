/**
 * Keeps a worker thread from being terminated while a native serialport call is in flight.
 *
 * serialport's binding runs `open` as a node-addon-api AsyncWorker built with C++ exceptions.
 * If the thread that started it is terminated before its completion callback ran, the callback
 * finds a JavaScript environment that can no longer run code, node-addon-api throws a C++
 * `Napi::Error` that nothing catches, and the whole process aborts:
 * `terminate called after throwing an instance of 'Napi::Error'`. (Reproduced: terminate a
 * worker right after it called the binding's `open` on a pty; the daemon dies.)
 *
 * The gate is one shared Int32 cell: the worker counts each native call in and out; the
 * supervisor terminates the thread only after sealing the gate, which succeeds only while no
 * call is in flight and makes every later call refuse to start. Atomic compare-and-swap on
 * both sides, so the check and the termination cannot race a call that is just starting.
 */
export class NativeCallGate {
  readonly cell: Int32Array;

  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(4)) {
    this.cell = new Int32Array(buffer, 0, 1);
  }

  get buffer(): SharedArrayBuffer {
    return this.cell.buffer as SharedArrayBuffer;
  }

  /** Native calls in flight (0 when idle, -1 once sealed). */
  get state(): number {
    return Atomics.load(this.cell, 0);
  }

  get sealed(): boolean {
    return this.state < 0;
  }

  /** Worker side: counts a native call in. False once the gate is sealed (do not start the call). */
  enter(): boolean {
    for (;;) {
      const v = Atomics.load(this.cell, 0);
      if (v < 0) return false;
      if (Atomics.compareExchange(this.cell, 0, v, v + 1) === v) return true;
    }
  }

  /** Worker side: the call's completion callback has returned. */
  leave(): void {
    Atomics.sub(this.cell, 0, 1);
  }

  /** Supervisor side: seals the gate if no call is in flight. True when sealed (now or before). */
  trySeal(): boolean {
    const v = Atomics.compareExchange(this.cell, 0, 0, -1);
    return v === 0 || v < 0;
  }
}
