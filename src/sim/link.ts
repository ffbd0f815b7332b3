/**
 * Connects a virtual potentiostat to a byte stream the way the firmware's USB receive path
 * does (beep-protocol.md 1.4–1.6), and carries the fault knobs.
 *
 * Framing: bytes accumulate in a 256-byte buffer. As soon as the buffer holds a complete
 * request (length from its header, as the firmware locates the CRC) the request is
 * processed and everything else that arrived with it is discarded. A buffer that stays
 * incomplete is processed as-is after `silenceMs` of silence (the firmware's gap is 0.2 ms;
 * over a pty a little more slack avoids splitting one host write). More than 256 buffered
 * bytes is an error condition: counted, buffer dropped. Each reply goes out in one write.
 *
 * Each incoming chunk is also cut into 64-byte USB packets and checked against the
 * bootloader string (1.6); a match answers `ACK:BOOT: 0xDEADBEEF` and the port vanishes.
 */
import { BOOTLOADER_MAGIC, DEVICE_RX_BUFFER_BYTES, USB_PACKET_BYTES, measureRequest } from '../protocol/index.js';
import type { DeviceStats, VirtualPotentiostat } from './device.js';
import { Prng } from './random.js';

export interface LinkTimers {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface DeviceLinkOptions {
  /** Silence after which an incomplete buffer is processed as-is (ms). Default 2. */
  silenceMs?: number;
  /** Probability that each reply byte gets one bit flipped. Default 0. */
  corruptRate?: number;
  /** Seeds the corruption. Default 1. */
  seed?: number;
  /** Emulate the bootloader-string hazard of 1.6. Default true. */
  bootloaderHazard?: boolean;
  /** Timer functions (injected by unit tests). Default: the global timers. */
  timers?: LinkTimers;
}

export interface LinkCounters {
  /** Delimited requests handed to the device. */
  requests: number;
  replies: number;
  /** Requests the device ignored (foreign address). */
  silent: number;
  /** Exception replies by exception code. */
  exceptions: Record<number, number>;
  /** Incomplete buffers processed after the silence gap. */
  partialFrames: number;
  /** Bytes discarded after a complete request in the same chunk. */
  trailingBytes: number;
  /** Buffer overflows (> 256 bytes buffered); the buffer was dropped. */
  rxOverflows: number;
  /** Bytes that arrived while the port was not connected. */
  droppedBytes: number;
  corruptedBytes: number;
  bootloaderEntries: number;
  resets: number;
  unplugs: number;
}

export type LinkEvent = 'disconnect' | 'unplug' | 'reset' | 'bootloader';

/** Reason the link went down: unplug (gone for good), reset (comes back), bootloader (gone). */
export type DisconnectReason = 'unplug' | 'reset' | 'bootloader';

const BOOT_ACK = new TextEncoder().encode('ACK:BOOT: 0xDEADBEEF\r\n');
const BOOT_MAGIC = new TextEncoder().encode(BOOTLOADER_MAGIC);
const BOOTLOADER_DELAY_MS = 100;

const defaultTimers: LinkTimers = {
  setTimeout: (cb, ms) => setTimeout(cb, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export class DeviceLink {
  readonly counters: LinkCounters = {
    requests: 0, replies: 0, silent: 0, exceptions: {}, partialFrames: 0, trailingBytes: 0, rxOverflows: 0,
    droppedBytes: 0, corruptedBytes: 0, bootloaderEntries: 0, resets: 0, unplugs: 0,
  };
  /** Fault knob: probability that each reply byte gets one bit flipped. */
  corruptRate: number;

  private sink: ((bytes: Uint8Array) => void) | null = null;
  private readonly buffer = new Uint8Array(DEVICE_RX_BUFFER_BYTES);
  private buffered = 0;
  private silenceTimer: unknown = null;
  private deferTimer: unknown = null;
  private resetTimer: unknown = null;
  private gone = false;
  private readonly silenceMs: number;
  private readonly bootloaderHazard: boolean;
  private readonly timers: LinkTimers;
  private readonly rng: Prng;
  private readonly listeners = new Map<LinkEvent, Array<(reason: DisconnectReason) => void>>();

  constructor(readonly device: VirtualPotentiostat, options: DeviceLinkOptions = {}) {
    this.silenceMs = options.silenceMs ?? 2;
    this.corruptRate = options.corruptRate ?? 0;
    this.bootloaderHazard = options.bootloaderHazard ?? true;
    this.timers = options.timers ?? defaultTimers;
    this.rng = new Prng((options.seed ?? 1) ^ 0xc0ffee);
  }

  /** True while a host-side stream is attached and the device is present. */
  get connected(): boolean {
    return this.sink !== null;
  }

  /** True once the device was unplugged or entered the bootloader (it never comes back). */
  get isGone(): boolean {
    return this.gone;
  }

  /** Link counters together with the device's tick statistics, as a plain object. */
  snapshot(): LinkCounters & DeviceStats {
    return { ...this.counters, exceptions: { ...this.counters.exceptions }, ...this.device.stats };
  }

  /** Attaches the stream replies are written to (a new pty after re-enumeration). */
  connect(sink: (bytes: Uint8Array) => void): void {
    if (this.gone) throw new Error('device is gone (unplugged or in the bootloader)');
    this.sink = sink;
    this.buffered = 0;
  }

  /** Listens for 'disconnect' (any reason), 'unplug', 'reset' or 'bootloader'. */
  on(event: LinkEvent, listener: (reason: DisconnectReason) => void): void {
    const list = this.listeners.get(event) ?? [];
    list.push(listener);
    this.listeners.set(event, list);
  }

  /** Bytes from the host. */
  receive(chunk: Uint8Array): void {
    if (!this.sink || this.gone) {
      this.counters.droppedBytes += chunk.length;
      return;
    }
    if (this.bootloaderHazard && this.matchesBootloader(chunk)) {
      this.enterBootloader();
      return;
    }
    if (this.buffered + chunk.length > DEVICE_RX_BUFFER_BYTES) {
      this.counters.rxOverflows++;
      this.buffered = 0;
      this.cancelSilence();
      return;
    }
    this.buffer.set(chunk, this.buffered);
    this.buffered += chunk.length;
    this.tryProcess();
  }

  /** Fault: the device vanishes (cable pulled). The link never reconnects. */
  unplug(): void {
    if (this.gone) return;
    this.gone = true;
    this.counters.unplugs++;
    this.goDown('unplug');
  }

  /** Fault: the main loop hangs for `ms`: no ticks, no replies; no catch-up afterwards. */
  stall(ms: number): void {
    this.device.suspend(ms * 1000);
  }

  /** Fault: every FIFO read and FIFO write answers SLAVE_DEVICE_BUSY for `ms`. */
  busyStorm(ms: number): void {
    this.device.busyStormUntilUs = this.device.now() + ms * 1000;
  }

  /** Detaches without any event (used when shutting the simulator down). */
  close(): void {
    this.sink = null;
    this.cancelSilence();
    if (this.deferTimer !== null) this.timers.clearTimeout(this.deferTimer);
    if (this.resetTimer !== null) this.timers.clearTimeout(this.resetTimer);
    this.deferTimer = this.resetTimer = null;
  }

  private tryProcess(): void {
    if (this.buffered === 0 || !this.sink) return;
    const nowUs = this.device.now();
    this.device.advanceTo(nowUs);
    if (this.device.suspendedUntilUs > nowUs) {
      // The main loop is blocked; the USB interrupt keeps buffering.
      this.cancelSilence();
      if (this.deferTimer === null) {
        this.deferTimer = this.timers.setTimeout(() => {
          this.deferTimer = null;
          this.tryProcess();
        }, Math.max(0, (this.device.suspendedUntilUs - nowUs) / 1000));
      }
      return;
    }
    const length = measureRequest(this.buffer, 0, this.buffered);
    if (length === 'invalid' || (typeof length === 'number' && length <= this.buffered)) {
      const take = typeof length === 'number' ? length : this.buffered;
      this.counters.trailingBytes += this.buffered - take;
      this.processFrame(this.buffer.slice(0, take));
      return;
    }
    this.cancelSilence();
    this.silenceTimer = this.timers.setTimeout(() => {
      this.silenceTimer = null;
      if (this.buffered === 0 || !this.sink) return;
      if (this.device.suspendedUntilUs > this.device.now()) {
        this.tryProcess();
        return;
      }
      this.counters.partialFrames++;
      this.processFrame(this.buffer.slice(0, this.buffered));
    }, this.silenceMs);
  }

  private processFrame(frame: Uint8Array): void {
    this.buffered = 0;
    this.cancelSilence();
    this.counters.requests++;
    const reply = this.device.handleRequest(frame, this.device.now());
    this.watchReset();
    if (!reply) {
      this.counters.silent++;
      return;
    }
    if (reply[1]! & 0x80) this.counters.exceptions[reply[2]!] = (this.counters.exceptions[reply[2]!] ?? 0) + 1;
    if (this.corruptRate > 0) this.corrupt(reply);
    this.counters.replies++;
    this.sink?.(reply);
  }

  /** After a RESET command: the reply has gone out; the USB connection drops ~25 ms later. */
  private watchReset(): void {
    const at = this.device.pendingResetAtUs;
    if (at === Infinity || this.resetTimer !== null) return;
    this.resetTimer = this.timers.setTimeout(() => {
      this.resetTimer = null;
      this.device.advanceTo(this.device.now());
      this.counters.resets++;
      this.goDown('reset');
    }, Math.max(0, (at - this.device.now()) / 1000));
  }

  private corrupt(reply: Uint8Array): void {
    for (let i = 0; i < reply.length; i++) {
      if (this.rng.nextFloat() < this.corruptRate) {
        reply[i] = reply[i]! ^ (1 << (this.rng.nextUint32() & 7));
        this.counters.corruptedBytes++;
      }
    }
  }

  private matchesBootloader(chunk: Uint8Array): boolean {
    for (let at = 0; at < chunk.length; at += USB_PACKET_BYTES) {
      const size = Math.min(USB_PACKET_BYTES, chunk.length - at);
      if (size > BOOT_MAGIC.length) continue;
      let match = true;
      for (let i = 0; i < size && match; i++) match = chunk[at + i] === BOOT_MAGIC[i];
      if (match) return true;
    }
    return false;
  }

  private enterBootloader(): void {
    this.counters.bootloaderEntries++;
    this.sink?.(BOOT_ACK.slice());
    this.gone = true;
    this.buffered = 0;
    this.cancelSilence();
    this.timers.setTimeout(() => this.goDown('bootloader'), BOOTLOADER_DELAY_MS);
  }

  private goDown(reason: DisconnectReason): void {
    this.sink = null;
    this.buffered = 0;
    this.cancelSilence();
    for (const l of this.listeners.get(reason) ?? []) l(reason);
    for (const l of this.listeners.get('disconnect') ?? []) l(reason);
  }

  private cancelSilence(): void {
    if (this.silenceTimer !== null) {
      this.timers.clearTimeout(this.silenceTimer);
      this.silenceTimer = null;
    }
  }
}
