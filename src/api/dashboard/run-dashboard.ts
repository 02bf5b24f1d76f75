import { randomUUID } from 'node:crypto';
import type { Config } from '../../config/types.ts';
import type { Ledger } from '../../core/runs/ledger.ts';
import { clusterStatusOf } from '../../core/runs/status.ts';
import { redact } from '../../util/redact.ts';
import type { Router } from '../../core/dispatch/router.ts';
import type { AppLogger } from '../../log.ts';
import { ensureOperatorToken } from '../operator-token.ts';
import { createDashboardFeed, type DashboardFeed, type FeedOptions } from './feed.ts';
import { createLogTail, type LogTail } from './log-tail.ts';
import { mountDashboard, type RouteMount } from './routes.ts';
import { buildRunState } from './run-snapshot.ts';
import type { PushStatusRecorder } from '../hooks/push-status.ts';
import { createDashboardAccess } from './session.ts';
import { mountStopButton } from './stop-button.ts';

export type CapturedLog = ReturnType<typeof createLogTail>;

/** Starts keeping the log tail; call it before anything logs, so the page shows the daemon's first lines. */
export function captureLog(log: AppLogger, options: { debug?: boolean } = {}): CapturedLog {
  const tail = createLogTail();
  tail.attach(log, options.debug ? 'debug' : 'info');
  return tail;
}

export interface RunDashboardOptions {
  /** The agent API server: the dashboard lives at its `/`. */
  api: RouteMount & { url: string };
  config: Config;
  ledger: Ledger;
  router: Pick<Router, 'health' | 'onEvent' | 'stopRun'>;
  /** The configuration in force and when it was loaded (it changes on reload); default: `config`, at start. */
  settings?: () => { config: Config; loadedAt: string };
  log: AppLogger;
  tail: CapturedLog;
  /** Webhook deliveries and how the last tick started. */
  push?: PushStatusRecorder;
  /** Tests and benchmarks: feed timings. */
  feed?: Partial<Pick<FeedOptions, 'minGapMs' | 'logBatchMs' | 'refreshMs' | 'hub'>>;
}

export interface RunDashboard {
  url: string;
  feed: DashboardFeed;
  tail: LogTail;
  /** Ends the streams (call before the API server closes) and stops listening. */
  close(): void;
}

/** Mounts the dashboard of `dispatcher run` on the API server: GET /, /events, /api/v1/state. */
export async function mountRunDashboard(options: RunDashboardOptions): Promise<RunDashboard> {
  const { api, config, ledger, router, log, tail } = options;
  const operator = config.apiAuth === 'token' ? await ensureOperatorToken(config.stateDir) : undefined;
  const instance = randomUUID();
  const startedAt = new Date(Math.round(performance.timeOrigin)).toISOString();
  const loadedAt = new Date().toISOString();
  const settings = options.settings ?? (() => ({ config, loadedAt }));
  const feed = createDashboardFeed({
    // Other hosts' leases change without an event here: reread as often as they are renewed, so their ages stay true.
    ...(config.coordination ? { refreshMs: Math.max(1_000, Math.min(5_000, config.coordination.leaseTtlMs / 3)) } : {}),
    ...options.feed,
    tail,
    log: log.withTag('dashboard'),
    build: async () => {
      const now = settings();
      let clusterError: string | undefined;
      const cluster = await clusterStatusOf(ledger, now.config.clusterMaxConcurrentAgents).catch((error) => void (clusterError = redact(String((error as Error)?.message ?? error))));
      const state = buildRunState(await ledger.read(), { config: now.config, configLoadedAt: now.loadedAt, health: router.health(), self: ledger.owner, instance, startedAt, push: options.push?.snapshot(), cluster });
      return clusterError ? { ...state, clusterError } : state;
    },
  });
  const stopEvents = router.onEvent(() => feed.changed());
  const stopPush = options.push?.onChange(() => feed.changed());
  const access = createDashboardAccess({ auth: config.apiAuth, operatorToken: operator?.token, port: Number(new URL(api.url).port) });
  mountDashboard(api, { feed, access });
  mountStopButton(api, access, router);
  log.info(`dashboard on ${api.url}/${operator ? ` (on the first visit, append ?token= and the operator token from ${operator.file})` : ''}`);
  return {
    url: `${api.url}/`,
    feed,
    tail,
    close() {
      stopEvents();
      stopPush?.();
      feed.close();
      tail.detach();
    },
  };
}
