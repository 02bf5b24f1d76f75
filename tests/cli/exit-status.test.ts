import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJson, runCli, waitFor } from '../helpers.ts';
import { AGENTS, NODE, project, startDaemon, task } from './support.ts';

type Board = { queues: Record<string, Array<{ id: string; comments: Array<{ text: string }> }>> };
type Run = { id: string; taskId: string; attempt: number; status: string; outcome?: string; pid: number; exitCode?: number | null; signal?: string | null };

const queueOf = (board: Board, id: string) => Object.entries(board.queues).find(([, tasks]) => tasks.some((t) => t.id === id))?.[0];
const commentsOf = (board: Board, id: string) => Object.values(board.queues).flat().find((t) => t.id === id)!.comments.map((c) => c.text);
function finishedRuns(dir: string): Run[] {
  const file = join(dir, '.dispatcher/runs.jsonl');
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Run) : [];
}
const routing = (ms: number) =>
  `[routing."Todo"]\ncommand = ${NODE}\nargs = [${JSON.stringify(join(AGENTS, 'by-name.mjs'))}, "${ms}"]\nin_progress_queue = "In Progress"\non_success_queue = "Done"\non_failure_queue = "Failed"\nmax_attempts = 2\n`;

describe('exit statuses outlive the dispatcher', () => {
  it('cron (poll-once --detach every few moments): each agent lands where its own outcome says, exactly once', async () => {
    const p = project([task('1', 'succeed'), task('2', 'fail'), task('3', 'crash')], routing(300), 'max_concurrent_agents = 3');
    for (let round = 0; round < 20; round++) {
      const result = await runCli(['poll-once', '--detach'], { cwd: p.dir });
      assert.ok(result.code === 0 || result.code === 1, result.stderr);
      const board = readJson<Board>(p.board);
      const { runs } = readJson<{ runs: Run[] }>(join(p.dir, '.dispatcher/ledger.json'));
      if (board.queues.Todo.length === 0 && board.queues['In Progress'].length === 0 && runs.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const board = readJson<Board>(p.board);
    const runs = finishedRuns(p.dir);
    const attempts = (id: string) => runs.filter((run) => run.taskId === id);
    assert.equal(queueOf(board, '1'), 'Done', JSON.stringify(runs));
    assert.deepEqual(attempts('1').map((run) => [run.attempt, run.status, run.exitCode]), [[1, 'succeeded', 0]], 'a success never runs twice');
    assert.equal(queueOf(board, '2'), 'Failed');
    assert.deepEqual(attempts('2').map((run) => [run.attempt, run.status, run.outcome]), [[1, 'failed', 'failed (exit 3)'], [2, 'failed', 'failed (exit 3)']]);
    assert.equal(queueOf(board, '3'), 'Failed');
    assert.deepEqual(attempts('3').map((run) => [run.attempt, run.status, run.signal]), [[1, 'failed', 'SIGKILL'], [2, 'failed', 'SIGKILL']]);
    for (const id of ['1', '2', '3']) assert.ok(commentsOf(board, id).every((text) => !/lost/i.test(text)), commentsOf(board, id).join('\n---\n'));
    assert.equal(commentsOf(board, '2').filter((text) => /exit 3/.test(text)).length, 2, 'one comment per attempt');
  });

  it('an agent adopted after the daemon was killed (kill -9) is settled by its real exit status', async () => {
    const p = project([task('1', 'fail'), task('2', 'succeed')], routing(2500).replace('max_attempts = 2', 'max_attempts = 1'), 'max_concurrent_agents = 2');
    const first = startDaemon(p.dir);
    try {
      await waitFor(() => (first.output().match(/dispatched task/g) ?? []).length === 2, 30_000, 'two dispatches');
    } finally {
      first.child.kill('SIGKILL'); // also when the wait fails: a daemon left running holds the test file open
    }
    await first.exited;
    const second = startDaemon(p.dir);
    try {
      await waitFor(() => queueOf(readJson<Board>(p.board), '1') === 'Failed' && queueOf(readJson<Board>(p.board), '2') === 'Done', 30_000, 'both settled');
    } finally {
      second.child.kill('SIGTERM');
    }
    assert.equal(await second.exited, 0, second.output());
    assert.match(second.output(), /adopted run/);
    const runs = finishedRuns(p.dir);
    assert.deepEqual(runs.map((run) => [run.taskId, run.status, run.exitCode]).sort(), [['1', 'failed', 3], ['2', 'succeeded', 0]]);
    assert.match(commentsOf(readJson<Board>(p.board), '1').join('\n'), /exit 3/);
  });

  it('a restart finds the status of an agent that ended while no dispatcher ran', async () => {
    const p = project([task('1', 'succeed')], routing(1000));
    const first = startDaemon(p.dir);
    try {
      await waitFor(() => /dispatched task 1/.test(first.output()), 30_000, 'dispatch');
    } finally {
      first.child.kill('SIGKILL');
    }
    await first.exited;
    const { runs } = readJson<{ runs: Run[] }>(join(p.dir, '.dispatcher/ledger.json'));
    await waitFor(() => existsSync(join(p.dir, '.dispatcher/runs', `${runs[0].id}.exit`)), 15_000, 'the agent ended');
    const result = await runCli(['poll-once', '--json'], { cwd: p.dir });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(queueOf(readJson<Board>(p.board), '1'), 'Done', result.stdout + result.stderr + readFileSync(join(p.dir, '.dispatcher/ledger.json'), 'utf8'));
    assert.deepEqual(finishedRuns(p.dir).map((run) => [run.status, run.exitCode]), [['succeeded', 0]]);
  });
});
