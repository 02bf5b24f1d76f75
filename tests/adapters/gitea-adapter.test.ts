import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import createGiteaTracker from '../../adapters/gitea/index.ts';
import { nextPage } from '../../adapters/gitea/client.ts';
import type { TrackerAdapter } from '../../adapters/types.ts';
import { AdapterError, ConfigError } from '../../src/errors.ts';
import { createLogger, silentLogger } from '../../src/log.ts';
import { startFakeGitea, type FakeGitea } from '../../fixtures/gitea/fake-gitea.ts';

let fake: FakeGitea;
let adapter: TrackerAdapter;

const make = (env: Record<string, string | undefined>, options: Record<string, unknown> = {}) =>
  createGiteaTracker({ options: { type: 'gitea', url: fake.url, ...options }, baseDir: process.cwd(), env, log: silentLogger }) as TrackerAdapter;

async function rejectsWith(promise: Promise<unknown>, kind: string, message?: RegExp): Promise<AdapterError> {
  let caught: unknown;
  await assert.rejects(promise, (error) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof AdapterError, `expected an AdapterError, got ${String(caught)}`);
  assert.equal(caught.kind, kind, caught.message);
  if (message) assert.match(caught.message, message);
  return caught;
}

beforeEach(async () => {
  fake = await startFakeGitea({ token: 'test-token-abcdef123456' });
  fake.addRepo('acme/app', { labels: ['ready', 'doing', 'bug', 'CRITICAL'] });
  adapter = make({ GITEA_TOKEN: fake.token });
});
afterEach(async () => {
  await adapter.close?.();
  await fake.close();
});

describe('gitea adapter: configuration and auth', () => {
  it('needs a token, named by token_env or GITEA_TOKEN', () => {
    assert.throws(() => make({}), (error: unknown) => error instanceof ConfigError && /GITEA_TOKEN/.test(error.message));
    assert.throws(() => make({ GITEA_TOKEN: fake.token }, { token_env: 'FORGE_TOKEN' }), (error: unknown) => error instanceof ConfigError && /FORGE_TOKEN/.test(error.message));
    assert.throws(() => make({ GITEA_TOKEN: fake.token }, { url: 'git.example.com' }), ConfigError);
  });

  it('sends `Authorization: token …` and learns who it is', async () => {
    const custom = make({ FORGE_TOKEN: fake.token }, { token_env: 'FORGE_TOKEN', url: `${fake.url}/api/v1/` });
    assert.equal(await custom.whoami(), 'dispatcher-admin');
    await custom.close?.();
    assert.equal(fake.requests.at(-1)?.auth, 'token');
  });

  it('says auth on a wrong token, and no message carries the token', async () => {
    const wrong = make({ GITEA_TOKEN: 'wrong-token-0123456789' });
    const error = await rejectsWith(wrong.whoami(), 'auth', /401/);
    await wrong.close?.();
    assert.ok(!error.message.includes('wrong-token-0123456789'));
    const lines: string[] = [];
    const log = createLogger({ stream: { write: (text: string) => lines.push(text) } as unknown as NodeJS.WritableStream });
    log.error(`failed with token wrong-token-0123456789 and ${fake.token}`);
    assert.ok(!lines.join('').includes(fake.token) && !lines.join('').includes('wrong-token-0123456789'));
  });

  it('says unavailable when a proxy answers with an HTML error page', async () => {
    fake.setOutage(502);
    await rejectsWith(adapter.getReadyTasks(['acme/app']), 'unavailable', /502/);
  });
});

describe('gitea adapter: reading', () => {
  it('lists open issues across pages of 50, without pull requests or closed issues', async () => {
    for (let n = 1; n <= 130; n++) fake.addIssue('acme/app', { title: `issue ${n}`, assignees: n % 2 ? ['alice'] : [] });
    fake.addPullRequest('acme/app', { title: 'a PR' });
    fake.addIssue('acme/app', { title: 'done', state: 'closed' });
    fake.resetRequests();
    const tasks = await adapter.getReadyTasks(['acme/app']);
    assert.equal(tasks.length, 130);
    assert.equal(new Set(tasks.map((task) => task.id)).size, 130);
    assert.ok(tasks.every((task) => task.queue === 'acme/app' && /^acme\/app#\d+$/.test(task.id)));
    assert.deepEqual(tasks.find((task) => task.id === 'acme/app#2')?.assignees, [], 'null assignees read as []');
    assert.deepEqual(tasks.find((task) => task.id === 'acme/app#1')?.assignees, ['alice']);
    assert.equal(fake.requests.filter((request) => request.path !== '/api/v1/user').length, 3, 'three pages');
  });

  it('reads exactly one full page of issues with one request (the total says there is no more)', async () => {
    for (let n = 1; n <= 50; n++) fake.addIssue('acme/app', { title: `issue ${n}` });
    await adapter.getReadyTasks(['acme/app']); // the credential check at first use is not the poll's
    fake.resetRequests();
    assert.equal((await adapter.getReadyTasks(['acme/app'])).length, 50);
    assert.equal(fake.requests.length, 1);
  });

  it('also pages by Link alone when X-Total-Count is missing', () => {
    const link = '<http://git.example.com/api/v1/repos/a/b/issues?limit=50&page=3&state=open>; rel="next",<http://git.example.com/api/v1/repos/a/b/issues?limit=50&page=9&state=open>; rel="last"';
    assert.equal(nextPage(link), 3);
    assert.equal(nextPage('<http://x/?page=1>; rel="first",<http://x/?page=2>; rel="prev"'), undefined);
    assert.equal(nextPage(undefined), undefined);
  });

  it('maps an issue: url, author, times, labels, comments', async () => {
    fake.addIssue('acme/app', { title: 'Fix login', body: 'trace', labels: ['bug'], assignees: ['bob'], author: 'carol', comments: [{ body: 'first', author: 'bob' }, { body: 'second' }] });
    const task = await adapter.getTask('acme/app#1');
    assert.equal(task.name, 'Fix login');
    assert.equal(task.description, 'trace');
    assert.equal(task.url, `${fake.url}/acme/app/issues/1`);
    assert.equal(task.author, 'carol');
    assert.deepEqual(task.labels, ['bug']);
    assert.deepEqual(task.comments.map((comment) => `${comment.author}: ${comment.text}`), ['bob: first', 'acme: second']);
    assert.match(task.createdAt, /^\d{4}-\d{2}-\d{2}T/);
    assert.ok(task.updatedAt);
  });

  it('a pull request is never a task', async () => {
    fake.addPullRequest('acme/app', { title: 'PR' });
    await rejectsWith(adapter.getTask('acme/app#1'), 'not_found', /pull request/);
  });

  it('a label queue lists only issues carrying the label; an unknown label is not_found, not "everything"', async () => {
    fake.addIssue('acme/app', { title: 'ready one', labels: ['ready'] });
    fake.addIssue('acme/app', { title: 'plain' });
    assert.deepEqual((await adapter.getReadyTasks(['acme/app:ready'])).map((task) => task.name), ['ready one']);
    await rejectsWith(adapter.getReadyTasks(['acme/app:nope']), 'not_found', /no label "nope"/);
    await rejectsWith(adapter.getReadyTasks(['acme/missing']), 'not_found', /no repository acme\/missing/);
    await rejectsWith(adapter.getReadyTasks(['nobody/missing']), 'not_found');
  });

  it('prefers the label queue when an issue is in both queues asked for', async () => {
    fake.addIssue('acme/app', { title: 'ready one', labels: ['ready'] });
    const tasks = await adapter.getReadyTasks(['acme/app', 'acme/app:ready']);
    assert.deepEqual(tasks.map((task) => task.queue), ['acme/app:ready']);
  });

  it('lists the repositories of an organisation or a user, archived ones left out', async () => {
    fake.addOrg('clavitor');
    fake.addRepo('clavitor/vault');
    fake.addRepo('clavitor/web');
    fake.addRepo('clavitor/attic', { archived: true });
    fake.addRepo('alice/notes');
    fake.addRepo('alice/no-issues', { hasIssues: false });
    assert.deepEqual(await adapter.listQueues!('clavitor'), ['clavitor/vault', 'clavitor/web']);
    assert.deepEqual(await adapter.listQueues!('alice'), ['alice/notes']);
    await rejectsWith(adapter.listQueues!('nobody'), 'not_found', /no user or organisation "nobody"/);
  });
});

describe('gitea adapter: writing', () => {
  it('moves between label queues by swapping labels, and closes and reopens', async () => {
    const task = await adapter.createTask('acme/app:ready', 'Move me', '');
    await adapter.updateTask(task.id, { labels: ['ready', 'bug'] });
    await adapter.moveTask(task.id, 'acme/app:doing');
    let read = await adapter.getTask(task.id);
    assert.equal(read.queue, 'acme/app:doing');
    assert.deepEqual(read.labels.sort(), ['bug', 'doing'], 'ready removed, doing added, bug kept');
    await adapter.moveTask(task.id, 'acme/app:closed');
    read = await adapter.getTask(task.id);
    assert.equal(read.queue, 'acme/app:closed');
    assert.equal(fake.issue('acme/app', 1)?.state, 'closed');
    await adapter.moveTask(task.id, 'acme/app:ready');
    read = await adapter.getTask(task.id);
    assert.equal(read.queue, 'acme/app:ready');
    assert.equal(fake.issue('acme/app', 1)?.state, 'open');
    await adapter.moveTask(task.id, 'acme/app');
    assert.equal((await adapter.getTask(task.id)).queue, 'acme/app');
    await rejectsWith(adapter.moveTask(task.id, 'other/repo:ready'), 'invalid', /stay in their repository/);
  });

  it('sends label ids, never names (Gitea 1.15 takes ids only), and says invalid for an unknown label', async () => {
    fake.addIssue('acme/app', { title: 'x' });
    await adapter.updateTask('acme/app#1', { labels: ['CRITICAL', 'bug'] });
    const put = fake.requests.find((request) => request.method === 'PUT');
    assert.ok(put);
    assert.deepEqual(fake.issue('acme/app', 1)?.labelIds.length, 2);
    const error = await rejectsWith(adapter.updateTask('acme/app#1', { labels: ['bug', 'wontfix'] }), 'invalid', /no label "wontfix"/);
    assert.match(error.message, /its labels: .*CRITICAL.*bug/);
    assert.equal(fake.issue('acme/app', 1)?.labelIds.length, 2, 'nothing changed');
  });

  it('finds labels past the first 50, though 1.15 sends no paging headers for labels', async () => {
    for (let n = 0; n < 60; n++) fake.addLabel('acme/app', `area-${n}`);
    fake.addIssue('acme/app', { title: 'x' });
    await adapter.updateTask('acme/app#1', { labels: ['area-59'] });
    assert.equal(fake.issue('acme/app', 1)?.labelIds.length, 1);
    assert.equal(fake.requests.filter((request) => request.path === '/api/v1/repos/acme/app/labels').length, 2);
  });

  it('sets title, body and assignees by login; an unknown login is invalid', async () => {
    fake.addCollaborator('acme/app', 'bob');
    fake.addIssue('acme/app', { title: 'old' });
    await adapter.updateTask('acme/app#1', { name: 'new', description: 'body', assignees: ['bob'] });
    let read = await adapter.getTask('acme/app#1');
    assert.equal(read.name, 'new');
    assert.equal(read.description, 'body');
    assert.deepEqual(read.assignees, ['bob']);
    await rejectsWith(adapter.updateTask('acme/app#1', { assignees: ['nobody-here'] }), 'invalid', /"nobody-here" cannot be assigned issues of acme\/app/);
    await adapter.updateTask('acme/app#1', { assignees: [] });
    read = await adapter.getTask('acme/app#1');
    assert.deepEqual(read.assignees, []);
  });

  it('says not_found for a comment on a missing issue, without posting it', async () => {
    await rejectsWith(adapter.addComment('acme/app#77', 'hello'), 'not_found', /no issue acme\/app#77/);
    assert.ok(!fake.requests.some((request) => request.method === 'POST'));
  });

  it('checks assignees against the repository first: a user without write access changes nothing (Gitea would drop the assignee, then answer 500)', async () => {
    fake.addUser('outsider');
    fake.addIssue('acme/app', { title: 'assigned', assignees: ['alice'] });
    const error = await rejectsWith(adapter.updateTask('acme/app#1', { name: 'renamed', assignees: ['alice', 'outsider'] }), 'invalid', /"outsider" cannot be assigned issues of acme\/app .*who can: .*alice.*nothing was changed/);
    assert.equal(error.status, undefined);
    assert.deepEqual(fake.issue('acme/app', 1)?.assignees, ['alice'], 'the existing assignee stays');
    assert.equal(fake.issue('acme/app', 1)?.title, 'assigned');
    assert.ok(!fake.requests.some((request) => request.method === 'PATCH'));
    fake.addCollaborator('acme/app', 'outsider');
    await adapter.updateTask('acme/app#1', { assignees: ['alice', 'OUTSIDER'] });
    assert.deepEqual(fake.issue('acme/app', 1)?.assignees, ['alice', 'outsider'], 'a login newly given access is read afresh');
  });

  it('refuses a pull request before changing or commenting on it', async () => {
    fake.addPullRequest('acme/app', { title: 'a PR' });
    await rejectsWith(adapter.updateTask('acme/app#1', { name: 'hijacked', assignees: [] }), 'not_found', /is a pull request/);
    await rejectsWith(adapter.addComment('acme/app#1', 'hello'), 'not_found', /is a pull request/);
    assert.equal(fake.issue('acme/app', 1)?.title, 'a PR');
    assert.deepEqual(fake.issue('acme/app', 1)?.comments, []);
    assert.ok(!fake.requests.some((request) => request.method !== 'GET'), 'nothing was sent but reads');
  });

  it('refuses malformed ids clearly', async () => {
    await rejectsWith(adapter.getTask('42'), 'invalid', /owner\/repo#number/);
    await rejectsWith(adapter.addComment('acme/..#1', 'x'), 'invalid');
    await rejectsWith(adapter.getReadyTasks(['../..']), 'not_found');
    await rejectsWith(adapter.createTask('not a queue', 'x', ''), 'not_found');
  });
});

