/** A real serial tty or a pseudo-terminal, opened through serialport. */
import { SerialPort } from 'serialport';
import { PortError } from '../errors.js';
import { DEFAULT_BAUD_RATE } from '../protocol/constants.js';
import type { Port } from './port.js';

export class TtyPort implements Port {
  private closeListeners: Array<(error: PortError | null) => void> = [];
  private closed = false;

  private constructor(readonly path: string, private readonly serial: SerialPort) {
    serial.on('close', (err: (Error & { disconnected?: boolean }) | null) => {
      this.finish(err ? new PortError('PORT_DISCONNECTED', `port ${path} disconnected: ${err.message}`, { cause: err }) : null);
    });
    serial.on('error', (err: Error) => {
      this.finish(new PortError('PORT_DISCONNECTED', `port ${path} failed: ${err.message}`, { cause: err }));
      if (serial.isOpen) serial.close(() => undefined);
    });
  }

  static open(path: string, baudRate = DEFAULT_BAUD_RATE): Promise<TtyPort> {
    return new Promise((resolve, reject) => {
      const serial = new SerialPort({ path, baudRate, autoOpen: false, highWaterMark: 64 * 1024 });
      serial.open((err) => {
        if (err) reject(new PortError('PORT_OPEN_FAILED', `cannot open ${path}: ${err.message}`, { cause: err }));
        else resolve(new TtyPort(path, serial));
      });
    });
  }

  get isOpen(): boolean {
    return !this.closed && this.serial.isOpen;
  }

  write(bytes: Uint8Array): Promise<void> {
    if (!this.isOpen) return Promise.reject(new PortError('PORT_CLOSED', `port ${this.path} is closed`));
    return new Promise((resolve, reject) => {
      this.serial.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), (err) => {
        if (err) reject(new PortError('PORT_DISCONNECTED', `write to ${this.path} failed: ${err.message}`, { cause: err }));
        else resolve();
      });
    });
  }

  onData(listener: (chunk: Uint8Array) => void): void {
    this.serial.removeAllListeners('data');
    this.serial.on('data', listener);
  }

  onClose(listener: (error: PortError | null) => void): void {
    this.closeListeners.push(listener);
  }

  close(): Promise<void> {
    if (!this.serial.isOpen) {
      this.finish(null);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.serial.close(() => {
        this.finish(null);
        resolve();
      });
    });
  }

  private finish(error: PortError | null): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.closeListeners) l(error);
    this.closeListeners = [];
  }
}
