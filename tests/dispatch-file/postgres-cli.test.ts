import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeGitea, type FakeGitea } from '../../fixtures/gitea/fake-gitea.ts';
import { runCli, tempDir, writeFile } from '../helpers.ts';
import { freshDatabase } from '../support/postgres.ts';

/**
 * `dispatcher dispatch-file --once` with [coordination], as real processes: two hosts (folders)
 * share the database's rate limit and dispatched set; a database that cannot be used is the exit
 * code docs/cli.md gives, with nothing written and no password shown.
 */

let fake: FakeGitea;
before(async () => {
  fake = await startFakeGitea();
  fake.addRepo('acme/app');
});
after(() => fake.close());

function hostFolder(hostId: string, rate: number, urlEnv = 'DISPATCHER_DATABASE_URL'): string {
  const dir = tempDir();
  writeFile(
    dir,
    'dispatcher.toml',
    `state_dir = "state"\n\n[coordination]\nhost_id = "${hostId}"\n${urlEnv === 'DISPATCHER_DATABASE_URL' ? '' : `postgres_url_env = "${urlEnv}"\n`}\n` +
      `[dispatch_file]\nrepos = ["acme/app"]\ntasks_dir = "tasks"\nrate_limit = ${rate}\nlog_file = "dispatch.log"\n\n[dispatch_file.backend]\ntype = "gitea"\nurl = "${fake.url}"\n`,
  );
  return dir;
}

const taskFiles = (dir: string) => (existsSync(join(dir, 'tasks', 'hans')) ? readdirSync(join(dir, 'tasks', 'hans')) : []);

describe('dispatch-file --once with [coordination]', () => {
  it('two hosts run at once: 2 a minute is 2 task files in total, each issue once', async () => {
    for (let i = 1; i <= 5; i++) fake.addIssue('acme/app', { title: `cli issue ${i}`, assignees: ['hans'], createdAt: `2026-02-0${i}T00:00:00Z` });
    const url = await freshDatabase();
    const [a, b] = [hostFolder('a', 2), hostFolder('b', 2)];
    const env = { GITEA_TOKEN: fake.token, DISPATCHER_DATABASE_URL: url };
    const results = await Promise.all([a, b].map((dir) => runCli(['dispatch-file', '--once', '--json'], { cwd: dir, env, timeoutMs: 60_000 })));
    for (const result of results) assert.equal(result.code, 0, result.stderr);
    const dispatched = results.map((result) => JSON.parse(result.stdout).dispatched as number);
    assert.equal(dispatched[0] + dispatched[1], 2);
    const files = [...taskFiles(a), ...taskFiles(b)].sort();
    assert.deepEqual(files, ['issue-1.md', 'issue-2.md']);
  });

  it('the database unreachable is exit 3: nothing written, the password never shown', async () => {
    fake.addIssue('acme/app', { title: 'waiting for the database', assignees: ['hans'] });
    const dir = hostFolder('a', 10);
    const env = { GITEA_TOKEN: fake.token, DISPATCHER_DATABASE_URL: 'postgres://dispatcher:Tr0ub4dor-and-3@127.0.0.1:1/dispatcher' };
    const result = await runCli(['dispatch-file', '--once'], { cwd: dir, env, timeoutMs: 60_000 });
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /the \[coordination\] database \(DISPATCHER_DATABASE_URL\) is unreachable/);
    assert.doesNotMatch(result.stdout + result.stderr, /Tr0ub4dor/);
    assert.deepEqual(taskFiles(dir), []);
    assert.ok(!existsSync(join(dir, 'state', 'dispatch-file-rate.json')));
    assert.ok(!existsSync(join(dir, 'dispatch.log')));
  });

  it('credentials the database refuses are exit 5; a missing URL variable is exit 2', async () => {
    const server = new URL(await freshDatabase());
    server.username = 'no_such_role';
    server.password = 'Corr3ct-horse';
    const dir = hostFolder('a', 10, 'TEAM_DB_URL');
    const refused = await runCli(['dispatch-file', '--once'], { cwd: dir, env: { GITEA_TOKEN: fake.token, TEAM_DB_URL: server.href }, timeoutMs: 60_000 });
    assert.equal(refused.code, 5, refused.stderr);
    assert.match(refused.stderr, /the \[coordination\] database \(TEAM_DB_URL\) refused the credentials/);
    assert.doesNotMatch(refused.stdout + refused.stderr, /Corr3ct-horse/);
    const missing = await runCli(['dispatch-file'], { cwd: dir, env: { GITEA_TOKEN: fake.token }, timeoutMs: 60_000 });
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /\[coordination\] needs the database URL in the environment variable TEAM_DB_URL/);
    assert.deepEqual(taskFiles(dir), []);
  });
});
