import type { TrackerAdapter } from '../../adapters/types.ts';
import type { ApiServer } from '../api/server.ts';
import type { TokenRun } from '../api/auth.ts';
import { createTracker } from '../../adapters/registry.ts';
import { requireBackend, routedQueues } from '../config/load.ts';
import { checkStateDir } from '../config/state-dir.ts';
import type { Config } from '../config/types.ts';
import { type Ledger, type LedgerData, OCCUPYING } from '../core/runs/ledger.ts';
import { openLedger } from '../core/runs/open-ledger.ts';
import type { PostgresLedger } from '../core/runs/postgres/postgres-ledger.ts';
import type { Membership } from '../core/runs/postgres/host-membership.ts';
import { processStartTicks } from '../core/process/spawner.ts';
import { isProcessAlive } from '../util/file-lock.ts';
import { createRouter, type Router } from '../core/dispatch/router.ts';
import { buildStatus, clusterStatusOf } from '../core/runs/status.ts';
import { sameHash } from '../core/runs/run-token.ts';
import { createTaskService } from '../core/task-service.ts';
import type { AppLogger } from '../log.ts';
import { redact } from '../util/redact.ts';
import { ConfigError } from '../errors.ts';
import type { CommandContext } from './context.ts';
import { TickRequests } from '../core/dispatch/tick-requests.ts';
import { PushStatusRecorder } from '../api/hooks/push-status.ts';
import { verifyTracker } from './verify-tracker.ts';

/** Everything a dispatching command holds; `close()` releases it all, in reverse order. */
export interface Runtime {
  config: Config;
  log: AppLogger;
  tracker: TrackerAdapter;
  ledger: Ledger;
  router: Router;
  apiUrl?: string;
  /** Set when this process serves the API (the dashboard mounts its routes here). */
  api?: ApiServer;
  /** Asks the daemon's tick loop for a tick now (webhooks, refresh). */
  requests: TickRequests;
  /** The last delivery per tracker and the last tick's trigger (`run` only; in state_dir for `status`). */
  push?: PushStatusRecorder;
  close(): Promise<void>;
}

async function joinCluster(ledger: PostgresLedger, log: AppLogger, config: Config): Promise<Membership> {
  const { joinCluster: join } = await import('../core/runs/postgres/host-membership.ts');
  return join(ledger, log, config.coordination!.leaseTtlMs, { stateDir: config.stateDir, killGraceMs: config.killGraceMs });
}

export interface RuntimeOptions {
  mode: 'run' | 'poll-once';
  serveApi: boolean;
  detach?: boolean;
  /** `run`: start even though another `run` uses the same state_dir (otherwise refused). */
  shareStateDir?: boolean;
}

export async function openRuntime(context: CommandContext, options: RuntimeOptions): Promise<Runtime> {
  const config = context.config();
  checkStateDir(config);
  const log = context.log;
  const releasers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const release of releasers.reverse()) await release().catch((error) => log.warn(`shutdown: ${redact(String((error as Error)?.message ?? error))}`));
  };
  try {
    const tracker = await createTracker({ options: requireBackend(config), baseDir: config.baseDir, env: config.env, log, queues: routedQueues(config) });
    releasers.push(async () => tracker.close?.());
    await verifyTracker(tracker, log, options.mode === 'run' ? 'warn' : 'fail');
    if (config.coordination && options.detach) {
      throw new ConfigError('poll-once --detach cannot be used with [coordination]: a host must stay to renew its lease while its agents run (use `dispatcher run`, or poll-once without --detach)');
    }
    const ledger = await openLedger(config, { dispatching: true, waitForDatabase: options.mode === 'run', log });
    releasers.push(() => ledger.close());
    const membership = config.coordination ? await joinCluster(ledger as PostgresLedger, log, config) : undefined;
    if (membership) {
      // Given up only when nothing of this host still runs; otherwise a restart within lease_ttl takes it back and adopts its agents.
      releasers.push(async () => membership.leave({ release: await ledger.read().then((data) => !data.runs.some((run) => OCCUPYING.has(run.status)), () => false) }));
    }
    const previous = await ledger.read(); // a corrupt ledger stops us here, before anything is claimed
    const requests = new TickRequests();
    const push = options.mode === 'run' ? new PushStatusRecorder({ stateDir: config.stateDir, onWriteError: (error) => log.warn(`cannot write the push status: ${error.message}`) }) : undefined;
    if (push) {
      requests.onTick(({ trigger, at }) => push.tick(trigger, at));
      releasers.push(() => push.flush());
    }

    let api: Runtime['api'];
    let apiUrl: string | undefined;
    if (options.serveApi) {
      const { startApiServer, ensureOperatorToken } = await import('../api/server.ts');
      const operator = config.apiAuth === 'token' ? await ensureOperatorToken(config.stateDir) : undefined;
      const tokens = runTokenResolver(ledger);
      let statusOf: () => unknown = () => ({});
      const serve = (port: number) =>
        startApiServer({
          host: config.apiHost,
          port,
          auth: config.apiAuth,
          service: createTaskService(tracker),
          resolveRunToken: tokens,
          recordAgentMove: async (runId, queue) => void (await ledger.patch(runId, { agentMovedTo: queue })),
          operatorTokenHash: operator?.hash,
          status: () => statusOf(),
          log,
        });
      // Agents that outlived a restart still hold the old URL: with api_port = 0, come back on it.
      const server = config.apiPort === 0 && previous.lastApiPort ? await serve(previous.lastApiPort).catch(() => serve(0)) : await serve(config.apiPort).catch((error) => portTaken(error, config, previous.lastApiPort, serve, log));
      releasers.push(() => server.close());
      api = server;
      apiUrl = server.url;
      let identity: string | undefined;
      statusOf = async () => {
        identity ??= await tracker.whoami().catch(() => undefined);
        const health = router.health();
        const cluster = await clusterStatusOf(ledger, router.currentConfig().clusterMaxConcurrentAgents).catch(() => undefined);
        return { ...buildStatus(await ledger.read(), router.currentConfig(), ledger.owner, 20, health.paused), ...(cluster ? { cluster } : {}), identity, tracker: { type: config.backend?.type, ...health }, ...(push ? { push: push.snapshot() } : {}) };
      };
    } else if (options.detach) {
      apiUrl = (await ledger.read()).daemons.find((daemon) => daemon.apiUrl)?.apiUrl;
    }

    const router = createRouter({ config, tracker, ledger, log, apiUrl, detach: options.detach });
    membership?.start(router, () => void requests.request('takeover'));
    // Stops asked on other hosts reach this host's agents through the heartbeat.
    if (membership) {
      const unsubscribe = (ledger as PostgresLedger).onStopsPending((stops) => router.actOnRecordedStops(stops));
      releasers.push(async () => void unsubscribe());
    }
    if (api) {
      const { runRoutes } = await import('../api/run-routes.ts');
      for (const route of runRoutes(router)) api.route(route.method, route.path, route.handler, { access: route.access, doc: route.doc });
    }
    const neighbours = await ledger.update((data) => {
      const live = data.daemons.filter((daemon) => daemon.pid !== process.pid && isDaemonAlive(daemon));
      const daemons = live.filter((daemon) => daemon.mode === 'run');
      if (options.mode === 'run' && daemons.length > 0 && !options.shareStateDir) throw secondDaemon(daemons[0], config.stateDir);
      data.daemons = live;
      data.daemons.push({ ...ledger.owner, startTicks: processStartTicks(process.pid), startedAt: new Date().toISOString(), apiUrl: options.detach ? undefined : apiUrl, mode: options.mode });
      if (apiUrl && !options.detach) data.lastApiPort = Number(new URL(apiUrl).port);
      data.daemons[data.daemons.length - 1].maxAgents = config.maxConcurrentAgents;
      return daemons;
    });
    if (options.mode === 'run' && neighbours.length > 0) {
      log.warn(`another dispatcher run (pid ${neighbours[0].pid}) shares the state_dir ${config.stateDir} (--share-state-dir): the two count max_concurrent_agents together`);
    }
    releasers.push(() =>
      ledger.update((data) => {
        data.daemons = data.daemons.filter((daemon) => daemon.instance !== ledger.owner.instance);
      }),
    );
    // What is still owed to the tracker goes to the next dispatcher process at once.
    releasers.push(() => router.outbox.close());
    return { config, log, tracker, ledger, router, apiUrl, api, requests, push, close };
  } catch (error) {
    await close();
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new ConfigError(`cannot serve the agent API on ${config.apiHost}:${config.apiPort}: the port is in use (is another dispatcher running? set api_port, or 0 for any free port)`, { cause: error });
    }
    throw error;
  }
}

/**
 * The default port taken by another program (cron's `poll-once` beside some web server): the API
 * takes the port it had last time, else a free one, with a warning; agents get DISPATCHER_API_URL
 * either way. A port the config names stays an error.
 */
async function portTaken(error: unknown, config: Config, lastPort: number | undefined, serve: (port: number) => Promise<ApiServer>, log: AppLogger): Promise<ApiServer> {
  const code = ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code ?? (error as NodeJS.ErrnoException).code;
  if (code !== 'EADDRINUSE' || !config.apiPortIsDefault) throw error;
  const server = lastPort && lastPort !== config.apiPort ? await serve(lastPort).catch(() => serve(0)) : await serve(0);
  log.warn(`the default api_port ${config.apiPort} on ${config.apiHost} is in use by another program: the agent API (and dashboard) is on ${server.url} instead; set api_port in the config to choose a port`);
  return server;
}

type DaemonEntry = LedgerData['daemons'][number];

/** Still the process that registered (not a later one with its pid). */
function isDaemonAlive(daemon: DaemonEntry): boolean {
  if (!isProcessAlive(daemon.pid)) return false;
  const now = daemon.startTicks ? processStartTicks(daemon.pid) : undefined;
  return now === undefined || now === daemon.startTicks;
}

function secondDaemon(other: DaemonEntry, stateDir: string): ConfigError {
  const api = other.apiUrl ? `, API ${other.apiUrl}` : '';
  return new ConfigError(`another dispatcher run (pid ${other.pid}${api}) already uses the state_dir ${stateDir}: stop it first, or pass --share-state-dir to run both (they then count max_concurrent_agents together)`);
}

/** Run tokens are valid while their run is active in the ledger, whichever process started it. */
function runTokenResolver(ledger: Ledger) {
  let cache: { at: number; runs: Array<TokenRun & { hash: string }> } | undefined;
  const found = (hash: string): TokenRun | undefined => {
    const hit = cache?.runs.find((run) => sameHash(run.hash, hash));
    return hit ? { runId: hit.runId, taskId: hit.taskId, agent: hit.agent } : undefined;
  };
  return async (hash: string) => {
    if (cache && Date.now() - cache.at < 250) {
      const hit = found(hash);
      if (hit) return hit;
    }
    const data = await ledger.read();
    cache = {
      at: Date.now(),
      runs: data.runs.filter((run) => run.tokenHash && (run.status === 'running' || run.status === 'starting')).map((run) => ({ hash: run.tokenHash!, runId: run.id, taskId: run.taskId, agent: run.agent })),
    };
    return found(hash);
  };
}

