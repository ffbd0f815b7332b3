/** The device cards: each slot with its port, serial number, presence and what it is doing. */
import type { DeviceInfo, DeviceStatusEntry } from './api.js';
import { h, replaceChildren } from './dom.js';
import { formatDuration } from './format.js';
import { stateChip } from './jobs-view.js';

export function renderDevices(list: HTMLElement, devices: readonly DeviceInfo[], status: readonly DeviceStatusEntry[]): void {
  const bySlot = new Map(status.map((s) => [s.slot, s]));
  if (devices.length === 0) {
    replaceChildren(list, h('li', { class: 'empty' }, 'No devices found. Check the USB connections, then rescan (POST /admin/rescan).'));
    return;
  }
  replaceChildren(
    list,
    ...devices.map((d) => {
      const s = bySlot.get(d.slot);
      const offline = d.state === 'offline';
      const state = offline ? 'offline' : (s?.status ?? 'idle');
      const activity =
        offline
          ? (d.state_reason ?? 'device not present')
          : s !== undefined && s.status !== 'idle'
            ? `${s.current_mode ?? ''} ${s.progress_pct.toFixed(0)} % · ETA ${formatDuration(s.remaining_s)}`
            : 'ready';
      return h(
        'li',
        { class: `device state-${state}`, 'data-slot': d.slot },
        h('div', { class: 'device-head' }, h('strong', {}, d.slot), stateChip(state)),
        h('div', { class: 'device-port', title: d.port }, d.port, d.sn !== null ? ` · SN ${d.sn}` : ''),
        h('div', { class: 'device-activity' }, activity),
      );
    }),
  );
}
