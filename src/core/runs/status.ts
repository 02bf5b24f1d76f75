import type { Config } from '../../config/types.ts';
import type { ClusterStatus } from './postgres/cluster-status.ts';
import { ACTIVE, type BrokenRoute, isOwnerAlive, type Ledger, type LedgerData, OCCUPYING, type RunRecord, type RunOwner } from './ledger.ts';
import { isProcessAlive } from '../../util/file-lock.ts';
import { spentToday } from '../supervise/budget.ts';
import type { StartPause } from '../supervise/start-gate.ts';
import { type OutboxSummary, summariseOutbox } from './outbox.ts';

export interface RunSummary {
  runId: string;
  taskId: string;
  taskName: string;
  taskUrl: string;
  route: string;
  agent: string;
  attempt: number;
  maxAttempts: number;
  status: RunRecord['status'];
  pid?: number;
  startedAt?: string;
  elapsedMs?: number;
  deadline?: string;
  endedAt?: string;
  outcome?: string;
  nextAttemptAt?: string;
  sessionId?: string;
  costUsd?: number;
  turns?: number;
  resumeHint?: string;
  /** Tools the agent was refused (a run that needs attention). */
  deniedTools?: string[];
  /** Why and by whom it was stopped (stopped, cancelled, stalled, over_budget). */
  stopReason?: string;
  workspace?: string;
  branch?: string;
  /** Whether the tracker has taken the changes of its outcome (comment, move). */
  trackerWrites?: RunRecord['trackerWrites'];
}

export interface StatusSnapshot {
  running: RunSummary[];
  waiting: RunSummary[];
  slots: { max: number; used: number; free: number };
  lastPollAt?: string;
  lastPollError?: string;
  /** Routes paused because a queue of theirs cannot be resolved; they resume by themselves. */
  brokenRoutes: BrokenRoute[];
  recent: RunSummary[];
  daemons: Array<{ pid: number; mode: string; startedAt: string; apiUrl?: string }>;
  /** What runs that ended today (local time) cost, and the daily budget if one is set. */
  spend: { todayUsd: number; dailyBudgetUsd?: number };
  /** Why no new agent starts now (daily budget spent, host pressure). */
  paused?: StartPause;
  /** Tracker changes owed after runs ended, not yet taken by the tracker. */
  trackerWrites: OutboxSummary;
  /** With coordination: every host, its lease and its slots. */
  cluster?: ClusterStatus;
}

/** The cluster's part of the status, when the ledger is shared (PostgreSQL); undefined for the file ledger. */
export async function clusterStatusOf(ledger: Ledger, clusterMax: number | undefined): Promise<ClusterStatus | undefined> {
  const shared = ledger as Ledger & { clusterStatus?: (max: number | undefined) => Promise<ClusterStatus> };
  return shared.clusterStatus?.(clusterMax);
}

/** Everything `status` and GET /status show, from the ledger alone. */
export function buildStatus(data: LedgerData, config: Pick<Config, 'maxConcurrentAgents' | 'dailyBudgetUsd'>, self?: RunOwner, recentCount = 20, paused?: StartPause): StatusSnapshot {
  const now = Date.now();
  const running = data.runs.filter((run) => OCCUPYING.has(run.status));
  const finished = data.runs.filter((run) => !ACTIVE.has(run.status));
  return {
    running: running.map((run) => summarise(run, now)),
    waiting: data.runs.filter((run) => run.status === 'retry_wait').map((run) => summarise(run, now)),
    slots: { max: config.maxConcurrentAgents, used: running.length, free: Math.max(0, config.maxConcurrentAgents - running.length) },
    lastPollAt: data.lastPollAt,
    lastPollError: data.lastPollError,
    brokenRoutes: data.brokenRoutes ?? [],
    recent: finished.slice(-recentCount).reverse().map((run) => summarise(run, now)),
    daemons: data.daemons
      .filter((daemon) => (self ? isOwnerAlive(daemon, self) : isProcessAlive(daemon.pid)))
      .map(({ pid, mode, startedAt, apiUrl }) => ({ pid, mode, startedAt, apiUrl })),
    spend: { todayUsd: spentToday(data), ...(config.dailyBudgetUsd === undefined ? {} : { dailyBudgetUsd: config.dailyBudgetUsd }) },
    ...(paused ? { paused } : {}),
    trackerWrites: summariseOutbox(data, now),
  };
}

export function summarise(run: RunRecord, now = Date.now()): RunSummary {
  const started = run.startedAt ? Date.parse(run.startedAt) : undefined;
  return {
    runId: run.id,
    taskId: run.taskId,
    taskName: run.taskName,
    taskUrl: run.taskUrl,
    route: run.route,
    agent: run.agent,
    attempt: run.attempt,
    maxAttempts: run.maxAttempts,
    status: run.status,
    pid: run.pid,
    startedAt: run.startedAt,
    elapsedMs: started !== undefined && OCCUPYING.has(run.status) ? now - started : undefined,
    deadline: run.deadline ? new Date(run.deadline).toISOString() : undefined,
    endedAt: run.endedAt,
    outcome: run.outcome,
    nextAttemptAt: run.nextAttemptAt ? new Date(run.nextAttemptAt).toISOString() : undefined,
    sessionId: run.sessionId,
    costUsd: run.costUsd,
    turns: run.turns,
    resumeHint: run.resumeHint,
    deniedTools: run.deniedTools,
    stopReason: run.stopRequest?.reason,
    workspace: run.workspace,
    branch: run.branch,
    trackerWrites: run.trackerWrites,
  };
}
