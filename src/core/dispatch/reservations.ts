import type { Task } from '../../../adapters/types.ts';
import type { RouteConfig } from '../../config/types.ts';
import { ACTIVE, type LedgerData, OCCUPYING, type RunOwner, type RunRecord } from '../runs/ledger.ts';
import { PRIORITIES } from './priority.ts';
import { newRunId } from '../runs/run-executor.ts';
import { createRunToken } from '../runs/run-token.ts';

/** A ready task and the route it would run on. */
export interface Candidate {
  task: Task;
  route: RouteConfig;
}

/** A slot reserved in the ledger for a task, before the task is claimed. */
export interface Reservation extends Candidate {
  run: RunRecord;
  /** The run's API token; only its hash is stored. */
  token: string;
}

export interface SlotLimits {
  /** This host's agents. */
  maxConcurrentAgents: number;
  /** With coordination: every host's agents together (routes have `clusterMaxConcurrent`). */
  clusterMaxConcurrentAgents?: number;
  routes: ReadonlyMap<string, RouteConfig>;
  owner: RunOwner;
}

/**
 * Reserves slots in `data` for candidates, in order, as many as the global and per-route limits
 * leave room for. One pass over the runs, then one over the candidates: it costs the same with 500
 * ready tasks as with 5. With coordination, a task active on any host of the same tracker is busy,
 * and the cluster caps count every host's agents (`data.cluster`).
 */
export function reserveIn(data: LedgerData, candidates: readonly Candidate[], limits: SlotLimits): Reservation[] {
  const busy = new Set<string>();
  const ranOnce = new Set<string>();
  let used = 0;
  const usedByRoute = new Map<string, number>();
  let clusterUsed = 0;
  const clusterByRoute = new Map<string, number>();
  const cluster = data.cluster;
  for (const run of cluster?.runs ?? []) {
    const sameTracker = run.tracker === cluster!.tracker;
    if (sameTracker && ACTIVE.has(run.status)) busy.add(run.taskId);
    if (!OCCUPYING.has(run.status)) continue;
    clusterUsed++;
    if (sameTracker) clusterByRoute.set(run.route, (clusterByRoute.get(run.route) ?? 0) + 1);
  }
  for (const run of data.runs) {
    if (ACTIVE.has(run.status)) busy.add(run.taskId);
    else if (run.status !== 'claim_failed' && limits.routes.get(run.route)?.inProgressQueue === undefined && limits.routes.has(run.route)) ranOnce.add(`${run.route}\u0000${run.taskId}`);
    if (OCCUPYING.has(run.status)) {
      used++;
      usedByRoute.set(run.route, (usedByRoute.get(run.route) ?? 0) + 1);
    }
  }
  const reserved: Reservation[] = [];
  const clusterCap = cluster ? limits.clusterMaxConcurrentAgents : undefined;
  for (const { task, route } of candidates) {
    if (used >= limits.maxConcurrentAgents) break;
    if (clusterCap !== undefined && clusterUsed + used >= clusterCap) break;
    if (busy.has(task.id)) continue;
    // Without an in-progress queue the task stays where it is: once is enough while the ledger remembers it.
    if (!route.inProgressQueue && ranOnce.has(`${route.queue}\u0000${task.id}`)) continue;
    const routeUsed = usedByRoute.get(route.queue) ?? 0;
    if (route.maxConcurrent !== undefined && routeUsed >= route.maxConcurrent) continue;
    if (cluster && route.clusterMaxConcurrent !== undefined && routeUsed + (clusterByRoute.get(route.queue) ?? 0) >= route.clusterMaxConcurrent) continue;
    const { token, hash } = createRunToken();
    const run: RunRecord = {
      id: newRunId(),
      taskId: task.id,
      taskName: task.name,
      taskUrl: task.url,
      route: route.queue,
      inProgressQueue: route.inProgressQueue,
      agent: route.agent,
      attempt: 1,
      maxAttempts: route.maxAttempts,
      priority: PRIORITIES[task.priority ?? 2],
      status: 'starting',
      owner: limits.owner,
      ...(cluster ? { host: cluster.hostId } : {}),
      createdAt: new Date().toISOString(),
      tokenHash: hash,
    };
    data.runs.push(run);
    reserved.push({ task, route, run: { ...run }, token });
    busy.add(task.id);
    used++;
    usedByRoute.set(route.queue, routeUsed + 1);
  }
  return reserved;
}
