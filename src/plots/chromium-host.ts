/**
 * Starts and reaps the plot Chromiums on behalf of the pool threads that drive them.
 *
 * Why not spawn in the pool thread: libuv reaps a child only from the event loop that spawned
 * it. A pool thread ends (idle timeout, cancelled render, pool destroy) while its browser still
 * runs; Chromium exits a moment later when its DevTools pipe closes, and with the spawning loop
 * gone nobody calls waitpid — the browser stays `<defunct>` until the daemon exits (two to four
 * every quarter hour on a daemon that plots now and then).
 *
 * So the host lives in the thread that owns the plot service (the daemon's main thread) and
 * outlives every pool thread. A pool thread that needs a browser sends `{type:'launch', port}`
 * over the launcher port of its render task, with a fresh MessagePort dedicated to that browser.
 * The host spawns Chromium with `--remote-debugging-pipe` and relays the DevTools pipe (fd 3 in,
 * fd 4 out, NUL-separated JSON) as raw bytes over the dedicated port; parsing stays in the pool
 * thread. When the pool thread closes the browser, or ends and its ports close with it, the host
 * closes the pipe — Chromium exits by itself, as with a direct pipe — and kills the browser's
 * process group if it still runs after a grace period. Every exit is reaped here.
 *
 * The relay costs the host thread one buffer copy per pipe read (a screenshot is a few hundred
 * kB of base64), nothing per frame of a measurement.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { Readable, Writable } from 'node:stream';

/** Pool thread → host, over a render task's launcher port. */
export interface ChromiumLaunchRequest {
  type: 'launch';
  executablePath: string;
  args: string[];
  /** Added to the host's environment. */
  env: Record<string, string>;
  /** Dedicated to this browser: carries `ChromiumControl` in, `ChromiumEvent` out. */
  port: MessagePort;
}

/** Pool thread → host, over a browser's port. */
export type ChromiumControl =
  | { type: 'send'; message: string }
  /** Close the DevTools pipe: Chromium exits by itself (killed after the grace period). */
  | { type: 'close' }
  /** SIGKILL the browser's process group now. */
  | { type: 'kill' };

/** Host → pool thread, over a browser's port. `exit` is the last message; the port closes after it. */
export type ChromiumEvent =
  | { type: 'spawned'; pid: number }
  | { type: 'data'; bytes: Uint8Array }
  | { type: 'exit'; code: number | null; signal: string | null; error: string | null; stderr: string };

export interface ChromiumHostOptions {
  /** After the pipe was closed, how long Chromium may take to exit before its group is killed (default 5 s). */
  closeGraceMs?: number;
}

export interface ChromiumLauncher {
  /** Goes into one render task's payload (and its transfer list). */
  port: MessagePort;
  /** Call once the task settled; browsers launched through the port keep running. */
  release(): void;
}

export interface ChromiumHost {
  /** A launcher port for one render task. */
  openLauncher(): ChromiumLauncher;
  /** PIDs of the browsers started here that have not been reaped yet. */
  pids(): number[];
  /** Kills every browser (process group, SIGKILL) and waits, at most `timeoutMs`, until all are reaped. */
  close(timeoutMs?: number): Promise<void>;
}

const STDERR_TAIL_BYTES = 4096;

interface Hosted {
  child: ChildProcess;
  done: Promise<void>;
  kill(): void;
}

export function createChromiumHost(options: ChromiumHostOptions = {}): ChromiumHost {
  const closeGraceMs = options.closeGraceMs ?? 5000;
  const browsers = new Set<Hosted>();
  const launchers = new Set<MessagePort>();
  let closed = false;

  function launch(req: ChromiumLaunchRequest): void {
    const port = req.port;
    const post = (event: ChromiumEvent): void => {
      try {
        port.postMessage(event);
      } catch {
        // the pool thread is gone
      }
    };
    if (closed) {
      post({ type: 'exit', code: null, signal: null, error: 'plot service closed', stderr: '' });
      port.close();
      return;
    }
    let child: ChildProcess;
    try {
      child = spawn(req.executablePath, req.args, {
        // fd 3: DevTools commands in, fd 4: replies and events out (--remote-debugging-pipe).
        stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
        env: { ...process.env, ...req.env },
        // Own process group, so a kill takes the renderer/GPU/zygote helpers along (as puppeteer does).
        detached: true,
      });
    } catch (err) {
      post({ type: 'exit', code: null, signal: null, error: err instanceof Error ? err.message : String(err), stderr: '' });
      port.close();
      return;
    }
    const pipeIn = child.stdio[3] as Writable;
    const pipeOut = child.stdio[4] as Readable;
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (s: string) => {
      stderr = (stderr + s).slice(-STDERR_TAIL_BYTES);
    });
    pipeIn.on('error', () => undefined); // EPIPE once Chromium is gone: its exit is reported below
    pipeOut.on('error', () => undefined);
    pipeOut.on('data', (bytes: Buffer) => post({ type: 'data', bytes }));

    let graceTimer: NodeJS.Timeout | null = null;
    const running = (): boolean => child.exitCode === null && child.signalCode === null;
    const kill = (): void => {
      if (!running() || child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const closePipe = (): void => {
      if (!pipeIn.writableEnded) pipeIn.end();
      if (graceTimer === null && running()) {
        graceTimer = setTimeout(kill, closeGraceMs);
        graceTimer.unref();
      }
    };

    let finish!: () => void;
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const hosted: Hosted = { child, done, kill };
    browsers.add(hosted);
    let spawnError: string | null = null;
    let finished = false;
    const report = (code: number | null, signal: string | null): void => {
      if (finished) return;
      finished = true;
      if (graceTimer) clearTimeout(graceTimer);
      browsers.delete(hosted);
      post({ type: 'exit', code, signal, error: spawnError, stderr });
      port.close();
      finish();
    };
    child.on('error', (err) => {
      spawnError = err.message;
      // A failed spawn emits no 'exit' on every Node version; a running child that fails a kill does.
      if (child.pid === undefined) report(null, null);
    });
    // 'exit' means reaped. Report after the output pipe drained (a browser's last replies), but do
    // not wait on it for long: a helper that inherited the pipe could hold it open.
    child.on('exit', (code, signal) => {
      if (pipeOut.readableEnded || pipeOut.destroyed) report(code, signal);
      else {
        pipeOut.once('close', () => report(code, signal));
        setTimeout(() => report(code, signal), 1000).unref();
      }
    });
    if (child.pid !== undefined) post({ type: 'spawned', pid: child.pid });

    port.on('message', (msg: ChromiumControl) => {
      if (msg.type === 'send') {
        if (!pipeIn.writableEnded) {
          pipeIn.write(msg.message);
          pipeIn.write('\0');
        }
      } else if (msg.type === 'close') closePipe();
      else if (msg.type === 'kill') kill();
    });
    // The pool thread ended (or dropped the browser): as when a direct DevTools pipe closes.
    port.on('close', closePipe);
  }

  return {
    openLauncher(): ChromiumLauncher {
      const { port1, port2 } = new MessageChannel();
      launchers.add(port1);
      port1.on('message', (msg: ChromiumLaunchRequest) => {
        if (msg?.type === 'launch' && msg.port) launch(msg);
      });
      const release = (): void => {
        launchers.delete(port1);
        port1.close();
      };
      port1.on('close', release);
      return { port: port2, release };
    },
    pids(): number[] {
      return [...browsers].map((b) => b.child.pid).filter((pid): pid is number => pid !== undefined);
    },
    async close(timeoutMs = 5000): Promise<void> {
      closed = true;
      for (const port of [...launchers]) port.close();
      const all = [...browsers];
      for (const b of all) b.kill();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(all.map((b) => b.done)),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, timeoutMs);
        }),
      ]);
      clearTimeout(timer);
    },
  };
}
