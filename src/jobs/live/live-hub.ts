/**
 * The live streams of all runs: one {@link RunFeed} per running job (created when its first slot
 * stream opens, forgotten after `end`), the clients' keep-alives, and `open`, which the service
 * behind GET /runs/{run_id}/stream calls.
 */
import type { Readable } from 'node:stream';
import { DaemonError } from '../../errors.js';
import type { JobPlan } from '../job-plan.js';
import type { JobStatus } from '../types.js';
import { DEFAULT_CLIENT_LIMITS, LiveClient, type LiveClientLimits } from './live-client.js';
import { RunFeed, type AttachOptions } from './run-feed.js';
import { SSE_RETRY, encodeSseEvent } from './sse-frame.js';

export const KEEP_ALIVE_MS = 15_000;

export interface LiveHubOptions {
  /** The job's status as GET /jobs/{id} shows it; null when the engine does not know the run. */
  status(runId: string): JobStatus | null;
  keepAliveMs?: number;
  limits?: Partial<LiveClientLimits>;
}

export class LiveHub {
  private readonly feeds = new Map<string, RunFeed>();
  private readonly limits: LiveClientLimits;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: LiveHubOptions) {
    this.limits = { ...DEFAULT_CLIENT_LIMITS, ...options.limits };
    this.timer = setInterval(() => {
      for (const feed of this.feeds.values()) feed.keepAlive();
    }, options.keepAliveMs ?? KEEP_ALIVE_MS);
    this.timer.unref();
  }

  /** The feed of a plan's run (one per job, shared by its slots). */
  feedFor(plan: JobPlan): RunFeed {
    let feed = this.feeds.get(plan.runId);
    if (!feed) {
      const runId = plan.runId;
      const created: RunFeed = new RunFeed({
        runId,
        slots: plan.slots.map((s) => s.slot),
        status: () => this.options.status(runId),
        limits: this.limits,
        onEnd: () => {
          if (this.feeds.get(runId) === created) this.feeds.delete(runId);
        },
      });
      feed = created;
      this.feeds.set(runId, feed);
    }
    return feed;
  }

  /** Runs with a live feed and their client counts (metrics, tests). */
  stats(): { runs: number; clients: number } {
    let clients = 0;
    for (const feed of this.feeds.values()) clients += feed.clientCount;
    return { runs: this.feeds.size, clients };
  }

  /**
   * The SSE byte stream of a run for one client. A run that is not running (finished, or from
   * before a restart) answers its status, then `end`. Throws runs.not_found for an unknown run
   * or a slot that is not part of it.
   */
  open(runId: string, options: AttachOptions): Readable {
    const status = this.options.status(runId);
    if (!status) throw new DaemonError('runs.not_found', 'Run not found');
    if (options.slot !== null && !status.slots.some((s) => s.slot === options.slot)) {
      throw new DaemonError('runs.not_found', `${options.slot} is not a slot of this run`);
    }
    const feed = this.feeds.get(runId);
    const client = new LiveClient(options.slot, this.limits, (c) => feed?.detach(c));
    if (!feed) {
      client.send(SSE_RETRY, 'always', null);
      client.send(encodeSseEvent(null, 'status', status), 'always', null);
      client.finish(encodeSseEvent(null, 'end', { run_id: runId, status: status.status }));
      return client;
    }
    feed.attach(client, options);
    return client;
  }

  /** Daemon shutdown: ends every client's stream. */
  close(): void {
    clearInterval(this.timer);
    for (const feed of this.feeds.values()) feed.closeClients();
  }
}
