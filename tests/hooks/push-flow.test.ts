import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startFakeGitea } from '../../fixtures/gitea/fake-gitea.ts';
import { startFakePlanka } from '../../fixtures/planka/fake-planka.ts';
import { AGENTS, NODE, startDaemon } from '../cli/support.ts';
import { tempDir, waitFor, writeFile } from '../helpers.ts';

/**
 * Push-driven: with poll_interval = 300 the poll cannot be what starts the agent; the fake
 * tracker's webhook delivery (sent when the issue or card is created, as the real servers do) is.
 */
function setup(backend: string, env: string, queue: string, inProgress: string) {
  const dir = tempDir();
  writeFile(dir, '.env', env);
  writeFile(
    dir,
    'dispatcher.toml',
    `poll_interval = 300\napi_port = 0\nkill_grace = 1\n${backend}\n[routing.${JSON.stringify(queue)}]\ncommand = ${NODE}\nargs = [${JSON.stringify(join(AGENTS, 'probe.mjs'))}, "agents.log", "50"]\ncwd = "."\nin_progress_queue = ${JSON.stringify(inProgress)}\n`,
  );
  const started = () => (existsSync(join(dir, 'agents.log')) ? readFileSync(join(dir, 'agents.log'), 'utf8').split('\n').filter((line) => line.startsWith('start')) : []);
  return { dir, started };
}

async function running(dir: string) {
  const daemon = startDaemon(dir);
  const apiUrl = await waitFor(() => /agent API on (\S+)/.exec(daemon.output())?.[1], 20_000, 'the daemon');
  await waitFor(() => /last poll|dispatcher running/.test(daemon.output()), 5_000, 'the first tick');
  return { daemon, apiUrl };
}

describe('push: a webhook delivery starts the agent (poll_interval = 300)', () => {
  it('Gitea: an issue labelled ready is created; its delivery brings the tick', async () => {
    const fake = await startFakeGitea();
    const s = setup(`[backend]\ntype = "gitea"\nurl = "${fake.url}"\n`, `GITEA_TOKEN=${fake.token}\nGITEA_WEBHOOK_SECRET=push-secret\n`, 'acme/app:ready', 'acme/app:in-progress');
    fake.addRepo('acme/app', { labels: ['ready', 'in-progress'] });
    const { daemon, apiUrl } = await running(s.dir);
    try {
      await new Promise((resolve) => setTimeout(resolve, 300)); // the first poll found nothing
      assert.equal(s.started().length, 0);
      fake.addHook('acme/app', { url: `${apiUrl}/hooks/gitea`, secret: 'push-secret' });
      const created = Date.now();
      fake.addIssue('acme/app', { title: 'Fix the login page', labels: ['ready'] });
      await waitFor(() => s.started().length === 1, 15_000, 'the agent');
      assert.ok(Date.now() - created < 15_000);
      await waitFor(() => fake.issue('acme/app', 1)?.assignees.length, 10_000, 'the claim');
      // The claim's own changes (labels swapped, assigned) are delivered too: later ticks, nothing more to start.
      await waitFor(() => fake.deliveries.every((d) => d.status !== 0), 5_000, 'the answers');
      assert.equal(fake.deliveries[0].event, 'issues/opened');
      assert.ok(fake.deliveries.every((d) => d.status === 202));
      assert.equal(s.started().length, 1);
    } finally {
      daemon.child.kill('SIGTERM');
      await daemon.exited;
      await fake.close();
    }
  });

  it('Planka 2.x: a card is created in Todo; its delivery brings the tick', async () => {
    const fake = await startFakePlanka({ version: 2 });
    const bot = fake.seed.user({ username: 'bot', password: 'BotPass123!x', acceptedTerms: false });
    const { lists } = fake.seed.boardWithLists({ project: 'Proj', board: 'Board', lists: ['Todo', 'Doing'], members: [bot] });
    const s = setup(`[backend]\ntype = "planka"\nurl = "${fake.url}"\n`, `PLANKA_USER=bot\nPLANKA_PASSWORD=${bot.password}\nPLANKA_WEBHOOK_TOKEN=planka-push-token\n`, 'Proj.Board.Todo', 'Proj.Board.Doing');
    const { daemon, apiUrl } = await running(s.dir);
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(s.started().length, 0);
      fake.webhooks.push({ id: '1', createdAt: new Date().toISOString(), updatedAt: null, name: 'dispatcher', url: `${apiUrl}/hooks/planka`, accessToken: 'planka-push-token', events: null, excludedEvents: null });
      fake.seed.card(lists.Todo, 'Fix the login page');
      await waitFor(() => s.started().length === 1, 15_000, 'the agent');
      await waitFor(() => fake.deliveries.length >= 2, 10_000, 'the claim\'s own delivery');
      // The claim (a move to Doing) is a cardUpdate the receiver accepts too: one more tick, nothing more to start.
      assert.deepEqual(fake.deliveries.slice(0, 2).map((d) => d.event), ['cardCreate', 'cardUpdate']);
      assert.ok(fake.deliveries.every((d) => d.status === 202));
    } finally {
      daemon.child.kill('SIGTERM');
      await daemon.exited;
      await fake.close();
    }
  });
});
