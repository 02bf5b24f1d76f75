import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import createApiTracker from '../../adapters/api/index.ts';
import { AdapterError, ConfigError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';
import type { TrackerAdapter } from '../../adapters/types.ts';
import { runConformance } from '../adapters/conformance.ts';
import { GITEA_ID, startHarness, type Harness } from './harness.ts';

function apiTracker(url: string, env: Record<string, string | undefined>): TrackerAdapter {
  return createApiTracker({ options: { type: 'api', url }, baseDir: process.cwd(), env, log: silentLogger });
}

async function rejectsWithKind(promise: Promise<unknown>, kind: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AdapterError, `expected an AdapterError, got ${String(error)}`);
    assert.equal(error.kind, kind, error.message);
    if (message) assert.match(error.message, message);
    return true;
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

runConformance('api (the dispatcher API over a JSON board, operator token)', async () => {
  const h = await startHarness();
  return {
    adapter: apiTracker(h.url, { DISPATCHER_OPERATOR_TOKEN: h.operatorToken }),
    queues: ['Todo', 'In Progress', 'Done'],
    missingId: '424242',
    missingQueue: 'No Such Queue',
    labels: ['bug'],
    close: () => h.close(),
  };
});

describe('api tracker adapter', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  it('works on its own task with a run token, ids with / and # included', async () => {
    const tracker = apiTracker(h.url, { DISPATCHER_TOKEN: h.startRun(GITEA_ID) });
    try {
      assert.equal((await tracker.getTask(GITEA_ID)).id, GITEA_ID);
      await tracker.addComment(GITEA_ID, 'from the agent');
      await tracker.updateTask(GITEA_ID, { labels: ['done'] });
      await tracker.updateTask(GITEA_ID, {});
      await tracker.moveTask(GITEA_ID, 'Done');
      const task = await tracker.getTask(GITEA_ID);
      assert.equal(task.queue, 'Done');
      assert.deepEqual(task.labels, ['done']);
      assert.equal(task.comments.at(-1)?.text, 'from the agent');
      assert.equal((await tracker.createTask('Todo', 'Follow-up', '')).queue, 'Todo');
      assert.equal(await tracker.whoami(), 'dispatcher');
    } finally {
      await tracker.close?.();
    }
  });

  it('maps refusals to AdapterError kinds with the server\'s message and no token', async () => {
    const token = h.startRun('1');
    const tracker = apiTracker(h.url, { DISPATCHER_TOKEN: token });
    try {
      await rejectsWithKind(tracker.getTask('2'), 'auth', /task "1" only/);
      await rejectsWithKind(tracker.getReadyTasks(['Todo']), 'auth', /operator token/);
      await rejectsWithKind(tracker.addComment('1', ' '), 'invalid', /must not be empty/);
      await rejectsWithKind(tracker.moveTask('1', 'Nowhere'), 'not_found', /Nowhere/);
      h.endRun(token);
      await assert.rejects(tracker.getTask('1'), (error: unknown) => {
        assert.ok(error instanceof AdapterError && error.kind === 'auth' && error.status === 401);
        assert.ok(!error.message.includes(token));
        return true;
      });
    } finally {
      await tracker.close?.();
    }
  });

  it('sends no token when there is none (auth = "none" servers)', async () => {
    const open = await startHarness({ auth: 'none' });
    const tracker = apiTracker(open.url, {});
    try {
      assert.equal((await tracker.getTask('1')).id, '1');
      assert.equal((await tracker.getReadyTasks(['Todo'])).length, 3);
    } finally {
      await tracker.close?.();
      await open.close();
    }
    const closed = apiTracker(h.url, {});
    await rejectsWithKind(closed.getTask('1'), 'auth', /needs a token/);
    await closed.close?.();
  });

  it('needs a URL', () => {
    assert.throws(() => createApiTracker({ options: { type: 'api' }, baseDir: '.', env: {}, log: silentLogger }), ConfigError);
    assert.throws(() => apiTracker('/tmp/board.json', {}), ConfigError);
    assert.throws(() => apiTracker('http://127.0.0.1:1', { DISPATCHER_API_RETRY_MS: 'soon' }), /DISPATCHER_API_RETRY_MS/);
  });
});

describe('api tracker adapter against a misbehaving server', () => {
  let server: Server;
  let url: string;
  const answers: Record<string, [number, string, string]> = {
    '/tasks/503': [503, 'application/json', '{"error": {"code": "tracker_unavailable", "message": "Planka unreachable"}}'],
    '/tasks/502': [502, 'application/json', '{"error": {"code": "tracker_error", "message": "Planka sent HTML"}}'],
    '/tasks/400': [400, 'application/json', '{"error": {"code": "invalid_field", "message": "missing field \\"comment\\""}}'],
    '/tasks/html': [200, 'text/html', '<html>a web app</html>'],
    '/tasks/badjson': [200, 'application/json', '{"id": '],
    '/tasks/bare500': [500, 'text/plain', 'oops'],
  };
  before(async () => {
    server = createServer((req, res) => {
      const [status, type, body] = answers[req.url ?? ''] ?? [404, 'application/json', '{"error": {"code": "route_not_found", "message": "no endpoint"}}'];
      res.writeHead(status, { 'content-type': type }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  it('maps 502/503 to unavailable, 400 to invalid, 404 to not_found, HTML and bad JSON to bad_response', async () => {
    const tracker = apiTracker(url, { DISPATCHER_TOKEN: 'dsp_secret-token-value' });
    await rejectsWithKind(tracker.getTask('503'), 'unavailable', /^Planka unreachable$/);
    await rejectsWithKind(tracker.getTask('502'), 'unavailable', /Planka sent HTML/);
    await rejectsWithKind(tracker.getTask('400'), 'invalid', /"comment"/);
    await rejectsWithKind(tracker.getTask('404'), 'not_found');
    await rejectsWithKind(tracker.getTask('html'), 'bad_response', /text\/html/);
    await rejectsWithKind(tracker.getTask('badjson'), 'bad_response', /malformed JSON/);
    await rejectsWithKind(tracker.getTask('bare500'), 'unavailable', /500/);
    await tracker.close?.();
  });
});

describe('api tracker adapter when the dispatcher restarts', () => {
  it('retries a refused connection until the API is back', async () => {
    const port = await freePort();
    let h: Harness | undefined;
    const tracker = apiTracker(`http://127.0.0.1:${port}`, { DISPATCHER_API_RETRY_MS: '20000' });
    try {
      const pending = tracker.addComment('1', 'reported after the restart');
      await new Promise((resolve) => setTimeout(resolve, 700));
      h = await startHarness({ auth: 'none', port });
      await pending;
      const task = await tracker.getTask('1');
      assert.equal(task.comments.at(-1)?.text, 'reported after the restart');
      assert.equal(task.comments.length, 1, 'the comment was posted once');
    } finally {
      await tracker.close?.();
      await h?.close();
    }
  });

  it('gives up after DISPATCHER_API_RETRY_MS with unavailable', async () => {
    const port = await freePort();
    const tracker = apiTracker(`http://127.0.0.1:${port}`, { DISPATCHER_API_RETRY_MS: '300' });
    const started = Date.now();
    await rejectsWithKind(tracker.getTask('1'), 'unavailable', /connection refused.*is the dispatcher running/);
    assert.ok(Date.now() - started >= 250, 'it retried for a while');
    assert.ok(Date.now() - started < 5_000);
    await tracker.close?.();
  });
});
