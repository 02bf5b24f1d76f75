import { isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import type { RawWorkspace } from './schema.ts';
import type { HookCommand, HookName, WorkspaceConfig } from './types.ts';

const HOOKS: HookName[] = ['after_create', 'before_run', 'after_run', 'before_remove'];
const DEFAULT_HOOK_TIMEOUT_S = 60;

/**
 * A route's workspace settings: the top-level [workspace] with the route's own keys over it (git
 * key by key). Neither table: the route has no workspace and runs where its `cwd` says, as before.
 */
export function resolveWorkspace(
  top: RawWorkspace | undefined,
  route: RawWorkspace | undefined,
  where: { file?: string; baseDir: string; stateDir: string; label: string },
): WorkspaceConfig | undefined {
  if (!top && !route) return undefined;
  const merged: RawWorkspace = { ...top, ...route, git: top?.git || route?.git ? { ...top?.git, ...route?.git } : undefined };
  const at = (path: string) => (isAbsolute(path) ? path : resolve(where.baseDir, path));
  let git: WorkspaceConfig['git'];
  if (merged.git) {
    if (!merged.git.repo) throw new ConfigError(`${where.file ?? 'config'}: ${where.label}.git.repo: is required (the repository the worktrees belong to)`);
    git = { repo: at(merged.git.repo), base: merged.git.base ?? 'main', branch: merged.git.branch ?? 'agent/{task_id}' };
  }
  const hooks: WorkspaceConfig['hooks'] = {};
  for (const name of HOOKS) {
    const hook = merged[name];
    if (hook) hooks[name] = hookArgv(hook);
  }
  return {
    root: merged.root ? at(merged.root) : join(where.stateDir, 'workspaces'),
    git,
    hooks,
    hookTimeoutMs: Math.round((merged.hook_timeout ?? DEFAULT_HOOK_TIMEOUT_S) * 1000),
    removeWhenIn: merged.remove_when_in ?? [],
  };
}

function hookArgv(hook: string[] | { sh: string }): HookCommand {
  return Array.isArray(hook) ? hook : ['/bin/sh', '-c', hook.sh];
}
