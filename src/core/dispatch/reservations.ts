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
 * How much later than its row's stamp another host's change may commit, and still count as made
 * after our poll: the stamp is taken by the update, whose `commit` follows in the same round trip.
 */
export const STALE_POLL_MARGIN_MS = 1_000;

/**
 * Reserves slots in `data` for candidates, in order, as many as the global and per-route limits
 * leave room for. One pass over the runs, then one over the candidates: it costs the same with 500
 * ready tasks as with 5. With coordination, a task active on any host of the same tracker is busy,
 * and the cluster caps count every host's agents (`data.cluster`).
 *
 * `sincePollMs`: how long ago (this host's monotonic clock, measured now, after the load) the poll
 * that found the candidates began. With coordination, a task whose run stopped being active less
 * than that (plus {@link STALE_POLL_MARGIN_MS}) ago by the database's clock is busy too: the poll
 * may have seen it before another host claimed, ran and settled it, and claiming it again would
 * run it twice. Only durations are compared, never two clocks' readings. It is skipped in this
 * tick; the next poll sees where it really is.
 */
export function reserveIn(data: LedgerData, candidates: readonly Candidate[], limits: SlotLimits, sincePollMs: number): Reservation[] {
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
  if (cluster?.ended) {
    const staleWithin = sincePollMs + STALE_POLL_MARGIN_MS;
    // A poll older than what the load looked back on: a change after it may be missing, so nothing is reserved.
    if (staleWithin >= (cluster.endedWithinMs ?? 0)) return [];
    for (const run of cluster.ended) if (run.ageMs < staleWithin) busy.add(run.taskId);
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
