import type { ClusterStatus } from '../../core/runs/postgres/cluster-status.ts';
import type { Config } from '../../config/types.ts';
import { ACTIVE, type BrokenRoute, isOwnerAlive, type LedgerData, OCCUPYING, type RunOwner, type RunRecord } from '../../core/runs/ledger.ts';
import type { Router } from '../../core/dispatch/router.ts';
import { isProcessAlive } from '../../util/file-lock.ts';
import { redact } from '../../util/redact.ts';
import { spentToday } from '../../core/supervise/budget.ts';
import { summariseOutbox } from '../../core/runs/outbox.ts';
import { priorityFromTitle, taskRef, trackerWhere } from './task-view.ts';
import type { DashboardState, ElsewhereItem, GroupsView, RecentItem, RunningItem, WaitingItem } from './types.ts';
import type { PushStatus } from '../hooks/push-status.ts';
import { pushView } from './push-view.ts';

/** How many finished runs the snapshot carries (the ledger keeps up to 500). */
export const RECENT_RUNS = 100;

const FAILED: ReadonlySet<string> = new Set(['failed', 'timed_out', 'start_failed', 'lost', 'claim_failed', 'stalled', 'over_budget']);
/** Ended by a person or by a task that left its queue: neither success nor failure. */
const STOPPED: ReadonlySet<string> = new Set(['stopped', 'cancelled']);

export interface RunStateContext {
  config: Pick<Config, 'maxConcurrentAgents' | 'pollIntervalMs' | 'backend' | 'routes' | 'dispatchFile' | 'priority' | 'dailyBudgetUsd'>;
  /** When the configuration in force was loaded. */
  configLoadedAt?: string;
  health: ReturnType<Router['health']>;
  /** Webhook deliveries and the last tick's trigger. */
  push?: PushStatus;
  /** This process, to tell it from the other dispatchers of the host. */
  self?: RunOwner;
  instance: string;
  startedAt: string;
  now?: number;
  /** With coordination: the cluster's hosts (read beside the ledger). */
  cluster?: ClusterStatus;
}

/** The `run` daemon's dashboard state, from the ledger (what runs on this host) and the router's health. */
export function buildRunState(data: LedgerData, context: RunStateContext): DashboardState {
  const { config, health } = context;
  const now = context.now ?? Date.now();
  const priority = (title: string) => priorityFromTitle(title, config.priority);
  const occupying = data.runs.filter((run) => OCCUPYING.has(run.status));

  const running: RunningItem[] = occupying.map((run) => {
    const started = run.startedAt ? Date.parse(run.startedAt) : undefined;
    return {
      ...taskRef(run.taskId, run.taskName, run.taskUrl, run.priority ?? priority(run.taskName)),
      runId: run.id,
      route: run.route,
      agent: run.agent,
      status: run.status as RunningItem['status'],
      attempt: run.attempt,
      maxAttempts: run.maxAttempts,
      ...(run.pid ? { pid: run.pid } : {}),
      ...(run.startedAt ? { startedAt: run.startedAt, elapsedMs: now - started! } : {}),
      ...(run.deadline ? { deadline: new Date(run.deadline).toISOString() } : {}),
      ...workspaceOf(run),
    };
  });

  const cluster = data.cluster;
  const elsewhere: ElsewhereItem[] = (cluster?.runs ?? [])
    .filter((run) => OCCUPYING.has(run.status) && run.tracker === cluster!.tracker)
    .map((run) => ({
      ...taskRef(run.taskId, run.taskName ?? '', run.taskUrl ?? '', priority(run.taskName ?? '')),
      runId: run.id,
      host: run.host,
      route: run.route,
      ...optional('agent', run.agent ?? undefined),
      status: run.status as ElsewhereItem['status'],
      ...optional('startedAt', run.startedAt ?? undefined),
    }));

  const waiting: WaitingItem[] = data.runs
    .filter((run) => run.status === 'retry_wait')
    .map((run) => ({
      ...taskRef(run.taskId, run.taskName, run.taskUrl, run.priority ?? priority(run.taskName)),
      runId: run.id,
      route: run.route,
      attempt: run.attempt,
      maxAttempts: run.maxAttempts,
      ...(run.nextAttemptAt ? { nextAttemptAt: new Date(run.nextAttemptAt).toISOString() } : {}),
      ...(run.outcome ? { outcome: redact(run.outcome) } : {}),
    }));

  const finished = data.runs.filter((run) => !ACTIVE.has(run.status));
  const recent: RecentItem[] = finished
    .map((run) => ({ run, at: run.endedAt ?? run.startedAt ?? run.createdAt }))
    .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0))
    .slice(0, RECENT_RUNS)
    .map(({ run, at }) => recentRun(run, at, run.priority ?? priority(run.taskName)));

  const lastPollAt = health.lastPollAt ?? data.lastPollAt;
  const backoff = health.consecutiveFailures > 0 && health.nextFetchAt > now ? new Date(health.nextFetchAt).toISOString() : undefined;
  const nextPoll = lastPollAt ? Math.max(Date.parse(lastPollAt) + config.pollIntervalMs, health.nextFetchAt) : undefined;
  const lastError = health.lastPollError ?? data.lastPollError;
  const writes = summariseOutbox(data, now);
  const brokenRoutes = health.brokenRoutes ?? data.brokenRoutes ?? [];

  return {
    schema: 1,
    generatedAt: new Date(now).toISOString(),
    instance: context.instance,
    mode: 'run',
    startedAt: context.startedAt,
    uptimeMs: now - Date.parse(context.startedAt),
    pollIntervalMs: config.pollIntervalMs,
    tracker: {
      type: config.backend?.type ?? 'none',
      ...optional('where', trackerWhere(config.backend?.type, config.backend?.url)),
      status: health.consecutiveFailures > 0 ? 'down' : brokenRoutes.length > 0 ? 'degraded' : lastPollAt ? 'ok' : 'unknown',
      ...optional('lastPollAt', lastPollAt),
      ...optional('nextPollAt', nextPoll !== undefined && !Number.isNaN(nextPoll) ? new Date(nextPoll).toISOString() : undefined),
      consecutiveFailures: health.consecutiveFailures,
      ...optional('lastError', lastError ? redact(lastError) : undefined),
      ...optional('backoffUntil', backoff),
      ...pushView(context.push),
      ...(writes.pending > 0 ? { writesPending: writes.pending } : {}),
      ...optional('writesNextTryAt', writes.nextTryAt),
      ...optional('writesLastError', writes.lastError ? redact(writes.lastError) : undefined),
    },
    slots: { max: config.maxConcurrentAgents, used: occupying.length, free: Math.max(0, config.maxConcurrentAgents - occupying.length) },
    ...(context.cluster ? { cluster: context.cluster } : {}),
    running,
    ...(cluster ? { runningElsewhere: elsewhere } : {}),
    waiting,
    groups: groupByRoute(data.runs, config.routes, brokenRoutes),
    recent,
    totals: {
      running: occupying.length,
      succeeded: finished.filter((run) => run.status === 'succeeded').length,
      needs_attention: finished.filter((run) => run.status === 'needs_attention').length,
      failed: finished.filter((run) => FAILED.has(run.status)).length,
      stopped: finished.filter((run) => STOPPED.has(run.status)).length,
      retrying: waiting.length,
    },
    daemons: data.daemons
      .filter((daemon) => daemon.instance !== context.self?.instance && (context.self ? isOwnerAlive(daemon, context.self) : isProcessAlive(daemon.pid)))
      .map(({ pid, mode, startedAt }) => ({ pid, mode, startedAt })),
    spend: { todayUsd: spentToday(data, new Date(now)), ...optional('dailyBudgetUsd', config.dailyBudgetUsd) },
    ...optional('paused', health.paused),
    ...optional('configLoadedAt', context.configLoadedAt),
  };
}

function recentRun(run: RunRecord, at: string, priority: RunningItem['priority']): RecentItem {
  const started = run.startedAt ? Date.parse(run.startedAt) : undefined;
  const ended = run.endedAt ? Date.parse(run.endedAt) : undefined;
  return {
    ...taskRef(run.taskId, run.taskName, run.taskUrl, priority),
    id: run.id,
    kind: 'run',
    at,
    who: run.agent,
    route: run.route,
    status: run.status,
    outcome: redact(run.outcome ?? run.status.replace(/_/g, ' ')),
    ...(started !== undefined && ended !== undefined ? { durationMs: Math.max(0, ended - started) } : {}),
    attempt: run.attempt,
    ...optional('costUsd', run.costUsd),
    ...workspaceOf(run),
    ...optional('trackerWrites', run.trackerWrites),
  };
}

function workspaceOf(run: RunRecord): { workspace?: string; branch?: string } {
  return { ...optional('workspace', run.workspace), ...optional('branch', run.branch) };
}

/** Every configured route (idle ones too), then routes only the ledger still remembers. */
function groupByRoute(runs: RunRecord[], routes: Config['routes'], brokenRoutes: BrokenRoute[]): GroupsView {
  const columns = ['running', 'retrying', 'succeeded', 'needs_attention', 'failed'];
  const rows = new Map<string, GroupsView['rows'][number]>();
  const rowFor = (name: string, note?: string) => {
    let row = rows.get(name);
    if (!row) {
      row = { name, ...(note ? { note } : {}), counts: Object.fromEntries(columns.map((column) => [column, 0])) };
      rows.set(name, row);
    }
    return row;
  };
  for (const route of routes) rowFor(route.queue, route.agent === 'command' ? commandName(route.command) : route.agent);
  for (const { route, queue, reason, since } of brokenRoutes) {
    const row = rows.get(route);
    if (row) row.broken = { queue, reason: redact(reason), since };
  }
  for (const run of runs) {
    const row = rowFor(run.route, run.agent);
    const column = OCCUPYING.has(run.status) ? 'running' : run.status === 'retry_wait' ? 'retrying' : run.status === 'succeeded' || run.status === 'needs_attention' ? run.status : FAILED.has(run.status) ? 'failed' : undefined;
    if (column) row.counts[column]++;
  }
  return { by: 'route', columns, rows: [...rows.values()] };
}

function commandName(command: string): string {
  return command.split(/[\\/]/).pop() || command;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
