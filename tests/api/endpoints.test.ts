import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { GITEA_ID, startHarness, type Harness } from './harness.ts';

const enc = encodeURIComponent;

describe('API endpoints (operator token, JSON board)', () => {
  let h: Harness;
  let call: (method: string, path: string, options?: Parameters<Harness['call']>[2]) => ReturnType<Harness['call']>;
  before(async () => {
    h = await startHarness();
    call = (method, path, options = {}) => h.call(method, path, { token: h.operatorToken, ...options });
  });
  after(() => h.close());

  it('GET /tasks/{id} returns the full task', async () => {
    const answer = await call('GET', '/tasks/1');
    assert.equal(answer.status, 200);
    assert.match(answer.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(answer.body.id, '1');
    assert.equal(answer.body.name, 'Fix crash');
    assert.equal(answer.body.queue, 'Todo');
    assert.deepEqual(answer.body.comments, []);
  });

  it('takes percent-encoded ids with / and #', async () => {
    const answer = await call('GET', `/tasks/${enc(GITEA_ID)}`);
    assert.equal(answer.status, 200);
    assert.equal(answer.body.id, GITEA_ID);
    const commented = await call('POST', `/tasks/${enc(GITEA_ID)}/comments`, { json: { comment: 'on a gitea id' } });
    assert.equal(commented.status, 201);
    assert.deepEqual(commented.body, { ok: true, task_id: GITEA_ID });
  });

  it('GET /tasks/{id} of an unknown task is 404 not_found', async () => {
    const answer = await call('GET', '/tasks/999');
    assert.equal(answer.status, 404);
    assert.equal(answer.body.error.code, 'not_found');
    assert.match(answer.body.error.message, /999/);
  });

  it('POST /tasks/{id}/comments adds a comment: 201 {ok, task_id}', async () => {
    const answer = await call('POST', '/tasks/1/comments', { json: { comment: 'Working on it' } });
    assert.equal(answer.status, 201);
    assert.deepEqual(answer.body, { ok: true, task_id: '1' });
    const task = await call('GET', '/tasks/1');
    assert.equal(task.body.comments.at(-1).text, 'Working on it');
  });

  it('POST /tasks/{id}/comments refuses a missing, mistyped or empty comment, naming the field', async () => {
    const missing = await call('POST', '/tasks/1/comments', { json: { text: 'wrong field' } });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error.code, 'invalid_field');
    assert.match(missing.body.error.message, /"comment"/);
    const mistyped = await call('POST', '/tasks/1/comments', { json: { comment: 42 } });
    assert.equal(mistyped.status, 400);
    assert.match(mistyped.body.error.message, /"comment" must be a string, not a number/);
    const empty = await call('POST', '/tasks/1/comments', { json: { comment: '   ' } });
    assert.equal(empty.status, 400);
    assert.equal(empty.body.error.code, 'invalid_request');
    const unknown = await call('POST', '/tasks/999/comments', { json: { comment: 'x' } });
    assert.equal(unknown.status, 404);
  });

  it('POST /tasks/{id}/move moves and returns the task', async () => {
    const created = await call('POST', '/tasks', { json: { queue_name: 'Todo', name: 'Movable' } });
    const answer = await call('POST', `/tasks/${created.body.id}/move`, { json: { target_queue: 'Done' } });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.queue, 'Done');
    const unknownQueue = await call('POST', `/tasks/${created.body.id}/move`, { json: { target_queue: 'Nowhere' } });
    assert.equal(unknownQueue.status, 404);
    assert.match(unknownQueue.body.error.message, /Nowhere/);
    const missing = await call('POST', `/tasks/${created.body.id}/move`, { json: {} });
    assert.equal(missing.status, 400);
    assert.match(missing.body.error.message, /"target_queue"/);
    const unknownTask = await call('POST', '/tasks/999/move', { json: { target_queue: 'Done' } });
    assert.equal(unknownTask.status, 404);
  });

  it('PATCH /tasks/{id} updates the fields given and returns the task', async () => {
    const answer = await call('PATCH', '/tasks/2', { json: { name: 'Write the docs', description: 'All of them', labels: ['docs', 'easy'], assignees: ['alice'] } });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.name, 'Write the docs');
    assert.equal(answer.body.description, 'All of them');
    assert.deepEqual(answer.body.labels, ['docs', 'easy']);
    assert.deepEqual(answer.body.assignees, ['alice']);
    const cleared = await call('PATCH', '/tasks/2', { json: { assignees: [] } });
    assert.deepEqual(cleared.body.assignees, []);
    assert.equal(cleared.body.name, 'Write the docs');
  });

  it('PATCH /tasks/{id} refuses mistyped fields and an empty update', async () => {
    const badLabels = await call('PATCH', '/tasks/2', { json: { labels: 'docs' } });
    assert.equal(badLabels.status, 400);
    assert.match(badLabels.body.error.message, /"labels" must be a list of strings/);
    const badItems = await call('PATCH', '/tasks/2', { json: { assignees: ['a', 1] } });
    assert.equal(badItems.status, 400);
    const badName = await call('PATCH', '/tasks/2', { json: { name: null } });
    assert.equal(badName.status, 400);
    assert.match(badName.body.error.message, /"name" must be a string, not null/);
    const nothing = await call('PATCH', '/tasks/2', { json: {} });
    assert.equal(nothing.status, 400);
    assert.match(nothing.body.error.message, /nothing to update/);
    const unknown = await call('PATCH', '/tasks/999', { json: { name: 'x' } });
    assert.equal(unknown.status, 404);
  });

  it('POST /tasks creates a task: 201 with the task', async () => {
    const answer = await call('POST', '/tasks', { json: { queue_name: 'Todo', name: 'New one', description: 'Body' } });
    assert.equal(answer.status, 201);
    assert.equal(answer.body.name, 'New one');
    assert.equal(answer.body.description, 'Body');
    assert.equal(answer.body.queue, 'Todo');
    assert.equal((await call('GET', `/tasks/${answer.body.id}`)).body.name, 'New one');
    const noDescription = await call('POST', '/tasks', { json: { queue_name: 'Todo', name: 'Bare' } });
    assert.equal(noDescription.status, 201);
    assert.equal(noDescription.body.description, '');
  });

  it('POST /tasks refuses missing fields and unknown queues', async () => {
    const noQueue = await call('POST', '/tasks', { json: { name: 'x' } });
    assert.equal(noQueue.status, 400);
    assert.match(noQueue.body.error.message, /"queue_name"/);
    const noName = await call('POST', '/tasks', { json: { queue_name: 'Todo' } });
    assert.equal(noName.status, 400);
    assert.match(noName.body.error.message, /"name"/);
    const unknownQueue = await call('POST', '/tasks', { json: { queue_name: 'Nowhere', name: 'x' } });
    assert.equal(unknownQueue.status, 404);
  });

  it('GET /tasks?queue= lists tasks of the queues', async () => {
    const answer = await call('GET', `/tasks?queue=Todo&queue=${enc('In Progress')}`);
    assert.equal(answer.status, 200);
    assert.ok(answer.body.tasks.some((task: { id: string }) => task.id === GITEA_ID));
    assert.ok(answer.body.tasks.every((task: { queue: string }) => ['Todo', 'In Progress'].includes(task.queue)));
    const none = await call('GET', '/tasks');
    assert.equal(none.status, 400);
    assert.match(none.body.error.message, /queue/);
  });

  it('a queue named like an object\'s own keys (constructor, __proto__, toString, valueOf) is an unknown queue: 404, nothing changed', async () => {
    const before = readFileSync(h.board, 'utf8');
    for (const queue of ['constructor', '__proto__', 'toString', 'valueOf']) {
      const listed = await call('GET', `/tasks?queue=${enc(queue)}`);
      assert.equal(listed.status, 404, `GET /tasks?queue=${queue}: ${listed.text}`);
      const moved = await call('POST', '/tasks/1/move', { json: { target_queue: queue } });
      assert.equal(moved.status, 404, `move to ${queue}: ${moved.text}`);
      const created = await call('POST', '/tasks', { json: { queue_name: queue, name: 'x' } });
      assert.equal(created.status, 404, `create in ${queue}: ${created.text}`);
      assert.match(created.body.error.message, /no queue/);
    }
    assert.equal(readFileSync(h.board, 'utf8'), before);
  });

  it('GET /tasks?queue= of an unknown queue is 404', async () => {
    const answer = await call('GET', '/tasks?queue=Nowhere');
    assert.equal(answer.status, 404);
    assert.match(answer.body.error.message, /no queue "Nowhere"/);
  });

  it('GET /status returns the router\'s payload', async () => {
    const answer = await call('GET', '/status');
    assert.equal(answer.status, 200);
    assert.equal(answer.body.identity, 'dispatcher');
    assert.equal(answer.body.slots, 3);
  });

  it('answers a broken board (the tracker failing) with 502 and the tracker\'s message', async () => {
    const original = readFileSync(h.board, 'utf8');
    writeFileSync(h.board, '{"queues": ');
    try {
      const answer = await call('GET', '/tasks/1');
      assert.equal(answer.status, 502);
      assert.equal(answer.body.error.code, 'tracker_error');
      assert.match(answer.body.error.message, /not valid JSON/);
    } finally {
      writeFileSync(h.board, original);
    }
    assert.equal((await call('GET', '/tasks/1')).status, 200, 'the server is still up');
  });

  it('HEAD and OPTIONS work on known paths; unknown paths and methods are 404 and 405', async () => {
    const head = await call('HEAD', '/tasks/1');
    assert.equal(head.status, 200);
    assert.equal(head.text, '');
    const options = await call('OPTIONS', '/tasks/1');
    assert.equal(options.status, 204);
    assert.equal(options.headers.get('allow'), 'GET, PATCH, HEAD, OPTIONS');
    const wrongMethod = await call('DELETE', '/tasks/1');
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.body.error.code, 'method_not_allowed');
    assert.equal(wrongMethod.headers.get('allow'), 'GET, PATCH, HEAD, OPTIONS');
    const unknown = await call('GET', '/nope');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'route_not_found');
    const tooDeep = await call('GET', '/tasks/1/comments/2');
    assert.equal(tooDeep.status, 404);
  });

  it('refuses malformed percent-encoding in an id with 400', async () => {
    const answer = await call('GET', '/tasks/%E0%A4%A');
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error.code, 'invalid_request');
  });
});

describe('the reference\'s open API (auth = "none")', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ auth: 'none' });
  });
  after(() => h.close());

  it('works with curl exactly as with the reference: POST /tasks/1/comments {"comment"}', { skip: spawnSync('curl', ['--version']).status !== 0 && 'curl is not installed' }, async () => {
    const curl = async (args: string[]) => (await promisify(execFile)('curl', args, { encoding: 'utf8' })).stdout;
    const posted = await curl( ['-sS', '-X', 'POST', `${h.url}/tasks/1/comments`, '-H', 'Content-Type: application/json', '-d', '{"comment": "Done: see PR #4"}', '-w', '\n%{http_code}']);
    const [body, status] = posted.trim().split('\n');
    assert.equal(status, '201');
    assert.deepEqual(JSON.parse(body), { ok: true, task_id: '1' });
    const shown = await curl(['-sS', `${h.url}/tasks/1`]);
    assert.equal(JSON.parse(shown).comments.at(-1).text, 'Done: see PR #4');
    const moved = await curl(['-sS', '-X', 'POST', `${h.url}/tasks/1/move`, '-H', 'Content-Type: application/json', '-d', '{"target_queue": "Done"}']);
    assert.equal(JSON.parse(moved).queue, 'Done');
  });

  it('lets every endpoint through with no token, and ignores tokens', async () => {
    assert.equal((await h.call('GET', '/tasks/2')).status, 200);
    assert.equal((await h.call('GET', '/tasks?queue=Todo')).status, 200);
    assert.equal((await h.call('PATCH', '/tasks/2', { json: { name: 'Renamed' } })).status, 200);
    assert.equal((await h.call('POST', '/tasks', { json: { queue_name: 'Todo', name: 'Open' } })).status, 201);
    assert.equal((await h.call('GET', '/status', { token: 'not-a-token' })).status, 200);
  });

  it('answers only requests addressed to a loopback name (no DNS rebinding)', async () => {
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${h.url}/tasks/1`, { headers: { host: 'evil.example:8000' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject).end();
    });
    assert.equal(status, 403);
    assert.equal((await h.call('GET', '/tasks/1', { headers: { host: 'localhost' } })).status, 200);
  });
});
