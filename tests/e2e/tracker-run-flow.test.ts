import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import createGiteaTracker from '../../adapters/gitea/index.ts';
import createPlankaTracker from '../../adapters/planka/index.ts';
import { startFakeGitea } from '../../fixtures/gitea/fake-gitea.ts';
import { startFakePlanka } from '../../fixtures/planka/fake-planka.ts';
import { silentLogger } from '../../src/log.ts';
import { runCli, tempDir, writeFile } from '../helpers.ts';

const AGENTS = join(import.meta.dirname, '../../fixtures/agents');

/**
 * The whole `dispatcher` flow on a fake tracker: poll-once claims the task (moved, assigned) and
 * starts an agent that reads, comments on and moves its task with `dispatcher task ...` alone —
 * through the dispatcher's API, with no credentials in its environment and no config in its cwd.
 */
function setup(backend: string, env: string, route: { queue: string; inProgress: string; done: string }) {
  const dir = tempDir();
  writeFile(dir, '.env', env);
  writeFile(
    dir,
    'dispatcher.toml',
    `api_port = 0\n${backend}\n[routing.${JSON.stringify(route.queue)}]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(join(AGENTS, 'self-mover.mjs'))}, ${JSON.stringify(route.done)}]\nin_progress_queue = ${JSON.stringify(route.inProgress)}\ncwd = "work/{task_id}"\n`,
  );
  return dir;
}

describe('the run flow on fake trackers', () => {
  for (const version of [1, 2] as const) {
    it(`Planka ${version}.x: a card in Proj.Board.Todo is claimed, and its agent comments and moves it to Done`, async () => {
      const fake = await startFakePlanka({ version });
      try {
        const bot = fake.seed.user({ username: 'bot', password: 'BotPass123!x', acceptedTerms: false });
        const { lists } = fake.seed.boardWithLists({ project: 'Proj', board: 'Board', lists: ['Todo', 'Doing', 'Done'], members: [bot] });
        const card = fake.seed.card(lists.Todo, 'Fix the login page', { description: 'It 500s.' });
        const dir = setup(`[backend]\ntype = "planka"\nurl = "${fake.url}"\n`, `PLANKA_USER=bot\nPLANKA_PASSWORD=${bot.password}\n`, {
          queue: 'Proj.Board.Todo',
          inProgress: 'Proj.Board.Doing',
          done: 'Proj.Board.Done',
        });
        const result = await runCli(['poll-once', '--json'], { cwd: dir, timeoutMs: 60_000 });
        assert.equal(result.code, 0, result.stderr);
        assert.equal(JSON.parse(result.stdout).settled[0].status, 'succeeded');

        const tracker = await createPlankaTracker({ options: { type: 'planka', url: fake.url }, baseDir: dir, env: { PLANKA_TOKEN: fake.tokenFor(bot) }, log: silentLogger });
        const task = await tracker.getTask(String(card.id));
        await tracker.close?.();
        assert.equal(task.queue, 'Proj.Board.Done');
        assert.deepEqual(task.assignees, ['bot'], 'the claim made the bot a card member');
        assert.match(task.comments.map((comment) => comment.text).join('\n'), /self-mover: moving to Proj\.Board\.Done/);
        assert.ok(fake.count('PATCH', /^\/api\/cards\//) >= 2, 'claim move and agent move');
        assert.doesNotMatch(result.stderr, new RegExp(bot.password.replace(/[!]/g, '\\$&')), 'the password never reaches a log line');
      } finally {
        await fake.close();
      }
    });
  }

  it('Gitea: an issue labelled ready is claimed (label swapped, assigned) and its agent closes it', async () => {
    const fake = await startFakeGitea();
    try {
      fake.addRepo('acme/app', { labels: ['ready', 'in-progress'] });
      const issue = fake.addIssue('acme/app', { title: 'Crash on empty config', body: 'Steps…', labels: ['ready'] });
      const dir = setup(`[backend]\ntype = "gitea"\nurl = "${fake.url}"\n`, `GITEA_TOKEN=${fake.token}\n`, {
        queue: 'acme/app:ready',
        inProgress: 'acme/app:in-progress',
        done: 'acme/app:closed',
      });
      const result = await runCli(['poll-once', '--json'], { cwd: dir, timeoutMs: 60_000 });
      assert.equal(result.code, 0, result.stderr);
      const tracker = await createGiteaTracker({ options: { type: 'gitea', url: fake.url }, baseDir: dir, env: { GITEA_TOKEN: fake.token }, log: silentLogger });
      const task = await tracker.getTask(`acme/app#${issue.number}`);
      await tracker.close?.();
      assert.equal(task.queue, 'acme/app:closed');
      assert.deepEqual(task.assignees, [fake.login]);
      assert.ok(!task.labels.includes('ready'));
      assert.match(task.comments.map((comment) => comment.text).join('\n'), /self-mover: moving to acme\/app:closed/);
      assert.ok(!result.stderr.includes(fake.token), 'the token never reaches a log line');
    } finally {
      await fake.close();
    }
  });
});
