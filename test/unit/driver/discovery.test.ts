import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareNatural, listUsbBeepPorts, slotName, sortByLocation } from '../../../src/slots/discovery.js';

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
