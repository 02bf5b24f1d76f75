import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { FileLedger, type RunRecord } from '../../src/core/runs/ledger.ts';
import type { Config } from '../../src/config/types.ts';
import type { Router } from '../../src/core/dispatch/router.ts';
import type { RouterEvent } from '../../src/core/runs/run-executor.ts';
import { mountRunDashboard, captureLog, type RunDashboard } from '../../src/api/dashboard/run-dashboard.ts';
import { capturingLogger, startHarness, type Harness } from '../api/harness.ts';

import { DEFAULT_PRIORITY } from '../../src/config/load.ts';

const HOSTILE = '<img src=x onerror=alert(1)>';

function config(stateDir: string, auth: 'token' | 'none'): Config {
  return {
    baseDir: stateDir,
    pollIntervalMs: 30_000,
    maxConcurrentAgents: 3,
    apiHost: '127.0.0.1',
    apiPort: 0,
    apiAuth: auth,
    killGraceMs: 1_000,
    retryDelayMs: 1_000,
    stateDir,
    secretEnv: [],
    backend: { type: 'planka', url: 'https://bot:hunter2@planka.example.com/boards' },
    routes: [{ queue: 'Todo', command: '/usr/bin/claude', args: [], env: {}, maxAttempts: 1, agent: 'claude', structuredOutput: true }],
    priority: DEFAULT_PRIORITY,
    env: {},
  };
}

function run(fields: Partial<RunRecord>): RunRecord {
  return { id: 'r1', taskId: '1', taskName: 'task', taskUrl: '', route: 'Todo', agent: 'claude', attempt: 1, maxAttempts: 1, status: 'succeeded', createdAt: '2026-01-01T00:00:00.000Z', ...fields };
}

interface Setup {
  harness: Harness;
  dashboard: RunDashboard;
  events: Array<(event: RouterEvent) => void>;
  lines: string[];
}

async function setup(auth: 'token' | 'none'): Promise<Setup> {
  const { log, lines } = capturingLogger();
  const harness = await startHarness({ auth, log });
  const stateDir = join(harness.dir, 'state');
  const ledger = new FileLedger(stateDir);
  await ledger.update((data) => {
    data.runs.push(run({ id: 'r1', taskId: '7', taskName: HOSTILE, status: 'running', pid: 4242, startedAt: new Date(Date.now() - 5_000).toISOString(), deadline: Date.now() + 60_000, owner: ledger.owner }));
    data.runs.push(run({ id: 'r2', taskId: '8', taskName: 'CRITICAL: the build is red', taskUrl: 'javascript:alert(1)', status: 'failed', outcome: 'exit 1', startedAt: '2026-01-01T00:00:00.000Z', endedAt: '2026-01-01T00:00:09.000Z' }));
  });
  const events: Array<(event: RouterEvent) => void> = [];
  const router: Pick<Router, 'health' | 'onEvent' | 'stopRun'> = {
    stopRun: async () => {
      throw new Error('not in this test');
    },
    health: () => ({ lastPollAt: new Date().toISOString(), lastPollError: undefined, consecutiveFailures: 0, nextFetchAt: 0 }),
    onEvent: (listener) => {
      events.push(listener);
      return () => true;
    },
  };
  const tail = captureLog(log);
  const dashboard = await mountRunDashboard({ api: harness.api, config: config(stateDir, auth), ledger, router, log, tail });
  log.info('a line for the tail');
  return { harness, dashboard, events, lines };
}

describe('the dashboard on the API server (dispatcher run)', () => {
  let s: Setup;
  before(async () => {
    s = await setup('token');
  });
  after(async () => {
    s.dashboard.close();
    await s.harness.close();
  });

  it('GET /api/v1/state: the snapshot and the log tail for scripts, behind the operator token', async () => {
    const answer = await s.harness.call('GET', '/api/v1/state', { token: s.harness.operatorToken });
    assert.equal(answer.status, 200);
    const state = answer.body;
    assert.equal(state.schema, 1);
    assert.equal(state.mode, 'run');
    assert.deepEqual(state.slots, { max: 3, used: 1, free: 2 });
    assert.equal(state.running[0].title, HOSTILE, 'task text is data, kept as it is');
    assert.equal(state.running[0].pid, 4242);
    assert.equal(state.recent[0].priority, 'CRITICAL');
    assert.equal(state.recent[0].url, '', 'a javascript: link never reaches the page');
    assert.equal(state.recent[0].durationMs, 9_000);
    assert.equal(state.tracker.where, 'planka.example.com', 'no credential from the tracker URL');
    assert.ok(!answer.text.includes('hunter2'));
    assert.ok(!answer.text.includes(s.harness.operatorToken));
    assert.ok(state.log.some((line: { message: string }) => line.message === 'a line for the tail'));
  });

  it('refuses callers without the operator token: 401 anonymous, 403 for a run token', async () => {
    const anonymous = await s.harness.call('GET', '/api/v1/state');
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.error.code, 'unauthorized');
    const agent = await s.harness.call('GET', '/api/v1/state', { token: s.harness.startRun('1') });
    assert.equal(agent.status, 403);
  });

  it('GET / without a session answers how to sign in, with no secret', async () => {
    const page = await fetch(`${s.harness.url}/`);
    assert.equal(page.status, 401);
    const html = await page.text();
    assert.match(html, /operator-token/);
    assert.ok(!html.includes(s.harness.operatorToken));
  });

  it('/?token= sets an HttpOnly SameSite=Strict cookie (not the token) and redirects to /', async () => {
    const signIn = await fetch(`${s.harness.url}/?token=${encodeURIComponent(s.harness.operatorToken)}`, { redirect: 'manual' });
    assert.equal(signIn.status, 303);
    assert.equal(signIn.headers.get('location'), '/');
    assert.equal(signIn.headers.get('referrer-policy'), 'no-referrer');
    const cookie = signIn.headers.get('set-cookie') ?? '';
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    assert.match(cookie, /Path=\//);
    const pair = cookie.split(';')[0];
    assert.ok(!pair.includes(s.harness.operatorToken), 'the cookie is not the operator token');

    const page = await fetch(`${s.harness.url}/`, { headers: { cookie: pair } });
    assert.equal(page.status, 200);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    const html = await page.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(html, /\sstyle=|\son[a-z]+=/i, 'no inline style or handler');
    assert.doesNotMatch(html, /https?:\/\/(?!HOST)/, 'no external asset');

    const state = await fetch(`${s.harness.url}/api/v1/state`, { headers: { cookie: pair } });
    assert.equal(state.status, 200);
    const events = await fetch(`${s.harness.url}/events`, { headers: { cookie: pair } });
    assert.equal(events.status, 200);
    await events.body?.cancel();

    const tasks = await fetch(`${s.harness.url}/status`, { headers: { cookie: pair } });
    assert.equal(tasks.status, 401, 'the cookie opens the dashboard only, not the task API');
  });

  it('a wrong token gets no cookie; a forged cookie is refused', async () => {
    const wrong = await fetch(`${s.harness.url}/?token=dsp_op_guess`, { redirect: 'manual' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('set-cookie'), null);
    assert.match(await wrong.text(), /not accepted/);
    const name = `dispatcher_dashboard_${new URL(s.harness.url).port}`;
    const forged = await fetch(`${s.harness.url}/api/v1/state`, { headers: { cookie: `${name}=${'A'.repeat(43)}` } });
    assert.equal(forged.status, 401);
  });

  it('serves the script and styles gzipped when asked, with an ETag', async () => {
    const script = await fetch(`${s.harness.url}/dashboard.js`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(script.status, 200);
    assert.match(script.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.equal(script.headers.get('content-encoding'), 'gzip');
    assert.match(await script.text(), /EventSource/);
    const etag = script.headers.get('etag') ?? '';
    const again = await fetch(`${s.harness.url}/dashboard.js`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    const css = await fetch(`${s.harness.url}/dashboard.css`);
    assert.match(css.headers.get('content-type') ?? '', /^text\/css/);
  });

  it('a router event pushes a fresh snapshot to /events', async () => {
    const response = await fetch(`${s.harness.url}/events`, { headers: { authorization: `Bearer ${s.harness.operatorToken}` } });
    const reader = response.body!.getReader();
    let text = '';
    const until = async (pattern: RegExp) => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        text += new TextDecoder().decode(value);
      }
    };
    await until(/event: log/);
    const ledger = new FileLedger(join(s.harness.dir, 'state'));
    await ledger.update((data) => {
      data.runs.push(run({ id: 'r3', taskId: '9', taskName: 'just dispatched', status: 'running', owner: ledger.owner, startedAt: new Date().toISOString() }));
    });
    for (const listener of s.events) listener({ type: 'poll', ok: true, tasks: 1 });
    await until(/just dispatched/);
    await reader.cancel();
  });

  it('is listed in /openapi.json', async () => {
    const doc = (await s.harness.call('GET', '/openapi.json')).body;
    for (const path of ['/', '/events', '/api/v1/state', '/dashboard.js', '/dashboard.css']) assert.ok(doc.paths[path]?.get, path);
  });

  it('never logs the token, even the one given in /?token=', () => {
    assert.ok(s.lines.length > 0);
    assert.ok(!s.lines.join('\n').includes(s.harness.operatorToken));
  });
});

describe('the dashboard with [api] auth = "none"', () => {
  it('is open on loopback, but only for requests addressed to a loopback name', async () => {
    const s = await setup('none');
    try {
      const page = await fetch(`${s.harness.url}/`);
      assert.equal(page.status, 200);
      const state = await fetch(`${s.harness.url}/api/v1/state`);
      assert.equal(state.status, 200);
      const rebound = await new Promise<number>((resolve, reject) => {
        request(`${s.harness.url}/`, { headers: { host: 'evil.example' } }, (answer) => {
          answer.resume();
          resolve(answer.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
      assert.equal(rebound, 403, 'DNS rebinding: a foreign Host is refused');
    } finally {
      s.dashboard.close();
      await s.harness.close();
    }
  });
});
