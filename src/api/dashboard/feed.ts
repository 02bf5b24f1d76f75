import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppLogger } from '../../log.ts';
import { redact } from '../../util/redact.ts';
import type { LogTail } from './log-tail.ts';
import { createSseHub, type SseHub, type SseHubOptions } from './sse-hub.ts';
import type { DashboardState, LogLine, StateDocument } from './types.ts';

export interface FeedOptions {
  /** Builds the current state (reads the ledger or the dispatch-file store). */
  build: () => DashboardState | Promise<DashboardState>;
  tail: LogTail;
  log: AppLogger;
  /** On average at most one snapshot per this long, however many changes arrive (default 200 ms: ≤ 5/s). */
  minGapMs?: number;
  /**
   * Snapshots that may go out back to back before the pace applies (default 3). A poll and the
   * dispatch that follows it a few ms later then both show at once, not 200 ms apart.
   */
  burst?: number;
  /** New log lines are sent together after this long (default 50 ms). */
  logBatchMs?: number;
  /** Rebuilt this often while someone watches, to catch changes made by other processes (default 5 s). */
  refreshMs?: number;
  hub?: SseHubOptions;
}

/**
 * The live feed behind `/events`: a `snapshot` event on connect and after every change (bursts
 * coalesced), the log tail as one `log` event with `reset: true` on connect, then new lines as
 * they come. Nothing is built while nobody watches.
 */
export interface DashboardFeed {
  hub: SseHub;
  /** Something changed: a snapshot follows soon. */
  changed(): void;
  /** The `GET /api/v1/state` document. */
  document(): Promise<StateDocument>;
  /** Serves one `/events` connection. */
  stream(request: IncomingMessage, response: ServerResponse): Promise<void>;
  close(): void;
}

export function createDashboardFeed(options: FeedOptions): DashboardFeed {
  const minGapMs = options.minGapMs ?? 200;
  const burst = Math.max(1, options.burst ?? 3);
  const logBatchMs = options.logBatchMs ?? 50;
  const refreshMs = options.refreshMs ?? 5_000;
  let refresh: NodeJS.Timeout | undefined;
  const hub = createSseHub({
    ...options.hub,
    onSizeChange(size) {
      options.hub?.onSizeChange?.(size);
      if (size > 0 && !refresh && !closed) refresh = setInterval(() => feed.changed(), refreshMs).unref();
      if (size === 0 && refresh) {
        clearInterval(refresh);
        refresh = undefined;
      }
    },
  });
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let building = false;
  let again = false;
  // A token bucket: `burst` tokens, one back every minGapMs (the clock starts when one is spent from a full bucket).
  let tokens = burst;
  let refilledAt = 0;
  const refill = (now: number) => {
    const earned = tokens < burst ? Math.floor((now - refilledAt) / minGapMs) : 0;
    if (earned > 0) {
      tokens = Math.min(burst, tokens + earned);
      refilledAt += earned * minGapMs;
    }
  };
  let lastSignature = '';
  let failing = false;
  let pendingLines: LogLine[] = [];
  let logTimer: NodeJS.Timeout | undefined;

  async function build(): Promise<DashboardState | undefined> {
    try {
      const state = await options.build();
      if (failing) options.log.info('dashboard: the state can be read again');
      failing = false;
      return state;
    } catch (error) {
      if (!failing) options.log.warn(`dashboard: cannot build the state: ${redact(String((error as Error)?.message ?? error))}`);
      failing = true;
      return undefined;
    }
  }

  async function sendSnapshot(): Promise<void> {
    timer = undefined;
    if (building) {
      again = true;
      return;
    }
    const now = Date.now();
    refill(now);
    if (tokens < 1) {
      timer = setTimeout(() => void sendSnapshot(), Math.max(1, refilledAt + minGapMs - now));
      return;
    }
    if (tokens === burst) refilledAt = now;
    tokens--;
    building = true;
    try {
      const state = hub.size > 0 ? await build() : undefined;
      if (state && !closed) {
        const signature = signatureOf(state);
        if (signature !== lastSignature) {
          lastSignature = signature;
          hub.broadcast('snapshot', state);
        }
      }
    } finally {
      building = false;
      if (again) {
        again = false;
        feed.changed();
      }
    }
  }

  const stopTail = options.tail.subscribe((line) => {
    if (closed || hub.size === 0) return;
    pendingLines.push(line);
    logTimer ??= setTimeout(() => {
      logTimer = undefined;
      const lines = pendingLines;
      pendingLines = [];
      hub.broadcast('log', { lines });
    }, logBatchMs);
  });

  const feed: DashboardFeed = {
    hub,
    changed() {
      if (closed || hub.size === 0 || timer) return;
      if (building) {
        again = true;
        return;
      }
      const now = Date.now();
      refill(now);
      // A zero delay still lets a synchronous burst of changes share one snapshot.
      timer = setTimeout(() => void sendSnapshot(), tokens >= 1 ? 0 : refilledAt + minGapMs - now);
    },
    async document() {
      const state = await options.build();
      return { ...state, log: options.tail.lines() };
    },
    async stream(request, response) {
      const client = hub.accept(request, response);
      if (!client.open) return;
      const state = await build();
      if (!client.open) return;
      if (state) client.send('snapshot', state);
      // A line may come both in this backlog and in the next batch: the page skips seqs it has.
      client.send('log', { reset: true, lines: options.tail.lines() });
    },
    close() {
      closed = true;
      stopTail();
      clearTimeout(timer);
      clearTimeout(logTimer);
      clearInterval(refresh);
      refresh = undefined;
      hub.close();
    },
  };
  return feed;
}

/** What makes two snapshots different for a viewer: not the clock fields, which the page advances itself. */
function signatureOf(state: DashboardState): string {
  const { generatedAt: _generatedAt, uptimeMs: _uptimeMs, ...rest } = state;
  return JSON.stringify(rest, (key, value) => (key === 'elapsedMs' ? undefined : value));
}
