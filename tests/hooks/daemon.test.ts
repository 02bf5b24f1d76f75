import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { recordedDeliveries, replayHeaders, RECORDED_GITEA_REPO } from '../../fixtures/webhooks/recorded.ts';
import { AGENTS, NODE, project, startDaemon, task } from '../cli/support.ts';
import { readJson, runCli, waitFor, writeFile } from '../helpers.ts';
import { post } from './support.ts';

const QUEUE = `${RECORDED_GITEA_REPO}:ready`;

/** A JSON board whose queue is named like a Gitea queue, so a recorded Gitea delivery is about it. */
function setup() {
  const routing = `[routing.${JSON.stringify(QUEUE)}]\ncommand = ${NODE}\nargs = [${JSON.stringify(join(AGENTS, 'probe.mjs'))}, "agents.log", "50"]\ncwd = "."\nin_progress_queue = "In Progress"\non_success_queue = "Done"\n`;
  const setup = project([], routing);
  writeFile(setup.dir, 'dispatcher.toml', readFileSync(setup.config, 'utf8').replace('poll_interval = 0.3', 'poll_interval = 300'));
  writeFile(setup.dir, '.env', 'GITEA_WEBHOOK_SECRET=hook-secret\n');
  const addTask = (id: string) => {
    const board = readJson(setup.board);
    board.queues[QUEUE] ??= [];
    board.queues[QUEUE].push(task(id));
    writeFile(setup.dir, 'board.json', JSON.stringify(board, null, 2));
  };
  addTask('0');
  const count = (word: string) => (existsSync(join(setup.dir, 'agents.log')) ? readFileSync(join(setup.dir, 'agents.log'), 'utf8').split('\n').filter((line) => line.startsWith(word)).length : 0);
  return { ...setup, addTask, started: () => count('start'), ended: () => count('end') };
}

describe('dispatcher run with webhooks and refresh (poll_interval = 300)', () => {
  it('a verified delivery on the API address, and `dispatcher refresh`, each start a waiting agent at once', async () => {
    const s = setup();
    const daemon = startDaemon(s.dir);
    try {
      await waitFor(() => s.started() === 1, 20_000, 'the first tick\'s agent');
      const apiUrl = await waitFor(() => /agent API on (\S+)/.exec(daemon.output())?.[1], 10_000, 'the API address');
      assert.match(daemon.output(), /webhook receivers on \/hooks\/gitea/);

      s.addTask('1');
      const delivery = recordedDeliveries('gitea')[1];
      const sent = Date.now();
      const answer = await post(`${apiUrl}/hooks/gitea`, replayHeaders(delivery.headers), delivery.body);
      assert.equal(answer.status, 202);
      assert.equal(answer.json.result, 'accepted');
      await waitFor(() => s.started() === 2, 10_000, 'the agent the delivery brought forward');
      assert.ok(Date.now() - sent < 10_000);

      // A forged delivery does nothing (once the ticks that follow a run's end are over).
      await waitFor(() => s.ended() === 2, 10_000, 'the second agent\'s end');
      await new Promise((resolve) => setTimeout(resolve, 500));
      s.addTask('2');
      const forged = await post(`${apiUrl}/hooks/gitea`, { ...replayHeaders(delivery.headers), 'x-gitea-delivery': 'forged', 'x-gitea-signature': '0'.repeat(64) }, delivery.body);
      assert.equal(forged.status, 401);
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(s.started(), 2);

      const refreshed = await runCli(['refresh', '--json'], { cwd: s.dir, timeoutMs: 30_000 });
      assert.equal(refreshed.code, 0, refreshed.stderr);
      assert.match(JSON.parse(refreshed.stdout).tickStartedAt, /^\d{4}-/);
      await waitFor(() => s.started() === 3, 10_000, 'the agent refresh started');

      const status = await waitFor(async () => {
        const result = await runCli(['status', '--json'], { cwd: s.dir });
        const push = JSON.parse(result.stdout).push;
        return push?.lastTick && push.deliveries.gitea?.result === 'refused' ? push : undefined;
      }, 10_000, 'the push status in state_dir');
      assert.equal(status.deliveries.gitea.reason, 'wrong signature');
      const text = (await runCli(['status'], { cwd: s.dir })).stdout;
      assert.match(text, /last tick: \S+ \((refresh|run ended)\)/);
      assert.match(text, /last gitea delivery: \S+ issues refused \(401: wrong signature\)/);

      const token = readFileSync(join(s.dir, '.dispatcher', 'operator-token'), 'utf8').trim();
      const state = await (await fetch(`${apiUrl}/api/v1/state`, { headers: { authorization: `Bearer ${token}` } })).json();
      assert.deepEqual(state.tracker.deliveries.map((d: any) => [d.tracker, d.result, d.status, d.reason]), [['gitea', 'refused', 401, 'wrong signature']]);
      assert.match(state.tracker.lastTick.trigger, /^(refresh|run ended|webhook|poll)$/);
      assert.doesNotMatch(JSON.stringify(state), /127\.0\.0\.1:3000|html_url|"action"/, 'nothing of a delivery body');
    } finally {
      daemon.child.kill('SIGTERM');
      await daemon.exited;
    }
  });

  it('`dispatcher refresh` without a running daemon says so (exit 3)', async () => {
    const s = setup();
    const result = await runCli(['refresh'], { cwd: s.dir });
    assert.equal(result.code, 3);
    assert.match(result.stderr, /no `dispatcher run` is running/);
  });
});
