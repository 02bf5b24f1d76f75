import { appendFileSync, closeSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Task } from '../../../adapters/types.ts';
import type { RouteConfig, WorkspaceConfig } from '../../config/types.ts';
import { WorkspaceError } from '../../errors.ts';
import { redact } from '../../util/redact.ts';
import { renderPathTemplate, type TemplateVars } from '../dispatch/templates.ts';
import type { PreparedFiles } from '../process/spawner.ts';
import { ACTIVE, type LedgerData, type RunRecord, type StopRequest } from '../runs/ledger.ts';
import type { ActiveRun, ExecutorDeps, LaunchPlan, RunResult } from '../runs/run-executor.ts';
import { ensureWorkspace, type HookSetup, isWorkspaceReady, locateWorkspace, prepareWorkingFolder, removeWorkspace, runWorkspaceHook, type WorkspaceLocation, type WorkspaceTask } from './workspace.ts';

/** How a run uses its task's workspace: made ready (and before_run) before the agent starts, after_run once it ends. */

/** A run's workspace and the folder its agent starts in. */
export interface RunWorkspace extends WorkspaceLocation {
  cwd: string;
}

export function workspaceTask(task: Pick<Task, 'id' | 'name' | 'url'>, route: string): WorkspaceTask {
  return { id: task.id, name: task.name, url: task.url, route };
}

/** Where the run works: the workspace, or the folder inside it the route's `cwd` names. Pure. */
export function planRunWorkspace(settings: WorkspaceConfig, task: WorkspaceTask, routeCwd: string | undefined, vars: TemplateVars): RunWorkspace {
  const location = locateWorkspace(settings, task);
  return { ...location, cwd: routeCwd ? resolve(location.path, renderPathTemplate(routeCwd, vars)) : location.path };
}

/** What the hooks of a run share. */
export function hookSetup(deps: ExecutorDeps, run: Pick<RunRecord, 'attempt'>, task: WorkspaceTask, logFile: string, signal?: AbortSignal): HookSetup {
  return {
    baseEnv: deps.baseEnv,
    secretEnv: deps.config.secretEnv,
    logFile,
    killGraceMs: deps.config.killGraceMs,
    signal,
    vars: { DISPATCHER_TASK_ID: task.id, DISPATCHER_TASK_NAME: task.name, DISPATCHER_TASK_URL: task.url, DISPATCHER_QUEUE: task.route, DISPATCHER_ATTEMPT: String(run.attempt) },
  };
}

/**
 * Starts a run in its task's workspace: the workspace made ready (after_create the first time),
 * before_run, then the agent. A failure on the way fails the attempt with the hook's or git's
 * words and output (the retry policy applies); stopping meanwhile stops the hook.
 */
export function startInWorkspace(
  deps: ExecutorDeps,
  reserved: RunRecord,
  route: RouteConfig,
  plan: LaunchPlan & { workspace: RunWorkspace },
  prepared: PreparedFiles | undefined,
  run: { spawn(plan: LaunchPlan, record: RunRecord): ActiveRun; settle(result: RunResult): Promise<RunRecord> },
): ActiveRun {
  const { workspace } = plan;
  const task: WorkspaceTask = { id: reserved.taskId, name: reserved.taskName, url: reserved.taskUrl, route: reserved.route };
  // The run's header is in the log already (opened while the task was claimed) or goes there now; hooks follow it.
  if (prepared) closeSync(prepared.log.fd);
  else writeHeader(plan.logFile, plan.header);
  const fields = { workspace: workspace.path, branch: workspace.branch };
  deps.ledger.patchSoon(reserved.id, fields);
  const record: RunRecord = { ...reserved, ...fields };
  const abort = new AbortController();
  let agent: ActiveRun | undefined;
  let released = false;
  let agentSpawned!: (record: RunRecord) => void;
  const agentStarted = new Promise<RunRecord>((resolve) => (agentSpawned = resolve));
  const settled = (async () => {
    const started = Date.now();
    try {
      await ensureWorkspace(route.workspace!, workspace, task, hookSetup(deps, reserved, task, plan.logFile, abort.signal));
      await prepareWorkingFolder(workspace, workspace.cwd);
      const hook = await runWorkspaceHook(route.workspace!, 'before_run', workspace, hookSetup(deps, reserved, task, plan.logFile, abort.signal));
      if (hook && !hook.ok) throw new WorkspaceError(hook.summary, { tail: hook.tail });
    } catch (error) {
      if (released) return new Promise<RunRecord>(() => {});
      const durationMs = Date.now() - started;
      if (abort.signal.aborted) return run.settle({ outcome: 'stopped', durationMs, reason: String(abort.signal.reason ?? 'stopped') });
      const reason = redact((error as Error).message);
      deps.log.warn(`task ${task.id}: workspace ${workspace.path} not ready: ${reason}`);
      return run.settle({ outcome: 'start_failed', durationMs, reason, tail: (error as WorkspaceError).tail });
    }
    if (released) return new Promise<RunRecord>(() => {});
    // A stop asked from another process while the workspace was being made applies now.
    const asked = await stopRequestOf(deps, reserved.id);
    if (asked) return run.settle({ outcome: 'stopped', durationMs: Date.now() - started, reason: asked.reason });
    agent = run.spawn({ ...plan, header: `--- agent: ${plan.launch.command} ${plan.launch.args.join(' ')}` }, record);
    agentSpawned(agent.record);
    if (abort.signal.aborted) void agent.stop(String(abort.signal.reason));
    return agent.settled;
  })();
  void settled.then(agentSpawned, () => agentSpawned(record));
  return {
    record,
    settled,
    agentStarted,
    stop: async (reason) => {
      abort.abort(reason);
      await agent?.stop(reason);
    },
    release: () => {
      released = true;
      abort.abort('the dispatcher is going away');
      agent?.release();
    },
  };
}

function writeHeader(logFile: string, header: string): void {
  try {
    mkdirSync(dirname(logFile), { recursive: true });
    appendFileSync(logFile, `${header}\n`);
  } catch {
    // The hooks and the agent open the log themselves and say why if they cannot.
  }
}

/** after_run, if the workspace is ready: its failure (undefined if none) is for the run comment. */
export async function finishRunWorkspace(deps: ExecutorDeps, record: RunRecord, route: RouteConfig, outcome: string, logFile: string): Promise<string | undefined> {
  const settings = route.workspace!;
  const task = recordTask(record);
  const location = locateWorkspace(settings, task);
  if (!settings.hooks.after_run || !(await isWorkspaceReady(location, task.id))) return undefined;
  // A stop decided for the run (stalled, over budget, cancelled) names its outcome.
  const decided = outcome === 'start_failed' ? undefined : (await stopRequestOf(deps, record.id))?.outcome;
  const hook = await runWorkspaceHook(settings, 'after_run', location, hookSetup(deps, record, task, logFile), { vars: { DISPATCHER_OUTCOME: decided ?? outcome } });
  if (!hook || hook.ok) return undefined;
  deps.log.warn(`task ${task.id}: ${hook.summary}`);
  return hook.summary;
}

/**
 * Removes the task's workspace if the task is now in a `remove_when_in` queue and no run of it is
 * active or waiting to retry. Resolves a note when before_remove failed (the removal went on).
 */
export async function removeIfDone(deps: ExecutorDeps, record: RunRecord, route: RouteConfig, queue: string | undefined, logFile: string): Promise<string | undefined> {
  const settings = route.workspace!;
  if (queue === undefined || !settings.removeWhenIn.includes(queue)) return undefined;
  if (hasActiveRun(await deps.ledger.read(), record.taskId)) return undefined;
  const task = recordTask(record);
  const location = locateWorkspace(settings, task);
  try {
    const hook = await removeWorkspace(settings, location, hookSetup(deps, record, task, logFile), task.id);
    deps.log.info(`task ${task.id} is in "${queue}": workspace ${location.path} removed${location.branch ? ` (branch ${location.branch} kept)` : ''}`);
    if (hook && !hook.ok) {
      deps.log.warn(`task ${task.id}: ${hook.summary}; the workspace was removed all the same`);
      return hook.summary;
    }
  } catch (error) {
    deps.log.warn(`task ${task.id}: could not remove workspace ${location.path}: ${redact((error as Error).message)}`);
  }
  return undefined;
}

/** The run's workspace and branch, for its comment. */
export function recordWorkspace(route: RouteConfig, record: RunRecord): { path: string; branch?: string } {
  const { path, branch } = locateWorkspace(route.workspace!, recordTask(record));
  return { path: record.workspace ?? path, branch: record.branch ?? branch };
}

export function hasActiveRun(data: LedgerData, taskId: string): boolean {
  return data.runs.some((run) => run.taskId === taskId && ACTIVE.has(run.status));
}

async function stopRequestOf(deps: ExecutorDeps, runId: string): Promise<StopRequest | undefined> {
  return (await deps.ledger.read()).runs.find((run) => run.id === runId)?.stopRequest;
}

function recordTask(record: RunRecord): WorkspaceTask {
  return { id: record.taskId, name: record.taskName, url: record.taskUrl, route: record.route };
}
