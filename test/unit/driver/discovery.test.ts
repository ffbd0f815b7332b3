import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareNatural, listSysfsSerialPorts, listUsbBeepPorts, slotName, sortByLocation } from '../../../src/slots/discovery.js';

test('natural order puts ttyACM2 before ttyACM10', () => {
  assert.deepEqual(['/dev/ttyACM10', '/dev/ttyACM2', '/dev/ttyACM1'].sort(compareNatural), ['/dev/ttyACM1', '/dev/ttyACM2', '/dev/ttyACM10']);
});

test('physical location wins over path; located ports come first', () => {
  const sorted = sortByLocation([
    { path: '/dev/ttyACM0', location: 'pci-0000:00:14.0-usb-0:3:1.0' },
    { path: '/dev/ttyACM9', location: null },
    { path: '/dev/ttyACM1', location: 'pci-0000:00:14.0-usb-0:1:1.0' },
    { path: '/dev/ttyACM3', location: null },
  ]);
  assert.deepEqual(sorted.map((p) => p.path), ['/dev/ttyACM1', '/dev/ttyACM0', '/dev/ttyACM3', '/dev/ttyACM9']);
});

test('only ports with the BEEP VID/PID are picked', async () => {
  const ports = await listUsbBeepPorts(async () => [
    { path: '/dev/ttyACM0', vendorId: '07e6', productId: '5653', serialNumber: '3A0F12345678' },
    { path: '/dev/ttyUSB0', vendorId: '0403', productId: '6001' },
    { path: '/dev/ttyACM1', vendorId: '07E6', productId: '5653' },
  ]);
  assert.deepEqual(ports.map((p) => [p.path, p.serialNumber]), [['/dev/ttyACM0', '3A0F12345678'], ['/dev/ttyACM1', null]]);
});

test('slot names are zero padded to two digits', () => {
  assert.deepEqual([1, 9, 10, 100].map(slotName), ['slot01', 'slot09', 'slot10', 'slot100']);
});

test('without udevadm, USB serial ports are read from sysfs: VID/PID, serial number and USB location', async () => {
  const root = await mkdtemp(join(tmpdir(), 'beepbox-sysfs-'));
  try {
    const usb = join(root, 'devices', 'pci0000:00', 'usb1');
    const acm = join(usb, '1-10', '1-10:1.0');
    const ftdi = join(usb, '1-2', '1-2:1.0', 'ttyUSB0');
    await mkdir(acm, { recursive: true });
    await mkdir(ftdi, { recursive: true });
    await writeFile(join(usb, '1-10', 'idVendor'), '07e6\n');
    await writeFile(join(usb, '1-10', 'idProduct'), '5653\n');
    await writeFile(join(usb, '1-10', 'serial'), '3A0F12345678\n');
    await writeFile(join(usb, '1-2', 'idVendor'), '0403\n');
    await writeFile(join(usb, '1-2', 'idProduct'), '6001\n');
    for (const [name, target] of [['ttyACM0', acm], ['ttyUSB0', ftdi]] as const) {
      await mkdir(join(root, 'class', 'tty', name), { recursive: true });
      await symlink(target, join(root, 'class', 'tty', name, 'device'));
    }
    await mkdir(join(root, 'class', 'tty', 'tty1'), { recursive: true }); // a console: no device link

    const ports = await listSysfsSerialPorts(root, '/dev');
    assert.deepEqual(ports, [
      { path: '/dev/ttyACM0', vendorId: '07e6', productId: '5653', serialNumber: '3A0F12345678', locationId: '1-10:1.0' },
      { path: '/dev/ttyUSB0', vendorId: '0403', productId: '6001', serialNumber: undefined, locationId: '1-2:1.0' },
    ]);
    const beep = await listUsbBeepPorts(() => listSysfsSerialPorts(root, '/dev'));
    assert.deepEqual(beep.map((p) => [p.path, p.serialNumber, p.location]), [['/dev/ttyACM0', '3A0F12345678', '1-10:1.0']]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a missing sysfs tty class lists no ports instead of failing', async () => {
  assert.deepEqual(await listSysfsSerialPorts('/nonexistent-sysfs-root'), []);
});
