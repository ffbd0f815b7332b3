/**
 * Pool-thread side of `chromium-host.ts`: asks the host to start a Chromium and talks DevTools
 * to it over the browser's MessagePort, as a puppeteer `ConnectionTransport`.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { ConnectionTransport } from 'puppeteer-core';
import type { ChromiumControl, ChromiumEvent, ChromiumLaunchRequest } from './chromium-host.js';

export interface ChromiumExit {
  code: number | null;
  signal: string | null;
  /** Why the spawn failed, if it did. */
  error: string | null;
  /** The end of Chromium's stderr. */
  stderr: string;
}

export interface HostedChromium {
  readonly pid: number;
  /** DevTools over the relayed pipe; closing it closes the pipe, and Chromium exits. */
  readonly transport: ConnectionTransport;
  /** Resolves once the host has reaped the process (or the host went away). */
  readonly exited: Promise<ChromiumExit>;
  readonly hasExited: boolean;
  /** Closes the DevTools pipe; the host kills the browser if it does not exit within its grace period. */
  close(): void;
  /** SIGKILL to the browser's process group. Safe from an `exit` handler (one postMessage). */
  kill(): void;
  /** Waits at most `timeoutMs` for the exit; true if the browser is gone. */
  waitExit(timeoutMs: number): Promise<boolean>;
}

/**
 * Starts a browser through the host behind `launcher`. Resolves once it is spawned; rejects if the
 * spawn fails or takes longer than `timeoutMs`. The DevTools connection is up to the caller.
 */
export function launchHostedChromium(
  launcher: MessagePort,
  executablePath: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<HostedChromium> {
  const { port1: port, port2 } = new MessageChannel();
  const send = (msg: ChromiumControl): void => {
    try {
      port.postMessage(msg);
    } catch {
      // port closed: the browser is gone
    }
  };

  let exitInfo: ChromiumExit | null = null;
  let resolveExit!: (e: ChromiumExit) => void;
  const exited = new Promise<ChromiumExit>((resolve) => {
    resolveExit = resolve;
  });
  const markExited = (e: ChromiumExit): void => {
    if (exitInfo) return;
    exitInfo = e;
    resolveExit(e);
    transport.onclose?.();
  };

  // Chromium separates messages by NUL; a read may carry several, or part of one.
  let pending: Buffer[] = [];
  let transportClosed = false;
  const transport: ConnectionTransport = {
    send(message: string) {
      if (!transportClosed) send({ type: 'send', message });
    },
    close() {
      if (transportClosed) return;
      transportClosed = true;
      send({ type: 'close' });
    },
  };
  const dispatch = (bytes: Uint8Array): void => {
    const chunk = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (chunk.indexOf(0) === -1) {
      pending.push(chunk);
      return;
    }
    const all = pending.length ? Buffer.concat([...pending, chunk]) : chunk;
    let start = 0;
    let end = all.indexOf(0);
    while (end !== -1) {
      const message = all.toString('utf8', start, end);
      // Like puppeteer's PipeTransport: deliver each message on its own turn.
      setImmediate(() => transport.onmessage?.(message));
      start = end + 1;
      end = all.indexOf(0, start);
    }
    pending = start < all.length ? [all.subarray(start)] : [];
  };

  return new Promise<HostedChromium>((resolve, reject) => {
    const timer = setTimeout(() => {
      send({ type: 'kill' });
      reject(new Error(`Chromium did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    port.on('message', (event: ChromiumEvent) => {
      if (event.type === 'data') dispatch(event.bytes);
      else if (event.type === 'spawned') {
        clearTimeout(timer);
        const pid = event.pid;
        resolve({
          pid,
          transport,
          exited,
          get hasExited() {
            return exitInfo !== null;
          },
          close: () => transport.close(),
          kill: () => send({ type: 'kill' }),
          async waitExit(ms: number): Promise<boolean> {
            if (exitInfo) return true;
            let t: NodeJS.Timeout | undefined;
            const gone = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => (t = setTimeout(() => r(false), ms)))]);
            clearTimeout(t);
            return gone;
          },
        });
      } else if (event.type === 'exit') {
        clearTimeout(timer);
        markExited({ code: event.code, signal: event.signal, error: event.error, stderr: event.stderr });
        port.close();
        reject(new Error(describeExit(event)));
      }
    });
    // The host is gone (its thread ended): so is the browser.
    port.on('close', () => {
      clearTimeout(timer);
      markExited(exitInfo ?? { code: null, signal: null, error: 'Chromium host went away', stderr: '' });
      reject(new Error('Chromium host went away'));
    });
    const request: ChromiumLaunchRequest = { type: 'launch', executablePath, args, env, port: port2 };
    launcher.postMessage(request, [port2]);
  });
}

/** One line for logs and plot reasons: how the browser ended and what it said last. */
export function describeExit(e: Omit<ChromiumExit, 'stderr'> & { stderr?: string }): string {
  const how = e.error ? `spawn failed: ${e.error}` : e.signal ? `killed by ${e.signal}` : `exit code ${e.code}`;
  const said = (e.stderr ?? '').trim().split('\n').slice(-3).join(' ').slice(0, 300);
  return `Chromium ended (${how})${said ? `: ${said}` : ''}`;
}
