/**
 * What making a task's workspace costs over `git worktree add` by hand, on a repository of 5,000
 * files: ensureWorkspace (key, containment checks, the per-repository lock, the record written
 * before and after, check-ref-format, prune, branch lookup, add) against one
 * `git worktree add -b <branch> -- <path> main`, alternated, median of each. Then the same with an
 * after_create hook of `true`, to show the hook's own cost apart. Target: ≤ 1.2× plus hook time.
 *
 *   npm run build && node scripts/bench.mjs bench/workspace.ts [files] [rounds]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { execFile } from 'node:child_process';
import type { WorkspaceConfig } from '../src/config/types.ts';
import { ensureWorkspace, locateWorkspace } from '../src/core/workspaces/workspace.ts';
import { fmt, median, ratio, scratch, timed } from './support.ts';

const files = Number(process.argv[2] ?? 5000);
const rounds = Number(process.argv[3] ?? 9);
const run = promisify(execFile);
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, stdio: 'ignore' });

const { dir, cleanup } = scratch('bench-workspace-');
try {
  const repo = join(dir, 'repo');
  mkdirSync(repo);
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'config', 'user.name', 'Bench');
  git(repo, 'config', 'user.email', 'bench@example.com');
  for (let i = 0; i < files; i++) {
    const folder = join(repo, `d${i % 100}`);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, `f${i}.txt`), `file ${i}\n`.repeat(20));
  }
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'initial');

  const byHand = join(dir, 'by-hand');
  mkdirSync(byHand);
  const plain: WorkspaceConfig = { root: join(dir, 'ours'), git: { repo, base: 'main', branch: 'agent/{task_id}' }, hooks: {}, hookTimeoutMs: 60_000, removeWhenIn: [] };
  const hooked: WorkspaceConfig = { ...plain, root: join(dir, 'hooked'), git: { ...plain.git!, branch: 'hooked/{task_id}' }, hooks: { after_create: ['true'] } };
  const setup = { baseEnv: process.env, secretEnv: [], logFile: join(dir, 'run.log'), killGraceMs: 1000, vars: {} };

  const manual = async (i: number) => void (await run('git', ['worktree', 'add', '-q', '-b', `hand/${i}`, '--', join(byHand, String(i)), 'main'], { cwd: repo }));
  const ours = async (settings: WorkspaceConfig, i: number) => {
    const task = { id: String(i), name: `task ${i}`, url: '', route: 'Todo' };
    const made = await ensureWorkspace(settings, locateWorkspace(settings, task), task, setup);
    if (!made.created) throw new Error('not created');
  };

  const times = { manual: [] as number[], ours: [] as number[], hooked: [] as number[] };
  for (let i = 0; i < rounds + 1; i++) {
    const m = await timed(() => manual(i));
    const o = await timed(() => ours(plain, i));
    const h = await timed(() => ours(hooked, i));
    if (i === 0) continue; // warm-up: caches, the first lock folder
    times.manual.push(m.ms);
    times.ours.push(o.ms);
    times.hooked.push(h.ms);
  }
  const [m, o, h] = [median(times.manual), median(times.ours), median(times.hooked)];
  console.log(`worktree of a repository of ${files} files, median of ${rounds} (alternated)`);
  console.log(`  git worktree add by hand (baseline): ${fmt(m)}`);
  console.log(`  ensureWorkspace (git):               ${fmt(o)}  ${ratio(o, m)}`);
  console.log(`  ensureWorkspace + after_create true: ${fmt(h)}  (hook ≈ ${fmt(h - o)})`);
  console.log(`  target ≤ 1.2× plus hook time: ${o <= 1.2 * m ? 'met' : 'NOT met'}`);
} finally {
  cleanup();
}
