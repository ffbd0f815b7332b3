/** GET /devices, GET /devices/status, POST /admin/rescan over the slot registry and the engine. */
import { DaemonError } from '../errors.js';
import type { JobEngine } from '../jobs/engine.js';
import { buildDeviceStatus } from '../jobs/status-views.js';
import type { DeviceInfo } from '../jobs/types.js';
import type { SlotRegistry } from '../slots/slot-registry.js';
import type { DeviceApi } from './api.js';

/**
 * Every registered slot, online and offline (`state`), sorted by slot name. The registry swaps
 * its set in one step, so this is always a complete set (during a rescan: the previous one).
 */
export function listDevices(registry: SlotRegistry): DeviceInfo[] {
  return registry
    .list()
    .map((e) => ({ slot: e.slot, port: e.port || '<unknown>', sn: e.sn, state: e.state, state_reason: e.reason }))
    .sort((a, b) => (a.slot < b.slot ? -1 : 1));
}

export function createDeviceService(registry: SlotRegistry, engine: JobEngine): DeviceApi {
  return {
    list: () => listDevices(registry),
    status: () => buildDeviceStatus(engine, listDevices(registry)),
    /**
     * 409 while any slot is reserved. Concurrent calls coalesce in the registry; a job that
     * starts while the rescan runs keeps its slot's worker (the registry skips reserved slots).
     * Answers the slots whose device is online, in slot order.
     */
    async rescan(): Promise<string[]> {
      const busy = engine.busySlots;
      if (busy.length > 0) throw new DaemonError('devices.busy', `Rescan not possible while slots are busy: ${busy.join(', ')}`, { details: { slots: busy } });
      let entries;
      try {
        entries = await registry.rescan();
      } catch (err) {
        throw new DaemonError('devices.scan_failed', 'Device discovery failed', { details: { reason: (err as Error).message }, cause: err });
      }
      return entries.filter((e) => e.state === 'online').map((e) => e.slot);
    },
  };
}
