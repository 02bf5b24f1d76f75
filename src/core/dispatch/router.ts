import { closeSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import type { Task, TrackerAdapter } from '../../../adapters/types.ts';
import type { Config, RouteConfig } from '../../config/types.ts';
import type { AppLogger } from '../../log.ts';
import { isAdapterError, trackerFailureOf, type TrackerFailure } from '../../errors.ts';
import { redact } from '../../util/redact.ts';
import { backoffDelay } from '../../util/backoff.ts';
import { createClaimer } from './claim.ts';
import { ClaimBackoff } from './claim-backoff.ts';
import { createRouteHealth } from './route-health.ts';
import { ACTIVE, type BrokenRoute, type Ledger, type LedgerData, OCCUPYING, type RunRecord, type StopRequest } from '../runs/ledger.ts';
import { reconcile, type RecoveryContext } from '../runs/recovery.ts';
import { formatDuration } from '../runs/run-comment.ts';
import { Outbox } from '../runs/outbox.ts';
import { createRunToken } from '../runs/run-token.ts';
import { inDispatchOrder, PRIORITIES } from './priority.ts';
import { type Candidate, type Reservation, reserveIn, type SlotLimits } from './reservations.ts';
import { prepareAgentFiles, type PreparedFiles } from '../process/spawner.ts';
import { terminateProcessGroup } from '../process/process-group.ts';
import { type HostLoadReader, readHostLoad } from '../supervise/host-pressure.ts';
import { type StartPause, startPause } from '../supervise/start-gate.ts';
import { stopRun, type StopResult } from '../supervise/stop.ts';
import { settleWithin } from '../supervise/stop-elsewhere.ts';
import { decideCancellations, findDepartures, queuesToReconcile, type ReconciledRun } from '../supervise/reconcile.ts';
import { createWorkspaceSweep } from '../workspaces/sweep.ts';
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
  /** The host's memory and load, for min_free_memory and max_load_per_cpu (tests inject one). */
  readHostLoad?: HostLoadReader;
}

export interface TickResult {
  dispatched: RunRecord[];
  /** Ready tasks found in routed queues (undefined when the fetch failed, was backed off, or was not needed: every slot taken). */
  ready?: number;
  error?: string;
  /** What kind of tracker failure `error` was (poll-once's exit code). */
  failure?: TrackerFailure;
  /** No new agent started, and why (daily budget spent, host pressure). */
  paused?: string;
}

export interface RouterHealth {
  lastPollAt?: string;
  lastPollError?: string;
  consecutiveFailures: number;
  /** Epoch ms: no poll before then (backoff after failures). */
  nextFetchAt: number;
  /** Why new agents are held back, as of the last tick. */
  paused?: StartPause;
  /** Routes paused because a queue of theirs cannot be resolved. */
  brokenRoutes?: BrokenRoute[];
}

export interface PlannedDispatch {
  taskId: string;
  taskName: string;
  route: string;
  command: string;
}

const FETCH_BACKOFF_BASE_MS = 2_000;
const FETCH_BACKOFF_MAX_MS = 5 * 60_000;

/**
 * One tick: reconcile runs → fetch ready tasks of all routed queues → order → claim → spawn,
 * while global and per-route slots remain. Never talks HTTP itself; never throws on a tracker error.
 */
export function createRouter(options: RouterOptions) {
  const { tracker, ledger, log } = options;
  // Replaced as a whole by reconfigure (a reload); a run keeps the route it started with.
  let config = options.config;
  let routes = new Map(config.routes.map((route) => [route.queue, route]));
  const limits: SlotLimits = { maxConcurrentAgents: config.maxConcurrentAgents, clusterMaxConcurrentAgents: config.clusterMaxConcurrentAgents, routes, owner: ledger.owner };
  const claimBackoff = new ClaimBackoff(config.pollIntervalMs);
  const routeHealth = createRouteHealth(() => config.routes, log);
  const active = new Map<string, ActiveRun>();
  /** Runs this process reserved or picked for a retry, from that write until their agent is tracked or they are settled. */
  const startingRuns = new Set<string>();
  /** Active runs this process has already been told to stop (see actOnRecordedStops). */
  const stopsActedOn = new Set<string>();
  /** Active runs whose task is watched for moves, and since when it is claimed. */
  const reconciled = new Map<string, ReconciledRun>();
  const listeners = new Set<(event: RouterEvent) => void>();
  let fetchFailures = 0;
  let nextFetchAt = 0;
  let lastPollAt: string | undefined;
  let lastPollError: string | undefined;
  let lastPollFailure: TrackerFailure | undefined;
  /** When the tracker was last asked for ready tasks (epoch ms). */
  let fetchedAt = 0;
  /** Why new agents are held back (daily budget, host pressure), as of the last tick. */
  let paused: StartPause | undefined;
  /** Bumped when this host lost its runs to another (coordination): starts decided before then are dropped. */
  let ownership = 0;

  const outbox = new Outbox({ ledger, tracker, log, changed: () => deps.emit({ type: 'outbox' }) });
  const drainOutbox = (options?: { now?: boolean }) => void outbox.drain(options).catch((error) => log.warn(`tracker writes: ${redact(String((error as Error)?.message ?? error))}`));
  const deps: ExecutorDeps = {
    config,
    tracker,
    ledger,
    outbox,
    log,
    baseEnv: options.baseEnv ?? process.env,
    apiUrl: options.apiUrl,
    detach: Boolean(options.detach),
    emit: (event) => {
      for (const listener of listeners) listener(event);
    },
  };

  const claimTask = createClaimer(tracker, log);
  const workspaceSweep = createWorkspaceSweep({ tracker, ledger, log, baseEnv: deps.baseEnv, config: () => config });
  const recovery: RecoveryContext = { deps, routes, isWatched: (id) => active.has(id) || startingRuns.has(id), track };

  function track(run: ActiveRun): void {
    const { id, inProgressQueue } = run.record;
    active.set(id, run);
    // Its route's rule as it was when the run started (a reload changes it for later runs only).
    if (inProgressQueue && routes.get(run.record.route)?.stopWhenMoved !== false) reconciled.set(id, { record: run.record, claimedAt: Date.now() });
    run.settled
      .catch((error) => log.error(`settling run ${id} failed: ${redact(String((error as Error)?.message ?? error))}`))
      .finally(() => {
        active.delete(id);
        reconciled.delete(id);
        stopsActedOn.delete(id);
      });
  }

  /** Stops the agents whose task someone else moved out of its in-progress queue, or deleted (see supervise/reconcile.ts). */
  async function cancelDeparted(watched: ReconciledRun[], tasks: Task[], polledAt: number): Promise<void> {
    if (watched.length === 0) return;
    const departures = await findDepartures(watched, tasks, polledAt, tracker, log);
    for (const { runId, reason } of await decideCancellations(ledger, departures)) {
      const run = active.get(runId);
      if (!run) continue;
      log.warn(`task ${run.record.taskId}: ${reason} [run ${runId}]`);
      void run.stop(reason);
    }
  }

  /**
   * Slots: counted from the ledger, so agents of other dispatcher processes on this host count too,
   * and with coordination, the cluster caps count every host's agents.
   */
  function freeSlots({ runs, cluster }: Pick<LedgerData, 'runs' | 'cluster'>, route?: RouteConfig): number {
    const occupying = runs.filter((run) => OCCUPYING.has(run.status));
    let free = config.maxConcurrentAgents - occupying.length;
    if (route?.maxConcurrent !== undefined) free = Math.min(free, route.maxConcurrent - occupying.filter((run) => run.route === route.queue).length);
    if (!cluster) return free;
    const elsewhere = cluster.runs.filter((run) => OCCUPYING.has(run.status));
    if (config.clusterMaxConcurrentAgents !== undefined) free = Math.min(free, config.clusterMaxConcurrentAgents - occupying.length - elsewhere.length);
    if (route?.clusterMaxConcurrent !== undefined) {
      const onRoute = (run: { route: string }) => run.route === route.queue;
      free = Math.min(free, route.clusterMaxConcurrent - occupying.filter(onRoute).length - elsewhere.filter((run) => run.tracker === cluster.tracker && onRoute(run)).length);
    }
    return free;
  }

  /** Reserves slots for as many candidates as fit, in one ledger write; `pollStarted` is when their poll began (performance.now()). */
  async function reserve(candidates: Candidate[], pollStarted: number): Promise<Reservation[]> {
    const reserved = await ledger.update((data) => reserveIn(data, candidates, limits, performance.now() - pollStarted), { cluster: true });
    for (const { run } of reserved) startingRuns.add(run.id);
    return reserved;
  }

  function dispatchFailed(error: unknown): void {
    log.error(`dispatch failed: ${redact(String((error as Error)?.message ?? error))}`);
  }

  /**
   * Claims a reserved task and starts its agent. What to start is worked out, and the run's log
   * opened, while the claim is written. A refused claim gives the slot back and holds the task
   * back (see {@link ClaimBackoff}); its slot waits for the next tick.
   */
  async function dispatch(reservation: Reservation, polledAt: number): Promise<RunRecord | undefined> {
    try {
      return await claimAndStart(reservation, polledAt);
    } finally {
      startingRuns.delete(reservation.run.id);
    }
  }

  async function claimAndStart({ task, route, run, token }: Reservation, polledAt: number): Promise<RunRecord | undefined> {
    const owned = ownership;
    const claimedTask = { ...task, queue: route.inProgressQueue ?? task.queue };
    const claiming = claim(task, route, run, polledAt);
    // Worked out a turn later, when the claim is on its way (the JSON board's write has begun):
    // then it fills the wait for the tracker instead of holding up the claim.
    const planning = nextTurn().then(() => planLaunch(deps, run, claimedTask, route, token));
    // If the files cannot be made ready here, the spawner tries again and says why.
    const preparing = planning.then(({ launch, logFile, header }) => prepareAgentFiles({ cwd: launch.cwd, logFile, header })).catch(() => undefined);
    const [claimed, prepared] = await Promise.all([claiming, preparing]);
    if (!claimed || owned !== ownership) {
      if (claimed) log.warn(`not starting task ${task.id}: this host lost its runs to another host meanwhile`);
      if (prepared) closeSync(prepared.log.fd);
      await unlink(runLogFile(config.stateDir, run.id)).catch(() => {});
      return undefined;
    }
    try {
      const started = startRun(deps, run, claimedTask, route, await planning, prepared);
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

  /** Claim = move to the in-progress queue, then add our identity to the assignees. */
  async function claim(task: Task, route: RouteConfig, run: RunRecord, polledAt: number): Promise<boolean> {
    try {
      await claimTask(task, route);
    } catch (error) {
      await claimFailed(task, route, run, error, polledAt);
      return false;
    }
    const failures = claimBackoff.claimed(task.id);
    if (failures > 0) log.info(`claimed task ${task.id} after ${failures} refused attempt${failures > 1 ? 's' : ''}`);
    return true;
  }

  async function claimFailed(task: Task, route: RouteConfig, run: RunRecord, error: unknown, polledAt: number): Promise<void> {
    const message = redact((error as Error).message);
    // The in-progress queue is gone: the route pauses (and says so), not each of its tasks.
    if (routeHealth.pauseFor(error)) log.debug(`could not claim task ${task.id}: ${message}`);
    else holdBack(task, route, message, polledAt, isAdapterError(error, 'conflict'));
    const failed = await ledger.patch(run.id, { status: 'claim_failed', owner: undefined, tokenHash: undefined, endedAt: new Date().toISOString(), outcome: `claim failed: ${message}` });
    deps.emit({ type: 'claim_failed', run: failed ?? run });
  }

  /** A refused claim: the task waits (see {@link ClaimBackoff}), with a warning each time the wait grows, not at every attempt. */
  function holdBack(task: Task, route: RouteConfig, message: string, polledAt: number, conflict: boolean): void {
    const held = claimBackoff.failed(task.id, polledAt);
    const next = `not tried again for ${formatDuration(held.delayMs)}`;
    // A conflict is the claim guard at work: the task left its queue since the poll.
    if (conflict) log.info(`not claiming task ${task.id}: ${message}`);
    else if (held.grew) log.warn(`could not claim task ${task.id} (move to "${route.inProgressQueue}"): ${message}; ${next} (${held.failures} refused in a row)`);
    else log.debug(`could not claim task ${task.id} again: ${message}; ${next}`);
  }

  /** Holds new starts back while the daily budget is spent or the host is pressed; says so once per change. */
  async function checkPause(snapshot: LedgerData): Promise<boolean> {
    const now = await startPause(config, snapshot, options.readHostLoad ?? readHostLoad).catch(() => undefined);
    if (now?.kind !== paused?.kind) {
      if (now) log.warn(`no new agent starts: ${now.reason}`);
      else log.info('new agents may start again');
    }
    paused = now;
    return now !== undefined;
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
        if (freeSlots(data, routes.get(run.route)!) <= 0) break;
        const { token, hash } = createRunToken();
        Object.assign(run, { status: 'starting', owner: ledger.owner, tokenHash: hash });
        picked.push({ run: { ...run }, token });
      }
      return picked;
    }, { cluster: true });
    for (const { run } of due) startingRuns.add(run.id);
    try {
      return await startRetries(due);
    } finally {
      for (const { run } of due) startingRuns.delete(run.id);
    }
  }

  async function startRetries(due: Array<{ run: RunRecord; token: string }>): Promise<RunRecord[]> {
    const started: RunRecord[] = [];
    const owned = ownership;
    for (const { run, token } of due) {
      if (owned !== ownership) break;
      const route = routes.get(run.route)!;
      try {
        const task = await tracker.getTask(run.taskId);
        if (run.inProgressQueue && task.queue !== run.inProgressQueue) {
          log.info(`not retrying task ${run.taskId}: it was moved to "${task.queue}"`);
          await ledger.patch(run.id, { status: 'stopped', owner: undefined, endedAt: new Date().toISOString(), outcome: `retry cancelled: task moved to "${task.queue}"` });
          continue;
        }
        const launch = await planLaunch(deps, run, task, route, token);
        if (owned !== ownership) break;
        const running = startRun(deps, run, task, route, launch);
        track(running);
        started.push(running.record);
      } catch (error) {
        log.warn(`retry of task ${run.taskId} postponed: ${redact((error as Error).message)}`);
        await ledger.patch(run.id, { status: 'retry_wait', owner: undefined, nextAttemptAt: Date.now() + config.pollIntervalMs });
      }
    }
    return started;
  }

  /** The tasks of every routed queue not paused, and of `alsoQueues` (running tasks' in-progress queues), in one call. */
  async function fetchReady(alsoQueues: string[]): Promise<Task[] | undefined> {
    if (Date.now() < nextFetchAt) return undefined;
    fetchedAt = Date.now();
    try {
      const tasks = await routeHealth.poll(tracker, alsoQueues);
      if (fetchFailures > 0) {
        log.info(`tracker is back after ${fetchFailures} failed poll${fetchFailures > 1 ? 's' : ''}`);
        drainOutbox({ now: true }); // what waited for its backoff need not wait any longer
      }
      fetchFailures = 0;
      lastPollAt = new Date().toISOString();
      lastPollError = undefined;
      deps.emit({ type: 'poll', ok: true, tasks: tasks.length });
      return tasks;
    } catch (error) {
      fetchFailures++;
      const delay = backoffDelay(fetchFailures, Math.max(FETCH_BACKOFF_BASE_MS, config.pollIntervalMs), FETCH_BACKOFF_MAX_MS);
      nextFetchAt = Date.now() + delay;
      lastPollError = redact((error as Error).message);
      lastPollFailure = trackerFailureOf(error);
      log.warn(`poll failed (${fetchFailures} in a row), next try in ${Math.round(delay / 1000)}s: ${lastPollError}`);
      deps.emit({ type: 'poll', ok: false, error: lastPollError });
      return undefined;
    }
  }

  /** Poll time goes to the ledger for `status` elsewhere; at most every 5 s unless the health changed. */
  let pollRecordedAt = 0;
  async function recordPoll(snapshot: LedgerData): Promise<void> {
    const brokenRoutes = routeHealth.list();
    const changed = snapshot.lastPollError !== lastPollError || JSON.stringify(snapshot.brokenRoutes ?? []) !== JSON.stringify(brokenRoutes);
    if (!changed && Date.now() - pollRecordedAt < 5_000) return;
    pollRecordedAt = Date.now();
    await ledger.update((data) => {
      data.lastPollAt = lastPollAt ?? data.lastPollAt;
      data.lastPollError = lastPollError;
      data.brokenRoutes = brokenRoutes.length > 0 ? brokenRoutes : undefined;
    });
  }

  /** Dispatch order: priority (the adapter's, labels, title prefix), then oldest, then id. */
  function ordered(tasks: Task[]): Task[] {
    // Object.assign: Node 20 copies `{ ...task, priority }` the slow way (≈ 5 µs a task, every tick).
    return inDispatchOrder(tasks, config.priority).map(({ task, priority }) => Object.assign({}, task, { priority: PRIORITIES.indexOf(priority) }));
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
      // Tracker writes owed by runs that ended earlier, here or in a process that is gone.
      if (snapshot.outbox) drainOutbox();
      const holding = await checkPause(snapshot);
      const dispatched = holding ? [] : await startDueRetries(snapshot);
      const held = holding ? { paused: paused!.reason } : {};
      // Every slot taken (or starts held back), and polled within the interval: a poll now could dispatch nothing.
      if ((holding || freeSlots(snapshot) <= 0) && Date.now() - fetchedAt < config.pollIntervalMs) return { dispatched, ...held };
      const polledAt = Date.now();
      const pollStarted = performance.now();
      const watched = [...reconciled.values()];
      const polled = await fetchReady(queuesToReconcile(watched));
      await recordPoll(snapshot);
      if (!polled) return { dispatched, error: lastPollError, failure: lastPollFailure, ...held };
      await cancelDeparted(watched, polled, polledAt);
      await workspaceSweep.afterPoll(polled, { wait: !options.background });
      // Only what may be dispatched is put in order (the poll also brings the running tasks' queues).
      const tasks = ordered(polled.filter((task) => routes.has(task.queue)));
      if (holding) return { dispatched, ready: tasks.length, ...held };
      claimBackoff.keepOnly(new Set(tasks.map((task) => task.id)));
      const candidates = tasks.flatMap((task) => {
        const route = routes.get(task.queue);
        return route && !claimBackoff.isHeld(task.id, polledAt) ? [{ task, route }] : [];
      });
      // A poll due for its own sake with every slot taken: nothing to reserve, nothing to write.
      const reserved = candidates.length > 0 && freeSlots(snapshot) > 0 ? await reserve(candidates, pollStarted) : [];
      const starts = inFlight(Promise.all(reserved.map((reservation) => dispatch(reservation, polledAt))));
      if (options.background) {
        starts.catch(dispatchFailed);
        return { dispatched: [...dispatched, ...reserved.map(({ run }) => run)], ready: tasks.length };
      }
      dispatched.push(...(await starts).filter((run): run is RunRecord => run !== undefined));
      return { dispatched, ready: tasks.length };
    },

    /** What a tick would dispatch now, changing nothing. */
    async plan(): Promise<PlannedDispatch[]> {
      const tasks = await routeHealth.poll(tracker);
      const data = await ledger.read();
      const runs = [...data.runs];
      const planned: PlannedDispatch[] = [];
      for (const task of ordered(tasks)) {
        const route = routes.get(task.queue);
        if (!route || runs.some((run) => run.taskId === task.id && ACTIVE.has(run.status)) || freeSlots({ runs, cluster: data.cluster }, route) <= 0) continue;
        runs.push({ taskId: task.id, route: route.queue, status: 'starting' } as RunRecord);
        planned.push({ taskId: task.id, taskName: task.name, route: route.queue, command: route.command });
      }
      return planned;
    },

    /** These runs' records once their agents started (a run in a workspace starts its agent once the workspace is ready). */
    agentsStarted: (runs: RunRecord[]): Promise<RunRecord[]> => Promise.all(runs.map((run) => active.get(run.id)?.agentStarted ?? run)),
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
      for (const run of active.values()) run.release();
      active.clear();
      // Without the mark, the next start still finds them: their owner, this process, will be gone.
      await ledger
        .update((data) => {
          for (const run of data.runs) if (ids.includes(run.id) && run.status === 'running') Object.assign(run, { owner: undefined, detached: true });
        })
        .catch((error) => log.warn(`could not mark ${ids.length} run(s) as left to the next start (${redact((error as Error).message)}); the next start finds them all the same`));
    },
    /**
     * This host lost its runs to another host (its lease ran out, with coordination): stops
     * supervising every agent and ends their groups (TERM → grace → KILL) without recording
     * anything — the runs are the other host's now, and this host's writes about them are refused.
     * Starts under way are dropped before their agent exists. Resolves once the groups are gone.
     */
    async abandonAll(): Promise<number> {
      ownership++;
      const abandoned = [...active.values()];
      active.clear();
      reconciled.clear();
      stopsActedOn.clear();
      for (const run of abandoned) run.release();
      await Promise.all(
        abandoned.map(async ({ record }) => {
          const pgid = record.pgid ?? record.pid;
          if (pgid) await terminateProcessGroup(pgid, { graceMs: config.killGraceMs });
        }),
      );
      return abandoned.length;
    },
    /** The tracker changes owed after runs ended (see src/core/runs/outbox.ts). */
    outbox,
    onEvent(listener: (event: RouterEvent) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    /**
     * The configuration of the next tick on (a reload): routes, limits, timeouts and budgets. Runs
     * under way keep the rules they started with; a removed route's runs finish normally.
     */
    /** The configuration in force (it changes on reconfigure). */
    currentConfig: (): Config => config,
    reconfigure(next: Config): void {
      config = next;
      routes = new Map(next.routes.map((route) => [route.queue, route]));
      Object.assign(limits, { maxConcurrentAgents: next.maxConcurrentAgents, clusterMaxConcurrentAgents: next.clusterMaxConcurrentAgents, routes });
      deps.config = next;
      recovery.routes = routes;
    },
    health: (): RouterHealth => ({ lastPollAt, lastPollError, consecutiveFailures: fetchFailures, nextFetchAt, paused, brokenRoutes: routeHealth.list() }),
    /**
     * Stops a run (a run id or a task id): the decision goes to the ledger, then TERM → grace → KILL
     * to its group, through our spawner when we supervise it. Resolves once its group is gone. With
     * coordination, a run of another host is stopped by that host (stop-elsewhere.ts): resolves once
     * it settled, or the wait ran out.
     */
    stopRun(id: string, request: Omit<StopRequest, 'at'>): Promise<StopResult> {
      const coordination = config.coordination;
      return stopRun({
        ledger,
        id,
        request,
        killGraceMs: config.killGraceMs,
        stopLocal: async (runId, reason) => {
          const run = active.get(runId);
          if (!run) return false;
          stopsActedOn.add(runId);
          await run.stop(reason);
          return true;
        },
        ...(coordination ? { elsewhere: { settleWithinMs: settleWithin({ ...config, coordination }) } } : {}),
      });
    },
    /**
     * With coordination, from each heartbeat: this host's runs with a stop recorded. Those this
     * process supervises and has not stopped yet (a stop asked on another host) are stopped now,
     * TERM → grace → KILL; their settlement reads the recorded decision.
     */
    actOnRecordedStops(stops: ReadonlyArray<{ runId: string; reason: string; fromHost?: string }>): void {
      for (const { runId, reason, fromHost } of stops) {
        const run = active.get(runId);
        if (!run || stopsActedOn.has(runId)) continue;
        stopsActedOn.add(runId);
        if (fromHost) log.warn(`task ${run.record.taskId}: stop asked on host "${fromHost}": ${reason}; stopping the agent [run ${runId}]`);
        void run.stop(reason);
      }
    },
  };
}

export type Router = ReturnType<typeof createRouter>;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
