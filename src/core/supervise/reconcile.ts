import type { Task, TrackerAdapter } from '../../../adapters/types.ts';
import { isAdapterError } from '../../errors.ts';
import type { AppLogger } from '../../log.ts';
import { redact } from '../../util/redact.ts';
import type { Ledger, RunRecord, StopRequest } from '../runs/ledger.ts';

/**
 * Reconciliation: where each running task is now, learnt from the tick's own poll (the in-progress
 * queues of running runs are polled with the watched ones: no extra request on Planka or the JSON
 * board, one per in-progress label on Gitea). A task that left its in-progress queue by someone
 * else's hand (a move through the run's own token is the agent's, recorded as `agentMovedTo`), or
 * that was deleted, has its agent stopped: outcome `cancelled`, one comment saying where the task
 * went, no retry, no success or failure move. Only a task the poll does not show in its
 * in-progress queue is looked up (one request), so a stale or partial answer never cancels a run.
 */

/** A run this process supervises whose route stops it when its task is moved. */
export interface ReconciledRun {
  record: RunRecord;
  /** When its claim was done: a poll begun earlier may not show the task where the claim put it. */
  claimedAt: number;
}

/** The in-progress queues to poll along with the watched ones. */
export function queuesToReconcile(runs: ReconciledRun[]): string[] {
  return [...new Set(runs.map((run) => run.record.inProgressQueue!))];
}

/** Where a task went: a queue, or nowhere (deleted). */
export interface Departure {
  run: RunRecord;
  /** The queue it is in now; undefined when it was deleted. */
  queue?: string;
}

/**
 * The runs whose task is not in its in-progress queue, confirmed with the tracker. `tasks` is the
 * poll's answer, begun at `polledAt`; runs claimed after that are left for the next tick.
 */
export async function findDepartures(runs: ReconciledRun[], tasks: Task[], polledAt: number, tracker: TrackerAdapter, log: AppLogger): Promise<Departure[]> {
  const where = new Map(tasks.map((task) => [task.id, task.queue]));
  const suspects = runs.filter(({ record, claimedAt }) => claimedAt <= polledAt && where.get(record.taskId) !== record.inProgressQueue);
  const departures = await Promise.all(
    suspects.map(async ({ record }): Promise<Departure | undefined> => {
      try {
        const task = await tracker.getTask(record.taskId);
        return task.queue === record.inProgressQueue ? undefined : { run: record, queue: task.queue };
      } catch (error) {
        if (isAdapterError(error, 'not_found')) return { run: record };
        log.debug(`could not tell where task ${record.taskId} is: ${redact((error as Error).message)}`);
        return undefined;
      }
    }),
  );
  return departures.filter((departure): departure is Departure => departure !== undefined);
}

/** What the comment and the log say of a departure. */
export function describeDeparture(departure: Departure): string {
  return departure.queue === undefined ? 'its task was deleted' : `its task was moved to "${departure.queue}" while it ran`;
}

/**
 * Records `cancelled` for each departed run, unless its agent moved the task there itself (through
 * its token) or another stop was decided first; decided under the ledger lock, so a move the agent
 * makes meanwhile is seen. Returns the runs to stop.
 */
export async function decideCancellations(ledger: Ledger, departures: Departure[]): Promise<Array<{ runId: string; reason: string }>> {
  if (departures.length === 0) return [];
  return ledger.update((data) => {
    const cancelled: Array<{ runId: string; reason: string }> = [];
    for (const departure of departures) {
      const run = data.runs.find((candidate) => candidate.id === departure.run.id);
      if (!run || run.status !== 'running' || run.stopRequest) continue;
      if (departure.queue !== undefined && run.agentMovedTo === departure.queue) continue;
      const reason = `${describeDeparture(departure)}; the agent was stopped`;
      const request: StopRequest = { outcome: 'cancelled', reason, at: new Date().toISOString(), ...(departure.queue === undefined ? { taskDeleted: true } : {}) };
      run.stopRequest = request;
      cancelled.push({ runId: run.id, reason });
    }
    return cancelled;
  });
}
