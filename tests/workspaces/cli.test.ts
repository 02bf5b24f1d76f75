import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { killProcessGroup } from '../../src/core/process/process-group.ts';
import { FileLedger } from '../../src/core/runs/ledger.ts';
import { ensureWorkspace, locateWorkspace } from '../../src/core/workspaces/workspace.ts';
import { readJson, runCli, waitFor } from '../helpers.ts';
import { AGENTS, NODE, project, startDaemon, task } from '../cli/support.ts';
import { git, HOOK, makeRepo, moveOnBoard } from './support.ts';

describe('dispatcher workspaces', () => {
  it('lists workspaces, and prunes only those whose task is done or gone — never one in use; --dry-run changes nothing', async () => {
    const repo = makeRepo();
    const out = join(repo, '..', 'hooks.jsonl');
    const { dir, board, config: configFile } = project(
      ['1', '2', '4', '5'].map((id) => task(id)),
      `[routing.Todo]\ncommand = ${NODE}\nin_progress_queue = "In Progress"\n`,
      `[workspace]\nroot = "ws"\nremove_when_in = ["Done"]\ngit = { repo = ${JSON.stringify(repo)} }\nbefore_remove = [${NODE}, ${JSON.stringify(HOOK)}, ${JSON.stringify(out)}]\n`,
    );
    const config = loadConfig({ path: configFile, env: {} });
    const settings = config.routes[0].workspace!;
    const setup = { baseEnv: process.env, secretEnv: [], logFile: join(dir, 'run.log'), killGraceMs: 500, vars: {} };
    const paths: Record<string, string> = {};
    for (const id of ['1', '2', '3', '4', '5']) {
      const t = { id, name: `task ${id}`, url: '', route: 'Todo' };
      const location = locateWorkspace(settings, t);
      await ensureWorkspace(settings, location, t, setup);
      paths[id] = location.path;
    }
    for (const id of ['1', '4', '5']) moveOnBoard(board, id, 'Done');
    // 3 is not on the board at all; 4 has someone working in it; 5 has a retry pending.
    const busy = spawn('sleep', ['30'], { cwd: paths['4'], detached: true, stdio: 'ignore' });
    try {
      await new FileLedger(config.stateDir).update((data) => {
        data.runs.push({ id: 'r5', taskId: '5', taskName: 'task 5', taskUrl: '', route: 'Todo', agent: 'command', attempt: 1, maxAttempts: 2, status: 'retry_wait', createdAt: new Date().toISOString(), nextAttemptAt: Date.now() + 60_000 });
      });

      const listed = await runCli(['workspaces', 'list', '--json'], { cwd: dir });
      assert.equal(listed.code, 0, listed.stderr);
      const entries = JSON.parse(listed.stdout);
      const byTask = Object.fromEntries(entries.map((entry: any) => [entry.taskId, entry]));
      assert.deepEqual(Object.keys(byTask).sort(), ['1', '2', '3', '4', '5']);
      assert.equal(byTask['1'].queue, 'Done');
      assert.equal(byTask['2'].queue, 'Todo');
      assert.equal(byTask['3'].queue, null);
      assert.equal(byTask['1'].branch, 'agent/1');
      assert.ok(byTask['1'].sizeBytes > 0);
      assert.deepEqual(byTask['4'].agentPids, [busy.pid]);
      const text = await runCli(['workspaces', 'list'], { cwd: dir });
      assert.match(text.stdout, /^TASK\tQUEUE\tSIZE\tLAST RUN\tAGENT\tWORKSPACE/);
      assert.match(text.stdout, new RegExp(`\\n4\\tDone\\t[^\\n]*busy \\(pid ${busy.pid}\\)`));

      const dry = await runCli(['workspaces', 'prune', '--dry-run'], { cwd: dir });
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /would remove\t1\t.*its task is in "Done"/);
      assert.match(dry.stdout, /would remove\t3\t.*its task no longer exists/);
      assert.match(dry.stdout, /kept\t4\t.*process \d+ is working in it/);
      assert.match(dry.stdout, /kept\t5\t.*waiting to retry/);
      for (const id of ['1', '2', '3', '4', '5']) assert.ok(existsSync(paths[id]), `dry run kept ${id}`);
      assert.equal(existsSync(out), false, 'no hook ran');

      const pruned = await runCli(['workspaces', 'prune', '--json'], { cwd: dir });
      assert.equal(pruned.code, 0, pruned.stderr);
      assert.deepEqual(JSON.parse(pruned.stdout).filter((r: any) => r.action === 'removed').map((r: any) => r.taskId).sort(), ['1', '3']);
      assert.deepEqual(['1', '2', '3', '4', '5'].map((id) => existsSync(paths[id])), [false, true, false, true, true]);
      assert.deepEqual(readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line).env.DISPATCHER_TASK_ID).sort(), ['1', '3']);
      assert.match(git(repo, 'branch', '--list'), /agent\/1[\s\S]*agent\/3/, 'branches stay');
    } finally {
      killProcessGroup(busy.pid!, 'SIGKILL');
    }
  });

  it('never prunes the workspace of a live agent, even when its task was moved to Done', async () => {
    const { dir, board } = project(
      [task('1')],
      `[routing.Todo]\ncommand = ${NODE}\nargs = [${JSON.stringify(join(AGENTS, 'sleeper.mjs'))}, "30"]\nin_progress_queue = "In Progress"\n`,
      `[workspace]\nroot = "ws"\nremove_when_in = ["Done"]\n`,
    );
    const started = await runCli(['poll-once', '--detach'], { cwd: dir });
    assert.equal(started.code, 0, started.stderr);
    const config = loadConfig({ path: join(dir, 'dispatcher.toml'), env: {} });
    const run = await waitFor(async () => (await new FileLedger(config.stateDir).read()).runs.find((candidate) => candidate.status === 'running' && candidate.pgid), 10_000, 'the agent');
    try {
      assert.match(started.stdout, new RegExp(`1 \\(task 1\\) → pid ${run.pid} \\(detached\\)`), 'the agent started in its workspace is named by its pid');
      assert.equal(run.workspace, join(dir, 'ws', '1'));
      moveOnBoard(board, '1', 'Done');
      const pruned = await runCli(['workspaces', 'prune'], { cwd: dir });
      assert.equal(pruned.code, 0, pruned.stderr);
      assert.match(pruned.stdout, /kept\t1\t.*active/);
      assert.ok(existsSync(join(dir, 'ws', '1')));
    } finally {
      killProcessGroup(run.pgid!, 'SIGKILL');
    }
  });

  it('run: a task moved to Done by hand after its run has its worktree removed within a poll, branch kept; poll-once does the same', async () => {
    const repo = makeRepo();
    const { dir, board } = project(
      [task('1'), task('2')],
      `[routing.Todo]\ncommand = ${NODE}\nargs = ["-e", ""]\nin_progress_queue = "In Progress"\non_success_queue = "Failed"\n`,
      `[workspace]\nroot = "ws"\nremove_when_in = ["Done"]\ngit = { repo = ${JSON.stringify(repo)} }\n`,
    );
    const daemon = startDaemon(dir);
    try {
      // Both runs over, and their tasks moved to Failed (the outbox moves them just after the log line).
      await waitFor(() => readJson(board).queues.Failed.length === 2, 20_000, 'both runs over');
      moveOnBoard(board, '1', 'Done');
      await waitFor(() => /workspace \S+ws\/1 of task 1 removed \(branch agent\/1 kept\): its task is in "Done"/.test(daemon.output()), 10_000, 'the workspace of task 1 removed').catch((error) => {
        throw new Error(`${error.message}\n${daemon.output()}`);
      });
      assert.equal(existsSync(join(dir, 'ws', '1')), false);
      assert.match(git(repo, 'branch', '--list', 'agent/1'), /agent\/1/);
      assert.ok(existsSync(join(dir, 'ws', '2')), 'task 2 is in Failed: kept');
    } finally {
      daemon.child.kill('SIGTERM');
    }
    assert.equal(await daemon.exited, 0, daemon.output());

    moveOnBoard(board, '2', 'Done');
    const once = await runCli(['poll-once'], { cwd: dir });
    assert.equal(once.code, 0, once.stderr);
    assert.equal(existsSync(join(dir, 'ws', '2')), false, 'poll-once removed it before exiting');
    assert.match(once.stderr, /workspace \S+ws\/2 of task 2 removed \(branch agent\/2 kept\)/);
    assert.match(git(repo, 'branch', '--list', 'agent/2'), /agent\/2/);
  });
});
