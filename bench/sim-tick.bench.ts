/**
 * Micro-benchmark: controller ticks (tick + cell model + conversions) per second of one
 * core, for many virtual devices in one process, with and without host traffic.
 *
 *   npm run bench -- sim-tick [--devices 64] [--seconds 3] [--json FILE]
 *
 * Prints one JSON line per scenario as it finishes; the figures hold both.
 */
import { parseArgs } from 'node:util';
import { Command, Register, encodeCommandRequest, encodeFloat32Words, encodeReadRequest, encodeWriteRequest } from '../src/protocol/index.js';
import { VirtualPotentiostat } from '../src/sim/device.js';

export interface TickBenchResult {
  scenario: 'ticks-only' | 'cv-streaming';
  devices: number;
  simulatedSeconds: number;
  ticks: number;
  requests: number;
  wallSeconds: number;
  /** CPU time of this process (user + system): robust against other load on the machine. */
  cpuSeconds: number;
  /** Ticks per CPU second (one core). */
  ticksPerSecond: number;
  /** Devices at 2778 ticks/s that one core could carry at this rate. */
  devicesPerCoreAt2778: number;
}

/**
 * Runs `devices` devices for `simulatedSeconds` of device time as fast as possible.
 * 'ticks-only': FIFO runs with no host traffic (every tick underruns, the ADC FIFO overwrites).
 * 'cv-streaming': a triangle wave streamed like a host would (60-setpoint writes, 30-pair reads).
 */
export function runTickBench(scenario: TickBenchResult['scenario'], devices: number, simulatedSeconds: number): TickBenchResult {
  let t = 0;
  const list = Array.from({ length: devices }, (_, i) => new VirtualPotentiostat({ now: () => t, seed: i + 1 }));
  const wave = Float32Array.from({ length: 3600 }, (_, k) => (k < 1800 ? -0.3 + k / 3000 : 0.3 - (k - 1800) / 3000));
  const writes = Array.from({ length: 60 }, (_, c) => encodeWriteRequest(Register.DAC_FIFO, encodeFloat32Words(wave, c * 60, c * 60 + 60)));
  const read30 = encodeReadRequest(Register.ADC_FIFO, 120);
  let requests = 0;
  for (const d of list) {
    d.handleRequest(encodeCommandRequest(Command.SET_TIA_GAIN, 0), t);
    if (scenario === 'cv-streaming') for (let c = 0; c < 60; c++) d.handleRequest(writes[c]!, t);
    d.handleRequest(encodeCommandRequest(Command.FIFO_START, 1), t);
  }
  const stepUs = 360 * 60;
  const steps = Math.round((simulatedSeconds * 1e6) / stepUs);
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  for (let s = 1; s <= steps; s++) {
    t = s * stepUs;
    for (const d of list) {
      d.advanceTo(t);
      if (scenario === 'cv-streaming') {
        d.handleRequest(writes[s % 60]!, t);
        d.handleRequest(read30, t);
        d.handleRequest(read30, t);
        requests += 3;
      }
    }
  }
  const wallSeconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const ticks = list.reduce((sum, d) => sum + d.stats.ticks, 0);
  const ticksPerSecond = ticks / cpuSeconds;
  return {
    scenario, devices, simulatedSeconds, ticks, requests, wallSeconds, cpuSeconds,
    ticksPerSecond: Math.round(ticksPerSecond), devicesPerCoreAt2778: Math.floor(ticksPerSecond / 2778),
  };
}

export async function run(argv: string[]): Promise<object> {
  const { values } = parseArgs({ args: argv, options: { devices: { type: 'string', default: '64' }, seconds: { type: 'string', default: '3' } } });
  const devices = Number(values.devices);
  const seconds = Number(values.seconds);
  runTickBench('ticks-only', devices, 0.5); // warm-up
  const scenarios: TickBenchResult[] = [];
  for (const scenario of ['ticks-only', 'cv-streaming'] as const) {
    scenarios.push(runTickBench(scenario, devices, seconds));
    process.stdout.write(`${JSON.stringify(scenarios.at(-1))}\n`);
  }
  return { scenarios };
}
