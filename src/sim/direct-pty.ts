/**
 * A pseudo-terminal the simulator owns itself, with no relay process: the simulator holds the
 * master and reads and writes the device's bytes on it directly, where the socat relay
 * (pty.ts) costs a process, two extra pipe hops and two wake-ups per transaction.
 *
 * Node opens /dev/ptmx itself but cannot make the two ioctls a new pty needs (unlock the
 * slave, ask its number), so one short-lived `python3` does them on the inherited master fds
 * (a whole batch of ptys in one run: 64 devices start with one Python, a re-enumeration runs
 * one) and sets the line raw, as socat's `rawer` does. Nothing outlives the simulator: Python
 * exits at once, and the kernel closes the masters when the simulator dies (the host sees a
 * hang-up, as when socat is killed).
 *
 * The simulator also keeps one slave fd open for the pty's life: a master whose last slave
 * closed reads EIO until a slave opens again, which would end the read stream whenever the
 * host closes its port between two sessions.
 */
import { spawn } from 'node:child_process';
import { close, constants, open, writeSync } from 'node:fs';
import { ReadStream } from 'node:tty';
import { promisify } from 'node:util';

const openFd = promisify(open);
const closeFd = promisify(close);

/**
 * Runs on fds 3 … 3+n−1 (pty masters): unlockpt (TIOCSPTLCK 0), ptsname (TIOCGPTN), raw mode
 * with no echo (termios set on a master apply to its slave) and O_NONBLOCK (shared with the
 * simulator's fd: a host that stops reading cannot block the simulator), and prints the pty numbers.
 */
const PTY_SETUP_PY = `import fcntl, os, struct, sys, tty
numbers = []
for fd in range(3, 3 + int(sys.argv[1])):
    fcntl.ioctl(fd, 0x40045431, struct.pack('i', 0))
    numbers.append(struct.unpack('I', fcntl.ioctl(fd, 0x80045430, bytes(4)))[0])
    tty.setraw(fd)
    os.set_blocking(fd, False)
print(' '.join(map(str, numbers)))
`;
const SETUP_TIMEOUT_MS = 20_000;

/** An open pty: the master's stream (device side) and the slave's path (host side). */
export interface DirectPty {
  /** /dev/pts/<n>: what the device's symlink points to. */
  readonly ptsPath: string;
  /** Host → device bytes arrive as 'data' (reading only: replies go through `write`). */
  readonly master: ReadStream;
  /**
   * Writes a reply at once (one write(2), no stream queue or completion callback); returns the
   * bytes dropped because the host left the tty's buffer full (a USB device drops them too).
   * Nothing is written once `close` began.
   */
  write(bytes: Uint8Array): number;
  /** Closes the master (the host sees a hang-up), then the slave fd the simulator kept. */
  close(): Promise<void>;
}

/** Opens ptys in batches: requests made in the same turn of the event loop share one Python run. */
export class DirectPtyFactory {
  private pending: Array<{ resolve: (pty: DirectPty) => void; reject: (error: Error) => void }> = [];

  constructor(private readonly pythonPath = 'python3') {}

  open(): Promise<DirectPty> {
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => void this.flush());
      this.pending.push({ resolve, reject });
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    const masters: number[] = [];
    try {
      for (let i = 0; i < batch.length; i++) masters.push(await openFd('/dev/ptmx', constants.O_RDWR | constants.O_NOCTTY));
      const numbers = await this.setUp(masters);
      for (let i = 0; i < batch.length; i++) {
        const ptsPath = `/dev/pts/${numbers[i]!}`;
        const slave = await openFd(ptsPath, constants.O_RDWR | constants.O_NOCTTY);
        batch[i]!.resolve(wrap(masters[i]!, slave, ptsPath));
        masters[i] = -1; // owned by the DirectPty now
      }
    } catch (err) {
      for (const fd of masters) if (fd >= 0) await closeFd(fd).catch(() => undefined);
      const error = err instanceof Error ? err : new Error(String(err));
      for (const request of batch) request.reject(error);
    }
  }

  /** Unlocks the masters, sets them raw, returns their pty numbers (one Python run). */
  private setUp(masters: number[]): Promise<number[]> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.pythonPath, ['-c', PTY_SETUP_PY, String(masters.length)], { stdio: ['ignore', 'pipe', 'pipe', ...masters] });
      // Not spawn's own `timeout`: its timer is only cleared on 'exit', which a failed spawn never emits.
      const timer = setTimeout(() => child.kill('SIGKILL'), SETUP_TIMEOUT_MS);
      let out = '';
      let err = '';
      child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
      child.stderr!.setEncoding('utf8').on('data', (s: string) => (err = (err + s).slice(-2000)));
      child.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(e.code === 'ENOENT' ? new Error(`python3 not found (${this.pythonPath}): direct ptys need it to set up a pty; use the socat relay instead`, { cause: e }) : e);
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        const numbers = out.trim().split(/\s+/).map(Number);
        if (code === 0 && numbers.length === masters.length && numbers.every(Number.isInteger)) resolve(numbers);
        else reject(new Error(`pty set-up failed (python3 exit ${code ?? signal}): ${err.trim()}`));
      });
    });
  }
}

function wrap(masterFd: number, slaveFd: number, ptsPath: string): DirectPty {
  const master = new ReadStream(masterFd);
  let closing: Promise<void> | null = null;
  return {
    ptsPath,
    master,
    write: (bytes) => {
      let done = 0;
      // The check comes first: once the stream is destroyed the fd number may be someone else's.
      while (closing === null && done < bytes.length) {
        try {
          done += writeSync(masterFd, bytes, done);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EAGAIN') break;
          throw err;
        }
      }
      return bytes.length - done;
    },
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        if (master.closed) return resolve();
        master.once('close', () => resolve());
        master.destroy();
      }).then(() => closeFd(slaveFd).catch(() => undefined))),
  };
}
