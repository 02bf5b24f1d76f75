import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { request } from 'undici';
import createGiteaTracker from '../../adapters/gitea/index.ts';
import type { TrackerAdapter } from '../../adapters/types.ts';
import { silentLogger } from '../../src/log.ts';
import { startFakeGitea, type FakeGitea, type RequestRecord } from '../../fixtures/gitea/fake-gitea.ts';
import { findOperation, loadSwagger, requestBodySchema, responseSchema, validate } from '../../fixtures/gitea/swagger-check.ts';

/**
 * Every request the adapter makes, and every answer of the fake, checked against Gitea 1.26.4's own
 * Swagger document: the route and method exist, request bodies fit their option schemas, and each
 * response fits the schema documented for its status. Statuses the document does not list are
 * allowed only where the recorded 1.15.11 server showed them (QUIRKS).
 */
const SPEC = join(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures', 'gitea', 'openapi-gitea-1.26.4.json');
const doc = loadSwagger(SPEC);

const QUIRKS: Array<{ method: string; template: string; status: number; why: string }> = [
  { method: 'POST', template: '/repos/{owner}/{repo}/issues/{index}/comments', status: 500, why: 'comment on an unknown issue (cmt404.txt)' },
  { method: 'GET', template: '/repos/{owner}/{repo}/issues/{index}/comments', status: 500, why: 'comments of an unknown issue, as for POST' },
];

describe('fake Gitea and the adapter against the Gitea 1.26.4 API document', { skip: doc ? false : `skipped: ${SPEC} is absent` }, () => {
  let fake: FakeGitea;
  let adapter: TrackerAdapter;
  before(async () => {
    fake = await startFakeGitea({ capture: true });
    fake.addOrg('acme');
    fake.addRepo('acme/app', { labels: ['ready', 'doing', 'bug', 'critical'] });
    fake.addRepo('acme/web');
    fake.addRepo('alice/notes');
    fake.addIssue('acme/app', { title: 'CRITICAL: crash', labels: ['ready', 'bug'], assignees: ['alice', 'bob'], comments: [{ body: 'seen it', author: 'bob' }] });
    fake.addIssue('acme/app', { title: 'nobody assigned' });
    fake.addIssue('acme/app', { title: 'done', state: 'closed', assignees: ['alice'] });
    fake.addPullRequest('acme/app', { title: 'a PR', assignees: ['bob'] });
    for (let n = 0; n < 55; n++) fake.addIssue('acme/web', { title: `bulk ${n}` });
    adapter = await createGiteaTracker({ options: { type: 'gitea', url: fake.url }, baseDir: process.cwd(), env: { GITEA_TOKEN: fake.token }, log: silentLogger });

    // Everything the adapter does, successes and failures.
    await adapter.whoami();
    await adapter.listQueues!('acme');
    await adapter.listQueues!('alice');
    await adapter.listQueues!('nobody').catch(() => {});
    await adapter.getReadyTasks(['acme/app', 'acme/app:ready', 'acme/app:closed', 'acme/web']);
    await adapter.getReadyTasks(['acme/missing']).catch(() => {});
    await adapter.getTask('acme/app#1');
    await adapter.getTask('acme/app#4').catch(() => {});
    await adapter.getTask('acme/app#99').catch(() => {});
    await adapter.addComment('acme/app#1', 'working on it');
    await adapter.addComment('acme/app#99', 'lost').catch(() => {});
    await adapter.updateTask('acme/app#2', { name: 'renamed', description: 'body', assignees: ['alice'], labels: ['bug'] });
    await adapter.updateTask('acme/app#2', { assignees: [], labels: [] });
    await adapter.moveTask('acme/app#1', 'acme/app:doing');
    await adapter.moveTask('acme/app#1', 'acme/app:closed');
    await adapter.moveTask('acme/app#1', 'acme/app:ready');
    await adapter.createTask('acme/app:ready', 'created', 'by the contract test');
    await adapter.createTask('acme/app:closed', 'created closed', '');
    // Routes the fake serves that the adapter does not use today.
    const extra: Array<[string, string]> = [
      ['GET', '/api/v1/version'],
      ['GET', '/api/v1/repos/acme/app'],
      ['GET', '/api/v1/repos/acme/app/issues/1/labels'],
      ['DELETE', '/api/v1/repos/acme/app/issues/2/labels'],
      ['POST', '/api/v1/repos/acme/app/issues/99/comments'],
    ];
    for (const [method, path] of extra) {
      const body = method === 'POST' ? JSON.stringify({ body: 'lost' }) : undefined;
      const response = await request(`${fake.url}${path}`, { method: method as 'GET', headers: { authorization: `token ${fake.token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body });
      await response.body.text();
    }
  });
  after(async () => {
    await adapter?.close?.();
    await fake?.close();
  });

  const describeRequest = (record: RequestRecord) => `${record.method} ${record.path} → ${record.status}`;

  it('uses only documented routes', () => {
    const unknown = fake.requests.filter((record) => !findOperation(doc!, record.method, record.path)).map(describeRequest);
    assert.deepEqual(unknown, []);
    assert.ok(fake.requests.length > 30, `exercised ${fake.requests.length} requests`);
  });

  it('sends request bodies that fit the option schemas (CreateIssueOption, EditIssueOption, IssueLabelsOption, …)', () => {
    const problems: string[] = [];
    for (const record of fake.requests) {
      const schema = requestBodySchema(findOperation(doc!, record.method, record.path)!.operation);
      if (!schema || record.requestBody === undefined) continue;
      for (const problem of validate(doc!, schema, record.requestBody)) problems.push(`${describeRequest(record)}: ${problem}`);
    }
    assert.deepEqual(problems, []);
  });

  it('answers with bodies that fit the documented response schemas', () => {
    const problems: string[] = [];
    let checked = 0;
    for (const record of fake.requests) {
      const { template, operation } = findOperation(doc!, record.method, record.path)!;
      const { documented, schema } = responseSchema(doc!, operation, record.status);
      if (!documented) {
        const quirk = QUIRKS.find((item) => item.method === record.method && item.template === template && item.status === record.status);
        if (!quirk) problems.push(`${describeRequest(record)}: status not in the document and not a known quirk`);
        continue;
      }
      if (record.status >= 400) {
        const body = record.responseBody as Record<string, unknown> | undefined;
        if (typeof body?.message !== 'string') problems.push(`${describeRequest(record)}: an error without a message`);
        continue;
      }
      if (!schema) {
        if (record.responseBody !== undefined) problems.push(`${describeRequest(record)}: a body where the document says empty`);
        continue;
      }
      checked++;
      for (const problem of validate(doc!, schema, record.responseBody)) problems.push(`${describeRequest(record)}: ${problem}`);
    }
    assert.deepEqual(problems, []);
    assert.ok(checked > 20, `validated ${checked} bodies`);
  });

  it('shows its quirks where the recordings do', () => {
    const statuses = (method: string, pattern: RegExp) => fake.requests.filter((record) => record.method === method && pattern.test(record.path)).map((record) => record.status);
    assert.ok(statuses('PATCH', /\/issues\/\d+$/).every((status) => status === 201), 'PATCH answers 201');
    assert.ok(statuses('POST', /\/issues\/99\/comments$/).includes(500), 'comment on an unknown issue answers 500 (the adapter reads the issue first)');
    const unassigned = fake.requests.filter((record) => record.method === 'PATCH' && record.path === '/api/v1/repos/acme/app/issues/2').at(-1);
    assert.equal((unassigned?.responseBody as { assignees: unknown }).assignees, null, 'assignees is null when empty');
    const error = fake.requests.find((record) => record.status === 500)?.responseBody as Record<string, unknown>;
    assert.deepEqual(Object.keys(error).sort(), ['message', 'url']);
  });

  it('checks what it claims to check', () => {
    const issue = doc!.definitions.Issue;
    assert.deepEqual(validate(doc!, issue, { number: '1' }), ['$.number: expected an integer, got string "1"']);
    assert.deepEqual(validate(doc!, issue, { title: null }), ['$.title: null where Go writes a string']);
    assert.deepEqual(validate(doc!, issue, { assignees: null, milestone: null, closed_at: null }), []);
    assert.deepEqual(validate(doc!, issue, { state: 'merged' }), ['$.state: "merged" is not one of open, closed']);
    assert.deepEqual(validate(doc!, issue, { created_at: 'yesterday' }), ['$.created_at: "yesterday" is not an RFC 3339 date-time']);
    assert.deepEqual(validate(doc!, issue, { labels: [{ id: 'x' }] }), ['$.labels[0].id: expected an integer, got string "x"']);
    assert.deepEqual(validate(doc!, doc!.definitions.CreateIssueOption, { body: 'no title' }), ['$.title: required']);
    assert.equal(findOperation(doc!, 'GET', '/api/v1/repos/issues/search')?.template, '/repos/issues/search');
  });
});
