import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkspaceConfig } from '../../src/config/types.ts';
import type { HookSetup } from '../../src/core/workspaces/workspace.ts';
import { tempDir } from '../helpers.ts';

export const HOOK = join(import.meta.dirname, '../../fixtures/agents/hook-recorder.mjs');
export const COMMITTER = join(import.meta.dirname, '../../fixtures/agents/git-committer.mjs');

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** A repository with `files` files committed on `main`, and an identity for commits. */
export function makeRepo(files = 2, dir = join(tempDir('dispatcher-repo-'), 'repo')): string {
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.name', 'Test');
  git(dir, 'config', 'user.email', 'test@example.com');
  git(dir, 'config', 'commit.gpgsign', 'false');
  for (let i = 0; i < files; i++) {
    const sub = join(dir, `d${i % 50}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `f${i}.txt`), `file ${i}\n`);
  }
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'initial');
  return dir;
}

export function settings(overrides: Partial<WorkspaceConfig> = {}): WorkspaceConfig {
  return { root: join(tempDir('dispatcher-ws-'), 'workspaces'), hooks: {}, hookTimeoutMs: 10_000, removeWhenIn: [], ...overrides };
}

export function setup(logFile: string, vars: Record<string, string> = {}): HookSetup {
  return { baseEnv: process.env, secretEnv: [], logFile, killGraceMs: 500, vars };
}

export const task = (id: string, name = `task ${id}`) => ({ id, name, url: `file:board.json#${id}`, route: 'Todo' });

/** Moves a task on a JSON board by hand, as a person would. */
export function moveOnBoard(board: string, id: string, to: string): void {
  const data = JSON.parse(readFileSync(board, 'utf8'));
  for (const [queue, tasks] of Object.entries<Array<{ id: string }>>(data.queues)) {
    const at = tasks.findIndex((candidate) => candidate.id === id);
    if (at >= 0 && queue !== to) (data.queues[to] ??= []).push(...tasks.splice(at, 1));
  }
  writeFileSync(board, JSON.stringify(data, null, 2));
}
