/**
 * Each virtual device is a real tty: `socat -b 4096 PTY,rawer,link=<path> STDIO` creates a
 * pseudo-terminal (raw, no echo) with a stable symlink, and its stdin/stdout pipes carry
 * the bytes to and from the device link. A host opens the symlink with serialport exactly
 * like hardware.
 *
 * - unplug: socat is killed, the symlink disappears, the host sees a hang-up.
 * - RESET (0xE1, p[0] ≠ 0): the link drops ~25 ms after the reply; socat is killed and,
 *   like a USB re-enumeration, a new pty appears at the same symlink `reenumerateMs` later.
 *
 * With a `DirectPtyFactory` (direct-pty.ts) there is no relay: the simulator holds the pty's
 * master itself and the symlink points to its slave; unplug and RESET close the master (the
 * host sees the same hang-up) and re-enumeration opens a new pty. If a direct pty cannot be
 * set up (no python3, no /dev/ptmx), the endpoint says so and falls back to socat.
 *
 * socat never outlives the simulator, even a SIGKILLed one: it exits by itself at EOF on its
 * stdin (our pipe) after its half-close timeout, and on Linux it is started through
 * `setpriv --pdeathsig KILL` (PR_SET_PDEATHSIG, then exec: same PID, no extra process), so the
 * kernel kills it the moment the thread that spawned it dies, whatever socat is doing.
 *
 * `SimPacer` is the one shared timer per process: it advances every device to the
 * monotonic clock. Devices schedule their frames at absolute times (t0 + k·interval), so
 * late wake-ups are caught up exactly and nothing drifts; injected stalls are not caught up
 * because the device rebases its schedule.
 */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { lstat, readlink, symlink, unlink } from 'node:fs/promises';
import type { VirtualPotentiostat } from './device.js';
import type { DirectPty, DirectPtyFactory } from './direct-pty.js';
import type { DeviceLink } from './link.js';

export interface PtyEndpointOptions {
  /** Symlink path of the tty, e.g. /tmp/sim/ttyBEEP1. */
  path: string;
  link: DeviceLink;
  /** socat executable. Default 'socat'. */
  socatPath?: string;
  /** Opens ptys without a relay process (shared by a simulator's endpoints to batch them). Default: none, socat relays. */
  directPtys?: DirectPtyFactory;
  /** Delay between the drop after RESET and the new pty (ms). Default 300. */
  reenumerateMs?: number;
  /** How long to wait for socat to create the pty (ms). Default 20000 (spawning 64 at once on a loaded 2-core box takes seconds). */
  readyTimeoutMs?: number;
  /** Called on state changes and unexpected socat exits (for logs). */
  onEvent?: (event: PtyEvent) => void;
}

export type PtyEvent =
  | { type: 'up'; path: string; pty: string }
  | { type: 'down'; path: string; reason: 'unplug' | 'reset' | 'bootloader' | 'close' }
  | { type: 'error'; path: string; error: Error };

const SOCAT_KILL_GRACE_MS = 1000;
/** setpriv's exit code when the program it should run does not exist (util-linux EX_EXEC_ENOENT). */
const EXEC_ENOENT = 127;
const READY_POLL_MS = 5;

export class PtyEndpoint {
  readonly path: string;
  private readonly link: DeviceLink;
  private readonly socatPath: string;
  private readonly reenumerateMs: number;
  private readonly readyTimeoutMs: number;
  private readonly onEvent: (event: PtyEvent) => void;
  private readonly directPtys: DirectPtyFactory | null;
  private child: ChildProcessWithoutNullStreams | null = null;
  private direct: DirectPty | null = null;
  /** Reply bytes a direct pty dropped because the host was not reading (its buffer full). */
  unreadReplyBytes = 0;
  private closed = false;
  private reenumerateTimer: ReturnType<typeof setTimeout> | null = null;
  /** Settles when the current start/stop transition is done. */
  private transition: Promise<void> = Promise.resolve();

  constructor(options: PtyEndpointOptions) {
    this.path = options.path;
    this.link = options.link;
    this.socatPath = options.socatPath ?? 'socat';
    this.directPtys = options.directPtys ?? null;
    this.reenumerateMs = options.reenumerateMs ?? 300;
    this.readyTimeoutMs = options.readyTimeoutMs ?? 20_000;
    this.onEvent = options.onEvent ?? (() => undefined);
    this.link.on('disconnect', (reason) => {
      this.transition = this.transition.then(() => this.takeDown()).then(() => {
        this.onEvent({ type: 'down', path: this.path, reason });
        if (reason === 'reset' && !this.closed) {
          this.reenumerateTimer = setTimeout(() => {
            this.reenumerateTimer = null;
            if (!this.closed) this.transition = this.transition.then(() => this.bringUp()).catch((error: Error) => this.onEvent({ type: 'error', path: this.path, error }));
          }, this.reenumerateMs);
        }
      });
    });
  }

  /** True while a pty exists for this device. */
  get isUp(): boolean {
    return this.child !== null || this.direct !== null;
  }

  /** Creates the pty and resolves once the symlink exists. */
  start(): Promise<void> {
    const run = this.transition.then(() => this.bringUp());
    this.transition = run.catch(() => undefined);
    return run;
  }

  /** Resolves when the pty is up again (after a RESET), or rejects after `timeoutMs`. */
  async waitUntilUp(timeoutMs = 5000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!this.isUp || this.reenumerateTimer !== null) {
      if (performance.now() > deadline) throw new Error(`${this.path} did not come back within ${timeoutMs} ms`);
      await delay(10);
      await this.transition;
    }
  }

  /** Removes the pty for good (simulator shutdown). Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.reenumerateTimer) clearTimeout(this.reenumerateTimer);
    this.reenumerateTimer = null;
    this.link.close();
    this.transition = this.transition.then(() => this.takeDown());
    await this.transition;
  }

  private async bringUp(): Promise<void> {
    if (!this.directPtys) return this.spawnSocat();
    try {
      await this.openDirect(this.directPtys);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      this.onEvent({ type: 'error', path: this.path, error: new Error(`no direct pty for ${this.path} (${reason}); using a socat relay`, { cause: err }) });
      await this.spawnSocat();
    }
  }

  private async takeDown(): Promise<void> {
    const pty = this.direct;
    this.direct = null;
    if (pty) await pty.close();
    await this.killSocat();
  }

  /** A pty whose master this process holds, linked at `path`. */
  private async openDirect(factory: DirectPtyFactory): Promise<void> {
    if (this.closed || this.isUp || this.link.isGone) return;
    await removeStaleSymlink(this.path);
    const pty = await factory.open();
    if (this.closed || this.isUp || this.link.isGone) return pty.close();
    try {
      await symlink(pty.ptsPath, this.path);
    } catch (err) {
      await pty.close();
      throw err;
    }
    this.direct = pty;
    pty.master.on('data', (chunk: Buffer) => {
      if (this.direct === pty) this.link.receive(chunk);
    });
    // Neither happens while the simulator holds the slave open; if one does, the port is gone.
    const lost = (why: string) => {
      if (this.direct !== pty) return;
      this.onEvent({ type: 'error', path: this.path, error: new Error(`pty ${pty.ptsPath} for ${this.path} failed: ${why}`) });
      if (!this.closed) this.link.unplug();
    };
    pty.master.on('error', (error: Error) => lost(error.message));
    pty.master.on('end', () => lost('end of stream'));
    this.link.connect((bytes) => {
      if (this.direct !== pty) return;
      try {
        this.unreadReplyBytes += pty.write(bytes);
      } catch (err) {
        lost(err instanceof Error ? err.message : String(err));
      }
    });
    this.onEvent({ type: 'up', path: this.path, pty: pty.ptsPath });
  }

  private async spawnSocat(): Promise<void> {
    if (this.closed || this.child || this.link.isGone) return;
    await removeStaleSymlink(this.path);
    const socatArgs = ['-b', '4096', `PTY,rawer,link=${this.path}`, 'STDIO'];
    const deathSignal = await canSetParentDeathSignal();
    if (this.closed || this.child || this.link.isGone) return;
    const child = deathSignal
      ? spawn('setpriv', ['--pdeathsig', 'KILL', '--', this.socatPath, ...socatArgs], { stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn(this.socatPath, socatArgs, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      stderr = (stderr + s).slice(-2000);
    });
    child.stdin.on('error', () => undefined); // EPIPE after socat died; the exit handler reports it
    child.stdout.on('data', (chunk: Buffer) => {
      if (this.child === child) this.link.receive(chunk);
    });
    let exitCode: number | null = null;
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => {
        exitCode = code;
        resolve(code);
      }),
    );
    let up = false;
    child.once('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = null;
      if (!up) return; // startup failure: reported by the wait loop below
      // socat died without us asking: the port is gone.
      this.onEvent({ type: 'error', path: this.path, error: new Error(`socat for ${this.path} exited (code ${code}, signal ${signal}): ${stderr.trim()}`) });
      if (!this.closed) this.link.unplug();
    });
    let failedToStart: Error | null = null;
    const notFound = (cause: unknown) => new Error(`socat not found (${this.socatPath}): virtual potentiostats need it; install it with "apt-get install socat" or "npm run setup"`, { cause });
    const spawnError = new Promise<never>((_, reject) =>
      child.once('error', (error: NodeJS.ErrnoException) => {
        if (this.child === child) this.child = null;
        failedToStart = error.code === 'ENOENT' ? notFound(error) : error;
        reject(failedToStart);
      }),
    );
    spawnError.catch(() => undefined);

    const deadline = performance.now() + this.readyTimeoutMs;
    let pty: string | null = null;
    while (pty === null) {
      pty = await readlink(this.path).catch(() => null);
      if (pty !== null) break;
      if (failedToStart) throw failedToStart;
      if (this.child !== child) {
        if (deathSignal && exitCode === EXEC_ENOENT) throw notFound(new Error(stderr.trim()));
        throw new Error(`socat for ${this.path} exited before the pty appeared: ${stderr.trim()}`);
      }
      if (performance.now() > deadline) {
        await this.killSocat();
        throw new Error(`socat did not create ${this.path} within ${this.readyTimeoutMs} ms: ${stderr.trim()}`);
      }
      await Promise.race([delay(READY_POLL_MS), spawnError, exited]);
    }
    this.link.connect((bytes) => {
      if (this.child === child) child.stdin.write(bytes);
    });
    up = true;
    this.onEvent({ type: 'up', path: this.path, pty });
  }

  private async killSocat(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), SOCAT_KILL_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    await removeStaleSymlink(this.path);
  }
}

/** One shared timer that advances every registered device to the monotonic clock. */
export class SimPacer {
  private readonly devices = new Set<VirtualPotentiostat>();
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly periodMs = 2,
    private readonly nowUs: () => number = () => performance.now() * 1000,
  ) {}

  add(device: VirtualPotentiostat): void {
    this.devices.add(device);
  }

  remove(device: VirtualPotentiostat): void {
    this.devices.delete(device);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.advanceAll(), this.periodMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Advances every device to now; returns the time used (µs). */
  advanceAll(): number {
    const t = this.nowUs();
    for (const d of this.devices) d.advanceTo(t);
    return this.nowUs() - t;
  }
}

let deathSignalProbe: Promise<boolean> | null = null;

/** Whether `setpriv --pdeathsig` works here (Linux with util-linux ≥ 2.33); probed once per process. */
function canSetParentDeathSignal(): Promise<boolean> {
  deathSignalProbe ??=
    process.platform === 'linux'
      ? new Promise<boolean>((resolve) => execFile('setpriv', ['--pdeathsig', 'KILL', '--', 'true'], { timeout: 5000 }, (err) => resolve(err === null)))
      : Promise.resolve(false);
  return deathSignalProbe;
}

async function removeStaleSymlink(path: string): Promise<void> {
  const st = await lstat(path).catch(() => null);
  if (st?.isSymbolicLink()) await unlink(path).catch(() => undefined);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
