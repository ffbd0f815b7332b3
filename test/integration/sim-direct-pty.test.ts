/**
 * Direct ptys (`pty: 'direct'`, `beepbox sim --pty direct`): the simulator holds each pty's
 * master itself, with no relay process. Same host-visible behaviour as the socat relay:
 * transactions, a host closing and reopening its port, RESET re-enumeration, unplug; and the
 * fallback to socat when a direct pty cannot be set up.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { lstat, mkdtemp, readlink, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { PortError } from '../../src/errors.js';
import { TtyPort } from '../../src/port/tty-port.js';
import { Command, encodeCommandRequest, encodeReadRequest, measureResponse } from '../../src/protocol/index.js';
import { VirtualPotentiostat } from '../../src/sim/device.js';
import { DirectPtyFactory } from '../../src/sim/direct-pty.js';
import { DeviceLink } from '../../src/sim/link.js';
import { type PtyEvent, PtyEndpoint } from '../../src/sim/pty.js';
import { startSimulators } from '../../src/sim/run-sim.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const STATUS_IDLE = '01 03 04 00 00 00 00 FA 33';

/** One request and its whole reply (length from the reply's header), or a timeout. */
function transact(port: TtyPort, request: Uint8Array, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const bytes: number[] = [];
    const timer = setTimeout(() => reject(new Error(`no reply within ${timeoutMs} ms (got ${bytes.length} bytes)`)), timeoutMs);
    port.onData((chunk) => {
      bytes.push(...chunk);
      const reply = Uint8Array.from(bytes);
      const length = measureResponse(reply, 0, reply.length);
      if (typeof length === 'number' && reply.length >= length) {
        clearTimeout(timer);
        resolve(Array.from(reply.subarray(0, length), (x) => x.toString(16).padStart(2, '0').toUpperCase()).join(' '));
      }
    });
    port.write(request).catch(reject);
  });
}

function closeOf(port: TtyPort, timeoutMs: number): Promise<PortError | null> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no disconnect within ${timeoutMs} ms`)), timeoutMs);
    port.onClose((err) => {
      clearTimeout(timer);
      resolve(err);
    });
  });
}

const exists = (p: string) => lstat(p).then(() => true, () => false);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Processes whose command line mentions `dir` (socat relays would). */
function processesMentioning(dir: string): Promise<number> {
  return new Promise((resolve) => execFile('pgrep', ['-f', dir], (err, stdout) => resolve(err ? 0 : stdout.trim().split('\n').filter(Boolean).length)));
}

describe('virtual potentiostat over a direct pty', () => {
  it('answers, survives a host reopen and RESET, reports an unplug, with no relay process', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'beepbox-direct-pty-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const sims = await startSimulators({ count: 2, dir, pty: 'direct', noise: 0, smoothing: false, reenumerateMs: 200 });
    t.after(() => sims.close());
    assert.match(await readlink(sims.ports[0]!), /^\/dev\/pts\/\d+$/);
    assert.equal(await processesMentioning(dir), 0, 'no relay process');

    const first = await TtyPort.open(sims.ports[0]!);
    assert.equal(await transact(first, encodeReadRequest(0x0316, 2)), STATUS_IDLE);
    await first.close();
    // The simulator keeps the slave open, so the master outlives a host session.
    const port = await TtyPort.open(sims.ports[0]!);
    t.after(() => port.close());
    assert.equal(await transact(port, encodeReadRequest(0x0316, 2)), STATUS_IDLE, 'answers after the host reopened');

    const closed = closeOf(port, 2000);
    assert.equal(await transact(port, encodeCommandRequest(Command.RESET, 1)), '01 10 4F 00 00 02 57 1C');
    assert.equal((await closed)?.code, 'PORT_DISCONNECTED');
    await sims.endpoints[0]!.waitUntilUp(3000);
    const again = await TtyPort.open(sims.ports[0]!);
    t.after(() => again.close());
    assert.equal(await transact(again, encodeReadRequest(0x0316, 2)), STATUS_IDLE);
    assert.equal(sims.devices[0]!.stats.reboots, 1);

    const other = await TtyPort.open(sims.ports[1]!);
    t.after(() => other.close());
    const gone = closeOf(other, 2000);
    sims.links[1]!.unplug();
    assert.equal((await gone)?.code, 'PORT_DISCONNECTED');
    for (let i = 0; i < 50 && (await exists(sims.ports[1]!)); i++) await sleep(20);
    assert.equal(await exists(sims.ports[1]!), false, 'symlink removed');

    await sims.close();
    assert.equal(await exists(sims.ports[0]!), false);
  });

  it('a host that does not read cannot block the simulator: what does not fit is dropped, and how much is returned', async (t) => {
    const pty = await new DirectPtyFactory().open();
    t.after(() => pty.close());
    const chunk = new Uint8Array(4096).fill(0x55);
    let dropped = 0;
    let written = 0;
    const started = performance.now();
    for (let i = 0; i < 256 && dropped === 0; i++) {
      dropped = pty.write(chunk);
      written += chunk.length - dropped;
    }
    assert.ok(dropped > 0, `the tty's buffer filled up (${written} bytes written)`);
    assert.ok(written >= 4096, 'what fits is written');
    assert.ok(performance.now() - started < 1000, 'no write blocked');
    await pty.close();
    assert.equal(pty.write(chunk), chunk.length, 'nothing is written once closed');
  });

  it('falls back to a socat relay, and says so, when a direct pty cannot be set up', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'beepbox-direct-fallback-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const events: PtyEvent[] = [];
    const link = new DeviceLink(new VirtualPotentiostat({ noise: 0 }));
    const endpoint = new PtyEndpoint({ path: path.join(dir, 'ttyBEEP1'), link, directPtys: new DirectPtyFactory(path.join(dir, 'no-python')), onEvent: (e) => events.push(e) });
    t.after(() => endpoint.close());
    await endpoint.start();
    const error = events.find((e) => e.type === 'error');
    assert.match(error?.type === 'error' ? error.error.message : '', /python3 not found.*using a socat relay/);
    assert.equal(await processesMentioning(dir), 1, 'one socat relay');
    const port = await TtyPort.open(endpoint.path);
    t.after(() => port.close());
    assert.equal(await transact(port, encodeReadRequest(0x0316, 2)), STATUS_IDLE);
  });

  it('beepbox sim --pty direct: no child process; a SIGKILLed simulator hangs its ttys up', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'beepbox-direct-cli-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const sim = spawn(process.execPath, [CLI, 'sim', '--slots', '2', '--pty', 'direct', '--dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => {
      if (sim.exitCode === null && sim.signalCode === null) sim.kill('SIGKILL');
    });
    let ports: string[] = [];
    for await (const line of createInterface({ input: sim.stdout })) {
      ports = (JSON.parse(line) as { ports: string[] }).ports;
      break;
    }
    assert.equal(ports.length, 2);
    const children = await new Promise<string>((resolve) => execFile('pgrep', ['-P', String(sim.pid)], (_err, stdout) => resolve(stdout.trim())));
    assert.equal(children, '', 'no relay (or any other) child process');
    const port = await TtyPort.open(ports[1]!);
    t.after(() => port.close());
    assert.equal(await transact(port, encodeReadRequest(0x0316, 2)), STATUS_IDLE);
    const hungUp = closeOf(port, 3000);
    sim.kill('SIGKILL');
    assert.equal((await hungUp)?.code, 'PORT_DISCONNECTED', 'the kernel closed the master');
  });
});
