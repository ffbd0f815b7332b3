/**
 * Finds potentiostat ports (rest-api.md 8.1): USB serial ports with the BEEP VID/PID,
 * ordered by physical USB location (by-path name) where known, else by natural path
 * order; then the ports named in BEEP_PORTS (paths or globs), in the order given.
 */
import { readFile, readdir, readlink, realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { SerialPort } from 'serialport';
import { USB_PRODUCT_ID, USB_VENDOR_ID } from '../protocol/constants.js';
import type { PortInfo } from '../port/port.js';

export interface PortCandidate extends PortInfo {
  source: 'usb' | 'config';
}

/** Natural order: "ttyACM2" < "ttyACM10". */
export function compareNatural(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true, sensitivity: 'variant' });
}

function parseHexId(id: string | undefined): number | null {
  if (!id) return null;
  const v = parseInt(id, 16);
  return Number.isFinite(v) ? v : null;
}

/** Maps real device paths to their /dev/serial/by-path names (physical USB location). */
async function readByPathLocations(dir = '/dev/serial/by-path'): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return map;
  }
  for (const name of names) {
    try {
      const target = await readlink(join(dir, name));
      map.set(resolve(dir, target), name);
    } catch {
      // vanished while listing
    }
  }
  return map;
}

export type PortLister = () => Promise<Array<{ path: string; serialNumber?: string; vendorId?: string; productId?: string; locationId?: string }>>;

async function readAttribute(dir: string, name: string): Promise<string | undefined> {
  try {
    return (await readFile(join(dir, name), 'utf8')).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Lists USB serial ports straight from sysfs. serialport's Linux lister runs `udevadm`,
 * which minimal boxes and containers lack; the kernel's view is enough for VID/PID,
 * serial number and location.
 */
export async function listSysfsSerialPorts(sysRoot = '/sys', devRoot = '/dev'): Promise<Awaited<ReturnType<PortLister>>> {
  const classDir = join(sysRoot, 'class', 'tty');
  let names: string[];
  try {
    names = await readdir(classDir);
  } catch {
    return [];
  }
  const ports: Awaited<ReturnType<PortLister>> = [];
  for (const name of names.sort(compareNatural)) {
    let iface: string;
    try {
      iface = await realpath(join(classDir, name, 'device'));
    } catch {
      continue; // virtual terminal: no device behind it
    }
    // ttyACM: device = USB interface, its parent is the USB device; ttyUSB: one level deeper.
    for (const usbInterface of [iface, dirname(iface)]) {
      const usbDevice = dirname(usbInterface);
      const vendorId = await readAttribute(usbDevice, 'idVendor');
      if (!vendorId) continue;
      ports.push({ path: join(devRoot, name), vendorId, productId: await readAttribute(usbDevice, 'idProduct'), serialNumber: await readAttribute(usbDevice, 'serial'), locationId: basename(usbInterface) });
      break;
    }
  }
  return ports;
}

/** serialport's lister, or sysfs when it cannot run (no udevadm). */
async function listSerialPorts(): Promise<Awaited<ReturnType<PortLister>>> {
  try {
    return await SerialPort.list();
  } catch (err) {
    if (process.platform !== 'linux') throw err;
    return listSysfsSerialPorts();
  }
}

/** USB ports with the BEEP VID/PID, in stable physical order. */
export async function listUsbBeepPorts(list: PortLister = listSerialPorts): Promise<PortCandidate[]> {
  const [ports, locations] = await Promise.all([list(), readByPathLocations()]);
  const found: PortCandidate[] = [];
  for (const p of ports) {
    const vendorId = parseHexId(p.vendorId);
    const productId = parseHexId(p.productId);
    if (vendorId !== USB_VENDOR_ID || productId !== USB_PRODUCT_ID) continue;
    found.push({ path: p.path, serialNumber: p.serialNumber ?? null, vendorId, productId, location: locations.get(p.path) ?? p.locationId ?? null, source: 'usb' });
  }
  return sortByLocation(found);
}

export function sortByLocation<T extends { path: string; location: string | null }>(ports: T[]): T[] {
  return [...ports].sort((a, b) => {
    if (a.location && b.location) return compareNatural(a.location, b.location);
    if (a.location) return -1;
    if (b.location) return 1;
    return compareNatural(a.path, b.path);
  });
}

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

/** Expands BEEP_PORTS: comma-separated paths or globs (wildcards in the last segment). */
export async function expandConfiguredPorts(spec: string | undefined): Promise<string[]> {
  const out: string[] = [];
  for (const raw of (spec ?? '').split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    if (!/[*?]/.test(entry)) {
      out.push(entry);
      continue;
    }
    const dir = dirname(entry);
    const re = globToRegExp(basename(entry));
    let names: string[] = [];
    try {
      names = await readdir(dir);
    } catch {
      names = [];
    }
    out.push(...names.filter((n) => re.test(n)).sort(compareNatural).map((n) => join(dir, n)));
  }
  return out;
}

/** All candidates: USB first (physical order), then configured ports not already found. */
export async function discoverPorts(configured: string | undefined, list?: PortLister): Promise<PortCandidate[]> {
  const usb = await listUsbBeepPorts(list);
  const seen = new Set<string>();
  for (const p of usb) seen.add(await realpath(p.path).catch(() => p.path));
  const result = [...usb];
  for (const path of await expandConfiguredPorts(configured)) {
    const real = await realpath(path).catch(() => path);
    if (seen.has(real)) continue;
    seen.add(real);
    result.push({ path, serialNumber: null, vendorId: null, productId: null, location: null, source: 'config' });
  }
  return result;
}

/** slot01, slot02, … (two-digit padding, more digits beyond 99). */
export function slotName(ordinal: number): string {
  return `slot${String(ordinal).padStart(2, '0')}`;
}
