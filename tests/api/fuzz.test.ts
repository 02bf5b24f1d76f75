import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { startHarness, type Harness } from './harness.ts';

/** mulberry32: a small seeded PRNG, so a failure can be replayed with the same seed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env.FUZZ_SEED ?? 20240611);
const REQUESTS = 400;
const RAW_REQUESTS = 60;

describe(`fuzz: random requests (seed ${SEED})`, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ limits: { bodyTimeoutMs: 500, headersTimeoutMs: 600, requestTimeoutMs: 3_000, bodyBytes: 64 * 1024 } });
  });
  after(() => h.close());

  it(`answers ${REQUESTS} random HTTP requests with a status and a JSON error, never a 500`, async () => {
    const random = prng(SEED);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    const text = (length: number) => Array.from({ length }, () => String.fromCharCode(32 + Math.floor(random() * 95))).join('');
    const methods = ['GET', 'POST', 'PATCH', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'SEARCH'];
    const ids = ['1', '2', 'owner%2Frepo%2312', '999', '%', '%zz', '%E0%A4%A', '..', '%2e%2e', encodeURIComponent(text(12)), 'a'.repeat(3000), '%00', '%F0%9F%92%A9'];
    const paths = () =>
      pick([
        `/tasks/${pick(ids)}`,
        `/tasks/${pick(ids)}/comments`,
        `/tasks/${pick(ids)}/move`,
        `/tasks/${pick(ids)}/${pick(['', 'x', 'comments/1'])}`,
        '/tasks',
        `/tasks?queue=${pick(['Todo', '', 'Nowhere', '%', 'Done'])}&queue=${encodeURIComponent(text(4))}`,
        '/status',
        '/openapi.json',
        '/',
        '//tasks//1',
        `/${encodeURIComponent(text(8))}`,
        '/../../etc/passwd',
        `/tasks/1?${encodeURIComponent(text(6))}=${encodeURIComponent(text(6))}`,
      ]);
    const bodies = () =>
      pick<string | Buffer | undefined>([
        undefined,
        '',
        JSON.stringify({ comment: text(20) }),
        JSON.stringify({ target_queue: pick(['Todo', 'Done', 'Nowhere', '']) }),
        JSON.stringify({ name: text(10), labels: [text(3)], assignees: pick([[], ['a'], 'x', [1]]) }),
        JSON.stringify({ queue_name: pick(['Todo', 'Nowhere', 1]), name: pick([text(5), '', null]) }),
        JSON.stringify([1, 2, 3]),
        'null',
        `{"comment": "${text(5)}`,
        '['.repeat(5000),
        Buffer.from(Array.from({ length: 64 }, () => Math.floor(random() * 256))),
        'x'.repeat(70 * 1024),
        text(30),
      ]);
    const tokens = [h.operatorToken, h.startRun('1'), h.startRun('2'), 'garbage', '', undefined];
    const headerSets = () => {
      const headers: Record<string, string> = {};
      const token = pick(tokens);
      if (token !== undefined) headers.authorization = pick([`Bearer ${token}`, `bearer  ${token}`, `Basic ${token}`, token, 'Bearer']);
      const type = pick(['application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', '', text(10), undefined]);
      if (type !== undefined) headers['content-type'] = type;
      if (random() < 0.3) headers[`x-${Math.floor(random() * 1e6)}`] = text(Math.floor(random() * 100));
      if (random() < 0.1) headers.host = pick(['evil.example', 'localhost', '[::1]:80', text(6)]);
      if (random() < 0.1) headers.expect = '100-continue';
      return headers;
    };

    const allowed = new Set([200, 201, 204, 400, 401, 403, 404, 405, 408, 409, 413, 415, 431]);
    const seen = new Map<number, number>();
    for (let batch = 0; batch < REQUESTS / 8; batch++) {
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          const method = pick(methods);
          const path = paths();
          const body = bodies();
          const headers = headerSets();
          const answer = await send(h.url, method, path, headers, body);
          const label = `${method} ${path.slice(0, 80)} ${JSON.stringify(headers).slice(0, 120)}`;
          seen.set(answer.status, (seen.get(answer.status) ?? 0) + 1);
          assert.ok(allowed.has(answer.status), `${label} → ${answer.status} ${answer.text.slice(0, 200)}`);
          if (answer.status >= 400 && method !== 'HEAD') {
            const parsed = JSON.parse(answer.text);
            assert.equal(typeof parsed.error.code, 'string', label);
            assert.equal(typeof parsed.error.message, 'string', label);
          }
        }),
      );
    }
    assert.ok((seen.get(200) ?? 0) + (seen.get(201) ?? 0) > 0, `some requests succeed: ${JSON.stringify([...seen])}`);
    assert.ok([400, 401, 403, 404, 405, 415].every((status) => seen.has(status)), `the fuzz reaches the error paths: ${JSON.stringify([...seen])}`);
  });

  it(`answers or closes ${RAW_REQUESTS} raw garbage connections, and stays up`, async () => {
    const random = prng(SEED + 1);
    const prefixes = ['', 'GET / HTTP/1.1\r\n', 'POST /tasks/1/comments HTTP/1.1\r\nContent-Length: 5\r\n', 'GET /tasks/1 HTTP/9.9\r\n\r\n', 'G\0T / HTTP/1.1\r\n\r\n', 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: x\r\n\r\n'];
    for (let index = 0; index < RAW_REQUESTS; index++) {
      const prefix = prefixes[Math.floor(random() * prefixes.length)];
      const noise = Buffer.from(Array.from({ length: Math.floor(random() * 200) }, () => Math.floor(random() * 256)));
      const ending = random() < 0.5 ? '\r\n\r\n' : '';
      const raw = await rawSend(h.url, Buffer.concat([Buffer.from(prefix, 'latin1'), noise, Buffer.from(ending)]));
      if (raw !== '') assert.match(raw, /^HTTP\/1\.1 \d{3} /, `answer to garbage #${index}: ${raw.slice(0, 100)}`);
    }
    assert.equal((await h.call('GET', '/status', { token: h.operatorToken })).status, 200);
  });
});

function send(base: string, method: string, path: string, headers: Record<string, string>, body: string | Buffer | undefined): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    let req;
    try {
      req = request(base + path, { method, headers, agent: false, timeout: 10_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
    } catch (error) {
      // node's client refused to send it (an invalid header): nothing reached the server.
      resolve({ status: 400, text: JSON.stringify({ error: { code: 'client_refused', message: String(error) } }) });
      return;
    }
    req.on('timeout', () => req.destroy(new Error(`no answer to ${method} ${path} within 10 s`)));
    req.on('error', (error: NodeJS.ErrnoException) => {
      // The server may close after a 413/408 while the body is still being written.
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') resolve({ status: 413, text: '{"error":{"code":"reset","message":"reset"}}' });
      else reject(Object.assign(error, { message: `${error.message} (${method} ${path.slice(0, 60)} ${JSON.stringify(headers).slice(0, 200)} body ${String(body).slice(0, 40)})` }));
    });
    req.end(body);
  });
}

function rawSend(base: string, bytes: Buffer): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    const timer = setTimeout(() => reject(new Error('the server neither answered nor closed within 10 s')), 10_000);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (data) => {
      received += data.toString('latin1');
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    // A complete, valid request keeps the connection alive: stop once one answer is in.
    socket.on('data', () => {
      if (/\r\n\r\n/.test(received)) setTimeout(() => socket.destroy(), 50);
    });
  });
}
