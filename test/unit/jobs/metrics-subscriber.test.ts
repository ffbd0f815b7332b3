/**
 * The metrics consumer against the real SlotMetrics and exposition: points are counted live from
 * blocks and brought to the mode's `points` at its end (blocks it lost while behind included, never
 * counted twice), mode outcomes and Modbus figures come from mode-ended, a failed mode counts as
 * `failed` without counters.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoxMetrics } from '../../../src/metrics/index.js';
import type { SlotContext, SlotEvent } from '../../../src/jobs/slot-events.js';
import { startingModeCounters } from '../../../src/jobs/mode-counters.js';
import { metricsSubscriber } from '../../../src/jobs/subscribers/metrics-subscriber.js';

function newMetrics(): BoxMetrics {
  return new BoxMetrics({
    identity: { boxId: 'box', version: '0', build: 'b' },
    state: { jobsByState: () => ({}), busySlots: () => 0, uploads: () => null },
    loopDelay: { window: () => ({ p50_ms: 1, p99_ms: 2, max_ms: 3 }), totals: () => ({ count: 1, sum_s: 0.001 }) },
  });
}

/** Only what the consumer reads of its context. */
function contextFor(slot: string, modes: string[]): SlotContext {
  return {
    plan: { steps: modes.map((mode, index) => ({ index, mode, token: mode })) },
    slotIndex: 0,
    slot: { slot },
    signal: new AbortController().signal,
    publish: () => undefined,
  } as unknown as SlotContext;
}

function sample(text: string, line: string): number {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  assert.ok(found, `${line} in the exposition`);
  return Number(found.slice(line.length + 1));
}

const block = (modeIndex: number, count: number): SlotEvent => ({
  type: 'block', modeIndex, firstIndex: 0, count, current: new Float32Array(count), potential: new Float32Array(count),
});

test('points live from blocks, made exact at the mode end; mode outcomes, Modbus figures and failures', async () => {
  const metrics = newMetrics();
  const sub = metricsSubscriber(metrics.slots)(contextFor('slot07', ['CV', 'CA', 'LSV']))!;
  assert.equal(sub.essential, false, 'never holds the slot back');
  // Synchronous: handled at once on the supervisor's loop, nothing queues behind it.
  const feed = (event: SlotEvent): void => assert.equal(sub.handle(event), undefined);
  feed(block(0, 100));
  feed(block(0, 50));
  assert.equal(sample(await metrics.render(), 'beepbox_points_received_total{slot="slot07"}'), 150, 'live');
  feed({ type: 'integrity', modeIndex: 0, event: { kind: 'overload', planIndex: 3, count: 4, message: 'x' } });
  // The mode delivered 180 rows: 30 in blocks this consumer did not get (its queue was full).
  feed({ type: 'dropped', count: 1 });
  const counters = { ...startingModeCounters(200), points: 180, lost: 20, dac_underruns: 2, adc_overflows: 1, overloads: 4 };
  feed({ type: 'mode-ended', modeIndex: 0, counters, error: null, at: 'now', link: { transactions: 40, busy_replies: 3, timeouts: 1 } });
  feed(block(1, 10));
  feed({ type: 'mode-ended', modeIndex: 1, counters: { ...startingModeCounters(10), points: 10, stop_reason: 'charge_cutoff' }, error: null, at: 'now', link: { transactions: 5, busy_replies: 0, timeouts: 0 } });
  feed(block(2, 7));
  feed({ type: 'mode-ended', modeIndex: 2, counters: null, error: 'device gone', at: 'now', link: null });

  const text = await metrics.render();
  const slot = '{slot="slot07"}';
  assert.equal(sample(text, `beepbox_points_received_total${slot}`), 180 + 10 + 7, 'each row once: dropped blocks added at the end, the failed mode keeps what arrived');
  assert.equal(sample(text, `beepbox_points_lost_total${slot}`), 20);
  assert.equal(sample(text, `beepbox_dac_underruns_total${slot}`), 2);
  assert.equal(sample(text, `beepbox_adc_overflows_total${slot}`), 1);
  assert.equal(sample(text, `beepbox_overloads_total${slot}`), 4);
  assert.equal(sample(text, `beepbox_modbus_transactions_total${slot}`), 45);
  assert.equal(sample(text, `beepbox_modbus_busy_replies_total${slot}`), 3);
  assert.equal(sample(text, `beepbox_modbus_timeouts_total${slot}`), 1);
  assert.equal(sample(text, 'beepbox_modes_total{slot="slot07",mode="CV",outcome="completed"}'), 1);
  assert.equal(sample(text, 'beepbox_modes_total{slot="slot07",mode="CA",outcome="charge_cutoff"}'), 1);
  assert.equal(sample(text, 'beepbox_modes_total{slot="slot07",mode="LSV",outcome="failed"}'), 1);
  assert.equal(sample(text, 'beepbox_integrity_events_total{slot="slot07",kind="overload"}'), 1);
});

test('the loop-delay summary reads the monitor; each daemon has its own registry', async () => {
  const a = newMetrics();
  const b = newMetrics();
  a.observeRequest('GET', '/jobs/{run_id}', 200, 0.003);
  a.observeRequest('GET', null, 404, 0.001);
  const text = await a.render();
  assert.equal(sample(text, 'beepbox_event_loop_delay_seconds{quantile="0.99"}'), 0.002);
  assert.equal(sample(text, 'beepbox_event_loop_delay_seconds{quantile="1"}'), 0.003);
  assert.equal(sample(text, 'beepbox_event_loop_delay_seconds_count'), 1);
  assert.equal(sample(text, 'beepbox_http_request_duration_seconds_count{method="GET",route="/jobs/{run_id}",status_class="2xx"}'), 1);
  assert.equal(sample(text, 'beepbox_http_request_duration_seconds_count{method="GET",route="unmatched",status_class="4xx"}'), 1);
  assert.ok(!/nodejs_eventloop_lag/.test(text), "prom-client's own lag gauges are not exported");
  assert.ok(!(await b.render()).includes('route="/jobs/{run_id}"'), 'the other registry saw nothing');
  assert.match(a.contentType, /^text\/plain; version=0\.0\.4/);
});
