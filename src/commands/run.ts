import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandContext } from './context.ts';
import { openRuntime } from './runtime.ts';
import { runTickLoop } from '../core/dispatch/tick-loop.ts';
import type { StopSignals } from './stop-signals.ts';
import { preferSmallHeap } from '../util/long-running.ts';
import { captureLog, mountRunDashboard } from '../api/dashboard/run-dashboard.ts';
import { serveHooks, type HookServing } from '../api/hooks/serve.ts';
import { mountRefresh } from '../api/refresh.ts';
import { mountReload } from '../api/reload.ts';
import { loadConfig } from '../config/load.ts';
import { holdConfig } from '../core/supervise/reload.ts';
import { openLogFile } from './log-file.ts';

export interface RunOptions {
  /** On SIGINT/SIGTERM, wait this long for running agents before leaving them to the next start. */
  drainSeconds: number;
  /** On SIGINT/SIGTERM, stop running agents (TERM → grace → KILL) and comment. */
  stopAgents: boolean;
  /** SIGINT/SIGTERM: the first stops the loop, the second forces an exit (src/cli.ts decides how). */
  stop: StopSignals;
  /** Start even though another `run` uses the same state_dir. */
  shareStateDir?: boolean;
  /** Tests and embedding: resolves when the daemon has started. */
  onReady?: (info: { apiUrl?: string }) => void;
}

/**
 * The foreground daemon: the router ticks every poll_interval and the agent API serves beside it.
 * First SIGINT/SIGTERM: stop polling, drain (or stop) agents, exit 0. Second: leave at once; the
 * agents keep running and the next start adopts them.
 */
export async function runDaemon(context: CommandContext, options: RunOptions): Promise<void> {
  const logFile = openLogFile(context.log, context.config().logFile, context.options);
  try {
    await serve(context, options);
  } finally {
    await logFile?.close();
  }
}

async function serve(context: CommandContext, options: RunOptions): Promise<void> {
  preferSmallHeap();
  const tail = captureLog(context.log, { debug: context.options.verbose });
  const runtime = await openRuntime(context, { mode: 'run', serveApi: true, shareStateDir: options.shareStateDir }).catch((error) => {
    tail.detach();
    throw error;
  });
  const { config, log, router, requests } = runtime;
  const settings = holdConfig(config, { load: () => loadConfig({ path: context.options.config }), apply: (next) => router.reconfigure(next), log });
  let hooks: HookServing | undefined;
  const dashboard = await (async () => {
    if (runtime.api) {
      mountRefresh(runtime.api, requests);
      mountReload(runtime.api, settings);
    }
    hooks = await serveHooks({ config, mode: 'run', requests, status: runtime.push!, log, mount: runtime.api });
    return runtime.api ? mountRunDashboard({ api: runtime.api, config, ledger: runtime.ledger, router, log, tail, push: runtime.push, settings: () => ({ config: settings.current(), loadedAt: settings.loadedAt() }) }) : undefined;
  })().catch(async (error) => {
    await hooks?.close();
    await runtime.close();
    throw error;
  });
  const stopping = options.stop;
  stopping.onForce(async () => {
    log.warn('second signal: leaving now; running agents are left to the next start');
    await router.release();
  });
  const onHangUp = () => {
    log.info('SIGHUP: reloading the configuration');
    try {
      settings.reload();
    } catch {
      // Logged by reload; the configuration in force stays.
    }
  };
  process.on('SIGHUP', onHangUp);
  try {
    log.info(`dispatcher running: ${config.routes.length} route(s), polling every ${config.pollIntervalMs / 1000}s, at most ${config.maxConcurrentAgents} agents${runtime.apiUrl ? `, agent API on ${runtime.apiUrl}` : ''}`);
    options.onReady?.({ apiUrl: runtime.apiUrl });
    await runTickLoop(router, { pollIntervalMs: () => settings.current().pollIntervalMs, signal: stopping.signal, log, requests });
    log.info(`${stopping.received ?? 'stop'}: stopping; ${router.activeCount()} agent(s) running (${options.stopAgents ? 'stopping them' : `draining up to ${options.drainSeconds}s`}); send again to leave now`);
    if (options.stopAgents) {
      await router.stopAll('the dispatcher is shutting down');
    } else if (router.activeCount() > 0) {
      const drained = await Promise.race([router.waitForAll().then(() => true), sleep(options.drainSeconds * 1000, undefined, { ref: false }).then(() => false)]);
      if (!drained) {
        log.warn(`${router.activeCount()} run(s) not over after ${options.drainSeconds}s (agents still running, or outcomes the ledger has not taken); leaving them to the next start, which adopts or settles them`);
        await router.release();
      }
    }
    log.info('dispatcher stopped');
  } finally {
    process.off('SIGHUP', onHangUp);
    dashboard?.close();
    await hooks?.close();
    await runtime.close();
  }
}
