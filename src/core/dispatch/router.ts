import { closeSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import type { Task, TrackerAdapter } from '../../../adapters/types.ts';
import type { Config, RouteConfig } from '../../config/types.ts';
import type { AppLogger } from '../../log.ts';
import { isAdapterError } from '../../errors.ts';
import { redact } from '../../util/redact.ts';
import { backoffDelay } from '../../util/backoff.ts';
import { createClaimer } from './claim.ts';
import { ACTIVE, type Ledger, type LedgerData, OCCUPYING, type RunRecord } from '../runs/ledger.ts';
import { reconcile, type RecoveryContext } from '../runs/recovery.ts';
import { createRunToken } from '../runs/run-token.ts';
import { compareByPriority, PRIORITIES, priorityOf } from './priority.ts';
import { type Candidate, RefillList, type Reservation, reserveIn, type SlotLimits } from './reservations.ts';
import { prepareAgentFiles, type PreparedFiles } from '../process/spawner.ts';
import { type ActiveRun, type ExecutorDeps, type LaunchPlan, planLaunch, type RouterEvent, runLogFile, settleRun, startRun } from '../runs/run-executor.ts';

export interface RouterOptions {
  config: Config;
  tracker: TrackerAdapter;
  ledger: Ledger;
  log: AppLogger;
  baseEnv?: NodeJS.ProcessEnv;
  apiUrl?: string;
  /** Agents outlive this process (poll-once --detach). */
  detach?: boolean;
  /** How old a poll may be for a freed slot to be refilled from it (default 1 s). */
  refillWithinMs?: number;
}

export interface TickResult {
  dispatched: RunRecord[];
  /** Ready tasks found in routed queues (undefined when the fetch failed, was backed off, or was not needed: every slot taken). */
  ready?: number;
  error?: string;
}

export interface PlannedDispatch {
  taskId: string;
  taskName: string;
  route: string;
  command: string;
}

/** How old a poll may be, by default, for a freed slot to be refilled from it without polling again. */
const REFILL_WITHIN_MS = 1_000;
const FETCH_BACKOFF_BASE_MS = 2_000;
const FETCH_BACKOFF_MAX_MS = 5 * 60_000;
/** The longest the first claimed task of a batch waits for the others to be claimed too (see dispatch). */
const BATCH_GRACE_MS = 50;

/**
 * One tick: reconcile runs → fetch ready tasks of all routed queues → order → claim → spawn,
 * while global and per-route slots remain. Never talks HTTP itself; never throws on a tracker error.
 */
export function createRouter(options: RouterOptions) {
  const { config, tracker, ledger, log } = options;
  const routes = new Map(config.routes.map((route) => [route.queue, route]));
  const limits: SlotLimits = { maxConcurrentAgents: config.maxConcurrentAgents, routes, owner: ledger.owner };
  const refills = new RefillList(options.refillWithinMs ?? REFILL_WITHIN_MS);
  let refilling = false;
  /** The refill waiting for the next ledger write, if any: one per write (see refill). */
  let waitingRefill: symbol | undefined;
  const active = new Map<string, ActiveRun>();
  const listeners = new Set<(event: RouterEvent) => void>();
  let fetchFailures = 0;
  let nextFetchAt = 0;
  let lastPollAt: string | undefined;
  let lastPollError: string | undefined;
  /** When the tracker was last asked for ready tasks (epoch ms). */
  let fetchedAt = 0;

  const deps: ExecutorDeps = {
    onSettling: () => refill(),
    config,
    tracker,
    ledger,
    log,
    baseEnv: options.baseEnv ?? process.env,
    apiUrl: options.apiUrl,
    detach: Boolean(options.detach),
    emit: (event) => {
      for (const listener of listeners) listener(event);
    },
  };

  const claimTask = createClaimer(tracker, log);
  const recovery: RecoveryContext = { deps, routes, isWatched: (id) => active.has(id), track };

  function track(run: ActiveRun): void {
    active.set(run.record.id, run);
    run.settled
      .catch((error) => log.error(`settling run ${run.record.id} failed: ${redact(String((error as Error)?.message ?? error))}`))
      .finally(() => active.delete(run.record.id));
  }

  /** Slots: counted from the ledger, so agents of other dispatcher processes on this host count too. */
  function freeSlots(runs: RunRecord[], route?: RouteConfig): number {
    const occupying = runs.filter((run) => OCCUPYING.has(run.status));
    let free = config.maxConcurrentAgents - occupying.length;
    if (route?.maxConcurrent !== undefined) free = Math.min(free, route.maxConcurrent - occupying.filter((run) => run.route === route.queue).length);
    return free;
  }

  /** Reserves slots for as many candidates as fit, in one ledger write. */
  async function reserve(candidates: Candidate[]): Promise<Reservation[]> {
    return ledger.update((data) => refills.taken(reserveIn(data, candidates, limits)));
  }

  /**
   * A run's outcome is about to be written: reserve its slot for the next task of a poll under a
   * second old, in that same write, and claim it with the tracker's guard (only if the task is still
   * where the poll saw it). A busy daemon refills a slot without another poll and another write.
   */
  function refill(): void {
    if (!refilling || waitingRefill || !refills.ready) return;
    const mine = Symbol('refill');
    waitingRefill = mine;
    const over = () => {
      if (waitingRefill === mine) waitingRefill = undefined;
    };
    // One per write, after the write's other changes: it sees every slot they free.
    const reserving = ledger.update((data) => {
      over();
      return refills.reserveIn(data, limits);
    }, { last: true });
    reserving.catch(over);
    inFlight(reserving.then(dispatch)).catch(dispatchFailed);
  }

  function dispatchFailed(error: unknown): void {
    log.error(`dispatch failed: ${redact(String((error as Error)?.message ?? error))}`);
  }

  /** Claim = move to the in-progress queue, then add our identity to the assignees. */
  async function claim(task: Task, route: RouteConfig, run: RunRecord): Promise<boolean> {
    try {
      await claimTask(task, route);
      return true;
    } catch (error) {
      return claimFailed(task, route, run, error);
    }
  }

  async function claimFailed(task: Task, route: RouteConfig, run: RunRecord, error: unknown): Promise<false> {
    const message = redact((error as Error).message);
    // A conflict is the claim guard at work: the task left its queue since the poll.
    if (isAdapterError(error, 'conflict')) log.info(`not claiming task ${task.id}: ${message}`);
    else log.warn(`could not claim task ${task.id} (move to "${route.inProgressQueue}"): ${message}`);
    const failed = await ledger.patch(run.id, { status: 'claim_failed', owner: undefined, tokenHash: undefined, endedAt: new Date().toISOString(), outcome: `claim failed: ${message}` });
    // Its slot is free again: refill it, or wake the tick loop when the poll is too old for that.
    refill();
    deps.emit({ type: 'claim_failed', run: failed ?? run });
    return false;
  }

  /**
   * Claims the reserved tasks and starts their agents. What to start is worked out, and each run's
   * log opened, while the claims are written. The agents of a batch are started back to back, once
   * every claim is in (or {@link BATCH_GRACE_MS} after the first, so that a slow tracker request
   * holds up no one for long): started one at a time, between the exits of others, each would bring
   * a ledger write of its own, and on a busy daemon the writes, not the agents, would set the pace.
   */
  async function dispatch(batch: Reservation[]): Promise<Array<RunRecord | undefined>> {
    const claims = batch.map(claimAndPrepare);
    const together = allOrSoonAfterFirst(claims, BATCH_GRACE_MS);
    return Promise.all(
      claims.map(async (claim) => {
        const ready = await claim;
        if (!ready) return undefined;
        await together;
        return start(ready);
      }),
    );
  }

  interface Claimed {
    reservation: Reservation;
    task: Task;
    planning: Promise<LaunchPlan>;
    prepared?: PreparedFiles;
  }

  async function claimAndPrepare(reservation: Reservation): Promise<Claimed | undefined> {
    const { task, route, run, token } = reservation;
    const claimedTask = { ...task, queue: route.inProgressQueue ?? task.queue };
    const claiming = claim(task, route, run);
    // Worked out a turn later, when the batch's claims are on their way (the JSON board's write has
    // begun): then it fills the wait for the tracker instead of holding up the claims.
    const planning = nextTurn().then(() => planLaunch(deps, run, claimedTask, route, token));
    // If the files cannot be made ready here, the spawner tries again and says why.
    const preparing = planning.then(({ launch, logFile, header }) => prepareAgentFiles({ cwd: launch.cwd, logFile, header })).catch(() => undefined);
    const [claimed, prepared] = await Promise.all([claiming, preparing]);
    if (claimed) return { reservation, task: claimedTask, planning, prepared };
    if (prepared) closeSync(prepared.log.fd);
    await unlink(runLogFile(config.stateDir, run.id)).catch(() => {});
    return undefined;
  }

  async function start({ reservation: { route, run }, task, planning, prepared }: Claimed): Promise<RunRecord | undefined> {
    try {
      const started = startRun(deps, run, task, route, await planning, prepared);
      track(started);
      return started.record;
    } catch (error) {
      // Whatever went wrong before the agent existed, the slot is given back and the task told why.
      const reason = redact((error as Error)?.message ?? String(error));
      log.error(`could not start the agent of task ${task.id}: ${reason}`);
      await settleRun(deps, run, route, { outcome: 'start_failed', durationMs: 0, reason });
      return undefined;
    }
  }

  /** Failed runs whose backoff is over: the task is still claimed, so it goes again from here. */
  async function startDueRetries(snapshot: LedgerData): Promise<RunRecord[]> {
    const isDue = (run: RunRecord, now: number) => run.status === 'retry_wait' && (run.nextAttemptAt ?? 0) <= now && routes.has(run.route);
    if (!snapshot.runs.some((run) => isDue(run, Date.now()))) return [];
    const due = await ledger.update((data) => {
      const now = Date.now();
      const picked: Array<{ run: RunRecord; token: string }> = [];
      for (const run of data.runs) {
        if (!isDue(run, now)) continue;
        if (freeSlots(data.runs, routes.get(run.route)!) <= 0) break;
        const { token, hash } = createRunToken();
        Object.assign(run, { status: 'starting', owner: ledger.owner, tokenHash: hash });
        picked.push({ run: { ...run }, token });
      }
      return picked;
    });
    const started: RunRecord[] = [];
    for (const { run, token } of due) {
      const route = routes.get(run.route)!;
      try {
        const task = await tracker.getTask(run.taskId);
        if (run.inProgressQueue && task.queue !== run.inProgressQueue) {
          log.info(`not retrying task ${run.taskId}: it was moved to "${task.queue}"`);
          await ledger.patch(run.id, { status: 'stopped', owner: undefined, endedAt: new Date().toISOString(), outcome: `retry cancelled: task moved to "${task.queue}"` });
          continue;
        }
        const running = startRun(deps, run, task, route, await planLaunch(deps, run, task, route, token));
        track(running);
        started.push(running.record);
      } catch (error) {
        log.warn(`retry of task ${run.taskId} postponed: ${redact((error as Error).message)}`);
        await ledger.patch(run.id, { status: 'retry_wait', owner: undefined, nextAttemptAt: Date.now() + config.pollIntervalMs });
      }
    }
    return started;
  }

  async function fetchReady(): Promise<Task[] | undefined> {
    if (Date.now() < nextFetchAt) return undefined;
    fetchedAt = Date.now();
    try {
      const tasks = await tracker.getReadyTasks([...routes.keys()]);
      if (fetchFailures > 0) log.info(`tracker is back after ${fetchFailures} failed poll${fetchFailures > 1 ? 's' : ''}`);
      fetchFailures = 0;
      lastPollAt = new Date().toISOString();
      lastPollError = undefined;
      deps.emit({ type: 'poll', ok: true, tasks: tasks.length });
      return ordered(tasks);
    } catch (error) {
      fetchFailures++;
      const delay = backoffDelay(fetchFailures, Math.max(FETCH_BACKOFF_BASE_MS, config.pollIntervalMs), FETCH_BACKOFF_MAX_MS);
      nextFetchAt = Date.now() + delay;
      lastPollError = redact((error as Error).message);
      log.warn(`poll failed (${fetchFailures} in a row), next try in ${Math.round(delay / 1000)}s: ${lastPollError}`);
      deps.emit({ type: 'poll', ok: false, error: lastPollError });
      return undefined;
    }
  }

  /** Poll time goes to the ledger for `status` elsewhere; at most every 5 s unless the health changed. */
  let pollRecordedAt = 0;
  async function recordPoll(snapshot: LedgerData): Promise<void> {
    const changed = snapshot.lastPollError !== lastPollError;
    if (!changed && Date.now() - pollRecordedAt < 5_000) return;
    pollRecordedAt = Date.now();
    await ledger.update((data) => {
      data.lastPollAt = lastPollAt ?? data.lastPollAt;
      data.lastPollError = lastPollError;
    });
  }

  /** Dispatch order: priority (the adapter's, labels, title prefix), then oldest, then id. */
  function ordered(tasks: Task[]): Task[] {
    return tasks
      .map((task) => ({ task, priority: priorityOf(task, config.priority) }))
      .sort(compareByPriority)
      .map(({ task, priority }) => ({ ...task, priority: PRIORITIES.indexOf(priority) }));
  }

  /** Claims and spawns under way (between reservation and a running agent). */
  const starting = new Set<Promise<unknown>>();
  function inFlight<T>(promise: Promise<T>): Promise<T> {
    starting.add(promise);
    void promise.catch(() => {}).finally(() => starting.delete(promise));
    return promise;
  }
  const settleStarts = async () => {
    while (starting.size > 0) await Promise.allSettled([...starting]);
  };

  return {
    /**
     * One tick. Never throws for tracker trouble; the error is in the result and the log.
     * With `background`, it returns once the slots are reserved and leaves claiming and spawning
     * under way: the daemon's next tick may start meanwhile (the ledger keeps them from picking
     * the same task), so storage writes of one batch overlap the spawns of the next.
     */
    async tick(options: { background?: boolean } = {}): Promise<TickResult> {
      const snapshot = await ledger.read();
      await reconcile(recovery, snapshot);
      const dispatched = await startDueRetries(snapshot);
      // Every slot taken, and polled within the interval: a poll now could dispatch nothing.
      if (freeSlots(snapshot.runs) <= 0 && Date.now() - fetchedAt < config.pollIntervalMs) return { dispatched };
      const tasks = await fetchReady();
      await recordPoll(snapshot);
      if (!tasks) return { dispatched, error: lastPollError };
      const candidates = tasks.flatMap((task) => {
        const route = routes.get(task.queue);
        return route ? [{ task, route }] : [];
      });
      if (tracker.claimTask) refills.remember(candidates);
      // A poll due for its own sake with every slot taken: nothing to reserve, nothing to write.
      const reserved = candidates.length > 0 && freeSlots(snapshot.runs) > 0 ? await reserve(candidates) : [];
      const starts = inFlight(dispatch(reserved));
      if (options.background) {
        starts.catch(dispatchFailed);
        return { dispatched: [...dispatched, ...reserved.map(({ run }) => run)], ready: tasks.length };
      }
      dispatched.push(...(await starts).filter((run): run is RunRecord => run !== undefined));
      return { dispatched, ready: tasks.length };
    },

    /** What a tick would dispatch now, changing nothing. */
    async plan(): Promise<PlannedDispatch[]> {
      const tasks = await tracker.getReadyTasks([...routes.keys()]);
      const data = await ledger.read();
      const runs = [...data.runs];
      const planned: PlannedDispatch[] = [];
      for (const task of ordered(tasks)) {
        const route = routes.get(task.queue);
        if (!route || runs.some((run) => run.taskId === task.id && ACTIVE.has(run.status)) || freeSlots(runs, route) <= 0) continue;
        runs.push({ taskId: task.id, route: route.queue, status: 'starting' } as RunRecord);
        planned.push({ taskId: task.id, taskName: task.name, route: route.queue, command: route.command });
      }
      return planned;
    },

    /** While on (the daemon's tick loop), a freed slot is refilled from the last poll (see refill). */
    refillSlots(on: boolean): void {
      refilling = on;
    },
    activeCount: () => active.size + starting.size,
    /** Resolves when every run this process supervises has settled. */
    async waitForAll(): Promise<RunRecord[]> {
      const settled: RunRecord[] = [];
      await settleStarts();
      while (active.size > 0) settled.push(...(await Promise.all([...active.values()].map((run) => run.settled.catch(() => run.record)))));
      return settled;
    },
    async stopAll(reason: string): Promise<void> {
      await settleStarts();
      await Promise.all([...active.values()].map((run) => run.stop(reason)));
      await this.waitForAll();
    },
    /** Leaves running agents to the next dispatcher (drain ran out): they will be adopted. */
    async release(): Promise<void> {
      await settleStarts();
      const ids = [...active.keys()];
      if (ids.length === 0) return;
      await ledger.update((data) => {
        for (const run of data.runs) if (ids.includes(run.id) && run.status === 'running') Object.assign(run, { owner: undefined, detached: true });
      });
      for (const run of active.values()) run.release();
      active.clear();
    },
    onEvent(listener: (event: RouterEvent) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    health: () => ({ lastPollAt, lastPollError, consecutiveFailures: fetchFailures, nextFetchAt }),
  };
}

export type Router = ReturnType<typeof createRouter>;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Resolves once every promise has settled, or `graceMs` after the first one did. */
function allOrSoonAfterFirst(promises: Array<Promise<unknown>>, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const soon = () => (timer ??= setTimeout(resolve, graceMs));
    for (const promise of promises) promise.then(soon, soon);
    void Promise.allSettled(promises).then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
