import type { RouteConfig } from '../../config/types.ts';
import { isOwnerAlive, type LedgerData, OCCUPYING, type RunRecord } from './ledger.ts';
import { type ActiveRun, adoptRun, type ExecutorDeps, resultOfExitFile, runExitFile, runLogFile, settleRun } from './run-executor.ts';
import { findRunGroup, isProcessGroupAlive, processStartTicks, readExitStatus } from '../process/spawner.ts';

export interface RecoveryContext {
  deps: ExecutorDeps;
  routes: ReadonlyMap<string, RouteConfig>;
  /** The run is supervised by this process already. */
  isWatched(runId: string): boolean;
  /** Supervises an adopted run from now on. */
  track(run: ActiveRun): void;
}

/**
 * Adopts or settles the runs no live dispatcher watches (a crashed daemon's, a detached poll-once's):
 * a live agent is adopted, its deadline enforced; a gone one is settled by the exit status its waiter
 * wrote (or as "lost" where there is none), with a comment and the success or failure policy; a
 * reservation whose task was never claimed is dropped without a word.
 */
export async function reconcile(context: RecoveryContext, snapshot: LedgerData): Promise<void> {
  const { deps, routes } = context;
  const { ledger, log } = deps;
  // A run of this very process that it does not watch is an orphan too: a write that reserved it
  // committed though its acknowledgement was lost (PostgreSQL), or its start was cut short.
  const ownedHere = (run: RunRecord) => run.owner?.instance === ledger.owner.instance;
  const unwatched = (run: RunRecord) => OCCUPYING.has(run.status) && !context.isWatched(run.id) && (ownedHere(run) || !isOwnerAlive(run.owner, ledger.owner));
  if (!snapshot.runs.some(unwatched)) return;
  const isAlive = (run: RunRecord) => run.pgid !== undefined && isProcessGroupAlive(run.pgid) && sameProcess(run);
  const orphans = await ledger.update((data) => {
    const found: RunRecord[] = [];
    for (const run of data.runs) {
      if (!unwatched(run)) continue;
      if (run.status === 'starting' && run.pgid === undefined) findStartedAgent(deps, routes, run);
      // A detaching poll-once will not stay to watch: it leaves live agents to the next watcher.
      if (deps.detach && isAlive(run)) continue;
      run.owner = ledger.owner; // ours now: no other process settles it twice
      found.push({ ...run });
    }
    return found;
  });
  for (const run of orphans) {
    const route = routes.get(run.route);
    const alive = isAlive(run);
    if (alive && route) {
      context.track(adoptRun(deps, run, route));
    } else if (alive) {
      log.warn(`run ${run.id} of task ${run.taskId} belongs to route "${run.route}", which is no longer configured; leaving its agent alone`);
      await ledger.patch(run.id, { owner: undefined, detached: true });
    } else if (run.status === 'starting' && (await neverClaimed(deps, run))) {
      log.info(`run ${run.id} of task ${run.taskId} dropped: ${ownedHere(run) ? 'its reservation was never followed by a claim' : 'the dispatcher stopped before it claimed the task'}`);
      await ledger.patch(run.id, { status: 'claim_failed', owner: undefined, tokenHash: undefined, endedAt: new Date().toISOString(), outcome: 'never claimed: the dispatcher stopped first' });
    } else if (run.status === 'running' && run.exitFile) {
      const result = resultOfExitFile(run, run.recoveryNote ?? 'the agent ended while no dispatcher watched it');
      if (result.outcome === 'lost') log.warn(`run ${run.id} of task ${run.taskId} lost: ${result.reason}`);
      await settleRun(deps, run, route, result);
    } else {
      const reason = run.takenOverFrom
        ? `host "${run.takenOverFrom}" stopped renewing its lease (down, or cut off from the database); its agent cannot be reached from here`
        : (run.recoveryNote ?? (run.status === 'starting' ? 'the dispatcher stopped before the agent started' : 'the agent was gone when the dispatcher came back'));
      log.warn(`run ${run.id} of task ${run.taskId} lost: ${reason}`);
      await settleRun(deps, run, route, { outcome: 'lost', durationMs: run.startedAt ? Date.now() - Date.parse(run.startedAt) : 0, reason });
    }
  }
}

/**
 * A reservation whose task never reached its in-progress queue: the dispatcher died between the
 * two writes, so nothing happened to the task and there is nothing to tell anyone. Where the
 * tracker cannot say, the run is treated as lost (a comment rather than silence).
 */
async function neverClaimed({ tracker }: ExecutorDeps, run: RunRecord): Promise<boolean> {
  if (!run.inProgressQueue) return false;
  try {
    return (await tracker.getTask(run.taskId)).queue !== run.inProgressQueue;
  } catch {
    return false;
  }
}

/**
 * An agent started just before its dispatcher died, before its pid reached the ledger: found alive
 * by the DISPATCHER_RUN_ID in its environment, or already ended, by the exit status its waiter wrote.
 */
function findStartedAgent({ config, log }: ExecutorDeps, routes: ReadonlyMap<string, RouteConfig>, run: RunRecord): void {
  const exitFile = runExitFile(config.stateDir, run.id);
  const group = findRunGroup(run.id);
  if (!group && !readExitStatus(exitFile)) return;
  const timeoutMs = routes.get(run.route)?.timeoutMs ?? config.defaultAgentTimeoutMs;
  log.info(group ? `found the agent of run ${run.id} (task ${run.taskId}) by its run id [pid ${group.pid}]` : `found the exit status of run ${run.id} (task ${run.taskId})`);
  Object.assign(run, {
    status: 'running',
    ...group,
    startedAt: run.createdAt,
    deadline: timeoutMs === undefined ? undefined : Date.parse(run.createdAt) + timeoutMs,
    timeoutMs,
    logFile: runLogFile(config.stateDir, run.id),
    exitFile,
  } satisfies Partial<RunRecord>);
}

/** The pid still names the process we started (not a later one that reused the number). */
function sameProcess(run: RunRecord): boolean {
  if (!run.pid || !run.startTicks) return true;
  const now = processStartTicks(run.pid);
  return now === undefined ? true : now === run.startTicks;
}
