import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import createJsonTracker from '../../adapters/json/index.ts';
import { silentLogger } from '../../src/log.ts';
import { runCli, waitFor } from '../helpers.ts';
import { AGENTS, NODE, project, startDaemon, task } from '../cli/support.ts';
import { allRuns, apiUrlOf, queueOf, runningRun } from './support.ts';

const route = (queue: string, seconds: string) => `[routing.${JSON.stringify(queue)}]\ncommand = ${NODE}\nargs = [${JSON.stringify(join(AGENTS, 'sleeper.mjs'))}, "${seconds}"]\nin_progress_queue = "In Progress"\non_success_queue = "Done"\n`;

/** The project's config with `routing` in place of its routes. */
function rewrite(configFile: string, routing: string): void {
  const text = readFileSync(configFile, 'utf8');
  writeFileSync(configFile, `${text.slice(0, text.indexOf('[routing.'))}${routing}`);
}

describe('live reload', () => {
  it('SIGHUP: a new route applies at the next tick, a removed route\'s run finishes under its rules, and the dashboard says when the config was loaded', async () => {
    const p = project([task('1')], route('Todo', '2'));
    const board = JSON.parse(readFileSync(p.board, 'utf8'));
    board.queues.Later = [task('2')];
    writeFileSync(p.board, JSON.stringify(board));
    const daemon = startDaemon(p.dir);
    try {
      const api = await apiUrlOf(daemon);
      const operator = readFileSync(join(p.dir, '.dispatcher/operator-token'), 'utf8').trim();
      const state = async () => (await (await fetch(`${api}/api/v1/state`, { headers: { authorization: `Bearer ${operator}` } })).json()) as { configLoadedAt: string; groups: { rows: Array<{ name: string }> } };
      const before = (await state()).configLoadedAt;
      await runningRun(p.dir, '1');
      assert.equal(queueOf(p.board, '2'), 'Later', 'no route watches Later yet');
      rewrite(p.config, route('Later', '0'));
      daemon.child.kill('SIGHUP');
      await waitFor(() => /configuration reloaded: 1 route\(s\)/.test(daemon.output()), 10_000, 'the reload');
      await waitFor(() => queueOf(p.board, '2') === 'Done', 15_000, 'the new route dispatched task 2');
      await waitFor(() => allRuns(p.dir).find((run) => run.taskId === '1' && run.status === 'succeeded'), 15_000, 'the removed route\'s run finished');
      // Recorded first, then moved (from the outbox): moved by the rules it started with.
      await waitFor(() => queueOf(p.board, '1') === 'Done', 10_000, 'task 1 moved to Done');
      assert.ok((await state()).configLoadedAt > before, 'the dashboard shows the new load time');
    } finally {
      daemon.child.kill('SIGTERM');
      assert.equal(await daemon.exited, 0, daemon.output());
    }
  });

  it('an invalid config is refused with the usual error and the last good one stays; `dispatcher reload` says so (exit 2), then applies a good one', async () => {
    const p = project([task('1')], route('Todo', '0'));
    const daemon = startDaemon(p.dir);
    try {
      await waitFor(() => queueOf(p.board, '1') === 'Done', 15_000, 'task 1 done');
      const good = readFileSync(p.config, 'utf8');
      writeFileSync(p.config, good.replace('kill_grace = 1', 'kill_grace = "soon"'));
      daemon.child.kill('SIGHUP');
      await waitFor(() => /reload refused, the configuration in force stays: .*dispatcher\.toml:\d+: kill_grace: /.test(daemon.output()), 10_000, 'the refusal in the log');
      const api = await apiUrlOf(daemon);
      const operator = readFileSync(join(p.dir, '.dispatcher/operator-token'), 'utf8').trim();
      const posted = await fetch(`${api}/reload`, { method: 'POST', headers: { authorization: `Bearer ${operator}` } });
      assert.equal(posted.status, 400);
      assert.match(((await posted.json()) as { error: { code: string; message: string } }).error.message, /kill_grace must be a number of seconds/);
      const refused = await runCli(['reload'], { cwd: p.dir });
      assert.equal(refused.code, 2, refused.stderr);
      // The command reads the config first: the same error, and the daemon is not asked.
      assert.match(refused.stderr, /dispatcher\.toml:\d+: kill_grace: kill_grace must be a number of seconds/);
      // The last good config still dispatches.
      const tracker = createJsonTracker({ options: { type: 'json', url: p.board }, baseDir: p.dir, env: {}, log: silentLogger });
      const { id } = await tracker.createTask('Todo', 'another', '');
      await waitFor(() => queueOf(p.board, id) === 'Done', 15_000, 'the new task done under the config in force');
      writeFileSync(p.config, good.replace('poll_interval = 0.3', 'poll_interval = 0.2'));
      const applied = await runCli(['reload', '--json'], { cwd: p.dir });
      assert.equal(applied.code, 0, applied.stderr);
      assert.deepEqual(JSON.parse(applied.stdout).routes, ['Todo']);
      assert.match(daemon.output(), /polling every 0\.2s/);
    } finally {
      daemon.child.kill('SIGTERM');
      assert.equal(await daemon.exited, 0, daemon.output());
    }
  });
});
