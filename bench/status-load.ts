/**
 * Open-loop HTTP load at a fixed rate, timed so the load generator's own delays stay out of the
 * latency: each request records its lateness (when it was due → when the generator issued it),
 * its client-side queueing (issued → its last byte handed to the OS: socket assignment, the
 * client's own loop) and its latency (handed to the OS → last byte of the response). Keep-alive
 * connections, as a GUI's browser uses.
 */
import { Agent, request } from 'node:http';
import { percentile } from './stats.js';

export interface LoadRequest {
  name: string;
  method: 'GET' | 'POST';
  path: string;
  body?: string;
}

export interface LoadSample {
  name: string;
  ok: boolean;
  latenessMs: number;
  queueMs: number;
  latencyMs: number;
  /** The daemon's own handling time (Server-Timing `dur`), when it sent one. */
  serverMs: number | null;
}

const TIMEOUT_MS = 10_000;

function send(agent: Agent, base: URL, r: LoadRequest, latenessMs: number): Promise<LoadSample> {
  const issued = performance.now();
  return new Promise((resolve) => {
    let sent = NaN;
    const fail = () => resolve({ name: r.name, ok: false, latenessMs, queueMs: NaN, latencyMs: NaN, serverMs: null });
    const req = request(
      { host: base.hostname, port: base.port, path: r.path, method: r.method, agent, headers: r.body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(r.body) } : {} },
      (res) => {
        res.resume();
        res.on('error', fail);
        res.on('end', () => {
          const done = performance.now();
          const dur = Number(/dur=([\d.]+)/.exec(String(res.headers['server-timing'] ?? ''))?.[1]);
          resolve({ name: r.name, ok: (res.statusCode ?? 0) < 300, latenessMs, queueMs: sent - issued, latencyMs: done - sent, serverMs: Number.isFinite(dur) ? dur : null });
        });
      },
    );
    req.on('finish', () => (sent = performance.now()));
    req.on('error', fail);
    req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error('timeout')));
    req.end(r.body);
  });
}

/** `rate` requests/s for `seconds`, cycling through `requests` in order; every sample. */
export async function openLoop(baseUrl: string, requests: readonly LoadRequest[], rate: number, seconds: number): Promise<LoadSample[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const base = new URL(baseUrl);
  const pending: Array<Promise<LoadSample>> = [];
  const t0 = performance.now();
  try {
    for (let i = 0; ; i++) {
      const due = t0 + (i * 1000) / rate;
      if (due - t0 >= seconds * 1000) break;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      pending.push(send(agent, base, requests[i % requests.length]!, performance.now() - due));
    }
    return await Promise.all(pending);
  } finally {
    agent.destroy();
  }
}

const round = (x: number) => Number(x.toFixed(2));
const p = (xs: number[], q: number) => round(percentile([...xs].sort((a, b) => a - b), q));

export interface LoadFigures {
  requests: number;
  errors: number;
  achieved_rate: number;
  /** From the request handed to the OS to the response's last byte: the headline. */
  latency_p50_ms: number;
  latency_p99_ms: number;
  latency_max_ms: number;
  by_endpoint: Record<string, { requests: number; p50_ms: number; p99_ms: number }>;
  server_handling_p99_ms: number;
  /** The generator's own delays, kept out of the latency. */
  generator_lateness_p99_ms: number;
  generator_lateness_max_ms: number;
  client_queue_p99_ms: number;
  /** What a client would see, lateness and queueing included. */
  end_to_end_p99_ms: number;
}

export function loadFigures(samples: readonly LoadSample[], seconds: number): LoadFigures {
  const ok = samples.filter((s) => s.ok);
  const lat = ok.map((s) => s.latencyMs);
  const byEndpoint: LoadFigures['by_endpoint'] = {};
  for (const name of new Set(samples.map((s) => s.name))) {
    const xs = ok.filter((s) => s.name === name).map((s) => s.latencyMs);
    byEndpoint[name] = { requests: xs.length, p50_ms: p(xs, 50), p99_ms: p(xs, 99) };
  }
  return {
    requests: samples.length,
    errors: samples.length - ok.length,
    achieved_rate: round(samples.length / seconds),
    latency_p50_ms: p(lat, 50),
    latency_p99_ms: p(lat, 99),
    latency_max_ms: p(lat, 100),
    by_endpoint: byEndpoint,
    server_handling_p99_ms: p(ok.flatMap((s) => (s.serverMs === null ? [] : [s.serverMs])), 99),
    generator_lateness_p99_ms: p(samples.map((s) => s.latenessMs), 99),
    generator_lateness_max_ms: p(samples.map((s) => s.latenessMs), 100),
    client_queue_p99_ms: p(ok.map((s) => s.queueMs), 99),
    end_to_end_p99_ms: p(ok.map((s) => s.latenessMs + s.queueMs + s.latencyMs), 99),
  };
}
