import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readJson, runCli, waitFor } from '../helpers.ts';
import { AGENTS, NODE, project, startDaemon, task } from './support.ts';

type Board = { queues: Record<string, Array<{ id: string; comments: Array<{ text: string; author: string }>; assignees: string[] }>> };
const queueOf = (board: Board, id: string) => Object.entries(board.queues).find(([, tasks]) => tasks.some((t) => t.id === id))?.[0];
type Run = { taskId: string; attempt: number; status: string; pid: number };
/** Active runs (ledger.json) and finished ones (runs.jsonl). */
function allRuns(dir: string): Run[] {
  const active = readJson<{ runs: Run[] }>(join(dir, '.dispatcher/ledger.json')).runs;
  const history = existsSync(join(dir, '.dispatcher/runs.jsonl')) ? readFileSync(join(dir, '.dispatcher/runs.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Run) : [];
  return [...history, ...active];
}
const taskIn = (board: Board, id: string) => Object.values(board.queues).flat().find((t) => t.id === id)!;

describe('poll-once', () => {
  it('dispatches, waits, and the agent reports through the API with only `dispatcher task` (no config in its cwd)', async () => {
    const p = project([task('1', 'Write docs')], `[routing."Todo"]\ncommand = ${NODE}\nargs = [${JSON.stringify(join(AGENTS, 'self-mover.mjs'))}, "Done"]\nin_progress_queue = "In Progress"\ncwd = "work/{task_id}"\n`);
    const result = await runCli(['poll-once', '--json'], { cwd: p.dir });
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout);
    assert.equal(summary.dispatched.length, 1);
    assert.equal(summary.settled[0].status, 'succeeded');
    const board = readJson<Board>(p.board);
    assert.equal(queueOf(board, '1'), 'Done');
    assert.deepEqual(taskIn(board, '1').assignees, ['dispatcher']);
    assert.match(taskIn(board, '1').comments[0].text, /self-mover: moving to Done/);
  });

  it('DISPATCHER_BIN reaches this CLI from a login shell whose profile resets PATH (as Codex runs commands)', async () => {
    const command = '"$DISPATCHER_BIN" task comment "$DISPATCHER_TASK_ID" "hello from a login shell"';
    // The route's PATH holds nothing of ours; /etc/profile replaces it anyway.
    const p = project([task('1')], `[routing."Todo"]\ncommand = "/bin/bash"\nargs = ["-lc", ${JSON.stringify(command)}]\nin_progress_queue = "In Progress"\non_success_queue = "Done"\nenv = { PATH = "/usr/bin:/bin" }\n`);
    const result = await runCli(['poll-once'], { cwd: p.dir });
    assert.equal(result.code, 0, result.stderr + result.stdout);
    const board = readJson<Board>(p.board);
    assert.equal(queueOf(board, '1'), 'Done');
    assert.equal(taskIn(board, '1').comments[0].text, 'hello from a login shell');
    const [runId] = allRuns(p.dir).map((run) => (run as Run & { id: string }).id);
    assert.equal(taskIn(board, '1').comments[0].author, `agent (command, run ${runId})`, 'the agent\'s comment is attributed to it');
    assert.equal(taskIn(board, '1').comments[1].author, 'dispatcher', 'the run comment is the dispatcher\'s');
    const launcher = join(p.dir, '.dispatcher/bin/dispatcher');
    assert.equal(statSync(launcher).mode & 0o777, 0o755);
    assert.match(readFileSync(launcher, 'utf8'), /^#!\/bin\/sh\nexec '.+' '.+\/bin\/dispatcher\.js' "\$@"\n$/);

    // Where PATH is kept (Claude's Bash tool), plain `dispatcher` is this CLI: its folder comes first.
    const plain = project([task('1')], `[routing."Todo"]\ncommand = "/bin/sh"\nargs = ["-c", "dispatcher task comment \\"$DISPATCHER_TASK_ID\\" plain"]\nenv = { PATH = "/usr/bin:/bin" }\n`);
    assert.equal((await runCli(['poll-once'], { cwd: plain.dir })).code, 0);
    assert.equal(taskIn(readJson<Board>(plain.board), '1').comments[0].text, 'plain');
  });

  it('mcp = true: a claude route gets --mcp-config naming this CLI; the agent\'s tool call lands on the board as the agent\'s', async () => {
    const p = project([task('1')], `[routing."Todo"]\nagent = "claude"\nmcp = true\ncommand = ${NODE}\nargs = [${JSON.stringify(join(AGENTS, 'claude-mcp-standin.mjs'))}, "hello over MCP", "-p", "go"]\nin_progress_queue = "In Progress"\non_success_queue = "Done"\n`);
    const result = await runCli(['poll-once'], { cwd: p.dir, timeoutMs: 60_000 });
    assert.equal(result.code, 0, result.stderr + result.stdout);
    const board = readJson<Board>(p.board);
    assert.equal(queueOf(board, '1'), 'Done');
    const [runId] = allRuns(p.dir).map((run) => (run as Run & { id: string }).id);
    assert.deepEqual(
      taskIn(board, '1').comments.map(({ author, text }) => ({ author, text: text.split('\n')[0] })),
      [
        { author: `agent (claude, run ${runId})`, text: 'hello over MCP' },
        { author: 'dispatcher', text: taskIn(board, '1').comments[1].text.split('\n')[0] },
      ],
    );
    assert.match(taskIn(board, '1').comments[1].text, /^✅ Agent finished \(exit 0\)[^]*> Commented\./);
  });

  it('exits non-zero when a run failed, with the failure commented', async () => {
    const p = project([task('1')], `[routing."Todo"]\ncommand = ${NODE}\nargs = [${JSON.stringify(join(AGENTS, 'failer.mjs'))}, "2"]\nin_progress_queue = "In Progress"\non_failure_queue = "Failed"\n`);
    const result = await runCli(['poll-once'], { cwd: p.dir });
    assert.equal(result.code, 1);
    const board = readJson<Board>(p.board);
    assert.equal(queueOf(board, '1'), 'Failed');
    assert.match(taskIn(board, '1').comments[0].text, /exit 2/);
  });

  it('--dry-run prints the plan and changes nothing', async () => {
    const p = project([task('1', 'One'), task('2', 'Two')], `[routing."Todo"]\ncommand = "true"\nin_progress_queue = "In Progress"\n`, 'max_concurrent_agents = 1');
    const before = readFileSync(p.board, 'utf8');
    const result = await runCli(['poll-once', '--dry-run'], { cwd: p.dir });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /would dispatch 1 \(One\) → true/);
    assert.doesNotMatch(result.stdout, /Two/, 'respects the concurrency limit');
    assert.equal(readFileSync(p.board, 'utf8'), before);
  });

  it('two concurrent --detach runs never dispatch a task twice nor exceed the limit; the next poll-once enforces deadlines', async () => {
    const tasks = Array.from({ length: 8 }, (_, i) => task(String(i + 1)));
    const p = project(tasks, `[routing."Todo"]\ncommand = ${NODE}\nargs = [${JSON.stringify(join(AGENTS, 'term-ignorer.mjs'))}]\nin_progress_queue = "In Progress"\ntimeout = 6\n`, 'max_concurrent_agents = 3');
    const [a, b] = await Promise.all([runCli(['poll-once', '--detach', '--json'], { cwd: p.dir }), runCli(['poll-once', '--detach', '--json'], { cwd: p.dir })]);
    // A third that starts once the first two have left: it must neither adopt nor kill their agents.
    const third = await runCli(['poll-once', '--detach', '--json'], { cwd: p.dir });
    assert.equal(JSON.parse(third.stdout).dispatched.length, 0);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const ids = [...JSON.parse(a.stdout).dispatched, ...JSON.parse(b.stdout).dispatched].map((run: { taskId: string }) => run.taskId);
    assert.equal(ids.length, 3, `dispatched ${ids.join(', ')}`);
    assert.equal(new Set(ids).size, 3);
    const status = JSON.parse((await runCli(['status', '--json'], { cwd: p.dir })).stdout);
    assert.equal(status.running.length, 3);
    assert.equal(status.slots.free, 0);
    // The next poll-once adopts the detached agents and enforces their 6 s deadline (TERM ignored → KILL).
    const started = Date.now();
    const next = await runCli(['poll-once', '--json'], { cwd: p.dir, timeoutMs: 20_000 });
    assert.equal(next.code, 1, 'timed-out runs are failures');
    assert.ok(Date.now() - started < 18_000);
    const after = JSON.parse((await runCli(['status', '--json'], { cwd: p.dir })).stdout);
    const timedOut = after.recent.filter((run: { status: string }) => run.status === 'timed_out');
    assert.ok(timedOut.length >= 3, JSON.stringify(after.recent.map((run: { status: string }) => run.status)));
  });
});

describe('run', () => {
  it('kill -9 mid-flight, then restart: every task ends up settled, none dispatched twice', async () => {
    const tasks = Array.from({ length: 4 }, (_, i) => task(String(i + 1)));
    const p = project(tasks, `[routing."Todo"]\ncommand = ${NODE}\nargs = [${JSON.stringify(join(AGENTS, 'self-mover.mjs'))}, "Done", "2500"]\nin_progress_queue = "In Progress"\n`, 'max_concurrent_agents = 2');
    const first = startDaemon(p.dir);
    await waitFor(() => /dispatched task 2/.test(first.output()) || /dispatched task 1.*\n.*dispatched task/.test(first.output()), 15_000, 'two dispatches');
    first.child.kill('SIGKILL');
    await first.exited;
    const second = startDaemon(p.dir);
    await waitFor(() => {
      const board = readJson<Board>(p.board);
      return board.queues.Todo.length === 0 && board.queues['In Progress'].every((t) => t.comments.some((c) => /lost|adopted/i.test(c.text)));
    }, 40_000, 'all tasks settled');
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0, second.output());
    const runs = allRuns(p.dir);
    for (const id of ['1', '2', '3', '4']) {
      const firstAttempts = runs.filter((run) => run.taskId === id && run.attempt === 1);
      assert.equal(firstAttempts.length, 1, `task ${id} dispatched ${firstAttempts.length} times`);
    }
    const board = readJson<Board>(p.board);
    for (const stuck of board.queues['In Progress']) assert.ok(stuck.comments.some((c) => /lost|adopted/i.test(c.text)), `task ${stuck.id} in progress without a reason`);
    assert.ok(runs.every((run) => !['running', 'starting'].includes(run.status)));
  });

  it('--drain 0 leaves agents running; the next start adopts them and they report back through its API', async () => {
    const p = project([task('1')], `[routing."Todo"]\ncommand = ${NODE}\nargs = [${JSON.stringify(join(AGENTS, 'self-mover.mjs'))}, "Done", "3000"]\nin_progress_queue = "In Progress"\n`);
    const first = startDaemon(p.dir, ['--drain', '0']);
    await waitFor(() => /dispatched task 1/.test(first.output()), 15_000, 'dispatch');
    const stoppedAt = Date.now();
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0, first.output());
    assert.ok(Date.now() - stoppedAt < 5_000, 'the daemon does not wait for the agent');
    const { runs } = readJson<{ runs: Array<{ pid: number; status: string }> }>(join(p.dir, '.dispatcher/ledger.json'));
    assert.equal(runs[0].status, 'running');
    process.kill(runs[0].pid, 0); // still alive
    const second = startDaemon(p.dir);
    await waitFor(() => queueOf(readJson<Board>(p.board), '1') === 'Done', 20_000, 'the agent moved its task');
    await waitFor(() => /adopted run/.test(second.output()) && / succeeded /.test(second.output()), 10_000, 'the adopted run settled');
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0, second.output());
  });

  it('a second signal leaves at once (exit 130) and leaves the agent running for the next start', async () => {
    const p = project([task('1')], `[routing."Todo"]\ncommand = ${NODE}\nargs = [${JSON.stringify(join(AGENTS, 'sleeper.mjs'))}, "60"]\nin_progress_queue = "In Progress"\n`);
    const daemon = startDaemon(p.dir, ['--drain', '60']);
    await waitFor(() => /dispatched task 1/.test(daemon.output()), 15_000, 'dispatch');
    daemon.child.kill('SIGTERM');
    await waitFor(() => /draining up to 60s/.test(daemon.output()), 10_000, 'draining');
    daemon.child.kill('SIGTERM');
    assert.equal(await daemon.exited, 130, daemon.output());
    const [run] = allRuns(p.dir).filter((candidate) => candidate.taskId === '1');
    assert.equal(run.status, 'running');
    process.kill(run.pid, 0); // still alive
    process.kill(-run.pid, 'SIGKILL');
  });

  it('SIGTERM with --stop-agents stops agents, comments, and exits 0; status works meanwhile', async () => {
    const p = project([task('1')], `[routing."Todo"]\ncommand = ${NODE}\nargs = [${JSON.stringify(join(AGENTS, 'sleeper.mjs'))}, "60"]\nin_progress_queue = "In Progress"\n`);
    const daemon = startDaemon(p.dir, ['--stop-agents']);
    await waitFor(() => /dispatched task 1/.test(daemon.output()), 15_000, 'dispatch');
    const status = JSON.parse((await runCli(['status', '--json'], { cwd: p.dir })).stdout);
    assert.equal(status.running[0].taskId, '1');
    assert.ok(status.running[0].pid > 0);
    assert.equal(status.daemons[0].mode, 'run');
    daemon.child.kill('SIGTERM');
    assert.equal(await daemon.exited, 0, daemon.output());
    const board = readJson<Board>(p.board);
    assert.match(taskIn(board, '1').comments.at(-1)!.text, /stopped/i);
    assert.throws(() => process.kill(-status.running[0].pid, 0), /ESRCH/, 'the agent group is gone');
  });

  it('a second daemon on the same port gets a clear message', async () => {
    const p = project([], `[routing."Todo"]\ncommand = "true"\n`);
    const { createServer } = await import('node:net');
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    const port = (blocker.address() as { port: number }).port;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(p.config, readFileSync(p.config, 'utf8').replace('api_port = 0', `api_port = ${port}`));
    const busy = await runCli(['run'], { cwd: p.dir, timeoutMs: 10_000 });
    blocker.close();
    assert.equal(busy.code, 2);
    assert.match(busy.stderr, /port is in use/);
  });
});
