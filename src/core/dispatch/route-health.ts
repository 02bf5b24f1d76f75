import type { Task, TrackerAdapter } from '../../../adapters/types.ts';
import type { RouteConfig } from '../../config/types.ts';
import type { AppLogger } from '../../log.ts';
import type { BrokenRoute } from '../runs/ledger.ts';
import { isAdapterError } from '../../errors.ts';
import { redact } from '../../util/redact.ts';

/** The queue an error says cannot be resolved, if that is what it says. */
export function unresolvedQueue(error: unknown): string | undefined {
  return isAdapterError(error) ? error.queue : undefined;
}

/**
 * Routes paused because a queue of theirs (watched or in-progress) cannot be resolved: a list
 * renamed or deleted, a repository or label gone, a queue missing from the board. A paused route
 * is left out of polls, and its queue is tried again, alone, at every poll until it is back. One
 * warning when a route is paused (or paused for another reason), one info line when it resumes.
 */
/** `currentRoutes`: the routes in force (a reload may change them). */
export function createRouteHealth(currentRoutes: () => readonly RouteConfig[], log: AppLogger) {
  const broken = new Map<string, BrokenRoute>();
  const uses = (route: RouteConfig, queue: string) => route.queue === queue || route.inProgressQueue === queue;

  /** Why each paused route was last told about: the error's kind and queue (its wording, with suggestions, varies with what was polled beside it). */
  const told = new Map<string, string>();

  function pause(queue: string, error: unknown): void {
    const reason = redact((error as Error).message);
    const why = `${isAdapterError(error) ? error.kind : ''}:${queue}`;
    for (const route of currentRoutes()) {
      if (!uses(route, queue)) continue;
      const known = broken.get(route.queue);
      broken.set(route.queue, { route: route.queue, queue, reason, since: known?.since ?? new Date().toISOString() });
      if (told.get(route.queue) === why) continue;
      told.set(route.queue, why);
      const which = queue === route.queue ? 'its queue' : `its in-progress queue "${queue}"`;
      log.warn(`route "${route.queue}" paused: ${which} cannot be found: ${reason}; the other routes go on, and it resumes once the queue is back`);
    }
  }

  function resume(queue: string): void {
    for (const [name, route] of broken) {
      if (route.queue !== queue) continue;
      broken.delete(name);
      told.delete(name);
      log.info(`route "${name}" resumed: "${queue}" is back`);
    }
  }

  /**
   * The watched queues of the routes not paused, and `alsoQueues`; a queue that fails alone pauses
   * the routes using it, and the rest is asked again.
   */
  async function pollWatched(tracker: TrackerAdapter, alsoQueues: readonly string[]): Promise<Task[]> {
    const missing = new Set<string>();
    for (;;) {
      const watched = currentRoutes().filter((route) => !broken.has(route.queue)).map((route) => route.queue);
      const queues = [...new Set([...watched, ...alsoQueues])].filter((queue) => !missing.has(queue));
      if (queues.length === 0) return [];
      try {
        return await tracker.getReadyTasks(queues);
      } catch (error) {
        const queue = unresolvedQueue(error);
        if (queue === undefined || !queues.includes(queue)) throw error;
        missing.add(queue);
        pause(queue, error);
      }
    }
  }

  /** A paused route's queue, tried alone: back, still missing, or (thrown) the tracker itself failing. */
  async function probe(tracker: TrackerAdapter, queue: string): Promise<void> {
    try {
      await tracker.getReadyTasks([queue]);
      resume(queue);
    } catch (error) {
      if (unresolvedQueue(error) !== queue) throw error;
      pause(queue, error);
    }
  }

  return {
    /**
     * One poll: the ready tasks of every route not paused (and of `alsoQueues`), each paused
     * route's queue tried again beside them. Throws what the tracker throws when it fails as a whole (unreachable, credentials
     * refused): that is a failed poll, not a broken route.
     */
    async poll(tracker: TrackerAdapter, alsoQueues: readonly string[] = []): Promise<Task[]> {
      const probes = [...new Set([...broken.values()].map((route) => route.queue))].map((queue) => probe(tracker, queue));
      const [tasks] = await Promise.all([pollWatched(tracker, alsoQueues), ...probes]);
      return tasks.filter((task) => !broken.has(task.queue));
    },
    /** Pauses the routes using the queue `error` names, if it names one (a claim into a missing in-progress queue); false otherwise. */
    pauseFor(error: unknown): boolean {
      const queue = unresolvedQueue(error);
      if (queue === undefined || !currentRoutes().some((route) => uses(route, queue))) return false;
      pause(queue, error);
      return true;
    },
    isPaused: (route: string) => broken.has(route),
    /** Paused routes still in force (a reload may have removed one). */
    list: (): BrokenRoute[] => [...broken.values()].filter((paused) => currentRoutes().some((route) => route.queue === paused.route)),
  };
}

export type RouteHealth = ReturnType<typeof createRouteHealth>;
