/**
 * The discovered slots of this box: one worker thread per device, named slot01, slot02, …
 * in discovery order (rest-api.md 8.1). Ports that fail to open are logged and skipped,
 * and do not take a number. A worker that crashed is replaced on next use.
 */
import type { Logger } from 'pino';
import { DaemonError } from '../errors.js';
import { discoverPorts, slotName, type PortCandidate } from './discovery.js';
import type { DeviceIdentity } from './slot-api.js';
import { SlotWorker } from './slot-worker.js';

const CONNECT_TIMEOUT_MS = 3000;

export interface SlotEntry {
  slot: string;
  port: string;
  sn: string | null;
  identity: DeviceIdentity;
  worker: SlotWorker;
}

export interface SlotRegistryOptions {
  /** BEEP_PORTS: extra ports (paths or globs), e.g. simulator ptys. */
  configuredPorts?: string;
  logger: Logger;
  /** Replaces discovery (tests). */
  discover?: () => Promise<PortCandidate[]>;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new DaemonError('DEVICE_TIMEOUT', `${what} timed out after ${ms} ms`)), ms);
    p.then(resolve, reject).finally(() => clearTimeout(t));
  });
}

export class SlotRegistry {
  private entries: SlotEntry[] = [];

  constructor(private readonly options: SlotRegistryOptions) {}

  list(): readonly SlotEntry[] {
    return this.entries;
  }

  get(slot: string): SlotEntry | undefined {
    return this.entries.find((e) => e.slot === slot);
  }

  /** Closes every connection and discovers again. */
  async rescan(): Promise<readonly SlotEntry[]> {
    await this.close();
    const candidates = await (this.options.discover ?? (() => discoverPorts(this.options.configuredPorts)))();
    const opened = await Promise.all(candidates.map((c) => this.open(c)));
    this.entries = opened.filter((e): e is Omit<SlotEntry, 'slot'> & { slot: '' } => e !== null).map((e, i) => ({ ...e, slot: slotName(i + 1) }));
    this.options.logger.info({ slots: this.entries.map((e) => ({ slot: e.slot, port: e.port, sn: e.sn })) }, 'devices discovered');
    return this.entries;
  }

  private async open(c: PortCandidate): Promise<(Omit<SlotEntry, 'slot'> & { slot: '' }) | null> {
    const worker = SlotWorker.spawn(c.path);
    try {
      const identity = await withTimeout(worker.connect(), CONNECT_TIMEOUT_MS, `connecting to ${c.path}`);
      return { slot: '', port: c.path, sn: c.serialNumber ?? identity.uid, identity, worker };
    } catch (err) {
      this.options.logger.warn({ port: c.path, err }, 'device skipped: it did not answer');
      await worker.close().catch(() => undefined);
      return null;
    }
  }

  /**
   * The worker of a slot, respawned if the previous one crashed or its port vanished
   * and came back (a USB reset re-enumerates).
   */
  async ensureWorker(slot: string): Promise<SlotWorker> {
    const entry = this.get(slot);
    if (!entry) throw new DaemonError('DEVICE_STATE', `slot ${slot} is not registered`);
    if (entry.worker.isCrashed) {
      await entry.worker.close().catch(() => undefined);
      entry.worker = SlotWorker.spawn(entry.port);
    }
    return entry.worker;
  }

  /** The slot's worker, connected to its device (the engine's `SlotAccess`). */
  async acquire(slot: string): Promise<SlotWorker> {
    let worker: SlotWorker;
    try {
      worker = await this.ensureWorker(slot);
    } catch (err) {
      throw new DaemonError('DEVICE_STATE', `device for ${slot} is not available: ${(err as Error).message}`, { cause: err });
    }
    try {
      await worker.connect();
    } catch (err) {
      throw new DaemonError('DEVICE_STATE', `device for ${slot} does not answer: ${(err as Error).message}`, { cause: err });
    }
    return worker;
  }

  async close(): Promise<void> {
    const old = this.entries;
    this.entries = [];
    await Promise.all(old.map((e) => e.worker.close().catch(() => undefined)));
  }
}
