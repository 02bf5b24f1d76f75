import type { Task, TrackerAdapter } from '../../../adapters/types.ts';
import type { RouteConfig } from '../../config/types.ts';
import type { AppLogger } from '../../log.ts';
import { redact } from '../../util/redact.ts';

/** Claims a task: moves it to its route's in-progress queue, then adds the dispatcher to its assignees. */
export type ClaimTask = (task: Task, route: RouteConfig) => Promise<void>;

/**
 * Throws when the move fails (nothing was claimed); a failed assignment is only logged, since the
 * task is claimed by then. The tracker's identity is asked once and kept.
 */
export function createClaimer(tracker: TrackerAdapter, log: AppLogger): ClaimTask {
  let identity: string | undefined;
  return async (task, route) => {
    const move = route.inProgressQueue && task.queue !== route.inProgressQueue ? route.inProgressQueue : undefined;
    let assignee: string | undefined;
    try {
      if (identity === undefined) identity = await tracker.whoami(); // not `??= await`: no extra turn once known
      if (!task.assignees.includes(identity)) assignee = identity;
    } catch (error) {
      log.warn(`cannot tell who the dispatcher is on the tracker; task ${task.id} is claimed unassigned: ${redact((error as Error).message)}`);
    }
    if (move && tracker.claimTask) {
      // One step where the tracker can (the JSON board: one write for both).
      await tracker.claimTask(task.id, move, assignee, task.queue);
      return;
    }
    if (move) await tracker.moveTask(task.id, move);
    try {
      if (assignee) await tracker.updateTask(task.id, { assignees: [...task.assignees, assignee] });
    } catch (error) {
      log.warn(`claimed task ${task.id} but could not assign it: ${redact((error as Error).message)}`);
    }
  };
}
