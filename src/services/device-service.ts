/** GET /devices, GET /devices/status, POST /admin/rescan over the slot registry and the engine. */
import { DaemonError } from '../errors.js';
import type { JobEngine } from '../jobs/engine.js';
import { buildDeviceStatus } from '../jobs/status-views.js';
import type { DeviceInfo } from '../jobs/types.js';
import type { SlotRegistry } from '../slots/slot-registry.js';
import type { DeviceApi } from './api.js';

export function listDevices(registry: SlotRegistry): DeviceInfo[] {
  return registry
    .list()
    .map((e) => ({ slot: e.slot, port: e.port || '<unknown>', sn: e.sn }))
    .sort((a, b) => (a.slot < b.slot ? -1 : 1));
}

export function createDeviceService(registry: SlotRegistry, engine: JobEngine): DeviceApi {
  return {
    list: () => listDevices(registry),
    status: () => buildDeviceStatus(engine, listDevices(registry)),
    async rescan(): Promise<string[]> {
      const busy = engine.busySlots;
      if (busy.length > 0) throw new DaemonError('devices.busy', `Rescan not possible while slots are busy: ${busy.join(', ')}`, { details: { slots: busy } });
      try {
        return (await registry.rescan()).map((e) => e.slot);
      } catch (err) {
        throw new DaemonError('devices.scan_failed', 'Device discovery failed', { details: { reason: (err as Error).message }, cause: err });
      }
    },
  };
}
