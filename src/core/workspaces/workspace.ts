import { lstat, mkdir, realpath, rm } from 'node:fs/promises';
import { join, relative, isAbsolute, sep } from 'node:path';
import type { HookName, WorkspaceConfig } from '../../config/types.ts';
import { WorkspaceError } from '../../errors.ts';
import { withFileLock } from '../../util/file-lock.ts';
import { renderTemplate } from '../dispatch/templates.ts';
import { buildAgentEnv } from '../process/agent-env.ts';
import { isProcessGroupAlive, processStartTicks, terminateProcessGroup } from '../process/process-group.ts';
import { type HookResult, runHook } from './hooks.ts';
import { workspaceKey } from './key.ts';
import { deleteRecord, readRecord, recordFile, type WorkspaceRecord, writeRecord } from './records.ts';
import { addWorktree, checkBranchName, isRegisteredWorktree, removeWorktree } from './worktree.ts';

/**
 * A task's workspace: `root/<key>`, a plain folder or a git worktree on the task's own branch,
 * made once and kept across attempts and retries, with hooks around its life. Each workspace is
 * changed under a file lock of its own, so a `workspaces prune` never removes one being made.
 */

/** The task a workspace belongs to, as a run knows it. */
export interface WorkspaceTask {
  id: string;
  name: string;
  url: string;
  /** The route (its watched queue). */
  route: string;
}

export interface WorkspaceLocation {
  /** As configured (absolute). */
  root: string;
  key: string;
  path: string;
  branch?: string;
}

/** Where a task's workspace is, and its branch. Pure: looks at nothing on disk. */
export function locateWorkspace(settings: WorkspaceConfig, task: WorkspaceTask): WorkspaceLocation {
  const key = workspaceKey(task.id);
  const vars = { task_id: key, task_name: workspaceKey(task.name), task_url: workspaceKey(task.url), queue: workspaceKey(task.route) };
  return { root: settings.root, key, path: join(settings.root, key), branch: settings.git ? renderTemplate(settings.git.branch, vars) : undefined };
}

/** What every hook of one run shares: where its output goes, how it is stopped, the task's data. */
export interface HookSetup {
  baseEnv: NodeJS.ProcessEnv;
  secretEnv: readonly string[];
  logFile: string;
  killGraceMs: number;
  signal?: AbortSignal;
  /** DISPATCHER_* variables (task id, name, attempt, ...). */
  vars: Record<string, string>;
}

/** Runs a hook if the workspace has one (undefined if not), in the workspace, with the task in its environment. */
export async function runWorkspaceHook(
  settings: WorkspaceConfig,
  name: HookName,
  location: WorkspaceLocation,
  setup: HookSetup,
  options: { vars?: Record<string, string>; onStarted?(pgid: number): void } = {},
): Promise<HookResult | undefined> {
  const argv = settings.hooks[name];
  if (!argv) return undefined;
  const vars = { ...setup.vars, DISPATCHER_WORKSPACE: location.path, ...(location.branch ? { DISPATCHER_BRANCH: location.branch } : {}), DISPATCHER_HOOK: name, ...options.vars };
  return runHook(name, argv, {
    cwd: location.path,
    env: buildAgentEnv(setup.baseEnv, setup.secretEnv, {}, vars),
    logFile: setup.logFile,
    timeoutMs: settings.hookTimeoutMs,
    killGraceMs: setup.killGraceMs,
    signal: setup.signal,
    onStarted: options.onStarted,
  });
}

/** The real root (made if missing), and the workspace's real path, refused if it is not a plain folder inside. */
async function resolveInRoot(location: WorkspaceLocation): Promise<{ root: string; path: string; exists: boolean }> {
  await mkdir(location.root, { recursive: true });
  const root = await realpath(location.root);
  const path = join(root, location.key);
  const info = await lstat(path).catch(() => undefined);
  if (info && !info.isDirectory()) throw new WorkspaceError(`${path} is not a folder (a link or a file is never used as a workspace)`);
  assertInside(root, path);
  return { root, path, exists: info !== undefined };
}

function assertInside(root: string, path: string): void {
  const rel = relative(root, path);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) throw new WorkspaceError(`${path} is outside the workspace root ${root}`);
}

/**
 * Makes the task's workspace ready, or finds it ready: made (a folder, or a worktree on its
 * branch) and after_create run once. A create cut short (a crash, a failed after_create) is
 * started over on a fresh folder; a folder the dispatcher did not make is used as it is.
 * Resolves whether it was made now; throws a WorkspaceError (with the hook's output) otherwise.
 */
export async function ensureWorkspace(settings: WorkspaceConfig, location: WorkspaceLocation, task: WorkspaceTask, setup: HookSetup): Promise<{ created: boolean }> {
  const { root, path, exists } = await resolveInRoot(location);
  return withFileLock(
    recordFile(root, location.key),
    async () => {
      const record = await readRecord(root, location.key);
      assertOwnedBy(record, task.id, path);
      // Looked at again under the lock: a prune may have removed it meanwhile.
      const there = exists && (await lstat(path).catch(() => undefined)) !== undefined;
      if (there && record?.ready) return { created: false };
      const fresh: WorkspaceRecord = { key: location.key, taskId: task.id, taskName: task.name, route: task.route, path: location.path, repo: settings.git?.repo, branch: location.branch, createdAt: new Date().toISOString(), ready: false };
      if (there && !record) {
        if (settings.git && !(await isRegisteredWorktree(settings.git.repo, path))) throw new WorkspaceError(`${path} is there already and is not a worktree of ${settings.git.repo}: move it away or remove it`);
        await writeRecord(root, { ...fresh, ready: true });
        return { created: false };
      }
      if (record?.hookGroup) await stopLeftoverHook(record.hookGroup, setup.killGraceMs);
      if (settings.git) await checkBranchName(settings.git.repo, location.branch!);
      if (there) await discardFolder(settings, path);
      await writeRecord(root, fresh);
      if (settings.git) await addWorktree(settings.git.repo, path, location.branch!, settings.git.base);
      else await mkdir(path, { recursive: true });
      let noted: Promise<void> = Promise.resolve();
      const hook = await runWorkspaceHook(settings, 'after_create', location, setup, {
        onStarted: (pgid) => (noted = writeRecord(root, { ...fresh, hookGroup: { pgid, startTicks: processStartTicks(pgid) } })),
      });
      await noted;
      if (hook && !hook.ok) {
        await writeRecord(root, fresh);
        throw new WorkspaceError(hook.summary, { tail: hook.tail });
      }
      await writeRecord(root, { ...fresh, ready: true });
      return { created: true };
    },
    { timeoutMs: settings.hookTimeoutMs * 2 + 60_000 },
  );
}

/** The agent's working folder: the workspace, or the folder inside it the route's `cwd` names (made if missing). */
export async function prepareWorkingFolder(location: WorkspaceLocation, cwd: string): Promise<void> {
  if (cwd === location.path) return;
  await mkdir(cwd, { recursive: true }).catch(() => {});
  const real = await realpath(cwd).catch(() => cwd);
  const inside = relative(await realpath(location.path), real);
  if (inside.startsWith(`..${sep}`) || inside === '..' || isAbsolute(inside)) throw new WorkspaceError(`cwd ${cwd} is outside the task's workspace ${location.path}`);
}

/** A hook a crashed dispatcher left running, stopped before its workspace is made again. */
async function stopLeftoverHook(group: { pgid: number; startTicks?: string }, graceMs: number): Promise<void> {
  if (!isProcessGroupAlive(group.pgid)) return;
  if (group.startTicks && processStartTicks(group.pgid) !== group.startTicks) return; // another process took the number
  await terminateProcessGroup(group.pgid, { graceMs });
}

async function discardFolder(settings: WorkspaceConfig, path: string): Promise<void> {
  if (settings.git) await removeWorktree(settings.git.repo, path);
  else await rm(path, { recursive: true, force: true });
}

/**
 * Keys keep the case of task ids (`ABC-1`, `abc-1`): on a file system that ignores case (macOS,
 * Windows) both name one folder, whose record then names the other task. Refused, never shared.
 */
function assertOwnedBy(record: WorkspaceRecord | undefined, taskId: string, path: string): void {
  if (record && record.taskId !== taskId) {
    throw new WorkspaceError(`${path} is the workspace of task ${record.taskId}, not of ${taskId} (task ids that differ only in case share a folder on a file system that ignores case)`);
  }
}

/**
 * Removes a workspace: before_remove (if the folder is there), then the folder or worktree (never
 * the branch), then its record. Resolves the before_remove result, whose failure stops nothing.
 * With `taskId`, a workspace recorded as another task's is refused.
 */
export async function removeWorkspace(settings: WorkspaceConfig, location: WorkspaceLocation, setup: HookSetup, taskId?: string): Promise<HookResult | undefined> {
  const { root, path, exists } = await resolveInRoot(location);
  return withFileLock(
    recordFile(root, location.key),
    async () => {
      const record = await readRecord(root, location.key);
      if (taskId !== undefined) assertOwnedBy(record, taskId, path);
      if (record?.hookGroup) await stopLeftoverHook(record.hookGroup, setup.killGraceMs);
      // Looked at again under the lock: a run's end and the daemon's sweep may both be removing it.
      const present = exists && (await lstat(path).catch(() => undefined)) !== undefined;
      const hook = present ? await runWorkspaceHook(settings, 'before_remove', location, setup) : undefined;
      const repo = record?.repo ?? settings.git?.repo;
      if (repo) await removeWorktree(repo, path);
      else await rm(path, { recursive: true, force: true });
      await deleteRecord(root, location.key);
      return hook;
    },
    { timeoutMs: settings.hookTimeoutMs * 2 + 60_000 },
  );
}

/** Whether the task's workspace has been made and after_create succeeded (after_run runs only then). */
export async function isWorkspaceReady(location: WorkspaceLocation, taskId: string): Promise<boolean> {
  const root = await realpath(location.root).catch(() => undefined);
  if (!root) return false;
  const record = await readRecord(root, location.key);
  return record?.ready === true && record.taskId === taskId && (await lstat(join(root, location.key)).catch(() => undefined))?.isDirectory() === true;
}
