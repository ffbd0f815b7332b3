/**
 * A throw-away Samba server for tests: `smbd` on a loopback port with its own config,
 * private/lock/state dirs, log file, tdbsam passdb and one share; plus the unix user tdbsam
 * needs. Used by the NAS service tests and the daemon's end-to-end NAS test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCommand } from '../../src/nas/command.js';

export const SMB_USER = 'beepnastest';
export const SHARE = 'beep';


export async function findProgram(name: string): Promise<string | null> {
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin']) {
    const p = path.join(dir, name);
    try {
      await fs.access(p);
      return p;
    } catch {
      // next
    }
  }
  return null;
}

export async function run(file: string, args: string[], input?: string): Promise<{ code: number | null; out: string }> {
  const r = await runCommand(file, args, { timeoutMs: 30_000, ...(input !== undefined ? { input } : {}) });
  return { code: r.code, out: `${r.stdout}${r.stderr}` };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export async function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/** A throw-away smbd: own config, private/lock/state/cache/pid dirs, log file and passdb. */
export class Smbd {
  readonly confPath: string;
  readonly shareDir: string;
  #child: ChildProcess | null = null;

  constructor(
    readonly dir: string,
    readonly port: number,
    readonly smbdPath: string,
  ) {
    this.confPath = path.join(dir, 'smb.conf');
    this.shareDir = path.join(dir, 'share');
  }

  async writeConfig(): Promise<void> {
    for (const d of ['private', 'lock', 'state', 'cache', 'pid', 'ncalrpc', 'binddns', 'share']) await fs.mkdir(path.join(this.dir, d), { recursive: true });
    const d = this.dir;
    const conf = `[global]
  workgroup = WORKGROUP
  server role = standalone server
  private dir = ${d}/private
  lock directory = ${d}/lock
  state directory = ${d}/state
  cache directory = ${d}/cache
  pid directory = ${d}/pid
  ncalrpc dir = ${d}/ncalrpc
  binddns dir = ${d}/binddns
  log file = ${d}/smbd.log
  max log size = 1000
  log level = 1
  passdb backend = tdbsam:${d}/private/passdb.tdb
  smb ports = ${this.port}
  interfaces = lo
  bind interfaces only = yes
  disable netbios = yes
  server min protocol = SMB2
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
  usershare max shares = 0

[${SHARE}]
  path = ${this.shareDir}
  read only = no
  valid users = ${SMB_USER}
  force user = root
`;
    await fs.writeFile(this.confPath, conf);
  }

  async start(): Promise<void> {
    const child = spawn(this.smbdPath, ['--foreground', '--no-process-group', `--configfile=${this.confPath}`], {
      stdio: 'ignore',
      detached: true,
    });
    this.#child = child;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`smbd exited with ${child.exitCode}; see ${this.dir}/smbd.log`);
      if (await portAccepts(this.port)) return;
      await sleep(100);
    }
    throw new Error('smbd did not accept connections within 20 s');
  }

  /** Stop smbd and every child it forked (its own process group). */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const killGroup = (sig: NodeJS.Signals): void => {
      try {
        process.kill(-(child.pid as number), sig);
      } catch {
        // already gone
      }
    };
    // SIGTERM to the main process only: it stops its helpers (notifyd, cleanupd, connection
    // children) and reaps them, so nothing is left behind as an orphan or zombie.
    child.kill('SIGTERM');
    const done = await Promise.race([exited.then(() => true), sleep(5000, undefined, { ref: false }).then(() => false)]);
    if (!done) {
      killGroup('SIGKILL');
      await exited;
    }
    // Wait for the rest of the process group to go, then make sure.
    const groupGone = (): boolean => {
      try {
        process.kill(-(child.pid as number), 0);
        return false;
      } catch {
        return true;
      }
    };
    const groupDeadline = Date.now() + 5000;
    while (!groupGone() && Date.now() < groupDeadline) await sleep(50);
    if (!groupGone()) killGroup('SIGKILL');
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && (await portAccepts(this.port))) await sleep(50);
  }
}


export const smbPrograms = {
  smbd: await findProgram('smbd'),
  smbclient: await findProgram('smbclient'),
  smbpasswd: await findProgram('smbpasswd'),
};

/** Why a real-Samba test cannot run here, or false. */
export const smbSkipReason: string | false = !smbPrograms.smbd
  ? 'smbd not installed (Debian package "samba")'
  : !smbPrograms.smbclient
    ? 'smbclient not installed (Debian package "smbclient")'
    : !smbPrograms.smbpasswd
      ? 'smbpasswd not installed (Debian package "samba-common-bin")'
      : !(typeof process.getuid === 'function' && process.getuid() === 0)
        ? 'needs root to create the throw-away unix user that tdbsam requires'
        : false;

/** Creates the unix user if needed; returns whether it was created (delete it afterwards). */
export async function ensureSmbUser(): Promise<boolean> {
  if ((await run('id', ['-u', SMB_USER])).code === 0) return false;
  const add = await run('useradd', ['-M', '-s', '/usr/sbin/nologin', SMB_USER]);
  if (add.code !== 0) throw new Error(`useradd failed: ${add.out}`);
  return true;
}

/** Starts an smbd in `dir` on a free loopback port with SMB_USER's password set. */
export async function startSmbd(dir: string, password: string): Promise<Smbd> {
  let smbd = new Smbd(dir, 4455 + Math.floor(Math.random() * 1000), smbPrograms.smbd as string);
  if (await portAccepts(smbd.port)) smbd = new Smbd(dir, await freePort(), smbPrograms.smbd as string);
  await smbd.writeConfig();
  const pw = await run(smbPrograms.smbpasswd as string, ['-c', smbd.confPath, '-a', '-s', SMB_USER], `${password}\n${password}\n`);
  if (pw.code !== 0) throw new Error(`smbpasswd failed: ${pw.out}`);
  await smbd.start();
  return smbd;
}
