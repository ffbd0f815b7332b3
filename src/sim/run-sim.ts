/**
 * `beepbox sim`: N virtual potentiostats as real ttys, and the programmatic
 * `startSimulators` that tests use to run them in-process with access to the fault knobs.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ValidationError } from '../errors.js';
import type { CellParams } from './cell.js';
import { VirtualPotentiostat } from './device.js';
import { DirectPtyFactory } from './direct-pty.js';
import { DeviceLink } from './link.js';
import { type PtyEvent, PtyEndpoint, SimPacer } from './pty.js';

export interface SimulatorOptions {
  count: number;
  /** Directory for the ttyBEEP<n> symlinks. Default: a fresh directory under os.tmpdir(), removed on close. */
  dir?: string;
  /** Controller period (µs). Default 360. */
  intervalUs?: number;
  /** Frame jitter ±µs. Default 0. */
  jitterUs?: number;
  /** Device i (0-based) uses seed + i. Default 1. */
  seed?: number;
  /** Noise scale (1 realistic, 0 none). Default 1. */
  noise?: number;
  /** Firmware smoothing of weout/reout. Default true. */
  smoothing?: boolean;
  /** NOT firmware-faithful: push ADC pairs in PID mode (pyBEEP galvanostatic hosts). Default false. */
  pushPairsInPidMode?: boolean;
  cell?: Partial<CellParams>;
  /** Number of the first tty (ttyBEEP<firstIndex>). Default 1. */
  firstIndex?: number;
  socatPath?: string;
  /**
   * How each tty is made: 'socat' (a relay process per device, the default) or 'direct' (the
   * simulator holds the pty itself: no relay process, about half the CPU per transaction; needs
   * python3 to set the pty up, else it falls back to socat).
   */
  pty?: SimPtyKind;
  /** Delay before the pty reappears after RESET (ms). Default 300. */
  reenumerateMs?: number;
  /** Period of the shared pacing timer (ms). Default 2. */
  pacerPeriodMs?: number;
  /** Link silence gap (ms). Default 2. */
  silenceMs?: number;
  onEvent?: (event: PtyEvent) => void;
}

export type SimPtyKind = 'socat' | 'direct';
const PTY_KINDS: readonly SimPtyKind[] = ['socat', 'direct'];

export interface SimulatorSet {
  /** Symlink paths, in device order. */
  ports: string[];
  dir: string;
  devices: VirtualPotentiostat[];
  links: DeviceLink[];
  endpoints: PtyEndpoint[];
  pacer: SimPacer;
  /** Removes every pty (and the directory if it was created here). Idempotent. */
  close(): Promise<void>;
}

export async function startSimulators(options: SimulatorOptions): Promise<SimulatorSet> {
  const count = options.count;
  if (!Number.isInteger(count) || count < 1) throw new ValidationError('count', `must be an integer >= 1, got ${count}`);
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'beepbox-sim-')));
  if (!ownDir) await mkdir(dir, { recursive: true });
  const nowUs = () => performance.now() * 1000;
  const pacer = new SimPacer(options.pacerPeriodMs ?? 2, nowUs);
  const seed = options.seed ?? 1;
  const first = options.firstIndex ?? 1;
  const directPtys = options.pty === 'direct' ? new DirectPtyFactory() : undefined;
  const devices: VirtualPotentiostat[] = [];
  const links: DeviceLink[] = [];
  const endpoints: PtyEndpoint[] = [];
  for (let i = 0; i < count; i++) {
    const device = new VirtualPotentiostat({
      now: nowUs,
      tickIntervalUs: options.intervalUs,
      tickJitterUs: options.jitterUs,
      seed: seed + i,
      noise: options.noise,
      smoothing: options.smoothing,
      pushPairsInPidMode: options.pushPairsInPidMode,
      cell: options.cell,
    });
    const link = new DeviceLink(device, { seed: seed + i, silenceMs: options.silenceMs });
    const endpoint = new PtyEndpoint({
      path: path.join(dir, `ttyBEEP${first + i}`),
      link,
      socatPath: options.socatPath,
      directPtys,
      reenumerateMs: options.reenumerateMs,
      onEvent: options.onEvent,
    });
    link.on('unplug', () => pacer.remove(device));
    link.on('bootloader', () => pacer.remove(device));
    devices.push(device);
    links.push(link);
    endpoints.push(endpoint);
    pacer.add(device);
  }
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    pacer.stop();
    await Promise.all(endpoints.map((e) => e.close()));
    if (ownDir) await rm(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(endpoints.map((e) => e.start()));
  } catch (err) {
    await close();
    throw err;
  }
  pacer.start();
  return { ports: endpoints.map((e) => e.path), dir, devices, links, endpoints, pacer, close };
}

const USAGE = `usage: beepbox sim --slots N [--dir DIR] [--interval-us US] [--jitter-us US] [--seed S]
                  [--pid-fifo-compat] [--noise X] [--no-smoothing] [--watch-parent]
                  [--pty socat|direct]

Runs N virtual BEEP potentiostats as ttys DIR/ttyBEEP1..N, prints {"ports": [...]} once
they are ready, and runs until SIGINT/SIGTERM.
  --pid-fifo-compat   NOT firmware-faithful: push ADC pairs in PID (galvanostatic) mode
  --watch-parent      also stop when stdin closes: the parent process holds the other end of
                      a pipe, so the simulator (and its ptys) go when the parent dies, even
                      by SIGKILL (the daemon's BEEP_SIMULATE passes it)
  --pty KIND          socat (default): a socat relay process per tty; direct: the simulator
                      holds each pty itself, no relay (needs python3; about half the CPU).
                      Default from BEEPBOX_SIM_PTY when set`;

function parseNumber(name: string, raw: string | undefined, fallback: number, check: (x: number) => boolean, rule: string): number {
  if (raw === undefined) return fallback;
  const x = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(x) || !check(x)) throw new ValidationError(name, `${rule}, got ${JSON.stringify(raw)}`);
  return x;
}

function parsePtyKind(raw: string | undefined): SimPtyKind {
  if (raw === undefined || raw === '') return 'socat';
  const kind = PTY_KINDS.find((k) => k === raw);
  if (!kind) throw new ValidationError('pty', `must be socat or direct, got ${JSON.stringify(raw)}`);
  return kind;
}

/** CLI entry for `beepbox sim`. Resolves after SIGINT/SIGTERM once every pty is removed. */
export async function runSimCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      slots: { type: 'string' },
      dir: { type: 'string' },
      'interval-us': { type: 'string' },
      'jitter-us': { type: 'string' },
      seed: { type: 'string' },
      'pid-fifo-compat': { type: 'boolean', default: false },
      noise: { type: 'string' },
      'no-smoothing': { type: 'boolean', default: false },
      'watch-parent': { type: 'boolean', default: false },
      pty: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (values.slots === undefined) throw new ValidationError('slots', 'is required (--slots N)');
  const count = parseNumber('slots', values.slots, 1, (x) => Number.isInteger(x) && x >= 1 && x <= 1024, 'must be an integer 1..1024');
  const intervalUs = parseNumber('interval-us', values['interval-us'], 360, (x) => x >= 50 && x <= 1_000_000, 'must be a number of microseconds 50..1000000');
  const jitterUs = parseNumber('jitter-us', values['jitter-us'], 0, (x) => x >= 0, 'must be >= 0');
  const seed = parseNumber('seed', values.seed, 1, (x) => Number.isInteger(x), 'must be an integer');
  const noise = parseNumber('noise', values.noise, 1, (x) => x >= 0, 'must be >= 0');
  const pty = parsePtyKind(values.pty ?? process.env.BEEPBOX_SIM_PTY);

  // Stop requests count from here on, before the ports are announced: a parent may signal the
  // moment it reads them (the first signal listener takes a while to install, long enough to lose
  // that race and die of the default action), and one that comes during startup stops the
  // simulator cleanly once its ptys exist. A second signal after the first kills as usual.
  const watchParent = values['watch-parent'];
  let stopping = false;
  let requestStop!: () => void;
  const stopRequested = new Promise<void>((resolve) => {
    requestStop = () => {
      stopping = true;
      process.off('SIGINT', requestStop);
      process.off('SIGTERM', requestStop);
      if (watchParent) {
        process.stdin.off('end', requestStop);
        process.stdin.off('error', requestStop);
        process.stdin.destroy();
      }
      resolve();
    };
  });
  process.on('SIGINT', requestStop);
  process.on('SIGTERM', requestStop);
  if (watchParent) {
    // The parent holds the other end and never writes: EOF (or an error) means it is gone.
    process.stdin.on('end', requestStop);
    process.stdin.on('error', requestStop);
    process.stdin.on('data', () => undefined);
  }

  let sims: SimulatorSet;
  try {
    sims = await startSimulators({
      count,
      dir: values.dir === undefined ? undefined : path.resolve(values.dir),
      intervalUs,
      jitterUs,
      seed,
      noise,
      smoothing: !values['no-smoothing'],
      pushPairsInPidMode: values['pid-fifo-compat'],
      pty,
      onEvent: (e) => {
        if (e.type === 'error') process.stderr.write(`beepbox sim: ${e.error.message}\n`);
        else if (e.type === 'down') process.stderr.write(`beepbox sim: ${e.path} down (${e.reason})\n`);
      },
    });
  } catch (err) {
    if (!stopping) requestStop();
    throw err;
  }
  if (!stopping) process.stdout.write(`${JSON.stringify({ ports: sims.ports })}\n`);
  await stopRequested;
  await sims.close();
  process.exitCode = 0;
}
