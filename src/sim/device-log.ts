/**
 * The virtual potentiostat's command and counter-electrode log: what a logic analyser on the
 * real board would show. Every command (with its parameter and outcome), every change of the
 * CE switch with its cause, and every host write to the DAC-outputs and calibration groups,
 * stamped with the device clock (µs) and the wall clock (ms). Tests read it to prove when the
 * cell was under control; it is bounded (oldest entries go first, counted in `dropped`).
 */

/** Why the CE switch changed: a host command, the firmware's own stop at the end of a run, or a power-on. */
export type CeCause = 'SET_SWITCH' | 'FIFO_START' | 'run_stop' | 'boot';

interface Stamped {
  /** Device clock, µs (the simulator's injected clock). */
  simUs: number;
  /** Wall clock, ms since the epoch, when the entry was made. */
  wallMs: number;
}

export interface CommandLogEntry extends Stamped {
  kind: 'command';
  command: number;
  name: string;
  /** First parameter byte p[0] (what the small-parameter commands look at). */
  param: number;
  /** 0 = executed, otherwise the Modbus exception code answered. */
  result: number;
  /** VCEIN potential setpoint (V) and the smoothed RE reading (V) when the command arrived. */
  vceinSetV: number;
  reoutV: number;
}

export interface CeLogEntry extends Stamped {
  kind: 'ce';
  closed: boolean;
  cause: CeCause;
  /** VCEIN potential setpoint (V) in force when the switch changed. */
  vceinSetV: number;
}

export interface WriteLogEntry extends Stamped {
  kind: 'write';
  /** Group id (high byte of the register address), e.g. 0x05 DAC outputs, 0x30 analog-input calibration. */
  group: number;
  /** The group's float32 values after the write. */
  values: number[];
}

export type DeviceLogEntry = CommandLogEntry | CeLogEntry | WriteLogEntry;

/** An interval during which the CE switch was open, [fromUs, toUs) on the device clock. */
export interface OpenInterval {
  fromUs: number;
  /** Infinity while still open. */
  toUs: number;
  openedBy: CeCause;
  closedBy: CeCause | null;
}

const DEFAULT_CAPACITY = 20_000;

export class DeviceLog {
  /** Entries discarded because the log was full. */
  dropped = 0;
  private readonly ring: DeviceLogEntry[] = [];
  private next = 0;

  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  add(entry: DeviceLogEntry): void {
    if (this.ring.length < this.capacity) {
      this.ring.push(entry);
      return;
    }
    this.ring[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
    this.dropped++;
  }

  /** Entries in time order, optionally only those at or after `sinceUs`. */
  entries(sinceUs = -Infinity): DeviceLogEntry[] {
    const ordered = this.ring.length < this.capacity ? this.ring.slice() : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
    return sinceUs === -Infinity ? ordered : ordered.filter((e) => e.simUs >= sinceUs);
  }

  clear(): void {
    this.ring.length = 0;
    this.next = 0;
    this.dropped = 0;
  }

  /** The intervals the CE switch was open within [fromUs, toUs], from the logged switch changes. */
  ceOpenIntervals(fromUs: number, toUs: number, initiallyClosed: boolean): OpenInterval[] {
    const out: OpenInterval[] = [];
    let open: OpenInterval | null = initiallyClosed ? null : { fromUs, toUs: Infinity, openedBy: 'boot', closedBy: null };
    for (const e of this.entries()) {
      if (e.kind !== 'ce' || e.simUs < fromUs || e.simUs > toUs) continue;
      if (!e.closed && !open) open = { fromUs: e.simUs, toUs: Infinity, openedBy: e.cause, closedBy: null };
      else if (e.closed && open) {
        open.toUs = e.simUs;
        open.closedBy = e.cause;
        out.push(open);
        open = null;
      }
    }
    if (open) out.push(open);
    return out;
  }
}
