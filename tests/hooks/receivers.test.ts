import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PUSH_STATUS_FILE } from '../../src/api/hooks/push-status.ts';
import { recordedDeliveries, replayHeaders, RECORDED_PLANKA_TOKEN } from '../../fixtures/webhooks/recorded.ts';
import { post, startHooks, type HookHarness } from './support.ts';

const gitea = recordedDeliveries('gitea');
const planka = recordedDeliveries('planka');
const sign = (body: string | Buffer, secret = 'hook-secret') => createHmac('sha256', secret).update(body).digest('hex');
/** A recorded Gitea delivery with another body, signed as Gitea would (fresh delivery id). */
function giteaDelivery(body: string, id: string, secret?: string): Record<string, string> {
  const headers = replayHeaders(gitea[1].headers);
  return { ...headers, 'x-gitea-delivery': id, 'x-github-delivery': id, 'x-gogs-delivery': id, 'x-gitea-signature': sign(body, secret), 'x-gogs-signature': sign(body, secret), 'x-hub-signature-256': `sha256=${sign(body, secret)}` };
}

describe('webhook receivers: recorded deliveries', () => {
  let hooks: HookHarness;
  before(async () => (hooks = await startHooks()));
  after(() => hooks.close());

  it('accepts every recorded Gitea delivery, byte for byte, and asks for a tick for each', async () => {
    assert.ok(gitea.length >= 7);
    for (const delivery of gitea) {
      const before = hooks.requests.asked.length;
      const answer = await post(`${hooks.url}/hooks/gitea`, replayHeaders(delivery.headers), delivery.body);
      assert.equal(answer.status, 202, delivery.name);
      assert.equal(answer.json.result, 'accepted', delivery.name);
      assert.equal(hooks.requests.asked.length, before + 1, delivery.name);
    }
    const last = hooks.status.snapshot().deliveries.gitea!;
    assert.equal(last.result, 'accepted');
    assert.equal(last.event, 'issues/label_updated');
  });

  it('accepts every recorded Planka delivery; those about a routed board ask for a tick, the rest are ignored', async () => {
    assert.equal(planka.length, 24);
    const results: Record<string, string> = {};
    for (const delivery of planka) {
      const before = hooks.requests.asked.length;
      const answer = await post(`${hooks.url}/hooks/planka`, replayHeaders(delivery.headers), delivery.body);
      assert.equal(answer.status, 202, delivery.name);
      results[delivery.name] = answer.json.result;
      assert.equal(hooks.requests.asked.length - before, answer.json.result === 'accepted' ? 1 : 0, delivery.name);
    }
    // Every event that names the routed board (or its project: a board created or deleted there); not the webhook's or the project's own.
    const ignored = Object.keys(results).filter((name) => results[name] !== 'accepted');
    assert.deepEqual(ignored, ['v2-hook-01-webhookCreate.json', 'v2-hook-02-projectCreate.json', 'v2-hook-23-projectDelete.json', 'v2-hook-24-webhookDelete.json']);
    assert.ok(ignored.every((name) => results[name] === 'ignored'));
  });

  it('never logs or stores a delivery body (a cardMembershipCreate carries a password hash)', async () => {
    const membership = planka.find((delivery) => delivery.name.includes('cardMembershipCreate'))!;
    assert.match(membership.body, /<bcrypt-hash>/);
    await post(`${hooks.url}/hooks/planka`, replayHeaders(membership.headers), membership.body);
    await post(`${hooks.url}/hooks/planka`, { ...replayHeaders(membership.headers), authorization: 'Bearer wrong' }, membership.body);
    await post(`${hooks.url}/hooks/planka`, replayHeaders(membership.headers), `${membership.body.slice(0, -1)}`);
    await hooks.status.flush();
    const stored = readFileSync(join(hooks.stateDir, PUSH_STATUS_FILE), 'utf8');
    for (const text of [hooks.lines.join('\n'), stored, JSON.stringify(hooks.status.snapshot())]) {
      for (const secret of ['bcrypt-hash', 'apiKeyHash', 'Hook card', 'hookrec-s2lxr7', RECORDED_PLANKA_TOKEN]) assert.doesNotMatch(text, new RegExp(secret), `"${secret}" leaked`);
    }
    assert.deepEqual(Object.keys(JSON.parse(stored).deliveries).sort(), ['gitea', 'planka']);
  });
});

describe('webhook receivers: refusals ask for no tick', () => {
  let hooks: HookHarness;
  before(async () => (hooks = await startHooks({ limits: { timeoutMs: 400 } })));
  after(() => hooks.close());

  async function refused(path: string, headers: Record<string, string>, body: string | Buffer, status: number, reason: RegExp) {
    const before = hooks.requests.asked.length;
    const answer = await post(`${hooks.url}${path}`, headers, body);
    assert.equal(answer.status, status, JSON.stringify(answer.json));
    assert.match(answer.json.error.message, reason);
    assert.equal(hooks.requests.asked.length, before, 'no tick asked for');
    const last = hooks.status.snapshot().deliveries[path.endsWith('gitea') ? 'gitea' : 'planka']!;
    assert.equal(last.result, 'refused');
    assert.equal(last.status, status);
  }

  it('a tampered body', async () => {
    const delivery = gitea[0];
    await refused('/hooks/gitea', replayHeaders(delivery.headers), delivery.body.replace('"assigned"', '"opened"  '), 401, /wrong signature/);
  });

  it('a wrong secret', async () => {
    const body = gitea[0].body;
    await refused('/hooks/gitea', giteaDelivery(body, 'wrong-secret-1', 'not-the-secret'), body, 401, /wrong signature/);
  });

  it('a missing signature', async () => {
    const { 'x-gitea-signature': _a, 'x-gogs-signature': _b, 'x-hub-signature-256': _c, 'x-hub-signature': _d, ...headers } = replayHeaders(gitea[0].headers);
    await refused('/hooks/gitea', headers, gitea[0].body, 401, /no signature/);
  });

  it('a replayed Gitea delivery id (after its first, accepted, delivery)', async () => {
    const body = gitea[2].body;
    const headers = giteaDelivery(body, 'replayed-1');
    assert.equal((await post(`${hooks.url}/hooks/gitea`, headers, body)).status, 202);
    await refused('/hooks/gitea', headers, body, 409, /already received/);
  });

  it('a wrong or missing Planka token', async () => {
    const delivery = planka[8];
    await refused('/hooks/planka', { ...replayHeaders(delivery.headers), authorization: 'Bearer hook-secret-124' }, delivery.body, 401, /wrong access token/);
    const { authorization: _auth, ...headers } = replayHeaders(delivery.headers);
    await refused('/hooks/planka', headers, delivery.body, 401, /no access token/);
  });

  it('a 2 MiB body (413), signed or not', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 'a');
    await refused('/hooks/gitea', giteaDelivery(big.toString(), 'big-1'), big, 413, /larger than/);
    await refused('/hooks/planka', replayHeaders(planka[8].headers), big, 413, /larger than/);
  });

  it('a 2 MiB body without a length (chunked) is cut off at 1 MiB', async () => {
    const before = hooks.requests.asked.length;
    const status = await new Promise<number>((resolve, reject) => {
      const socket = connect(Number(new URL(hooks.url).port), '127.0.0.1');
      let answer = '';
      socket.on('data', (chunk) => (answer += chunk.toString()));
      socket.on('close', () => resolve(Number(answer.split(' ')[1])));
      socket.on('error', () => resolve(Number(answer.split(' ')[1]) || 0));
      socket.write(`POST /hooks/planka HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${RECORDED_PLANKA_TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n`);
      const chunk = Buffer.alloc(256 * 1024, 'a');
      let sent = 0;
      const more = () => {
        while (sent < 8 && !socket.destroyed) {
          sent++;
          if (!socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`)) return void socket.once('drain', more);
        }
      };
      more();
      setTimeout(() => reject(new Error('no answer')), 10_000).unref();
    });
    assert.equal(status, 413);
    assert.equal(hooks.requests.asked.length, before);
  });

  it('a slow body times out (408)', async () => {
    const before = hooks.requests.asked.length;
    const body = gitea[0].body;
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(Number(new URL(hooks.url).port), '127.0.0.1');
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', () => resolve(text));
      const head = Object.entries(replayHeaders(gitea[0].headers)).map(([name, value]) => `${name}: ${value}\r\n`).join('');
      socket.write(`POST /hooks/gitea HTTP/1.1\r\nHost: x\r\n${head}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 100)}`);
    });
    assert.match(answer, /^HTTP\/1.1 408 /);
    assert.equal(hooks.requests.asked.length, before);
    assert.equal(hooks.status.snapshot().deliveries.gitea?.status, 408);
  });

  it('a malformed body with a good signature is a 400, and the receiver keeps serving', async () => {
    const body = '{"action": "opened", "repository": ';
    await refused('/hooks/gitea', giteaDelivery(body, 'malformed-1'), body, 400, /not a JSON object/);
    await refused('/hooks/planka', replayHeaders(planka[8].headers), '[1,2', 400, /not a Planka delivery/);
    await refused('/hooks/planka', replayHeaders(planka[8].headers), '{"data":{}}', 400, /not a Planka delivery/);
    const delivery = gitea[3];
    assert.equal((await post(`${hooks.url}/hooks/gitea`, replayHeaders(delivery.headers), delivery.body)).status, 202);
  });

  it('a delivery about a repository no route watches: 202, nothing done', async () => {
    const body = gitea[1].body.replaceAll('dispatcher-admin/proj-a', 'someone/else');
    const before = hooks.requests.asked.length;
    const answer = await post(`${hooks.url}/hooks/gitea`, giteaDelivery(body, 'elsewhere-1'), body);
    assert.equal(answer.status, 202);
    assert.deepEqual(answer.json, { result: 'ignored', event: 'issues/opened', reason: 'a repository no route watches' });
    assert.equal(hooks.requests.asked.length, before);
  });

  it('accepts X-Hub-Signature-256 alone (Forgejo, GitHub-style senders)', async () => {
    const body = gitea[4].body;
    const { 'x-gitea-signature': _a, 'x-gogs-signature': _b, ...headers } = giteaDelivery(body, 'hub-only-1');
    const answer = await post(`${hooks.url}/hooks/gitea`, headers, body);
    assert.equal(answer.status, 202);
    assert.equal(answer.json.result, 'accepted');
  });

  it('serves a health answer, and nothing but the receivers', async () => {
    assert.equal((await fetch(`${hooks.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${hooks.url}/tasks/1`)).status, 404);
    assert.equal((await fetch(`${hooks.url}/status`)).status, 404);
  });
});
