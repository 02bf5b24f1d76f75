import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeGitea } from '../../fixtures/gitea/fake-gitea.ts';
import { startFakePlanka } from '../../fixtures/planka/fake-planka.ts';
import { runCli, tempDir, waitFor, writeFile } from '../helpers.ts';
import { startDaemon } from '../cli/support.ts';

/**
 * One broken route never stops the others, on the fake trackers with `dispatcher run`: the route
 * whose queue cannot be resolved is paused (one warning naming it and why), `status` shows it, the
 * other route keeps dispatching, and the paused one resumes by itself once its queue is back.
 */
function daemonDir(backend: string, env: string, routes: Array<[queue: string, inProgress: string]>): string {
  const dir = tempDir();
  writeFile(dir, '.env', env);
  const routing = routes.map(([queue, inProgress]) => `[routing.${JSON.stringify(queue)}]\ncommand = "true"\nin_progress_queue = ${JSON.stringify(inProgress)}\n`).join('');
  writeFile(dir, 'dispatcher.toml', `poll_interval = 0.3\napi_port = 0\n${backend}\n${routing}`);
  return dir;
}

async function status(dir: string): Promise<{ text: string; json: { brokenRoutes: Array<{ route: string; queue: string; reason: string }> } }> {
  const [text, json] = await Promise.all([runCli(['status'], { cwd: dir }), runCli(['status', '--json'], { cwd: dir })]);
  assert.equal(text.code, 0, text.stderr);
  return { text: text.stdout, json: JSON.parse(json.stdout) };
}

const count = (text: string, pattern: RegExp) => text.split('\n').filter((line) => pattern.test(line)).length;

describe('a broken route on a real tracker', { concurrency: false }, () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it('Planka: a renamed list pauses its route alone; the other board dispatches; renamed back, it resumes', async () => {
    const fake = await startFakePlanka({ version: 2 });
    cleanups.push(() => fake.close());
    const bot = fake.seed.user({ username: 'bot', password: 'BotPass123!x' });
    const one = fake.seed.boardWithLists({ project: 'P', board: 'One', lists: ['Todo', 'Doing'], members: [bot] });
    const two = fake.seed.boardWithLists({ project: 'P', board: 'Two', lists: ['Todo', 'Doing'], members: [bot] });
    const dir = daemonDir(`[backend]\ntype = "planka"\nurl = "${fake.url}"\n`, `PLANKA_USER=bot\nPLANKA_PASSWORD=${bot.password}\n`, [
      ['P.One.Todo', 'P.One.Doing'],
      ['P.Two.Todo', 'P.Two.Doing'],
    ]);
    fake.store.lists.get(one.lists.Todo.id)!.name = 'Todo (renamed)';
    const daemon = startDaemon(dir);
    try {
      const inDoing = (list: { id: string }) => [...fake.store.cards.values()].filter((card) => card.listId === list.id).length;
      await waitFor(() => /route "P\.One\.Todo" paused/.test(daemon.output()), 20_000, 'the route paused');
      const waiting = fake.seed.card(one.lists.Todo, 'waits for its list');
      fake.seed.card(two.lists.Todo, 'runs on the other board');
      await waitFor(() => inDoing(two.lists.Doing) === 1, 20_000, `the other board's card claimed:\n${daemon.output()}`);

      const paused = await status(dir);
      assert.match(paused.text, /route paused: P\.One\.Todo .*no Planka list is named exactly "P\.One\.Todo"/);
      assert.deepEqual(paused.json.brokenRoutes.map(({ route, queue }) => [route, queue]), [['P.One.Todo', 'P.One.Todo']]);
      assert.equal(inDoing(one.lists.Doing), 0);
      assert.equal(count(daemon.output(), /poll failed/), 0, 'not a failed poll');

      fake.store.lists.get(one.lists.Todo.id)!.name = 'Todo';
      await waitFor(() => inDoing(one.lists.Doing) === 1, 20_000, `the card of the renamed list claimed once it is back:\n${daemon.output()}`);
      assert.equal(fake.store.cards.get(String(waiting.id))!.listId, one.lists.Doing.id);
      await waitFor(async () => (await status(dir)).json.brokenRoutes.length === 0, 20_000, 'status no longer shows the route');
      assert.equal(count(daemon.output(), /route "P\.One\.Todo" paused/), 1, `one warning:\n${daemon.output()}`);
      assert.equal(count(daemon.output(), /route "P\.One\.Todo" resumed/), 1);
    } finally {
      daemon.child.kill('SIGTERM');
      await daemon.exited;
    }
  });

  it('Gitea: a missing label and a missing repository pause their routes alone, which resume once they exist', async () => {
    const fake = await startFakeGitea();
    cleanups.push(() => fake.close());
    fake.addRepo('acme/app', { labels: ['ready', 'doing'] });
    fake.addRepo('acme/web', { labels: ['doing'] });
    const dir = daemonDir(`[backend]\ntype = "gitea"\nurl = "${fake.url}"\n`, `GITEA_TOKEN=${fake.token}\n`, [
      ['acme/app:ready', 'acme/app:doing'],
      ['acme/web:ready', 'acme/web:doing'],
      ['acme/new:ready', 'acme/new:doing'],
    ]);
    const daemon = startDaemon(dir);
    try {
      await waitFor(() => /route "acme\/web:ready" paused/.test(daemon.output()) && /route "acme\/new:ready" paused/.test(daemon.output()), 20_000, 'both routes paused');
      fake.addIssue('acme/app', { title: 'runs', labels: ['ready'] });
      await waitFor(() => fake.issue('acme/app', 1)!.labelIds.length === 1 && fake.issue('acme/app', 1)!.assignees.length === 1, 20_000, `the healthy route claims:\n${daemon.output()}`);
      const paused = await status(dir);
      assert.deepEqual(paused.json.brokenRoutes.map(({ route }) => route).sort(), ['acme/new:ready', 'acme/web:ready']);
      assert.match(paused.text, /route paused: acme\/web:ready .*has no label "ready"/);
      assert.match(paused.text, /route paused: acme\/new:ready .*no repository acme\/new/);

      fake.addLabel('acme/web', 'ready');
      fake.addRepo('acme/new', { labels: ['ready', 'doing'] });
      await waitFor(() => /route "acme\/web:ready" resumed/.test(daemon.output()) && /route "acme\/new:ready" resumed/.test(daemon.output()), 20_000, `both resumed:\n${daemon.output()}`);
      assert.equal(count(daemon.output(), /poll failed/), 0, 'never a failed poll');
    } finally {
      daemon.child.kill('SIGTERM');
      await daemon.exited;
    }
  });
});
