import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dispatchFile } from '../../src/commands/dispatch-file.ts';
import { dispatchLogLine, startDispatchFileDashboard } from '../../src/api/dashboard/dispatch-file-dashboard.ts';
import { silentLogger } from '../../src/log.ts';
import { ConfigError } from '../../src/errors.ts';
import { captureStream, giteaAndFolderPerTest, makeConfig } from '../dispatch-file/support.ts';
import { openSse } from './support.ts';

const each = giteaAndFolderPerTest();

describe('the dispatch-file dashboard', () => {
  it('serves its own port behind the operator token and shows dispatches and the dispatch log live', async () => {
    const config = makeConfig(each.dir.path, each.fake, { ratePerMinute: 1 });
    const dashboard = (await startDispatchFileDashboard({ config, log: silentLogger, port: 0 }))!;
    const stop = new AbortController();
    try {
      const token = readFileSync(join(config.stateDir, 'operator-token'), 'utf8').trim();
      assert.equal((await fetch(`${dashboard.url}api/v1/state`)).status, 401);
      const stream = await openSse(`${dashboard.url}events`, { authorization: `Bearer ${token}` });
      const first = await stream.next('snapshot');
      assert.equal(first.data.mode, 'dispatch-file');
      assert.deepEqual(first.data.recent, []);

      each.fake.addIssue('acme/app', { title: 'CRITICAL: <img src=x onerror=alert(1)>', assignees: ['hans'] });
      each.fake.addIssue('acme/app', { title: 'second', assignees: ['greta'] });
      const loop = dispatchFile({
        config,
        log: silentLogger,
        once: false,
        dryRun: false,
        signal: stop.signal,
        state: dashboard.state,
        stdout: captureStream(),
        sleep: (_ms, signal) => new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true }))),
      });
      let snapshot;
      do snapshot = (await stream.next('snapshot', 10_000)).data;
      while (snapshot.recent.length === 0 || !snapshot.rateLimit);
      assert.deepEqual(
        snapshot.recent.map((item: { who: string; title: string; priority: string }) => [item.who, item.title, item.priority]),
        [['hans', 'CRITICAL: <img src=x onerror=alert(1)>', 'CRITICAL']],
      );
      assert.equal(snapshot.rateLimit.available, 0, 'one per minute: the second waits');
      assert.deepEqual(snapshot.groups.rows.find((row: { name: string }) => row.name === 'greta')?.counts, { files: 0, waiting: 1, dispatched: 0, stale: 0 });

      const lines: Array<{ message: string; tag: string }> = [];
      while (!lines.some((line) => line.message.startsWith('✅ DISPATCHED: hans'))) lines.push(...(await stream.next('log', 10_000)).data.lines);
      assert.equal(lines.find((line) => line.message.startsWith('✅'))?.tag, 'dispatch');

      const document = await (await fetch(`${dashboard.url}api/v1/state`, { headers: { authorization: `Bearer ${token}` } })).json();
      assert.equal(document.recent.length, 1);
      assert.ok(document.log.some((line: { message: string }) => line.message.includes('DISPATCHED: hans')));
      stop.abort();
      await loop;
      stream.close();
    } finally {
      stop.abort();
      await dashboard.close();
    }
  });

  it('serves /openapi.json (public), which its 404 answers point to, describing every endpoint it has; each answers', async () => {
    const config = makeConfig(each.dir.path, each.fake);
    const dashboard = (await startDispatchFileDashboard({ config, log: silentLogger, port: 0 }))!;
    try {
      const token = readFileSync(join(config.stateDir, 'operator-token'), 'utf8').trim();
      const missing = await fetch(`${dashboard.url}nowhere`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(missing.status, 404);
      assert.match((await missing.json()).error.message, /see GET \/openapi\.json/);

      const answer = await fetch(`${dashboard.url}openapi.json`);
      assert.equal(answer.status, 200, 'no token needed, as on the agent API');
      const doc = await answer.json();
      assert.equal(doc.openapi, '3.1.0');
      assert.equal(doc.info.title, 'dispatcher dispatch-file dashboard');
      assert.equal(doc.servers[0].url, dashboard.url.replace(/\/$/, ''));
      assert.equal(doc.paths['/tasks'], undefined, 'no task endpoint is claimed');
      for (const path of ['/', '/events', '/api/v1/state', '/dashboard.js', '/dashboard.css', '/openapi.json']) assert.ok(doc.paths[path]?.get?.summary, `GET ${path} is documented`);
      for (const ref of JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? []) {
        let node = doc;
        for (const key of ref.slice(8, -1).replace(/^#\//, '').split('/')) node = node?.[key];
        assert.ok(node, `${ref} resolves`);
      }
      for (const path of Object.keys(doc.paths)) {
        const stop = new AbortController();
        const reply = await fetch(`${dashboard.url}${path.slice(1)}`, { headers: { authorization: `Bearer ${token}` }, signal: stop.signal });
        stop.abort(); // /events streams for ever
        assert.equal(reply.status, 200, `GET ${path}`);
      }
    } finally {
      await dashboard.close();
    }
  });

  it('refuses auth = "none" on a non-loopback address, and names the setting when the port is taken', async () => {
    const open = makeConfig(each.dir.path, each.fake);
    open.apiAuth = 'none';
    await assert.rejects(startDispatchFileDashboard({ config: open, log: silentLogger, host: '0.0.0.0', port: 0 }), ConfigError);
    const config = makeConfig(each.dir.path, each.fake);
    const first = (await startDispatchFileDashboard({ config, log: silentLogger, port: 0 }))!;
    try {
      const port = Number(new URL(first.url).port);
      await assert.rejects(startDispatchFileDashboard({ config, log: silentLogger, port }), /dispatch_file\.dashboard_port/);
    } finally {
      await first.close();
    }
  });

  it('turns reference log lines into tail lines: prefix and time dropped, level from the icon', () => {
    assert.deepEqual(dispatchLogLine('[DISPATCHER] 2026/04/09 14:32:15.123456 ❌ ERROR: boom', new Date(0)), { time: '1970-01-01T00:00:00.000Z', level: 'error', tag: 'dispatch', message: '❌ ERROR: boom' });
    assert.equal(dispatchLogLine('[DISPATCHER] 2026/04/09 14:32:15.123456 ⚠️  WARNING: careful').level, 'warn');
    assert.equal(dispatchLogLine('no prefix').message, 'no prefix');
  });
});
