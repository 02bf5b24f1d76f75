import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, waitFor } from '../helpers.ts';
import { AGENTS, NODE, project, startDaemon, task, type Daemon } from '../cli/support.ts';
import { allRuns, type Board, commentsOf, groupAlive, queueOf, runningRun } from './support.ts';

const route = (script: string, args: string[], extra = '') => `[routing."Todo"]\ncommand = ${NODE}\nargs = [${[join(AGENTS, script), ...args].map((arg) => JSON.stringify(arg)).join(', ')}]\nin_progress_queue = "In Progress"\non_success_queue = "Done"\non_failure_queue = "Failed"\nmax_attempts = 2\n${extra}`;

async function stopped(daemon: Daemon): Promise<void> {
  daemon.child.kill('SIGTERM');
  assert.equal(await daemon.exited, 0, daemon.output());
}

describe('reconciling running tasks with the tracker', () => {
  it('a task moved elsewhere by a person while its agent runs: the group is gone within grace + 1 s of the next poll, one comment, outcome cancelled, not dispatched again', async () => {
    const p = project([task('1')], route('sleeper.mjs', ['60']));
    const daemon = startDaemon(p.dir);
    try {
      const run = await runningRun(p.dir, '1');
      const move = await runCli(['task', 'move', '1', 'Done'], { cwd: p.dir });
      assert.equal(move.code, 0, move.stderr);
      const movedAt = Date.now();
      await waitFor(() => !groupAlive(run.pgid!), 10_000, 'the agent group gone');
      const took = Date.now() - movedAt;
      assert.ok(took < 300 + 1_000 + 1_000, `gone ${took} ms after the move (poll 0.3 s + grace 1 s + 1 s)`);
      await waitFor(() => allRuns(p.dir).find((candidate) => candidate.id === run.id && candidate.status === 'cancelled'), 5_000, 'cancelled');
      await waitFor(() => commentsOf(p.board, '1').length === 1, 5_000, 'the comment');
      assert.match(commentsOf(p.board, '1')[0], /^🛑 Agent cancelled after [^:]+: its task was moved to "Done" while it ran; the agent was stopped/);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      assert.equal(queueOf(p.board, '1'), 'Done', 'no success or failure move');
      assert.deepEqual(allRuns(p.dir).map((candidate) => candidate.status), ['cancelled'], 'no retry, no new run');
      assert.equal(commentsOf(p.board, '1').length, 1);
      assert.match(daemon.output(), /task 1: its task was moved to "Done" while it ran; the agent was stopped/);
    } finally {
      await stopped(daemon);
    }
  });

  it('a task moved back to its watched queue is cancelled, then dispatched afresh as a new claim', async () => {
    const p = project([task('1')], route('sleeper.mjs', ['60']));
    const daemon = startDaemon(p.dir, ['--stop-agents']);
    try {
      const first = await runningRun(p.dir, '1');
      assert.equal((await runCli(['task', 'move', '1', 'Todo'], { cwd: p.dir })).code, 0);
      const second = await waitFor(() => allRuns(p.dir).find((run) => run.taskId === '1' && run.id !== first.id && run.status === 'running' && run.pid), 10_000, 'a new run');
      assert.equal(second.attempt, 1, 'a new claim, not a retry');
      assert.equal(allRuns(p.dir).find((run) => run.id === first.id)?.status, 'cancelled');
      assert.equal(groupAlive(first.pgid!), false);
      assert.equal(queueOf(p.board, '1'), 'In Progress');
      assert.deepEqual(commentsOf(p.board, '1').map((text) => text.split('\n')[0].replace(/after [^:]+:/, "after N:")), ['🛑 Agent cancelled after N: its task was moved to "Todo" while it ran; the agent was stopped']);
    } finally {
      await stopped(daemon);
    }
  });

  for (const auth of ['token', 'none']) {
    it(`a task the agent moves to Done itself, through its token, is not cancelled while the agent goes on ([api] auth = "${auth}")`, async () => {
      const p = project([task('1')], route('self-mover.mjs', ['Done', '300', '1500']), `[api]\nauth = "${auth}"\n`);
      const daemon = startDaemon(p.dir);
      try {
        const run = await runningRun(p.dir, '1');
        await waitFor(() => allRuns(p.dir).find((candidate) => candidate.id === run.id && !['running', 'starting'].includes(candidate.status)), 20_000, 'the run settled');
        assert.equal(allRuns(p.dir).find((candidate) => candidate.id === run.id)?.status, 'succeeded', daemon.output());
        assert.equal(queueOf(p.board, '1'), 'Done');
        assert.doesNotMatch(daemon.output(), /cancelled|the agent was stopped/);
      } finally {
        await stopped(daemon);
      }
    });
  }

  it('a deleted task: the agent is stopped, outcome cancelled, nothing to comment on', async () => {
    const p = project([task('1')], route('sleeper.mjs', ['60']));
    const daemon = startDaemon(p.dir);
    try {
      const run = await runningRun(p.dir, '1');
      const board = JSON.parse(readFileSync(p.board, 'utf8')) as Board;
      board.queues['In Progress'] = board.queues['In Progress'].filter((candidate) => candidate.id !== '1');
      writeFileSync(`${p.board}.new`, JSON.stringify(board));
      renameSync(`${p.board}.new`, p.board);
      await waitFor(() => allRuns(p.dir).find((candidate) => candidate.id === run.id && candidate.status === 'cancelled'), 10_000, 'cancelled');
      assert.equal(groupAlive(run.pgid!), false);
      assert.match(allRuns(p.dir).find((candidate) => candidate.id === run.id)?.outcome ?? '', /its task was deleted/);
      assert.equal(allRuns(p.dir).length, 1, 'no retry');
    } finally {
      await stopped(daemon);
    }
  });

  it('stop_when_moved = false leaves the agent running; it finishes and the task stays where it was put', async () => {
    const p = project([task('1')], route('sleeper.mjs', ['2'], 'stop_when_moved = false\n'));
    const daemon = startDaemon(p.dir);
    try {
      const run = await runningRun(p.dir, '1');
      assert.equal((await runCli(['task', 'move', '1', 'Failed'], { cwd: p.dir })).code, 0);
      await waitFor(() => allRuns(p.dir).find((candidate) => candidate.id === run.id && candidate.status === 'succeeded'), 15_000, 'the run finished');
      assert.equal(queueOf(p.board, '1'), 'Failed');
      // The move owed at the run's end is tried from the outbox once the outcome is recorded.
      await waitFor(() => /task 1 is in "Failed" \(moved while its agent ran, or since\); leaving it there/.test(daemon.output()), 10_000, 'the skipped move in the log');
    } finally {
      await stopped(daemon);
    }
  });
});
