import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startFakeGitea } from '../../fixtures/gitea/fake-gitea.ts';
import { startFakePlanka } from '../../fixtures/planka/fake-planka.ts';
import { runCli, tempDir, writeFile } from '../helpers.ts';

const RECEIVER = 'http://dispatcher.example.com:8099';

function project(backend: string, env: string, queue: string): string {
  const dir = tempDir();
  writeFile(dir, '.env', env);
  writeFile(dir, 'dispatcher.toml', `${backend}\n[routing.${JSON.stringify(queue)}]\ncommand = "true"\n`);
  return dir;
}

const json = async (args: string[], dir: string) => {
  const result = await runCli([...args, '--json'], { cwd: dir, timeoutMs: 30_000 });
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
};

describe('dispatcher webhooks install | list | remove', () => {
  it('Gitea: one webhook per routed repository, created once, unchanged on a second run, removed', async () => {
    const fake = await startFakeGitea();
    try {
      fake.addRepo('acme/app', { labels: ['ready'] });
      fake.addRepo('acme/lib', { labels: ['ready'] });
      fake.addHook('acme/lib', { url: 'https://ci.example.com/hook', secret: 'other', events: ['push'] });
      const dir = project(`[backend]\ntype = "gitea"\nurl = "${fake.url}"\n[routing."acme/lib:ready"]\ncommand = "true"\n`, `GITEA_TOKEN=${fake.token}\nGITEA_WEBHOOK_SECRET=s3cret-value\n`, 'acme/app:ready');

      const dry = await json(['webhooks', 'install', '--url', RECEIVER, '--dry-run'], dir);
      assert.deepEqual(dry.changes.map((c: any) => [c.scope, c.action]), [['acme/app', 'created'], ['acme/lib', 'created']]);
      assert.equal(fake.hooks('acme/app').length, 0, 'a dry run changes nothing');

      const first = await json(['webhooks', 'install', '--url', RECEIVER], dir);
      assert.equal(first.url, `${RECEIVER}/hooks/gitea`);
      assert.deepEqual(first.changes.map((c: any) => c.action), ['created', 'created']);
      const [hook] = fake.hooks('acme/app');
      assert.deepEqual({ type: hook.type, url: hook.url, contentType: hook.contentType, secret: hook.secret, events: hook.events, active: hook.active }, {
        type: 'gitea',
        url: `${RECEIVER}/hooks/gitea`,
        contentType: 'json',
        secret: 's3cret-value',
        events: ['issues', 'issue_comment'],
        active: true,
      });
      assert.equal(fake.hooks('acme/lib').length, 2, 'the other webhook is left alone');

      fake.resetRequests();
      const second = await json(['webhooks', 'install', '--url', `${RECEIVER}/hooks/gitea`], dir);
      assert.deepEqual(second.changes.map((c: any) => c.action), ['unchanged', 'unchanged']);
      assert.deepEqual(fake.requests.filter((r) => r.method !== 'GET'), [], 'a second run changes nothing');

      const listed = await json(['webhooks', 'list'], dir);
      assert.deepEqual(listed.webhooks.map((w: any) => [w.scope, w.url]).sort(), [['acme/app', `${RECEIVER}/hooks/gitea`], ['acme/lib', `${RECEIVER}/hooks/gitea`], ['acme/lib', 'https://ci.example.com/hook']]);
      const text = await runCli(['webhooks', 'list'], { cwd: dir });
      assert.doesNotMatch(text.stdout + text.stderr, /s3cret-value/);

      const removed = await json(['webhooks', 'remove', '--url', RECEIVER], dir);
      assert.deepEqual(removed.changes.map((c: any) => [c.scope, c.action]), [['acme/app', 'removed'], ['acme/lib', 'removed']]);
      assert.equal(fake.hooks('acme/app').length, 0);
      assert.deepEqual(fake.hooks('acme/lib').map((h) => h.url), ['https://ci.example.com/hook']);
      const again = await runCli(['webhooks', 'remove', '--url', RECEIVER], { cwd: dir });
      assert.equal(again.code, 0);
      assert.match(again.stdout, /no webhook points at/);
    } finally {
      await fake.close();
    }
  });

  it('Gitea: without the secret, or without --url, it says what to do (exit 2)', async () => {
    const fake = await startFakeGitea();
    try {
      fake.addRepo('acme/app');
      const dir = project(`[backend]\ntype = "gitea"\nurl = "${fake.url}"\n`, `GITEA_TOKEN=${fake.token}\n`, 'acme/app:ready');
      const noSecret = await runCli(['webhooks', 'install', '--url', RECEIVER], { cwd: dir });
      assert.equal(noSecret.code, 2);
      assert.match(noSecret.stderr, /set GITEA_WEBHOOK_SECRET/);
      writeFile(dir, '.env', `GITEA_TOKEN=${fake.token}\nGITEA_WEBHOOK_SECRET=x1234\n`);
      const noUrl = await runCli(['webhooks', 'install'], { cwd: dir });
      assert.equal(noUrl.code, 2);
      assert.match(noUrl.stderr, /--url/);
      assert.equal(fake.hooks('acme/app').length, 0);
    } finally {
      await fake.close();
    }
  });

  it('Planka 2.x: one webhook for the instance (admin), created once, unchanged on a second run, removed', async () => {
    const fake = await startFakePlanka({ version: 2 });
    try {
      fake.seed.boardWithLists({ project: 'Proj', board: 'Board', lists: ['Todo', 'Doing'] });
      const dir = project(`[backend]\ntype = "planka"\nurl = "${fake.url}"\n`, `PLANKA_USER=admin\nPLANKA_PASSWORD=${fake.admin.password}\nPLANKA_WEBHOOK_TOKEN=planka-hook-token\n`, 'Proj.Board.Todo');
      const first = await json(['webhooks', 'install', '--url', RECEIVER], dir);
      assert.deepEqual(first.changes.map((c: any) => c.action), ['created']);
      assert.deepEqual(fake.webhooks.map((w) => [w.url, w.accessToken, w.events]), [[`${RECEIVER}/hooks/planka`, 'planka-hook-token', null]]);
      const second = await json(['webhooks', 'install', '--url', RECEIVER], dir);
      assert.deepEqual(second.changes.map((c: any) => c.action), ['unchanged']);
      assert.equal(fake.webhooks.length, 1);
      assert.equal(fake.count('POST', /^\/api\/webhooks/), 1);
      assert.equal(fake.count('PATCH', /^\/api\/webhooks/), 0);

      writeFile(dir, '.env', `PLANKA_USER=admin\nPLANKA_PASSWORD=${fake.admin.password}\nPLANKA_WEBHOOK_TOKEN=rotated-token\n`);
      const rotated = await json(['webhooks', 'install', '--url', RECEIVER], dir);
      assert.deepEqual(rotated.changes.map((c: any) => c.action), ['updated']);
      assert.equal(fake.webhooks[0].accessToken, 'rotated-token');

      const listed = await runCli(['webhooks', 'list'], { cwd: dir });
      assert.match(listed.stdout, /instance: http:\/\/dispatcher\.example\.com:8099\/hooks\/planka/);
      assert.doesNotMatch(listed.stdout, /rotated-token/);
      const removed = await json(['webhooks', 'remove', '--url', RECEIVER], dir);
      assert.deepEqual(removed.changes.map((c: any) => c.action), ['removed']);
      assert.equal(fake.webhooks.length, 0);
    } finally {
      await fake.close();
    }
  });

  it('Planka 2.x: a user who is not an admin is told so; Planka 1.x is told about WEBHOOKS', async () => {
    const v2 = await startFakePlanka({ version: 2 });
    const v1 = await startFakePlanka({ version: 1 });
    try {
      const bot = v2.seed.user({ username: 'bot', password: 'BotPass123!x', acceptedTerms: false });
      v2.seed.boardWithLists({ project: 'Proj', board: 'Board', lists: ['Todo'], members: [bot] });
      const dir = project(`[backend]\ntype = "planka"\nurl = "${v2.url}"\n`, `PLANKA_USER=bot\nPLANKA_PASSWORD=${bot.password}\nPLANKA_WEBHOOK_TOKEN=planka-hook-token\n`, 'Proj.Board.Todo');
      const refused = await runCli(['webhooks', 'install', '--url', RECEIVER], { cwd: dir });
      assert.equal(refused.code, 5);
      assert.match(refused.stderr, /only an administrator may manage webhooks/);
      assert.equal(v2.webhooks.length, 0);

      const old = project(`[backend]\ntype = "planka"\nurl = "${v1.url}"\n`, `PLANKA_USER=admin\nPLANKA_PASSWORD=${v1.admin.password}\nPLANKA_WEBHOOK_TOKEN=planka-hook-token\n`, 'Proj.Board.Todo');
      const v1answer = await runCli(['webhooks', 'list'], { cwd: old });
      assert.equal(v1answer.code, 1);
      assert.match(v1answer.stderr, /Planka 1\.x has no webhook API.*WEBHOOKS/);
    } finally {
      await v2.close();
      await v1.close();
    }
  });
});
