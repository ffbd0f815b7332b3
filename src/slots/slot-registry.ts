/**
 * The slots of this box: one worker thread per device, each slot named slot01, slot02, …
 *
 * **Names are stable.** A slot keeps its name for as long as its device is present, and gets it
 * back when the device returns: a device is known by its USB location (the by-path name of the
 * port it is plugged into), else its USB serial number, else its configured path (ptys and
 * `BEEP_PORTS` entries). A device seen for the first time takes the lowest free name, in
 * discovery order. A device that is gone, or present but not answering, leaves its slot listed
 * `offline` (with the reason); nothing is renumbered. The identity map is kept in
 * `RUNS_ROOT/.slots.json` (written atomically), so names survive restarts too.
 *
 * **Every operation is serialised.** Rescans and `close` are exclusive and queue behind each
 * other; concurrent rescan requests coalesce (one runs, everything that arrives meanwhile shares
 * the next one). A rescan builds the new set and swaps it in one step: `list` always returns a
 * complete set, the old one until the swap. Each slot's worker is created, probed, replaced and
 * closed under that slot's own lock; `acquire` waits for a rescan in progress and then takes the
 * slot's lock. A rescan never touches the worker of a slot that is reserved (the engine's
 * reservations, checked when the rescan reaches the slot): a job that started meanwhile keeps
 * its worker. Devices that are still present keep their worker and are probed, not reopened.
 *
 * A worker that crashes or that the watchdog finds hung is terminated and replaced at once.
 */
import { access, readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { DaemonError } from '../errors.js';
import { writeFileAtomic } from '../storage/atomic-file.js';
import { discoverPorts, slotName, type PortCandidate } from './discovery.js';
import type { DeviceIdentity } from './slot-api.js';
import { SlotWorker, type SlotWorkerOptions } from './slot-worker.js';

/** A device that has not answered this long after its worker came up is offline (ms). */
const CONNECT_TIMEOUT_MS = 3000;
/** How long a new worker thread may take to come up (ms); many start at once on a small box. */
const BOOT_TIMEOUT_MS = 30_000;
const IDENTITY_FILE_VERSION = 1;

export type SlotPresence = 'online' | 'offline';

/** What the registry knows about one slot (a snapshot: `list` returns new ones after each change). */
export interface SlotEntry {
  readonly slot: string;
  /** The device's identity key: `usb-location:…`, `usb-serial:…` or `path:…`. */
  readonly key: string;
  /** Device path (the last one seen while offline). */
  readonly port: string;
  readonly sn: string | null;
  readonly state: SlotPresence;
  /** Why the slot is offline; null while online. */
  readonly reason: string | null;
  /** What the device answered at its last probe (null if it never did). */
  readonly identity: DeviceIdentity | null;
}

export interface SlotRegistryOptions {
  /** BEEP_PORTS: extra ports (paths or globs), e.g. simulator ptys. */
  configuredPorts?: string;
  logger: Logger;
  /** Replaces discovery (tests). */
  discover?: () => Promise<PortCandidate[]>;
  /** Where the slot names are kept across restarts (RUNS_ROOT/.slots.json); none: in memory only. */
  identityFile?: string;
  /** Options of every slot worker (watchdog limits). */
  worker?: SlotWorkerOptions;
}

interface SlotRecord {
  slot: string;
  key: string;
  port: string;
  sn: string | null;
  state: SlotPresence;
  reason: string | null;
  identity: DeviceIdentity | null;
  worker: SlotWorker | null;
}

interface IdentityFile {
  version: number;
  slots: Array<{ slot: string; key: string; port: string; sn: string | null }>;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new DaemonError('DEVICE_TIMEOUT', `${what} timed out after ${ms} ms`)), ms);
    p.then(resolve, reject).finally(() => clearTimeout(t));
  });
}

/** The identity key of a discovered port: USB location, else USB serial number, else its path. */
export function identityKeyOf(c: PortCandidate): string {
  if (c.source === 'usb' && c.location) return `usb-location:${c.location}`;
  if (c.source === 'usb' && c.serialNumber) return `usb-serial:${c.serialNumber}`;
  return `path:${c.path}`;
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Lowest free name: slot01, slot02, … not in `used`. */
function lowestFreeName(used: ReadonlySet<string>): string {
  for (let n = 1; ; n++) {
    const name = slotName(n);
    if (!used.has(name)) return name;
  }
}

function naturalSlotOrder(a: { slot: string }, b: { slot: string }): number {
  return a.slot.localeCompare(b.slot, 'en', { numeric: true });
}

export class SlotRegistry {
  /** Every slot ever named (online and offline), by name. Changed only under the locks. */
  private readonly records = new Map<string, SlotRecord>();
  /** What `list` returns: replaced in one assignment after each change. */
  private snapshot: readonly SlotEntry[] = [];
  private identitiesLoaded = false;
  private persisted = '';
  private closed = false;
  /** Exclusive operations (rescan, close): a FIFO chain and how many are queued or running. */
  private exclusiveTail: Promise<unknown> = Promise.resolve();
  private exclusiveCount = 0;
  /** The rescan that has not started yet: later requests share it. */
  private queuedRescan: Promise<readonly SlotEntry[]> | null = null;
  /** Per-slot lock chains. */
  private readonly slotTails = new Map<string, Promise<unknown>>();
  private isReserved: (slot: string) => boolean = () => false;

  constructor(private readonly options: SlotRegistryOptions) {}

  /** Tells the registry which slots the job engine holds (their workers are never touched by a rescan). */
  useReservations(isReserved: (slot: string) => boolean): void {
    this.isReserved = isReserved;
  }

  /** Every slot, online and offline, sorted by name. Never a half-built set. */
  list(): readonly SlotEntry[] {
    return this.snapshot;
  }

  get(slot: string): SlotEntry | undefined {
    return this.snapshot.find((e) => e.slot === slot);
  }

  // ---- locks -------------------------------------------------------------------------

  private runExclusive<T>(op: () => Promise<T>): Promise<T> {
    this.exclusiveCount++;
    const run = this.exclusiveTail.then(op);
    this.exclusiveTail = run.catch(() => undefined).finally(() => this.exclusiveCount--);
    return run;
  }

  /** Resolves once no rescan or close is queued or running. */
  private async exclusiveIdle(): Promise<void> {
    while (this.exclusiveCount > 0) await this.exclusiveTail;
  }

  private withSlot<T>(slot: string, op: () => Promise<T>): Promise<T> {
    const run = (this.slotTails.get(slot) ?? Promise.resolve()).then(op);
    const tail = run.catch(() => undefined);
    this.slotTails.set(slot, tail);
    void tail.then(() => {
      if (this.slotTails.get(slot) === tail) this.slotTails.delete(slot);
    });
    return run;
  }

  // ---- rescan ------------------------------------------------------------------------

  /**
   * Discovers devices and updates the slots. Concurrent calls coalesce: a call made while a
   * rescan runs shares the next one (which starts when the running one ends).
   */
  rescan(): Promise<readonly SlotEntry[]> {
    if (this.closed) return Promise.reject(new DaemonError('DEVICE_STATE', 'the slot registry is closed'));
    if (this.queuedRescan) return this.queuedRescan;
    const queued = this.runExclusive(async () => {
      if (this.queuedRescan === queued) this.queuedRescan = null;
      return this.rescanNow();
    });
    // Only a rescan still waiting for its turn can be shared; the first one starts at once.
    if (this.exclusiveCount > 1) this.queuedRescan = queued;
    return queued;
  }

  private async rescanNow(): Promise<readonly SlotEntry[]> {
    if (this.closed) throw new DaemonError('DEVICE_STATE', 'the slot registry is closed');
    await this.loadIdentities();
    const candidates = await (this.options.discover ?? (() => discoverPorts(this.options.configuredPorts)))();
    const present = new Map<string, PortCandidate>();
    for (const c of candidates) {
      // A configured path is a device only while it exists (a pty comes and goes with its simulator).
      if (c.source === 'config' && !(await pathExists(c.path))) continue;
      let key = identityKeyOf(c);
      // Two ports claiming one identity (a cloned serial number): the second is known by its path.
      if (present.has(key)) key = `path:${c.path}`;
      if (!present.has(key)) present.set(key, c);
    }
    const byKey = new Map([...this.records.values()].map((r) => [r.key, r]));
    const used = new Set(this.records.keys());
    for (const [key, c] of present) {
      if (byKey.has(key)) continue;
      const slot = lowestFreeName(used);
      used.add(slot);
      const record: SlotRecord = { slot, key, port: c.path, sn: c.serialNumber, state: 'offline', reason: 'not probed yet', identity: null, worker: null };
      this.records.set(slot, record);
      byKey.set(key, record);
    }
    await Promise.all(
      [...this.records.values()].map((record) => {
        const candidate = present.get(record.key);
        // A reserved slot (a job started or runs) keeps its worker as it is.
        if (this.isReserved(record.slot)) {
          if (!candidate) this.markOffline(record, 'device not found at the last rescan');
          return Promise.resolve();
        }
        return this.withSlot(record.slot, () => {
          if (this.isReserved(record.slot)) return Promise.resolve();
          return candidate ? this.probe(record, candidate) : this.retire(record, 'device not found at the last rescan');
        });
      }),
    );
    this.publish();
    await this.saveIdentities();
    this.options.logger.info(
      { slots: this.snapshot.map((e) => ({ slot: e.slot, port: e.port, sn: e.sn, state: e.state, ...(e.reason ? { reason: e.reason } : {}) })) },
      'devices discovered',
    );
    return this.snapshot;
  }

  private markOffline(record: SlotRecord, reason: string): void {
    if (record.state === 'offline' && record.reason) return;
    record.state = 'offline';
    record.reason = reason;
  }

  /** Under the slot's lock: the device is present; make sure its worker answers. */
  private async probe(record: SlotRecord, c: PortCandidate): Promise<void> {
    if (record.worker && (!record.worker.isUsable || record.worker.portPath !== c.path)) {
      const old = record.worker;
      record.worker = null;
      await old.close();
    }
    record.port = c.path;
    const worker = (record.worker ??= this.spawnWorker(record.slot, c.path));
    try {
      await worker.ready(BOOT_TIMEOUT_MS);
      const identity = await withTimeout(worker.connect(), CONNECT_TIMEOUT_MS, `connecting to ${c.path}`);
      record.identity = identity;
      record.sn = c.serialNumber ?? identity.uid;
      record.state = 'online';
      record.reason = null;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.options.logger.warn({ slot: record.slot, port: c.path, err }, 'device offline: it did not answer');
      record.worker = null;
      await worker.close();
      record.state = 'offline';
      record.reason = `device at ${c.path} did not answer: ${message}`;
    }
  }

  /** Under the slot's lock: the device is gone; close its worker, keep the name. */
  private async retire(record: SlotRecord, reason: string): Promise<void> {
    const worker = record.worker;
    record.worker = null;
    this.markOffline(record, reason);
    await worker?.close();
  }

  private spawnWorker(slot: string, path: string): SlotWorker {
    const worker = SlotWorker.spawn(path, this.options.worker);
    worker.onCrash((err) => {
      this.options.logger.error({ slot, port: path, reason: err.message }, 'slot worker crashed or hung: terminated, replacing it');
      void this.withSlot(slot, async () => {
        const record = this.records.get(slot);
        if (!record || record.worker !== worker) return;
        record.worker = null;
        await worker.close();
        if (!this.closed && record.state === 'online') record.worker = this.spawnWorker(slot, record.port);
      });
    });
    return worker;
  }

  private publish(): void {
    this.snapshot = Object.freeze(
      [...this.records.values()]
        .map((r): SlotEntry => Object.freeze({ slot: r.slot, key: r.key, port: r.port, sn: r.sn, state: r.state, reason: r.reason, identity: r.identity }))
        .sort(naturalSlotOrder),
    );
  }

  // ---- identity map -------------------------------------------------------------------

  private async loadIdentities(): Promise<void> {
    if (this.identitiesLoaded) return;
    this.identitiesLoaded = true;
    const file = this.options.identityFile;
    if (!file) return;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.options.logger.warn({ err, file }, 'slot names not loaded');
      return;
    }
    try {
      const parsed = JSON.parse(text) as Partial<IdentityFile>;
      if (parsed.version !== IDENTITY_FILE_VERSION || !Array.isArray(parsed.slots)) throw new Error('unknown format');
      const keys = new Set<string>();
      for (const s of parsed.slots) {
        if (typeof s?.slot !== 'string' || !/^slot\d{2,}$/.test(s.slot) || typeof s.key !== 'string' || typeof s.port !== 'string') continue;
        if (this.records.has(s.slot) || keys.has(s.key)) continue;
        keys.add(s.key);
        const sn = typeof s.sn === 'string' ? s.sn : null;
        this.records.set(s.slot, { slot: s.slot, key: s.key, port: s.port, sn, state: 'offline', reason: 'device not found since the daemon started', identity: null, worker: null });
      }
      this.persisted = text;
    } catch (err) {
      this.options.logger.warn({ err, file }, 'slot names not loaded: the file is not a slot identity map');
    }
  }

  private async saveIdentities(): Promise<void> {
    const file = this.options.identityFile;
    if (!file) return;
    const doc: IdentityFile = {
      version: IDENTITY_FILE_VERSION,
      slots: [...this.records.values()].sort(naturalSlotOrder).map((r) => ({ slot: r.slot, key: r.key, port: r.port, sn: r.sn })),
    };
    const text = `${JSON.stringify(doc, null, 2)}\n`;
    if (text === this.persisted) return;
    try {
      await writeFileAtomic(file, text);
      this.persisted = text;
    } catch (err) {
      this.options.logger.warn({ err, file }, 'slot names not saved');
    }
  }

  // ---- use ---------------------------------------------------------------------------

  /**
   * The slot's worker, connected to its device (the engine's `SlotAccess`). Waits for a rescan
   * in progress; refuses an unknown or offline slot; replaces a crashed worker.
   */
  async acquire(slot: string): Promise<SlotWorker> {
    await this.exclusiveIdle();
    return this.withSlot(slot, async () => {
      const record = this.records.get(slot);
      if (!record || this.closed) throw new DaemonError('DEVICE_STATE', `slot ${slot} is not registered`);
      if (record.state === 'offline') throw new DaemonError('DEVICE_STATE', `${slot} is offline: ${record.reason ?? 'device not found'}`);
      if (record.worker && !record.worker.isUsable) {
        const old = record.worker;
        record.worker = null;
        await old.close();
      }
      const worker = (record.worker ??= this.spawnWorker(slot, record.port));
      try {
        await worker.connect();
      } catch (err) {
        throw new DaemonError('DEVICE_STATE', `device for ${slot} does not answer: ${(err as Error).message}`, { cause: err });
      }
      return worker;
    });
  }

  /** Closes every worker (each inside its slot's lock, after any rescan). Final. */
  close(): Promise<void> {
    return this.runExclusive(async () => {
      this.closed = true;
      await Promise.all(
        [...this.records.values()].map((record) =>
          this.withSlot(record.slot, async () => {
            const worker = record.worker;
            record.worker = null;
            await worker?.close();
          }),
        ),
      );
      this.snapshot = Object.freeze([]);
    });
  }
}
