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
  maxConcurrentAgents: number;
  routes: ReadonlyMap<string, RouteConfig>;
  owner: RunOwner;
}

/**
 * Reserves slots in `data` for candidates from `start` on, in order, as many as the global and
 * per-route limits leave room for; `skip` passes over candidates the caller knows to be taken.
 * One pass over the runs, then one over the candidates: it costs the same with 500 ready tasks as with 5.
 */
export function reserveIn(data: LedgerData, candidates: readonly Candidate[], limits: SlotLimits, start = 0, skip: (task: Task) => boolean = () => false): Reservation[] {
  const busy = new Set<string>();
  const ranOnce = new Set<string>();
  let used = 0;
  const usedByRoute = new Map<string, number>();
  for (const run of data.runs) {
    if (ACTIVE.has(run.status)) busy.add(run.taskId);
    else if (run.status !== 'claim_failed' && limits.routes.get(run.route)?.inProgressQueue === undefined && limits.routes.has(run.route)) ranOnce.add(`${run.route}\u0000${run.taskId}`);
    if (OCCUPYING.has(run.status)) {
      used++;
      usedByRoute.set(run.route, (usedByRoute.get(run.route) ?? 0) + 1);
    }
  }
  const reserved: Reservation[] = [];
  for (let index = start; index < candidates.length && used < limits.maxConcurrentAgents; index++) {
    const { task, route } = candidates[index];
    if (busy.has(task.id) || skip(task)) continue;
    // Without an in-progress queue the task stays where it is: once is enough while the ledger remembers it.
    if (!route.inProgressQueue && ranOnce.has(`${route.queue}\u0000${task.id}`)) continue;
    const routeUsed = usedByRoute.get(route.queue) ?? 0;
    if (route.maxConcurrent !== undefined && routeUsed >= route.maxConcurrent) continue;
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

/**
 * The last poll's candidates, kept for refilling freed slots without polling again while the poll
 * is fresh. Reservations take them from the front, so `next` skips what was taken instead of the
 * list being filtered each time. Only tasks a claim moves are kept: the tracker's guard can then
 * refuse one that has left its queue since the poll.
 */
export class RefillList {
  #poll: { at: number; candidates: Candidate[]; next: number } | undefined;
  /** Tasks reserved lately, by when: a poll that read the tracker before their claim landed still lists them. */
  readonly #reservedAt = new Map<string, number>();

  constructor(private readonly freshForMs: number) {}

  /** A fresh poll's candidates, less what was reserved while it was on its way. */
  remember(candidates: readonly Candidate[]): void {
    const since = Date.now() - 2 * this.freshForMs;
    for (const [id, at] of this.#reservedAt) if (at < since) this.#reservedAt.delete(id);
    this.#poll = { at: Date.now(), candidates: candidates.filter(({ task, route }) => route.inProgressQueue && !this.#reservedAt.has(task.id)), next: 0 };
  }

  /** Marks reservations (from a refill or a tick) as taken; returns them. */
  taken(reserved: Reservation[]): Reservation[] {
    const now = Date.now();
    for (const { task } of reserved) this.#reservedAt.set(task.id, now);
    const poll = this.#poll;
    if (poll) while (poll.next < poll.candidates.length && this.#reservedAt.has(poll.candidates[poll.next].task.id)) poll.next++;
    return reserved;
  }

  /** Reserves in `data` from the poll's untaken candidates; none when the poll is stale or used up. */
  reserveIn(data: LedgerData, limits: SlotLimits): Reservation[] {
    const poll = this.#poll;
    if (!poll || !this.ready) return [];
    return this.taken(reserveIn(data, poll.candidates, limits, poll.next, (task) => this.#reservedAt.has(task.id)));
  }

  /** Worth a ledger write: a fresh poll with candidates left. */
  get ready(): boolean {
    const poll = this.#poll;
    return poll !== undefined && poll.next < poll.candidates.length && Date.now() - poll.at <= this.freshForMs;
  }
}
