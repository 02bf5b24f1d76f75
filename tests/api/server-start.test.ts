import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import createJsonTracker from '../../adapters/json/index.ts';
import { ConfigError } from '../../src/errors.ts';
import { createTaskService } from '../../src/core/task-service.ts';
import { silentLogger } from '../../src/log.ts';
import { redact } from '../../src/util/redact.ts';
import { ensureOperatorToken, readOperatorToken, startApiServer, type ApiServerOptions } from '../../src/api/server.ts';
import { tempDir } from '../helpers.ts';
import { capturingLogger, startHarness } from './harness.ts';

function baseOptions(overrides: Partial<ApiServerOptions> = {}): ApiServerOptions {
  const dir = tempDir('dispatcher-api-start-');
  const board = join(dir, 'board.json');
  writeFileSync(board, '{"queues": {"Todo": []}}');
  const tracker = createJsonTracker({ options: { type: 'json', url: board }, baseDir: dir, env: {}, log: silentLogger });
  return { host: '127.0.0.1', port: 0, auth: 'token', service: createTaskService(tracker), resolveRunToken: () => undefined, status: () => ({}), log: silentLogger, ...overrides };
}

describe('operator token', () => {
  it('is created with mode 0600, reused across restarts, and readable by the CLI', async () => {
    const stateDir = join(tempDir(), 'state');
    assert.equal(readOperatorToken(stateDir), undefined);
    const first = await ensureOperatorToken(stateDir);
    assert.match(first.token, /^dsp_op_[A-Za-z0-9_-]{40,}$/);
    assert.equal(first.file, join(stateDir, 'operator-token'));
    assert.equal(statSync(first.file).mode & 0o777, 0o600);
    assert.equal(first.hash.length, 64);
    const second = await ensureOperatorToken(stateDir);
    assert.deepEqual(second, first);
    assert.equal(readOperatorToken(stateDir), first.token);
    assert.equal(redact(`token is ${first.token}`), 'token is [redacted]', 'registered as a secret');
  });

  it('gives processes starting at once one and the same token', async () => {
    const stateDir = join(tempDir(), 'state');
    const tokens = await Promise.all(Array.from({ length: 8 }, () => ensureOperatorToken(stateDir)));
    assert.equal(new Set(tokens.map((t) => t.token)).size, 1);
  });
});

describe('starting and stopping the server', () => {
  it('refuses auth = "none" on a non-loopback host with a ConfigError', async () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.10']) {
      await assert.rejects(startApiServer(baseOptions({ host, auth: 'none' })), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /auth = "none"/);
        assert.match(error.message, /127\.0\.0\.1/);
        return true;
      });
    }
  });

  it('binds any host with auth = "token", and loopback names with auth = "none"', async () => {
    const open = await startApiServer(baseOptions({ host: '0.0.0.0', auth: 'token' }));
    assert.match(open.url, /^http:\/\/127\.0\.0\.1:\d+$/, 'agents reach a wildcard bind through loopback');
    assert.equal((await fetch(`${open.url}/openapi.json`)).status, 200);
    await open.close();
    const local = await startApiServer(baseOptions({ host: 'localhost', auth: 'none' }));
    await local.close();
  });

  it('reports a port in use as a ConfigError', async () => {
    const first = await startApiServer(baseOptions());
    try {
      const port = Number(new URL(first.url).port);
      await assert.rejects(startApiServer(baseOptions({ port })), (error: unknown) => error instanceof ConfigError && /in use/.test(error.message));
    } finally {
      await first.close();
    }
  });

  it('logs the bound URL and never the operator token', async () => {
    const { log, lines } = capturingLogger();
    const h = await startHarness({ log });
    await h.call('GET', '/status', { token: h.operatorToken });
    await h.close();
    const text = lines.join('');
    assert.ok(text.includes(`API listening on ${h.url} (auth: token)`), text);
    assert.ok(!text.includes(h.operatorToken));
  });

  it('mounts extra routes behind the same auth (operator only by default) and cuts open streams on close', async () => {
    const h = await startHarness();
    h.api.route('GET', '/events', ({ response }) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: hello\n\n');
      return undefined;
    });
    h.api.route('GET', '/api/v1/state', ({ caller }) => ({ json: { caller: caller.kind } }), { access: 'run' });
    assert.throws(() => h.api.route('GET', '/events', () => undefined), /already mounted/);
    assert.equal((await h.call('GET', '/events', { token: h.startRun('1') })).status, 403);
    assert.equal((await h.call('GET', '/events')).status, 401);
    assert.deepEqual((await h.call('GET', '/api/v1/state', { token: h.startRun('1') })).body, { caller: 'run' });

    const firstChunk = await new Promise<string>((resolve, reject) => {
      const req = request(`${h.url}/events`, { headers: { authorization: `Bearer ${h.operatorToken}` } }, (res) => res.once('data', (chunk) => resolve(String(chunk))));
      req.on('error', () => {});
      req.on('close', () => {});
      req.end();
      setTimeout(() => reject(new Error('no event')), 5_000);
    });
    assert.equal(firstChunk, 'data: hello\n\n');
    const started = Date.now();
    await h.close();
    assert.ok(Date.now() - started < 8_000, 'close() does not wait for streams forever');
  });
});
