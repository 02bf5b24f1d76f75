import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, tempDir, writeFile } from '../helpers.ts';
import { startFakeGitea, type FakeGitea } from '../../fixtures/gitea/fake-gitea.ts';
import { startFakePlanka, type FakePlanka } from '../../fixtures/planka/fake-planka.ts';

/**
 * docs/cli.md's exit codes, command by command: 3 when the tracker cannot be reached, 5 when it
 * refuses the credentials, 4 for what does not exist. One line on stderr, never a stack.
 */
function gitea(url: string, extra = ''): string {
  const dir = tempDir();
  writeFile(dir, 'dispatcher.toml', `api_port = 0\npoll_interval = 1\n${extra}\n[backend]\ntype = "gitea"\nurl = "${url}"\nrequest_timeout = 2\n\n[routing."acme/app:ready"]\ncommand = "true"\nin_progress_queue = "acme/app:doing"\n\n[dispatch_file]\nrepos = ["acme/app"]\n`);
  return dir;
}

async function expectExit(dir: string, args: string[], code: number, message: RegExp, env: NodeJS.ProcessEnv = {}) {
  const result = await runCli([...args, '--log-format', 'plain'], { cwd: dir, env, timeoutMs: 25_000 });
  assert.equal(result.code, code, `${args.join(' ')} → ${result.code}: ${result.stdout}${result.stderr}`);
  assert.match(`${result.stdout}${result.stderr}`, message, args.join(' '));
  assert.doesNotMatch(result.stderr, /\n\s+at |unexpected error/, `${args.join(' ')}: no stack trace`);
  return result;
}

describe('exit codes: a tracker that cannot be reached is 3', () => {
  const dir = gitea('http://127.0.0.1:1');
  const env = { GITEA_TOKEN: 'any-token-1234' };
  for (const args of [['task', 'show', 'acme/app#1'], ['task', 'list', 'acme/app'], ['task', 'comment', 'acme/app#1', 'hi'], ['poll-once'], ['poll-once', '--dry-run'], ['dispatch-file', '--once']]) {
    it(args.join(' '), async () => void (await expectExit(dir, args, 3, /Gitea unreachable/, env)));
  }
});

describe('exit codes: refused credentials are 5', () => {
  let fake: FakeGitea;
  let planka: FakePlanka;
  before(async () => {
    fake = await startFakeGitea();
    fake.addRepo('acme/app', { labels: ['ready', 'doing'] });
    fake.addIssue('acme/app', { title: 'public issue', labels: ['ready'], assignees: ['alice'] });
    planka = await startFakePlanka({ version: 2, adminAcceptedTerms: true });
  });
  after(async () => {
    await fake.close();
    await planka.close();
  });

  const wrong = { GITEA_TOKEN: 'wrong-token-0123456789' };
  for (const args of [['task', 'show', 'acme/app#1'], ['task', 'list', 'acme/app:ready'], ['task', 'comment', 'acme/app#1', 'hi'], ['poll-once'], ['poll-once', '--detach'], ['dispatch-file', '--once'], ['run']]) {
    it(`a wrong Gitea token: ${args.join(' ')}`, async () => {
      const result = await expectExit(gitea(fake.url), args, 5, /Gitea refused the token in GITEA_TOKEN .*401.*wrong, expired or revoked/, wrong);
      assert.ok(!`${result.stdout}${result.stderr}`.includes('wrong-token-0123456789'));
    });
  }

  it('the same commands work with the right token (the issue is public and readable either way)', async () => {
    const dir = gitea(fake.url);
    await expectExit(dir, ['task', 'show', 'acme/app#1'], 0, /^acme\/app#1 {2}public issue$/m, { GITEA_TOKEN: fake.token });
    await expectExit(dir, ['dispatch-file', '--once'], 0, /dispatched 1/, { GITEA_TOKEN: fake.token });
  });

  it('a wrong Planka password names the user and is 5', async () => {
    const dir = tempDir();
    writeFile(dir, 'dispatcher.toml', `api_port = 0\n[backend]\ntype = "planka"\nurl = "${planka.url}"\n\n[routing."P.B.Todo"]\ncommand = "true"\n`);
    const env = { PLANKA_USER: 'admin', PLANKA_PASSWORD: 'not-the-password' };
    for (const args of [['task', 'list', 'P.B.Todo'], ['poll-once']]) {
      const result = await expectExit(dir, args, 5, /Planka login as "admin" failed \(401/, env);
      assert.ok(!result.stderr.includes('not-the-password'));
    }
  });
});

describe('exit codes: not found is 4, a refused change is 1', () => {
  let fake: FakeGitea;
  before(async () => {
    fake = await startFakeGitea();
    fake.addRepo('acme/app', { labels: ['ready'] });
  });
  after(() => fake.close());

  it('an unknown issue, repository or label', async () => {
    const dir = gitea(fake.url);
    const env = { GITEA_TOKEN: fake.token };
    await expectExit(dir, ['task', 'show', 'acme/app#99'], 4, /no issue acme\/app#99/, env);
    await expectExit(dir, ['task', 'list', 'acme/nothing'], 4, /no repository acme\/nothing/, env);
    await expectExit(dir, ['task', 'list', 'acme/app:nolabel'], 4, /has no label "nolabel"/, env);
  });

  it('an assignee without write access is 1, and the issue keeps its assignee', async () => {
    fake.addUser('outsider');
    fake.addIssue('acme/app', { title: 'assigned', assignees: ['alice'] });
    const dir = gitea(fake.url);
    await expectExit(dir, ['task', 'update', 'acme/app#1', '--assignee', 'outsider'], 1, /"outsider" cannot be assigned issues of acme\/app/, { GITEA_TOKEN: fake.token });
    assert.deepEqual(fake.issue('acme/app', 1)?.assignees, ['alice']);
  });
});
