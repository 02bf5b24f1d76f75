import type { Task, TrackerAdapter } from '../../../adapters/types.ts';
import type { Config } from '../../config/types.ts';
import { isAdapterError } from '../../errors.ts';
import type { AppLogger } from '../../log.ts';
import { redact } from '../../util/redact.ts';
import type { LedgerData } from '../runs/ledger.ts';
import { cleanupHookSetup } from './cleanup-hook-setup.ts';
import { describeWorkspaces, findWorkspaces, type PruneResult, pruneWorkspaces } from './inventory.ts';
import { hasActiveRun } from './run-workspace.ts';

export interface WorkspaceSweepDeps {
  tracker: Pick<TrackerAdapter, 'getTask' | 'getReadyTasks'>;
  ledger: { read(): Promise<LedgerData> };
  log: AppLogger;
  /** The environment before_remove inherits (minus secrets). */
  baseEnv: NodeJS.ProcessEnv;
  /** The configuration in force (a reload replaces it). */
  config(): Config;
}

/**
 * The cleanup of `run` and `poll-once`: removes the workspaces whose task reached a `remove_when_in`
 * queue while no run of it was going on (a person moved it to Done; a run's own end checks its task
 * itself). It follows a tick's poll, at most once per poll interval and one at a time, and judges
 * as `workspaces prune` does: never a workspace with a run starting, running or waiting to retry,
 * nor one a process works in. Where tasks are comes from the tick's poll first; only tasks of idle
 * workspaces the poll did not see are asked of the tracker, in one look per sweep (`getTask` for
 * one, the `remove_when_in` queues for more). No workspace, no request. A task the tracker no longer
 * knows keeps its workspace (for `prune`). Never throws: a failure is logged, the next sweep retries.
 */
export function createWorkspaceSweep(deps: WorkspaceSweepDeps) {
  let lastSweepAt = Number.NEGATIVE_INFINITY;
  let sweeping: Promise<void> | undefined;
  let lastFailure: string | undefined;

  /** A tracker failure is a warning once, then (the same again at every sweep) a debug line. */
  const failed = (message: string) => {
    deps.log[message === lastFailure ? 'debug' : 'warn'](`workspace cleanup: ${message}; tried again at the next sweep`);
    lastFailure = message;
  };

  async function lookUp(taskIds: string[], queues: string[]): Promise<Map<string, string>> {
    if (taskIds.length === 0) return new Map();
    try {
      const found =
        taskIds.length === 1
          ? [await deps.tracker.getTask(taskIds[0])]
          : (await deps.tracker.getReadyTasks(queues)).filter((task) => taskIds.includes(task.id));
      lastFailure = undefined;
      return new Map(found.map((task) => [task.id, task.queue]));
    } catch (error) {
      if (taskIds.length === 1 && isAdapterError(error, 'not_found')) return new Map();
      failed(`could not see where ${taskIds.length === 1 ? `task ${taskIds[0]} is` : `the tasks of ${taskIds.length} workspaces are`}: ${redact((error as Error).message)}`);
      return new Map();
    }
  }

  async function sweep(polled: readonly Task[]): Promise<void> {
    const config = deps.config();
    const found = (await findWorkspaces(config)).filter(({ settings }) => settings.removeWhenIn.length > 0);
    if (found.length === 0) return;
    const before = await deps.ledger.read();
    const idle = found.filter(({ record }) => !hasActiveRun(before, record.taskId));
    const seen = new Map(polled.map((task) => [task.id, task.queue]));
    const unseen = idle.filter(({ record }) => !seen.has(record.taskId));
    const looked = await lookUp([...new Set(unseen.map(({ record }) => record.taskId))], [...new Set(unseen.flatMap(({ settings }) => settings.removeWhenIn))]);
    const queueOf = (taskId: string) => seen.get(taskId) ?? looked.get(taskId);
    const due = idle.filter(({ record, settings }) => settings.removeWhenIn.includes(queueOf(record.taskId) ?? ''));
    if (due.length === 0) return;
    // Read again: a run of the task may have begun while the tracker was asked.
    const entries = await describeWorkspaces(due, await deps.ledger.read(), (taskId) => ({ queue: queueOf(taskId) }), { measure: false });
    const results = await pruneWorkspaces(entries, (entry) => cleanupHookSetup(config, deps.baseEnv, entry.record), false);
    for (const result of results) report(deps.log, result);
  }

  return {
    /**
     * After a tick's successful poll (`polled`: what it fetched): sweeps if one is due. `wait`:
     * resolves when the sweep is over (poll-once); otherwise at once, the sweep going on beside the
     * ticks (`run`, whose hooks must not hold up dispatching).
     */
    afterPoll(polled: readonly Task[], options: { wait: boolean }): Promise<void> {
      if (sweeping || Date.now() - lastSweepAt < deps.config().pollIntervalMs) return Promise.resolve();
      lastSweepAt = Date.now();
      const running = sweep(polled)
        .catch((error) => deps.log.warn(`workspace cleanup failed: ${redact(String((error as Error)?.message ?? error))}`))
        .finally(() => {
          sweeping = undefined;
        });
      sweeping = running;
      return options.wait ? running : Promise.resolve();
    },
  };
}

function report(log: AppLogger, result: PruneResult): void {
  const what = `workspace ${result.path} of task ${result.taskId}`;
  const branch = result.branch ? ` (branch ${result.branch} kept)` : '';
  if (result.action === 'removed') log[result.hookFailure ? 'warn' : 'info'](`${what} removed${branch}: ${result.reason}${result.hookFailure ? ' (removed all the same)' : ''}`);
  else if (result.action === 'failed') log.warn(`could not remove ${what}: ${result.reason}`);
  else log.debug(`${what} kept: ${result.reason}`);
}
