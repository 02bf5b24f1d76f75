import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { runCli, waitFor } from '../helpers.ts';
import { AGENTS, NODE, project, startDaemon, task } from '../cli/support.ts';
import { allRuns, apiUrlOf, commentsOf, groupAlive, queueOf, runningRun } from './support.ts';

const sleeperRoute = `[routing."Todo"]\ncommand = ${NODE}\nargs = [${JSON.stringify(join(AGENTS, 'sleeper.mjs'))}, "60"]\nin_progress_queue = "In Progress"\non_failure_queue = "Failed"\nmax_attempts = 2\n`;

describe('stopping a run from outside', () => {
  it('`dispatcher stop <task>` stops the agent a daemon supervises: outcome stopped, one comment with the reason, task left in progress, no retry', async () => {
    const p = project([task('1')], sleeperRoute);
    const daemon = startDaemon(p.dir);
    try {
      const run = await runningRun(p.dir, '1');
      const asked = Date.now();
      const stop = await runCli(['stop', '1', '--reason', 'wrong approach'], { cwd: p.dir });
      assert.equal(stop.code, 0, stop.stderr);
      assert.match(stop.stdout, new RegExp(`stopped run ${run.id} of task 1 \\(outcome stopped\\)`));
      assert.ok(Date.now() - asked < 1_000 + 1_000 + 3_000, 'within grace (1 s) + 1 s, and the CLI start');
      assert.equal(groupAlive(run.pgid!), false);
      const settled = allRuns(p.dir).filter((candidate) => candidate.taskId === '1');
      assert.deepEqual(settled.map((candidate) => candidate.status), ['stopped'], 'no retry');
      assert.match(settled[0].outcome!, /wrong approach/);
      await waitFor(() => commentsOf(p.board, '1').length === 1, 5_000, 'the comment');
      assert.match(commentsOf(p.board, '1')[0], /⏹️ Agent stopped[\s\S]*Reason: wrong approach/);
      await new Promise((resolve) => setTimeout(resolve, 800));
      assert.equal(queueOf(p.board, '1'), 'In Progress');
      assert.equal(commentsOf(p.board, '1').length, 1);
    } finally {
      daemon.child.kill('SIGTERM');
      await daemon.exited;
    }
  });

  it('`--release` moves the task back to its watched queue; a detached agent nobody watches is settled by the stop itself', async () => {
    const p = project([task('1')], sleeperRoute);
    const poll = await runCli(['poll-once', '--detach'], { cwd: p.dir });
    assert.equal(poll.code, 0, poll.stderr);
    const run = await runningRun(p.dir, '1');
    const stop = await runCli(['stop', run.id, '--release', '--json'], { cwd: p.dir });
    assert.equal(stop.code, 0, stop.stderr);
    const result = JSON.parse(stop.stdout);
    assert.equal(result.settled, true);
    assert.equal(result.run.status, 'stopped');
    assert.equal(groupAlive(run.pgid!), false);
    assert.equal(queueOf(p.board, '1'), 'Todo');
    assert.equal(commentsOf(p.board, '1').length, 1);
  });

  it('POST /runs/{id}/stop with the operator token; a run token or none is refused', async () => {
    const p = project([task('1')], sleeperRoute);
    const daemon = startDaemon(p.dir);
    try {
      const api = await apiUrlOf(daemon);
      const run = await runningRun(p.dir, '1');
      const operator = readFileSync(join(p.dir, '.dispatcher/operator-token'), 'utf8').trim();
      const anonymous = await fetch(`${api}/runs/${run.id}/stop`, { method: 'POST' });
      assert.equal(anonymous.status, 401);
      const unknown = await fetch(`${api}/runs/nope/stop`, { method: 'POST', headers: { authorization: `Bearer ${operator}` } });
      assert.equal(unknown.status, 404);
      const stopped = await fetch(`${api}/runs/${run.id}/stop`, { method: 'POST', headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'from a script' }) });
      assert.equal(stopped.status, 202, await stopped.clone().text());
      assert.equal(groupAlive(run.pgid!), false, 'the answer comes once the group is gone');
      await waitFor(() => allRuns(p.dir).find((candidate) => candidate.id === run.id && candidate.status === 'stopped'), 5_000, 'settled');
      await waitFor(() => commentsOf(p.board, '1').some((text) => /from a script/.test(text)), 5_000, 'the comment');
    } finally {
      daemon.child.kill('SIGTERM');
      await daemon.exited;
    }
  });

  it('an unknown id is exit 4 with a clear message', async () => {
    const p = project([task('1')], sleeperRoute);
    const stop = await runCli(['stop', '99'], { cwd: p.dir });
    assert.equal(stop.code, 4);
    assert.match(stop.stderr, /no running agent for "99"/);
  });
});
