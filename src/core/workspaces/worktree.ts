import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkspaceError } from '../../errors.ts';
import { withFileLock } from '../../util/file-lock.ts';
import { git, gitOrThrow } from './git.ts';

/**
 * Git worktrees, one per task workspace, on a branch of their own. Every change to a repository's
 * worktrees is made under a file lock in its git folder, so dispatcher processes sharing the
 * repository take turns instead of tripping over git's own locks.
 */

const commonDirs = new Map<string, Promise<string>>();

/** The repository's shared git folder (where its worktrees are registered). */
function commonDir(repo: string): Promise<string> {
  let found = commonDirs.get(repo);
  if (!found) {
    found = gitOrThrow(repo, ['rev-parse', '--path-format=absolute', '--git-common-dir'], `${repo} is not a git repository`).then((out) => out.trim());
    found.catch(() => commonDirs.delete(repo));
    commonDirs.set(repo, found);
  }
  return found;
}

/** Checkouts of a large repository can take a while: a waiter gives up only after this long. */
const LOCK_TIMEOUT_MS = 10 * 60_000;

async function withRepoLock<T>(repo: string, work: () => Promise<T>): Promise<T> {
  return withFileLock(join(await commonDir(repo), 'dispatcher-worktrees'), work, { timeoutMs: LOCK_TIMEOUT_MS });
}

/** The branch name, if git accepts it as one; else a WorkspaceError saying so. */
export async function checkBranchName(repo: string, branch: string): Promise<string> {
  const result = await git(repo, ['check-ref-format', '--branch', branch]);
  if (!result.ok) throw new WorkspaceError(`"${branch}" is not a valid branch name (check workspace.git.branch)`);
  return branch;
}

/**
 * Adds a worktree at `path` on `branch`: the branch is made from `base` the first time, and checked
 * out as it is after that (the agent's earlier commits are kept). A worktree registered at a
 * folder that has since gone (a crash mid-create, a folder deleted by hand) is pruned first.
 */
export async function addWorktree(repo: string, path: string, branch: string, base: string): Promise<void> {
  await withRepoLock(repo, async () => {
    await git(repo, ['worktree', 'prune']);
    const exists = (await git(repo, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`])).ok;
    const args = exists ? ['worktree', 'add', '--', path, branch] : ['worktree', 'add', '-b', branch, '--', path, base];
    await gitOrThrow(repo, args, `could not create the worktree of ${repo} at ${path}`);
  });
}

/** Removes the worktree at `path` (and the folder, whatever is in it); its branch stays. */
export async function removeWorktree(repo: string, path: string): Promise<void> {
  await withRepoLock(repo, async () => {
    await git(repo, ['worktree', 'remove', '--force', '--', path]);
    await rm(path, { recursive: true, force: true });
    await git(repo, ['worktree', 'prune']);
  });
}

/** Whether `path` is a worktree registered in `repo`. */
export async function isRegisteredWorktree(repo: string, path: string): Promise<boolean> {
  const listed = await git(repo, ['worktree', 'list', '--porcelain']);
  return listed.ok && listed.stdout.split('\n').some((line) => line === `worktree ${path}`);
}
