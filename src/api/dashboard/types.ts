import type { ClusterStatus } from '../../core/runs/postgres/cluster-status.ts';
import type { PriorityName } from '../../config/types.ts';

/**
 * What the dashboard shows, for both daemons: the page renders it, `/events` pushes it as the
 * `snapshot` event and `GET /api/v1/state` returns it (with the log tail) for scripts. It holds no
 * secret: task ids, titles, routes, logins, times, counts and redacted log lines only.
 */
export interface DashboardState {
  /** Bumped on an incompatible change of this shape. */
  schema: 1;
  /** ISO 8601, the server's clock (the page measures its skew against it). */
  generatedAt: string;
  /** Random per daemon process: a change means the daemon restarted. */
  instance: string;
  mode: 'run' | 'dispatch-file';
  /** dispatch-file: "loop", "once" or "dry-run". */
  detail?: string;
  startedAt: string;
  uptimeMs: number;
  pollIntervalMs: number;
  tracker: TrackerView;
  /** `run`: agent slots on this host. */
  slots?: { max: number; used: number; free: number };
  /** `run` with coordination: every host of the cluster, its lease and its slots. */
  cluster?: ClusterStatus;
  /** `run` with coordination, instead of `cluster` while the database does not answer: why (redacted). */
  clusterError?: string;
  /** `dispatch-file`: the persistent dispatch rate limit. */
  rateLimit?: { perMinute: number; capacity: number; available: number; nextSlotAt?: string };
  /** `dispatch-file`: the last poll cycle. */
  lastCycle?: { at: string; durationMs: number; openTasks: number; dispatched: number; alreadyDispatched: number; unassigned: number; waiting: number; errors: number };
  running: RunningItem[];
  /** `run` with coordination: the agents other hosts run for this tracker (each can be stopped from here). */
  runningElsewhere?: ElsewhereItem[];
  /** Failed runs waiting for their next attempt. */
  waiting: WaitingItem[];
  groups: GroupsView;
  /** Newest first. */
  recent: RecentItem[];
  /** Counters shown as cards, in order: `{ succeeded: 12, failed: 1 }`. */
  totals: Record<string, number>;
  /** Other dispatcher processes of this host (a `poll-once --detach` from cron...). */
  daemons: Array<{ pid: number; mode: string; startedAt: string }>;
  /** `run`: what runs that ended today cost, and the daily budget if one is set. */
  spend?: { todayUsd: number; dailyBudgetUsd?: number };
  /** `run`: why no new agent starts now (daily budget spent, host pressure). */
  paused?: { kind: string; reason: string; resumesAt?: string };
  /** `run`: when the configuration in force was loaded (start, SIGHUP, `dispatcher reload`). */
  configLoadedAt?: string;
  /** `dispatch-file`: task files whose issue was closed (or deleted) or reassigned after they were written; never deleted for the user. */
  staleFiles?: Array<{ file: string; taskId: string; kind: 'closed' | 'reassigned'; assignees?: string[]; since: string }>;
}

export interface TrackerView {
  /** Backend type: json, planka, gitea... */
  type: string;
  /** Where, without credentials: a host name, a board file's name, the watched repositories. */
  where?: string;
  /** unknown before the first poll; degraded when some repositories failed or routes are paused; down while polls fail. */
  status: 'unknown' | 'ok' | 'degraded' | 'down';
  lastPollAt?: string;
  /** Roughly when the next poll is due. */
  nextPollAt?: string;
  consecutiveFailures: number;
  lastError?: string;
  /** `run`: polls are backed off until then after failures. */
  backoffUntil?: string;
  /** How the latest tick (cycle) started: poll, webhook, refresh, run ended. */
  lastTick?: { trigger: string; at: string };
  /** The last webhook delivery of each tracker: never its body. */
  deliveries?: Array<{ tracker: string; at: string; event?: string; result: 'accepted' | 'ignored' | 'refused'; status: number; reason?: string }>;
  /** `run`: tracker changes owed after runs ended (comments, moves), not yet taken by the tracker. */
  writesPending?: number;
  /** `run`: when the next of them is tried; absent while one is being tried. */
  writesNextTryAt?: string;
  /** `run`: why the last try of one failed. */
  writesLastError?: string;
}

export interface TaskRef {
  taskId: string;
  title: string;
  /** Only http(s) links; empty otherwise (a `javascript:` URL never reaches the page). */
  url: string;
  priority: PriorityName;
}

export interface RunningItem extends TaskRef {
  runId: string;
  route: string;
  agent: string;
  status: 'starting' | 'running';
  attempt: number;
  maxAttempts: number;
  pid?: number;
  startedAt?: string;
  elapsedMs?: number;
  deadline?: string;
  /** The task's workspace, and its branch for a worktree. */
  workspace?: string;
  branch?: string;
}

/** An agent of another host of the cluster: as much as the shared ledger says of it. */
export interface ElsewhereItem extends TaskRef {
  runId: string;
  host: string;
  route: string;
  agent?: string;
  status: 'starting' | 'running';
  startedAt?: string;
}

export interface WaitingItem extends TaskRef {
  runId: string;
  route: string;
  attempt: number;
  maxAttempts: number;
  nextAttemptAt?: string;
  outcome?: string;
}

export interface RecentItem extends TaskRef {
  /** A run id, or `<taskId>@<time>` for a task file. */
  id: string;
  kind: 'run' | 'dispatch';
  /** When it ended (a run) or was written (a task file). */
  at: string;
  /** The agent kind (run) or the assignee (task file). */
  who: string;
  route?: string;
  /** A run's status, or "dispatched" for a task file. */
  status: string;
  /** One line for humans: "exit 1", "wrote hans/issue-2.md"... */
  outcome: string;
  durationMs?: number;
  attempt?: number;
  /** What the run cost, as the agent reported it. */
  costUsd?: number;
  workspace?: string;
  branch?: string;
  /** A run's tracker changes (comment, move): pending until the tracker took them. */
  trackerWrites?: 'pending' | 'done' | 'dropped';
}

export interface GroupsView {
  /** What the rows are: routes (run) or assignees (dispatch-file). */
  by: 'route' | 'assignee';
  /** The count columns, in order. */
  columns: string[];
  rows: Array<{ name: string; note?: string; counts: Record<string, number>; broken?: BrokenRouteView }>;
}

/** `run`: a route paused because a queue of its cannot be resolved; it resumes by itself. */
export interface BrokenRouteView {
  /** The queue that cannot be resolved (the route's own or its in-progress queue). */
  queue: string;
  reason: string;
  since: string;
}

export interface LogLine {
  /** Increases by one per line within one daemon process. */
  seq: number;
  time: string;
  level: 'debug' | 'info' | 'warn' | 'error';
  tag?: string;
  message: string;
}

/** `GET /api/v1/state`: the snapshot and the log tail, oldest line first. */
export type StateDocument = DashboardState & { log: LogLine[] };
