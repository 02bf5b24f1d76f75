import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { request } from 'node:http';
import { startHarness, type Harness } from './harness.ts';

/** Sends raw bytes on a fresh connection and returns everything the server answers before closing. */
function rawExchange(url: string, chunks: Array<string | Buffer>, options: { gapMs?: number; timeoutMs?: number } = {}): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${options.timeoutMs ?? 10_000} ms; got: ${received.slice(0, 200)}`));
    }, options.timeoutMs ?? 10_000);
    socket.on('data', (data) => (received += data.toString('latin1')));
    socket.on('error', () => {}); // a reset after the answer is fine
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.on('connect', async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) return;
        socket.write(chunk);
        if (options.gapMs) await new Promise((r) => setTimeout(r, options.gapMs));
      }
    });
  });
}

const statusOf = (raw: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
const bodyOf = (raw: string) => JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));

describe('body limits, content types and timeouts', () => {
  let h: Harness;
  const post = (path: string, body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    h.call('POST', path, { token: h.operatorToken, raw: body, headers });
  before(async () => {
    h = await startHarness({ limits: { bodyTimeoutMs: 300, headersTimeoutMs: 400, requestTimeoutMs: 2_000 } });
  });
  after(() => h.close());

  it('refuses a body over 1 MiB with 413 (declared length)', async () => {
    const big = JSON.stringify({ comment: 'x'.repeat(1024 * 1024) });
    const answer = await post('/tasks/1/comments', big);
    assert.equal(answer.status, 413);
    assert.equal(answer.body.error.code, 'payload_too_large');
  });

  it('refuses a chunked body that grows over 1 MiB with 413', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${h.url}/tasks/1/comments`);
      const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${h.operatorToken}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write('{"comment": "');
      for (let i = 0; i < 20; i++) req.write('y'.repeat(64 * 1024));
      req.end('"}');
    });
    assert.equal(status, 413);
  });

  it('accepts a body just under the limit', async () => {
    const body = JSON.stringify({ comment: 'z'.repeat(1024 * 1024 - 20) });
    assert.ok(Buffer.byteLength(body) <= 1024 * 1024);
    assert.equal((await post('/tasks/1/comments', body)).status, 201);
  });

  it('refuses bodies not declared as JSON with 415, and says how to send them', async () => {
    const body = '{"comment": "x"}';
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1']) {
      const answer = await post('/tasks/1/comments', body, { 'content-type': type });
      assert.equal(answer.status, 415, type);
      assert.equal(answer.body.error.code, 'unsupported_media_type');
      assert.match(answer.body.error.message, /Content-Type: application\/json/);
    }
    const noType = await post('/tasks/1/comments', body, {});
    assert.equal(noType.status, 415);
    for (const type of ['application/json; charset=utf-8', 'Application/JSON', 'application/merge-patch+json']) {
      assert.equal((await post('/tasks/1/comments', body, { 'content-type': type })).status, 201, type);
    }
  });

  it('refuses malformed JSON, non-object JSON and a missing body with 400', async () => {
    const malformed = await post('/tasks/1/comments', '{"comment": ');
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error.code, 'invalid_json');
    assert.match(malformed.body.error.message, /malformed JSON/);
    for (const body of ['[1, 2]', '"text"', 'null', '42']) {
      const answer = await post('/tasks/1/comments', body);
      assert.equal(answer.status, 400, body);
      assert.match(answer.body.error.message, /must be an object/);
    }
    const empty = await h.call('POST', '/tasks/1/comments', { token: h.operatorToken });
    assert.equal(empty.status, 400);
    assert.match(empty.body.error.message, /needs a JSON object body/);
  });

  it('times out a body that stops arriving with 408', async () => {
    const started = Date.now();
    const raw = await rawExchange(h.url, [
      `POST /tasks/1/comments HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${h.operatorToken}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"comm`,
    ]);
    assert.equal(statusOf(raw), 408, raw);
    assert.equal(bodyOf(raw).error.code, 'request_timeout');
    assert.ok(Date.now() - started < 5_000, 'answered within the body timeout, not hung');
  });

  it('times out headers that never finish with 408, in JSON', async () => {
    const raw = await rawExchange(h.url, ['GET /tasks/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: '], { timeoutMs: 8_000 });
    assert.equal(statusOf(raw), 408, raw);
    assert.equal(bodyOf(raw).error.code, 'request_timeout');
  });

  it('answers a request node cannot parse with 400 in JSON, and huge headers with 431', async () => {
    const garbage = await rawExchange(h.url, ['NOT HTTP AT ALL\r\n\r\n']);
    assert.equal(statusOf(garbage), 400);
    assert.equal(bodyOf(garbage).error.code, 'invalid_request');
    const huge = await rawExchange(h.url, [`GET /status HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(32 * 1024)}\r\n\r\n`]);
    assert.equal(statusOf(huge), 431);
  });

  it('keeps serving after all of that', async () => {
    assert.equal((await h.call('GET', '/tasks/1', { token: h.operatorToken })).status, 200);
  });
});
