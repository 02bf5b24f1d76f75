import { randomUUID } from 'node:crypto';
import type { Config } from '../../config/types.ts';
import { createDispatchState, type DispatchStateStore } from '../../core/dispatch-file/state.ts';
import type { AppLogger } from '../../log.ts';
import { ensureOperatorToken } from '../operator-token.ts';
import { buildDispatchFileState } from './dispatch-file-snapshot.ts';
import { createDashboardFeed, type DashboardFeed, type FeedOptions } from './feed.ts';
import { createLogTail } from './log-tail.ts';
import { mountDashboard } from './routes.ts';
import { createDashboardAccess } from './session.ts';
import { startDashboardServer, type DashboardServer } from './standalone-server.ts';
import type { PushStatusRecorder } from '../hooks/push-status.ts';
import type { LogLine } from './types.ts';

export interface DispatchFileDashboard {
  url: string;
  /** Hand this to dispatchFile(): what the loop publishes is what the page shows. */
  state: DispatchStateStore;
  feed: DashboardFeed;
  /** Mounts another endpoint on the dashboard's server (the webhook receivers). */
  route: DashboardServer['route'];
  close(): Promise<void>;
}

export interface DispatchFileDashboardOptions {
  config: Config;
  log: AppLogger;
  /** Overrides `dispatch_file.dashboard_host` / `dashboard_port` (tests: port 0). */
  host?: string;
  port?: number;
  feed?: Partial<Pick<FeedOptions, 'minGapMs' | 'logBatchMs' | 'refreshMs' | 'hub'>>;
  /** Webhook deliveries and how the last cycle started. */
  push?: PushStatusRecorder;
}

/**
 * The dashboard of `dispatcher dispatch-file` (the reference's :8098): its own small server with
 * the API's auth rules, fed by the dispatch state store and the dispatch log lines.
 * Undefined when there is no [dispatch_file] table (dispatchFile() reports that itself).
 */
export async function startDispatchFileDashboard(options: DispatchFileDashboardOptions): Promise<DispatchFileDashboard | undefined> {
  const { config, log } = options;
  const settings = config.dispatchFile;
  if (!settings) return undefined;
  const tail = createLogTail();
  tail.attach(log);
  const store = createDispatchState({ mode: 'loop', repos: settings.repos, tasksDir: settings.tasksDir, intervalMs: settings.intervalMs });
  const state: DispatchStateStore = {
    ...store,
    appendLog(line) {
      store.appendLog(line);
      tail.push(dispatchLogLine(line));
    },
  };
  try {
    const operator = config.apiAuth === 'token' ? await ensureOperatorToken(config.stateDir) : undefined;
    const server = await startDashboardServer({
      host: options.host ?? settings.dashboardHost,
      port: options.port ?? settings.dashboardPort,
      auth: config.apiAuth,
      operatorTokenHash: operator?.hash,
      log,
      portSetting: 'dispatch_file.dashboard_port',
    });
    const instance = randomUUID();
    const feed = createDashboardFeed({
      ...options.feed,
      tail,
      log: log.withTag('dashboard'),
      build: () => buildDispatchFileState(store.get(), { trackerType: settings.backend.type, owner: settings.owner, instance, push: options.push?.snapshot() }),
    });
    const stopState = store.subscribe(() => feed.changed());
    const stopPush = options.push?.onChange(() => feed.changed());
    const port = Number(new URL(server.url).port);
    mountDashboard(server, { feed, access: createDashboardAccess({ auth: config.apiAuth, operatorToken: operator?.token, port }) });
    log.info(`dashboard on ${server.url}/${operator ? ` (on the first visit, append ?token= and the operator token from ${operator.file})` : ''}`);
    return {
      url: `${server.url}/`,
      state,
      feed,
      route: (method, path, handler, mount) => server.route(method, path, handler, mount),
      async close() {
        stopState();
        stopPush?.();
        feed.close();
        tail.detach();
        await server.close();
      },
    };
  } catch (error) {
    tail.detach();
    throw error;
  }
}

const GO_LOG_LINE = /^\[DISPATCHER\] \d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\.\d+ ([\s\S]*)$/;

/** A reference-style dispatch log line as a tail line: its own time and prefix dropped, its level guessed from its icon. */
export function dispatchLogLine(line: string, now = new Date()): Omit<LogLine, 'seq'> {
  const message = GO_LOG_LINE.exec(line)?.[1] ?? line;
  const level = message.startsWith('❌') ? 'error' : message.startsWith('⚠️') ? 'warn' : 'info';
  return { time: now.toISOString(), level, tag: 'dispatch', message };
}
