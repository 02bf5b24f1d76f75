import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { capturingLogger, GITEA_ID, startHarness, type Harness } from './harness.ts';

const enc = encodeURIComponent;

/** Every endpoint, as [method, path, body] for task "1" (the run's own task) or another task. */
function requests(taskId: string): Array<[string, string, unknown]> {
  const path = `/tasks/${enc(taskId)}`;
  return [
    ['GET', path, undefined],
    ['POST', `${path}/comments`, { comment: 'hi' }],
    ['POST', `${path}/move`, { target_queue: 'Todo' }],
    ['PATCH', path, { description: 'changed' }],
  ];
}

describe('scoped access', () => {
  let h: Harness;
  const logged = capturingLogger();
  before(async () => {
    h = await startHarness({ log: logged.log });
  });
  after(() => h.close());

  it('a run token may read, comment on, move and update its own task', async () => {
    const token = h.startRun('1');
    for (const [method, path, json] of requests('1')) {
      const answer = await h.call(method, path, { token, json });
      assert.ok(answer.status < 300, `${method} ${path} → ${answer.status} ${answer.text}`);
    }
  });

  it('a run token bound to an id with / and # matches its decoded id', async () => {
    const token = h.startRun(GITEA_ID);
    assert.equal((await h.call('GET', `/tasks/${enc(GITEA_ID)}`, { token })).status, 200);
    assert.equal((await h.call('GET', '/tasks/owner%2Frepo%2313', { token })).status, 403);
  });

  it('a run token may create tasks and read /status', async () => {
    const token = h.startRun('1');
    assert.equal((await h.call('POST', '/tasks', { token, json: { queue_name: 'Todo', name: 'Follow-up' } })).status, 201);
    assert.equal((await h.call('GET', '/status', { token })).status, 200);
  });

  it('a run token on another task is 403 for every task endpoint, and changes nothing', async () => {
    const token = h.startRun('1');
    const before = (await h.call('GET', '/tasks/2', { token: h.operatorToken })).body;
    for (const [method, path, json] of requests('2')) {
      const answer = await h.call(method, path, { token, json });
      assert.equal(answer.status, 403, `${method} ${path}`);
      assert.equal(answer.body.error.code, 'forbidden');
      assert.match(answer.body.error.message, /task "1"/);
    }
    assert.deepEqual((await h.call('GET', '/tasks/2', { token: h.operatorToken })).body, before);
  });

  it('a run token may not list tasks (operator only): 403', async () => {
    const token = h.startRun('1');
    const answer = await h.call('GET', '/tasks?queue=Todo', { token });
    assert.equal(answer.status, 403);
    assert.match(answer.body.error.message, /operator token/);
  });

  it('an unknown or expired token is 401 everywhere, with WWW-Authenticate', async () => {
    const token = h.startRun('1');
    assert.equal((await h.call('GET', '/tasks/1', { token })).status, 200);
    h.endRun(token);
    for (const [method, path, json] of [...requests('1'), ['GET', '/status', undefined] as [string, string, unknown]]) {
      const answer = await h.call(method, path, { token, json });
      assert.equal(answer.status, 401, `${method} ${path}`);
      assert.equal(answer.body.error.code, 'unauthorized');
      assert.match(answer.headers.get('www-authenticate') ?? '', /^Bearer/);
    }
    assert.equal((await h.call('GET', '/tasks/1', { token: 'dsp_made-up' })).status, 401);
  });

  it('no token, or a malformed Authorization header, is 401', async () => {
    assert.equal((await h.call('GET', '/tasks/1')).status, 401);
    assert.equal((await h.call('GET', '/status')).status, 401);
    const basic = await h.call('GET', '/tasks/1', { headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } });
    assert.equal(basic.status, 401);
    assert.match(basic.body.error.message, /Bearer/);
    const lowerCase = await h.call('GET', '/tasks/1', { headers: { authorization: `bearer ${h.operatorToken}` } });
    assert.equal(lowerCase.status, 200, 'the scheme is case-insensitive');
  });

  it('the operator token may do everything', async () => {
    const token = h.operatorToken;
    for (const [method, path, json] of [...requests('2'), ...requests(GITEA_ID)]) {
      const answer = await h.call(method, path, { token, json });
      assert.ok(answer.status < 300, `${method} ${path} → ${answer.status}`);
    }
    assert.equal((await h.call('GET', '/tasks?queue=Todo', { token })).status, 200);
    assert.equal((await h.call('POST', '/tasks', { token, json: { queue_name: 'Todo', name: 'By operator' } })).status, 201);
    assert.equal((await h.call('GET', '/status', { token })).status, 200);
  });

  it('/openapi.json is public', async () => {
    assert.equal((await h.call('GET', '/openapi.json')).status, 200);
    assert.equal((await h.call('GET', '/openapi.json', { token: 'expired' })).status, 200);
    assert.equal((await h.call('GET', '/openapi.json', { headers: { authorization: 'Basic eDp5' } })).status, 200);
  });

  it('never logs a token', () => {
    const tokens = [h.operatorToken];
    const text = logged.lines.join('');
    assert.ok(text.includes('GET /tasks/1'), 'requests are logged at debug level');
    for (const token of tokens) assert.ok(!text.includes(token), 'the operator token is not in the log');
    assert.ok(!/dsp_[A-Za-z0-9_-]{20,}/.test(text), 'no run or operator token is in the log');
  });
});
