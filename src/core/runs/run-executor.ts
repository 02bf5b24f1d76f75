import { delimiter, join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { AgentLaunch, AgentOutputParser, AgentReport, Task, TrackerAdapter } from '../../../adapters/types.ts';
import { loadAgentFactory } from '../../../adapters/registry.ts';
import type { Config, RouteConfig } from '../../config/types.ts';
import type { AppLogger } from '../../log.ts';
import { redact } from '../../util/redact.ts';
import { buildAgentEnv } from '../process/agent-env.ts';
import { dispatcherBin } from '../process/dispatcher-bin.ts';
import { mcpServerLaunch } from '../process/mcp-server-launch.ts';
import { backoffDelay } from '../../util/backoff.ts';
import { ACTIVE, type Ledger, type RunRecord, type RunStatus, type StopOutcome, type StopRequest } from './ledger.ts';
import { recordSpend } from '../supervise/budget.ts';
import { type Outbox, queueChanges, type TrackerChange } from './outbox.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatRunLogHeader } from './run-log-header.ts';
import { formatRunComment, outcomeOfExit, type RunCommentInput, type RunOutcome } from './run-comment.ts';
import { type PreparedFiles, processStartTicks, readExitStatus, spawnAgent, watchForeignGroup, type SpawnOutcome } from '../process/spawner.ts';
import { renderPathTemplate, renderTemplate, type TemplateVars } from '../dispatch/templates.ts';
import { overRunBudget } from '../supervise/budget.ts';
import { watchForStall } from '../supervise/stall.ts';
import { recordStop } from '../supervise/stop.ts';
import { finishRunWorkspace, planRunWorkspace, recordWorkspace, removeIfDone, type RunWorkspace, startInWorkspace, workspaceTask } from '../workspaces/run-workspace.ts';

/** What the router hands the executor; everything a run needs and nothing of the router's state. */
export interface ExecutorDeps {
  config: Config;
  tracker: TrackerAdapter;
  ledger: Ledger;
  /** Where the tracker changes of a run's end go (and are retried from). */
  outbox: Outbox;
  log: AppLogger;
  /** Environment agents inherit (minus secrets). */
  baseEnv: NodeJS.ProcessEnv;
  apiUrl?: string;
  /** Agents outlive this process (poll-once --detach). */
  detach: boolean;
  emit(event: RouterEvent): void;
}

export type RouterEvent =
  | { type: 'dispatch'; run: RunRecord }
  | { type: 'exit'; run: RunRecord }
  | { type: 'retry'; run: RunRecord }
  | { type: 'poll'; ok: boolean; error?: string; tasks?: number }
  /** The agent's process ended; its outcome is being recorded (a slot is about to be free). */
  | { type: 'ended'; runId: string }
  /** The tracker refused the claim: nothing ran, and the slot is free again. */
  | { type: 'claim_failed'; run: RunRecord }
  | { type: 'adopt'; run: RunRecord }
  /** The outbox changed: tracker writes were queued, done, dropped or put off. */
  | { type: 'outbox' };

export interface ActiveRun {
  record: RunRecord;
  /** Resolves with the final record once the outcome is settled (comment posted, task moved). */
  settled: Promise<RunRecord>;
  stop(reason: string): Promise<void>;
  /**
   * Stops supervising the agent and records nothing more of the run: left running for the next
   * dispatcher to adopt, or abandoned to the host that took the run over (its caller stops it).
   * `settled` resolves, if ever, with the record as it was.
   */
  release(): void;
  /**
   * When the agent starts later than the run (once its workspace is ready): resolves with the
   * record as the agent started (its pid), or as settled when no agent started.
   */
  agentStarted?: Promise<RunRecord>;
}

export function newRunId(): string {
  return `${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`;
}

/** Where a run's output goes. */
export function runLogFile(stateDir: string, runId: string): string {
  return join(stateDir, 'runs', `${runId}.log`);
}

/** Where a run's exit status goes, beside its log. */
export function runExitFile(stateDir: string, runId: string): string {
  return join(stateDir, 'runs', `${runId}.exit`);
}

export function templateVars(task: Pick<Task, 'id' | 'name' | 'url'>, route: RouteConfig, runId: string): TemplateVars {
  return { task_id: task.id, task_name: task.name, task_url: task.url, queue: route.queue, run_id: runId };
}

/**
 * Starts the agent of a reserved and claimed run, and settles its outcome when it ends. The run's
 * token hash went into the ledger with the reservation, so the agent's first API call is accepted.
 * `prepared` (its log and working folder, made ready while the task was claimed) is the spawner's.
 */
export function startRun(deps: ExecutorDeps, reserved: RunRecord, task: Task, route: RouteConfig, plan: LaunchPlan, prepared?: PreparedFiles): ActiveRun {
  if (!plan.workspace) return spawnRun(deps, reserved, task, route, plan, prepared);
  return startInWorkspace(deps, reserved, route, { ...plan, workspace: plan.workspace }, prepared, {
    spawn: (ready, record) => spawnRun(deps, record, task, route, ready),
    settle: (result) => settleRun(deps, reserved, route, result),
  });
}

function spawnRun(deps: ExecutorDeps, reserved: RunRecord, task: Task, route: RouteConfig, plan: LaunchPlan, prepared?: PreparedFiles): ActiveRun {
  const { config, ledger, log } = deps;
  const { launch, parser, cwd, logFile } = plan;
  const exitFile = runExitFile(config.stateDir, reserved.id);
  const timeoutMs = route.timeoutMs ?? config.defaultAgentTimeoutMs;
  const tagged = log.withTag(`task ${task.id}`);
  // Supervision decides (stall, spend); the spawner acts. The decision goes to the ledger first.
  let decided: { outcome: StopOutcome; reason: string } | undefined;
  const stopAs = (outcome: StopOutcome, reason: string) => {
    if (decided) return;
    decided = { outcome, reason };
    tagged.warn(`${outcome.replace('_', ' ')}: ${reason}; stopping the agent`);
    void recordStop(ledger, reserved.id, decided)
      .catch((error) => tagged.warn(`could not record the stop: ${redact((error as Error).message)}`))
      .finally(() => running.stop(reason));
  };
  const spendLimited = parser !== undefined && (route.maxCostUsd !== undefined || route.maxTokens !== undefined);

  const running = spawnAgent({
    command: launch.command,
    args: launch.args,
    env: launch.env,
    cwd: launch.cwd,
    logFile,
    header: plan.header,
    prepared,
    timeoutMs,
    killGraceMs: config.killGraceMs,
    onLine: (line) => {
      parser?.onLine(line);
      tagged.debug(line);
      if (spendLimited && line.charCodeAt(0) === 123 /* { */) {
        const over = overRunBudget(parser!.report(), route);
        if (over) stopAs('over_budget', over);
      }
    },
    detach: deps.detach,
    exitFile,
  });
  const stallMs = route.stallTimeoutMs ?? config.stallTimeoutMs;
  const stopWatching = running.pid && !deps.detach && stallMs !== undefined ? watchForStall(logFile, stallMs, (reason) => stopAs('stalled', reason)) : () => {};
  const started: Partial<RunRecord> = {
    status: running.pid ? 'running' : 'starting',
    pid: running.pid,
    pgid: running.pgid,
    // A detached agent outlives us at once; one we watch gets it a moment later (recordStartTicks).
    startTicks: running.pid && deps.detach ? processStartTicks(running.pid) : undefined,
    startedAt: new Date(running.startedAt).toISOString(),
    deadline: timeoutMs === undefined ? undefined : running.startedAt + timeoutMs,
    detached: deps.detach || undefined,
    owner: deps.detach ? undefined : ledger.owner,
    logFile,
    exitFile,
    cwd,
    timeoutMs,
  };
  // Not awaited: it goes with the next ledger write (recovery can find the agent without it).
  ledger.patchSoon(reserved.id, started);
  if (running.pid && !deps.detach) recordStartTicks(ledger, reserved.id, running.pid, running.done);
  const record: RunRecord = { ...reserved, ...started };
  if (running.pid) {
    log.info(`dispatched task ${task.id} (${task.name}) → ${route.command} [pid ${running.pid}, run ${record.id}, attempt ${record.attempt}/${record.maxAttempts}]`);
    deps.emit({ type: 'dispatch', run: record });
  }
  const leaving = new AbortController();
  const settled = running.done.then((outcome) => {
    stopWatching();
    // Released: left to the next dispatcher, or abandoned to the host that took the run over; not ours to record.
    if (leaving.signal.aborted) return record;
    deps.emit({ type: 'ended', runId: record.id });
    const result = fromSpawn(outcome, parser?.report(), timeoutMs, route.onPermissionDenial);
    return settleRun(deps, record, route, decided && outcome.kind === 'stopped' ? { ...result, ...decided } : result, leaving.signal);
  });
  const release = () => {
    leaving.abort();
    running.release();
  };
  return { record, settled, stop: async (reason) => void (await running.stop(reason)), release };
}

/** What a run starts: the agent's argv, environment and working folder, its output parser, its log. */
export interface LaunchPlan {
  launch: AgentLaunch;
  parser?: AgentOutputParser;
  cwd: string;
  logFile: string;
  /** The log's first line for this run. */
  header: string;
  /** The task's workspace, when the route has one: made ready before the agent starts. */
  workspace?: RunWorkspace;
}

/** Works out what a run starts, from the task as it will be once claimed. Changes nothing. */
export async function planLaunch(deps: ExecutorDeps, reserved: RunRecord, task: Task, route: RouteConfig, token: string): Promise<LaunchPlan> {
  const { config } = deps;
  const vars = templateVars(task, route, reserved.id);
  const workspace = route.workspace && planRunWorkspace(route.workspace, workspaceTask(task, route.queue), route.cwd, vars);
  const cwd = workspace ? workspace.cwd : route.cwd ? resolve(config.baseDir, renderPathTemplate(route.cwd, vars)) : process.cwd();
  const runVars: Record<string, string> = {
    DISPATCHER_TASK_ID: task.id,
    DISPATCHER_TASK_NAME: task.name,
    DISPATCHER_TASK_URL: task.url,
    DISPATCHER_QUEUE: route.queue,
    DISPATCHER_RUN_ID: reserved.id,
    DISPATCHER_ATTEMPT: String(reserved.attempt),
    // With coordination: a restarted daemon tells its own agents from another host's sharing the state_dir (taken-over-agents.ts).
    ...(config.coordination ? { DISPATCHER_HOST_ID: config.coordination.hostId } : {}),
    ...(deps.apiUrl ? { DISPATCHER_API_URL: deps.apiUrl, DISPATCHER_TOKEN: token } : {}),
    ...(workspace ? { DISPATCHER_WORKSPACE: workspace.path, ...(workspace.branch ? { DISPATCHER_BRANCH: workspace.branch } : {}) } : {}),
  };
  const routeEnv = Object.fromEntries(Object.entries(route.env).map(([name, value]) => [name, renderTemplate(value, vars)]));
  const bin = dispatcherBin(config.stateDir);
  if (bin) {
    runVars.DISPATCHER_BIN = bin.path;
    const path = routeEnv.PATH ?? deps.baseEnv.PATH;
    runVars.PATH = path ? `${bin.dir}${delimiter}${path}` : bin.dir;
  }
  const agent = (await loadAgentFactory(route.agent))();
  const launch = agent.prepare(
    { command: route.command, args: route.args.map((arg) => renderTemplate(arg, vars)), env: buildAgentEnv(deps.baseEnv, config.secretEnv, routeEnv, runVars), cwd },
    { structuredOutput: route.structuredOutput, maxCostUsd: route.maxCostUsd, mcp: route.mcp && bin ? mcpServerLaunch(bin) : undefined },
  );
  // Detached agents write straight to their log: the parser sees no line, but still reports what
  // the launch told it (Claude's pre-assigned session id, so the resume hint survives).
  const parser: AgentOutputParser | undefined = agent.createParser?.(launch);
  const header = formatRunLogHeader(reserved, `${launch.command} ${launch.args.join(' ')}`);
  return { launch, parser, cwd, logFile: runLogFile(config.stateDir, reserved.id), header, workspace };
}

/** How long an agent runs before its kernel start time is recorded. */
const START_TICKS_AFTER_MS = 100;

/**
 * Records the agent's kernel start time, which tells it from a later process that reuses its pid
 * after a restart — if it is still running a moment after its start: read then, not amid a burst
 * of spawns, and not at all for an agent that was over by then.
 */
function recordStartTicks(ledger: Ledger, runId: string, pid: number, done: Promise<unknown>): void {
  const timer = setTimeout(() => {
    const startTicks = processStartTicks(pid);
    if (startTicks) ledger.patchSoon(runId, { startTicks });
  }, START_TICKS_AFTER_MS);
  timer.unref();
  void done.then(() => clearTimeout(timer));
}

/** Watches an agent an earlier dispatcher started, and settles it by the exit status its waiter wrote. */
export function adoptRun(deps: ExecutorDeps, record: RunRecord, route: RouteConfig): ActiveRun {
  const watch = watchForeignGroup(record.pgid!, { deadline: record.deadline, killGraceMs: deps.config.killGraceMs, pollMs: 500 });
  deps.log.info(`adopted run ${record.id} of task ${record.taskId} [pid ${record.pid}]`);
  deps.emit({ type: 'adopt', run: record });
  const leaving = new AbortController();
  const settled = watch.done.then(async (outcome) => {
    const durationMs = Date.now() - Date.parse(record.startedAt ?? record.createdAt);
    if (outcome.kind === 'unwatched') return record;
    if (outcome.kind === 'timed_out') return settleRun(deps, record, route, { outcome: 'timed_out', durationMs, signal: outcome.killed ? 'SIGKILL' : 'SIGTERM', timeoutMs: record.timeoutMs }, leaving.signal);
    if (outcome.kind === 'stopped') return settleRun(deps, record, route, { outcome: 'stopped', durationMs, reason: 'stopped by the operator' }, leaving.signal);
    if (record.exitFile) return settleRun(deps, record, route, resultOfExitFile(record, 'adopted after a dispatcher restart'), leaving.signal);
    // Started without a waiter (by an older dispatcher): judge by where the agent left its task.
    const moved = await taskLeftInProgress(deps, record);
    return settleRun(deps, record, route, moved
      ? { outcome: 'succeeded', durationMs, reason: 'adopted after a dispatcher restart; the agent moved its task' }
      : { outcome: 'failed', durationMs, reason: 'the agent ended while adopted after a dispatcher restart, and left its task in progress (exit status unknown)' }, leaving.signal);
  });
  const release = () => {
    leaving.abort();
    watch.unwatch();
  };
  return { record, settled, stop: async () => void (await watch.stop()), release };
}

/**
 * The outcome of a run whose agent ended while no dispatcher was its parent, from the status its
 * waiter wrote; `lost` when there is none (the waiter was killed: nobody knows how the agent ended).
 */
export function resultOfExitFile(record: RunRecord, context: string): RunResult {
  const startedAt = Date.parse(record.startedAt ?? record.createdAt);
  const status = record.exitFile ? readExitStatus(record.exitFile) : undefined;
  if (!status) {
    return { outcome: 'lost', durationMs: Date.now() - startedAt, reason: `${context}: the agent ended and its exit status was never recorded (its waiter was killed)` };
  }
  const endedAt = Math.max(status.endedAt, startedAt);
  return { outcome: outcomeOfExit(status.exitCode), exitCode: status.exitCode, signal: status.signal, durationMs: endedAt - startedAt, endedAt };
}

export interface RunResult {
  outcome: RunOutcome;
  /** When the agent ended (epoch ms), where another process saw it end; default: now. */
  endedAt?: number;
  exitCode?: number | null;
  signal?: string | null;
  durationMs: number;
  timeoutMs?: number;
  tail?: string;
  report?: AgentReport;
  reason?: string;
  /** The task is gone from the tracker: nothing to comment on or move. */
  taskDeleted?: boolean;
}

function fromSpawn(outcome: SpawnOutcome, report: AgentReport | undefined, timeoutMs: number | undefined, onDenial: RouteConfig['onPermissionDenial']): RunResult {
  const base = { exitCode: outcome.exitCode, signal: outcome.signal, durationMs: outcome.durationMs, tail: outcome.tail, report, timeoutMs };
  switch (outcome.kind) {
    case 'exited':
      return { ...base, outcome: outcomeOfExit(outcome.exitCode, report, onDenial) };
    case 'timed_out':
      return { ...base, outcome: 'timed_out' };
    case 'start_failed':
      return { ...base, outcome: 'start_failed', reason: outcome.error };
    case 'lost':
      return { ...base, outcome: 'lost', reason: outcome.error };
    default:
      return { ...base, outcome: 'stopped', reason: outcome.stopReason };
  }
}

const RETRY_BASE_MS = 10_000;
const RETRY_MAX_MS = 10 * 60_000;
/** Outcomes that are never retried: a person or a limit ended the run, and another attempt would meet the same. */
const NO_RETRY: ReadonlySet<RunOutcome> = new Set(['succeeded', 'needs_attention', 'stopped', 'cancelled', 'over_budget']);

/**
 * The longest a run's outcome waits between tries to reach the ledger (a full disk, the database
 * away): low, since a try costs one failed write, and the outcome then lands within seconds of the
 * ledger answering again.
 */
const SETTLE_RETRY_MAX_MS = 5_000;

/**
 * Records the outcome, with what it owes the tracker (one comment, and the success or failure move
 * unless the agent moved the task itself) queued in the outbox by that same write; then tries
 * those. A failed attempt with attempts left waits for its retry, claimed. A stop decided for the
 * run (its `stopRequest` in the ledger, written before the agent was signalled) names the outcome,
 * whichever process stopped it and whichever settles it. An outcome the ledger cannot take (a full
 * disk, the database away) is tried again until it can: the run holds its slot meanwhile, until
 * `leaving` aborts (the dispatcher is going away; the next start settles the run from its exit file).
 */
export async function settleRun(deps: ExecutorDeps, record: RunRecord, route: RouteConfig | undefined, ended: RunResult, leaving?: AbortSignal): Promise<RunRecord> {
  const { ledger, log, outbox } = deps;
  const logFile = record.logFile ?? runLogFile(deps.config.stateDir, record.id);
  // after_run goes first: the slot stays taken, and a retry waits, until it is over.
  const hookNote = route?.workspace && (await finishRunWorkspace(deps, record, route, ended.outcome, logFile));
  const commentExtras = { workspace: route?.workspace && recordWorkspace(route, record), notes: hookNote ? [hookNote] : undefined };
  const retries = (result: RunResult) => !NO_RETRY.has(result.outcome) && record.attempt < record.maxAttempts && route !== undefined;
  const settle = () =>
    ledger.update((data) => {
      const run = data.runs.find((candidate) => candidate.id === record.id);
      // Settled already: a try whose acknowledgement was lost had landed after all.
      if (!run || !ACTIVE.has(run.status)) return undefined;
      const result = withStopRequest(ended, run.stopRequest);
      const willRetry = retries(result);
      Object.assign(run, {
        status: result.outcome as RunStatus,
        endedAt: new Date(result.endedAt ?? Date.now()).toISOString(),
        exitCode: result.exitCode,
        signal: result.signal,
        outcome: describeOutcome(result),
        owner: undefined,
        tokenHash: undefined,
        sessionId: result.report?.sessionId ?? run.sessionId,
        costUsd: result.report?.costUsd,
        turns: result.report?.turns,
        tokens: result.report?.tokens,
        apiRetries: result.report?.apiRetries,
        resumeHint: result.report?.resumeHint,
        deniedTools: deniedTools(result.report),
      } satisfies Partial<RunRecord>);
      recordSpend(data, result.report?.costUsd);
      const changes = trackerChanges(run, route, result, willRetry, commentExtras);
      queueChanges(data, run, changes, ledger.owner);
      if (willRetry) {
        const delay = backoffDelay(record.attempt, deps.config.retryDelayMs ?? RETRY_BASE_MS, RETRY_MAX_MS);
        data.runs.push({
          ...pickTask(run),
          id: newRunId(),
          attempt: run.attempt + 1,
          status: 'retry_wait',
          createdAt: new Date().toISOString(),
          nextAttemptAt: Date.now() + delay,
        });
      }
      return { run: { ...run }, result, willRetry, owed: changes.length > 0 };
    });
  let written = settle();
  let settled: Awaited<typeof written>;
  for (let failures = 1; ; failures++) {
    try {
      settled = await written;
      if (failures > 1) log.info(`recorded the outcome of run ${record.id} (task ${record.taskId}) after ${failures - 1} failed ${failures === 2 ? 'try' : 'tries'}`);
      break;
    } catch (error) {
      const delay = backoffDelay(failures, 1_000, SETTLE_RETRY_MAX_MS);
      // Said once per run (an outage of the ledger's database is said by the heartbeat and the tick); the tries after it quietly.
      log[failures === 1 ? 'error' : 'debug'](
        `could not record the outcome of run ${record.id} (task ${record.taskId}: ${describeOutcome(ended)}); it keeps its slot, retrying in ${Math.round(delay / 1000)}s: ${redact((error as Error)?.message ?? String(error))}`,
      );
      await sleep(delay, undefined, { signal: leaving }).catch(() => {});
      if (leaving?.aborted) {
        log.warn(`the outcome of run ${record.id} (task ${record.taskId}: ${describeOutcome(ended)}) is not recorded: the dispatcher is leaving; the next start settles it from its exit file`);
        return record;
      }
      written = settle();
    }
  }
  const { run: final, result, willRetry, owed } = settled ?? { run: record, result: ended, willRetry: retries(ended), owed: false };
  // A run that needs attention is neither retried nor moved: the task waits where it is for a human.
  const attention = result.outcome === 'needs_attention';
  const failed = result.outcome !== 'succeeded' && !attention;

  const level = failed || attention ? 'warn' : 'info';
  // "timed out after 30s" says how long already.
  const took = result.outcome === 'timed_out' ? '' : ` after ${Math.round(result.durationMs / 100) / 10}s`;
  log[level](`task ${record.taskId} ${final.outcome ?? describeOutcome(result)}${took} [run ${record.id}, attempt ${record.attempt}/${record.maxAttempts}]${willRetry ? '; will retry' : ''}`);
  deps.emit({ type: willRetry ? 'retry' : 'exit', run: final });
  // A deleted task has nowhere to take a comment or a move, and its workspace stays for a human.
  if (result.taskDeleted) return final;
  let done = final;
  if (owed) {
    await outbox.drain({ taskId: record.taskId });
    done = { ...final, trackerWrites: (await ledger.read()).runs.find((run) => run.id === record.id)?.trackerWrites };
  }
  // Where the task is now is for the tracker to say: its move may still wait in the outbox.
  if (route?.workspace?.removeWhenIn.length && !willRetry) await cleanUpWorkspace(deps, final, route, logFile);
  return done;
}

/**
 * What a run's end owes the tracker, in order: its comment, then its move. A deleted task has
 * nowhere to take either; a plain command that succeeded silently gets no comment.
 */
function trackerChanges(run: RunRecord, route: RouteConfig | undefined, result: RunResult, willRetry: boolean, extras: Pick<RunCommentInput, 'workspace' | 'notes'>): TrackerChange[] {
  if (result.taskDeleted) return [];
  const changes: TrackerChange[] = [];
  const quietSuccess = (result.outcome === 'succeeded' || result.outcome === 'needs_attention') && !result.report && !result.reason && !result.tail?.trim() && !extras.notes;
  if (!quietSuccess) changes.push({ kind: 'comment', text: formatRunComment({ ...result, outputTail: result.tail, attempt: run.attempt, maxAttempts: run.maxAttempts, willRetry, ...extras }) });
  const target = moveTarget(result, route, willRetry, run);
  if (target && run.inProgressQueue) changes.push({ kind: 'move', from: run.inProgressQueue, to: target, ...(run.agentMovedTo ? { agentMovedTo: run.agentMovedTo } : {}) });
  return changes;
}

/** Removes the task's workspace if the task has reached a `remove_when_in` queue; a failed before_remove is said in a comment. */
async function cleanUpWorkspace(deps: ExecutorDeps, record: RunRecord, route: RouteConfig, logFile: string): Promise<void> {
  const queue = await deps.tracker.getTask(record.taskId).then((task) => task.queue, () => undefined);
  const note = await removeIfDone(deps, record, route, queue, logFile);
  if (note) await deps.tracker.addComment(record.taskId, `⚠️ ${note} while its workspace was removed (removed all the same).`).catch(() => {});
}

/** Where the task goes once the run is over: the route's success or failure queue, or back to its watched queue on a released stop. */
function moveTarget(result: RunResult, route: RouteConfig | undefined, willRetry: boolean, run: RunRecord): string | undefined {
  switch (result.outcome) {
    case 'succeeded':
      return route?.onSuccessQueue;
    case 'cancelled':
    case 'needs_attention':
      return undefined;
    case 'stopped':
      return run.stopRequest?.release ? run.route : undefined;
    default:
      return willRetry ? undefined : route?.onFailureQueue;
  }
}

/** The stop decided for the run names its outcome and reason, however its process ended. */
function withStopRequest(result: RunResult, stop: StopRequest | undefined): RunResult {
  if (!stop || result.outcome === 'start_failed') return result;
  return { ...result, outcome: stop.outcome, reason: stop.reason, taskDeleted: stop.taskDeleted };
}

function pickTask(run: RunRecord): Omit<RunRecord, 'id' | 'attempt' | 'status' | 'createdAt'> {
  return { taskId: run.taskId, taskName: run.taskName, taskUrl: run.taskUrl, route: run.route, inProgressQueue: run.inProgressQueue, agent: run.agent, maxAttempts: run.maxAttempts, priority: run.priority };
}

function deniedTools(report: AgentReport | undefined): string[] | undefined {
  return report?.permissionDenials?.length ? [...new Set(report.permissionDenials.map((denial) => denial.tool))] : undefined;
}

function describeOutcome(result: RunResult): string {
  switch (result.outcome) {
    case 'succeeded':
      return 'succeeded';
    case 'needs_attention':
      return `needs attention: denied ${deniedTools(result.report)!.join(', ')}`;
    case 'timed_out':
      return `timed out after ${Math.round((result.timeoutMs ?? result.durationMs) / 1000)}s`;
    case 'start_failed':
      return `could not start: ${result.reason ?? 'unknown error'}`;
    case 'stopped':
    case 'cancelled':
    case 'stalled':
    case 'over_budget':
      return `${result.outcome.replace('_', ' ')}${result.reason ? ` (${result.reason})` : ''}`;
    case 'lost':
      return `lost${result.reason ? ` (${result.reason})` : ''}`;
    default:
      if (result.exitCode !== undefined && result.exitCode !== null) return `failed (exit ${result.exitCode})${result.report?.ok === false ? ' — agent reported an error' : ''}`;
      if (result.signal) return `failed (killed by ${result.signal})`;
      return `failed${result.reason ? ` (${result.reason})` : ''}`;
  }
}

async function taskLeftInProgress(deps: ExecutorDeps, record: RunRecord): Promise<boolean> {
  if (!record.inProgressQueue) return false;
  try {
    return (await deps.tracker.getTask(record.taskId)).queue !== record.inProgressQueue;
  } catch {
    return false;
  }
}
