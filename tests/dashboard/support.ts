import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger, type AppLogger } from '../../src/log.ts';
import { ensureOperatorToken } from '../../src/api/operator-token.ts';
import { createDashboardFeed, type DashboardFeed, type FeedOptions } from '../../src/api/dashboard/feed.ts';
import { createLogTail } from '../../src/api/dashboard/log-tail.ts';
import { mountDashboard } from '../../src/api/dashboard/routes.ts';
import { createDashboardAccess } from '../../src/api/dashboard/session.ts';
import { startDashboardServer } from '../../src/api/dashboard/standalone-server.ts';
import type { DashboardState } from '../../src/api/dashboard/types.ts';
import { tempDir } from '../helpers.ts';

export interface SseEvent {
  event: string;
  data: any;
  /** performance.now() when the event was parsed. */
  at: number;
}

export interface SseStream {
  status: number;
  headers: Headers;
  events: SseEvent[];
  /** Comment lines seen (keep-alives). */
  comments: number;
  /** Resolves with the first event of that name (or any name) not taken yet by an earlier call. */
  next(name?: string, timeoutMs?: number): Promise<SseEvent>;
  /** Resolves when the server ended the stream. */
  ended: Promise<void>;
  close(): void;
}

/** A plain-HTTP Server-Sent Events client that records every event, for tests without a browser. */
export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const events: SseEvent[] = [];
  const taken = new Set<number>();
  const waiters = new Set<() => void>();
  const stream: SseStream = {
    status: response.status,
    headers: response.headers,
    events,
    comments: 0,
    async next(name, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const index = events.findIndex((event, position) => !taken.has(position) && (!name || event.event === name));
        if (index >= 0) {
          taken.add(index);
          return events[index];
        }
        if (Date.now() > deadline) throw new Error(`no "${name ?? 'any'}" event within ${timeoutMs} ms (got ${events.map((event) => event.event).join(', ') || 'none'})`);
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake);
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(wake, Math.max(1, deadline - Date.now()));
          waiters.add(wake);
        });
      }
    },
    ended: Promise.resolve(),
    close: () => abort.abort(),
  };
  stream.ended = (async () => {
    if (!response.body || !response.headers.get('content-type')?.startsWith('text/event-stream')) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) stream.comments++;
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length > 0) events.push({ event, data: JSON.parse(data.join('\n')), at: performance.now() });
          for (const wake of [...waiters]) wake();
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  return stream;
}

export function sampleState(overrides: Partial<DashboardState> = {}): DashboardState {
  const now = new Date().toISOString();
  return {
    schema: 1,
    generatedAt: now,
    instance: 'test-instance',
    mode: 'run',
    startedAt: now,
    uptimeMs: 0,
    pollIntervalMs: 1000,
    tracker: { type: 'json', status: 'ok', consecutiveFailures: 0 },
    slots: { max: 3, used: 0, free: 3 },
    running: [],
    waiting: [],
    groups: { by: 'route', columns: ['running'], rows: [] },
    recent: [],
    totals: { succeeded: 0 },
    daemons: [],
    ...overrides,
  };
}

export interface FeedServer {
  url: string;
  token: string;
  feed: DashboardFeed;
  tail: ReturnType<typeof createLogTail>;
  /** The state the next build returns. */
  state: DashboardState;
  builds: number;
  close(): Promise<void>;
}

/** The dashboard routes on a standalone server over a state the test controls. */
export async function startFeedServer(options: { auth?: 'token' | 'none'; feed?: Partial<FeedOptions>; log?: AppLogger } = {}): Promise<FeedServer> {
  const auth = options.auth ?? 'token';
  const operator = await ensureOperatorToken(join(tempDir('dispatcher-dashboard-'), 'state'));
  const server = await startDashboardServer({ host: '127.0.0.1', port: 0, auth, operatorTokenHash: operator.hash, log: options.log ?? silentLogger });
  const tail = createLogTail();
  const handle: FeedServer = {
    url: server.url,
    token: operator.token,
    tail,
    state: sampleState(),
    builds: 0,
    feed: undefined as unknown as DashboardFeed,
    async close() {
      handle.feed.close();
      await server.close();
    },
  };
  handle.feed = createDashboardFeed({
    tail,
    log: options.log ?? silentLogger,
    ...options.feed,
    build: () => {
      handle.builds++;
      return { ...handle.state, generatedAt: new Date().toISOString() };
    },
  });
  mountDashboard(server, { feed: handle.feed, access: createDashboardAccess({ auth, operatorToken: operator.token, port: Number(new URL(server.url).port) }) });
  return handle;
}

/** Debian's chromium, or the one named by DISPATCHER_CHROMIUM. */
export function findChromium(): string | undefined {
  return [process.env.DISPATCHER_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path): path is string => Boolean(path && existsSync(path)));
}

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];
