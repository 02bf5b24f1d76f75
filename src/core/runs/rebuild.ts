import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Task, TrackerAdapter } from '../../../adapters/types.ts';
import type { Config, RouteConfig } from '../../config/types.ts';
import { AdapterError } from '../../errors.ts';
import { redact } from '../../util/redact.ts';
import { findRunAgents, type RunAgent } from '../process/run-agents.ts';
import { processStartedAt } from '../process/process-group.ts';
import { checkLedger } from './ledger-schema.ts';
import { findLedgerUsers } from './ledger-users.ts';
import type { LedgerData, RunRecord } from './ledger.ts';
import { readRunLogHeader, type RunLogHeader } from './run-log-header.ts';
import { newRunId, runExitFile, runLogFile } from './run-executor.ts';
import { RunHistory } from './run-history.ts';

/**
 * `dispatcher ledger rebuild`: the active runs of a state_dir worked out from what is true when the
 * ledger cannot be trusted. Live agents (found by their DISPATCHER_RUN_ID, src/core/process/run-agents.ts)
 * become running runs, with their token's hash, for the next start to adopt; tasks sitting in a
 * route's in-progress queue with no agent become runs the next start settles, by their exit status
 * where their agent left one, else as lost, each with its comment and the route's failure policy.
 * Planning changes nothing; src/core/runs/rebuild-apply.ts writes the plan.
 */
export type LedgerState = { state: 'missing' } | { state: 'healthy' } | { state: 'damaged'; problem: string };

export interface RebuildPlan {
  ledgerFile: string;
  found: LedgerState;
  /** The file's text as planned from (undefined: missing): the write checks it has not changed. */
  text?: string;
  /** Live agents, as running runs the next start adopts. */
  adopted: RunRecord[];
  /** Tasks in progress with no agent, as runs the next start settles. */
  settle: RunRecord[];
  /** Tasks in an in-progress queue that nothing says this dispatcher claimed: no run of theirs has a log here, and they are not assigned to the dispatcher. */
  leftAlone: Array<{ taskId: string; queue: string }>;
  /** In-progress queues the tracker could not list. */
  unreadQueues: Array<{ queue: string; reason: string }>;
  /** The port the agents' API address names: with api_port = 0 the next start comes back on it. */
  lastApiPort?: number;
  /** Lines for the operator: what could not be told, what looked odd. */
  notes: string[];
}

export interface RebuildDeps {
  config: Config;
  tracker: TrackerAdapter;
}

export async function planRebuild({ config, tracker }: RebuildDeps): Promise<RebuildPlan> {
  const ledgerFile = join(config.stateDir, 'ledger.json');
  const { found, text } = readLedgerState(ledgerFile);
  const notes = findLedgerUsers(ledgerFile).unknown.map((line) => `cannot tell whether a dispatcher still uses the ledger: ${line}; make sure none runs`);
  const routes = new Map(config.routes.map((route) => [route.queue, route]));
  const scan = findRunAgents(config.stateDir);
  if (!scan.scanned) notes.push('live agents cannot be found on this system (no /proc): none is adopted; their tasks are settled as lost');
  const adopted = scan.agents.map((agent) => adoptedRun(config, routes, agent, notes));
  const lastRuns = lastRunPerTask(config.stateDir);
  const finished = new Set(new RunHistory(join(config.stateDir, 'runs.jsonl'), 200).recent().map((run) => run.id));
  const { tasks, unread } = await tasksInProgress(tracker, config.routes);
  const working = new Set(adopted.map((run) => run.taskId));
  const settle: RunRecord[] = [];
  const leftAlone: RebuildPlan['leftAlone'] = [];
  let identity: Promise<string | undefined> | undefined;
  for (const task of tasks) {
    if (working.has(task.id)) continue;
    const last = lastRuns.get(task.id);
    const route = routeOf(config.routes, task.queue, last?.route);
    if (last && !finished.has(last.run)) {
      settle.push(settledRun(task, route, last, { id: last.run, logFile: runLogFile(config.stateDir, last.run), exitFile: runExitFile(config.stateDir, last.run) }));
      continue;
    }
    identity ??= tracker.whoami().catch(() => undefined);
    const mine = task.assignees.includes((await identity) ?? '\0');
    if (!last && !mine) {
      leftAlone.push({ taskId: task.id, queue: task.queue });
      continue;
    }
    const note = last
      ? `the ledger was rebuilt, and no agent works on this task: its last run (${last.run}) ended, and the task stayed in progress`
      : 'the ledger was rebuilt, and no agent works on this task (no run of it is known here)';
    settle.push(settledRun(task, route, last, { id: newRunId(), recoveryNote: note }));
  }
  return { ledgerFile, found, text, adopted, settle, leftAlone, unreadQueues: unread, lastApiPort: apiPortOf(scan.agents), notes };
}

/** The ledger a plan writes: nothing but the active runs found. */
export function rebuiltLedger(plan: RebuildPlan): LedgerData {
  return { version: 1, runs: [...plan.adopted, ...plan.settle], daemons: [], ...(plan.lastApiPort ? { lastApiPort: plan.lastApiPort } : {}) };
}

export function readLedgerState(ledgerFile: string): { found: LedgerState; text?: string } {
  let text: string;
  try {
    text = readFileSync(ledgerFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { found: { state: 'missing' } };
    return { found: { state: 'damaged', problem: `it cannot be read: ${(error as Error).message}` } };
  }
  const checked = checkLedger(text);
  return { found: checked.ok ? { state: 'healthy' } : { state: 'damaged', problem: checked.problem }, text };
}

/** A live agent as a running run: what its environment and its log's header say, the deadline its route sets now. */
function adoptedRun(config: Config, routes: ReadonlyMap<string, RouteConfig>, agent: RunAgent, notes: string[]): RunRecord {
  const { vars } = agent;
  const logFile = runLogFile(config.stateDir, agent.runId);
  const header = readRunLogHeader(logFile);
  const routeName = vars.DISPATCHER_QUEUE ?? header?.route ?? '';
  const route = routes.get(routeName);
  if (!route) notes.push(`run ${agent.runId} (pid ${agent.pid}) belongs to route "${routeName}", which is not configured: the next start leaves its agent alone`);
  if (agent.otherGroups.length) notes.push(`run ${agent.runId} has processes in other groups too (${agent.otherGroups.join(', ')}): only group ${agent.pgid} is watched`);
  const attempt = positive(vars.DISPATCHER_ATTEMPT) ?? header?.attempt ?? 1;
  const startedAt = startOf(agent.pid, header);
  const timeoutMs = route?.timeoutMs ?? config.defaultAgentTimeoutMs;
  return {
    id: agent.runId,
    taskId: vars.DISPATCHER_TASK_ID ?? header?.task ?? '',
    taskName: vars.DISPATCHER_TASK_NAME ?? '',
    taskUrl: vars.DISPATCHER_TASK_URL ?? '',
    route: routeName,
    inProgressQueue: header?.inProgressQueue ?? route?.inProgressQueue,
    agent: header?.agent ?? route?.agent ?? 'command',
    attempt,
    maxAttempts: Math.max(attempt, header?.maxAttempts ?? route?.maxAttempts ?? attempt),
    ...(header?.priority ? { priority: header.priority } : {}),
    status: 'running',
    pid: agent.pid,
    pgid: agent.pgid,
    startTicks: agent.startTicks,
    createdAt: header?.createdAt ?? new Date(startedAt).toISOString(),
    startedAt: new Date(startedAt).toISOString(),
    deadline: timeoutMs === undefined ? undefined : startedAt + timeoutMs,
    timeoutMs,
    logFile,
    exitFile: runExitFile(config.stateDir, agent.runId),
    cwd: cwdOf(agent.pid),
    ...(vars.DISPATCHER_WORKSPACE ? { workspace: vars.DISPATCHER_WORKSPACE } : {}),
    ...(vars.DISPATCHER_BRANCH ? { branch: vars.DISPATCHER_BRANCH } : {}),
    ...(agent.tokenHash ? { tokenHash: agent.tokenHash } : {}),
  };
}

/** A task in progress with no agent, as a run the next start settles (unwatched, no process group). */
function settledRun(task: Task, route: RouteConfig, last: RunLogHeader | undefined, fields: Pick<RunRecord, 'id'> & Partial<RunRecord>): RunRecord {
  const createdAt = last?.createdAt ?? new Date().toISOString();
  const attempt = last?.attempt ?? 1;
  return {
    taskId: task.id,
    taskName: task.name,
    taskUrl: task.url,
    route: route.queue,
    inProgressQueue: task.queue,
    agent: last?.agent ?? route.agent,
    attempt,
    maxAttempts: Math.max(attempt, last?.maxAttempts ?? route.maxAttempts),
    ...(last?.priority ? { priority: last.priority } : {}),
    status: 'running',
    createdAt,
    startedAt: createdAt,
    ...fields,
  };
}

/** When the agent started: its process's start (the waiter leads the group from the spawn), never before the run was reserved. */
function startOf(pid: number, header: RunLogHeader | undefined): number {
  const reserved = header ? Date.parse(header.createdAt) : NaN;
  const started = processStartedAt(pid);
  if (started === undefined || started > Date.now()) return Number.isNaN(reserved) ? Date.now() : reserved;
  return Number.isNaN(reserved) ? started : Math.max(started, reserved);
}

/** The route a task in `queue` came through: the one its last run names, if that route still puts its tasks there; else the first that does. */
function routeOf(routes: readonly RouteConfig[], queue: string, named: string | undefined): RouteConfig {
  const candidates = routes.filter((route) => route.inProgressQueue === queue);
  return candidates.find((route) => route.queue === named) ?? candidates[0];
}

/** Each task's newest run with a log here, by the header its log starts with. */
function lastRunPerTask(stateDir: string): Map<string, RunLogHeader> {
  const folder = join(stateDir, 'runs');
  let names: string[];
  try {
    names = readdirSync(folder).filter((name) => name.endsWith('.log'));
  } catch {
    return new Map();
  }
  const newest = new Map<string, { header: RunLogHeader; at: number }>();
  for (const name of names) {
    const file = join(folder, name);
    const header = readRunLogHeader(file);
    if (!header || `${header.run}.log` !== name) continue;
    const at = Date.parse(header.createdAt) || mtimeOf(file);
    const known = newest.get(header.task);
    if (!known || at > known.at) newest.set(header.task, { header, at });
  }
  return new Map([...newest].map(([task, { header }]) => [task, header]));
}

/**
 * The tasks in the routes' in-progress queues, asked in one call as the router does; a queue the
 * tracker cannot resolve is said and left out, and the rest asked again. Any other failure throws:
 * a rebuild that cannot see the tasks in progress would leave them there without a word.
 */
async function tasksInProgress(tracker: TrackerAdapter, routes: readonly RouteConfig[]): Promise<{ tasks: Task[]; unread: RebuildPlan['unreadQueues'] }> {
  let queues = [...new Set(routes.flatMap((route) => (route.inProgressQueue ? [route.inProgressQueue] : [])))];
  const unread: RebuildPlan['unreadQueues'] = [];
  while (queues.length > 0) {
    try {
      const tasks = await tracker.getReadyTasks(queues);
      return { tasks: tasks.filter((task) => queues.includes(task.queue)), unread };
    } catch (error) {
      const queue = error instanceof AdapterError ? error.queue : undefined;
      if (queue === undefined || !queues.includes(queue)) throw error;
      unread.push({ queue, reason: redact((error as Error).message) });
      queues = queues.filter((candidate) => candidate !== queue);
    }
  }
  return { tasks: [], unread };
}

/** The port most agents reach the API on (DISPATCHER_API_URL). */
function apiPortOf(agents: RunAgent[]): number | undefined {
  const counts = new Map<number, number>();
  for (const agent of agents) {
    const url = agent.vars.DISPATCHER_API_URL;
    const port = url ? Number(URL.canParse(url) ? new URL(url).port : NaN) : NaN;
    if (Number.isInteger(port) && port > 0) counts.set(port, (counts.get(port) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
}

function positive(text: string | undefined): number | undefined {
  const value = Number(text);
  return Number.isInteger(value) && value > 0 ? value : undefined;
}

function cwdOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}

function mtimeOf(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}
