import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startFakeGitea, type FakeGitea } from '../../fixtures/gitea/fake-gitea.ts';
import type { Config } from '../../src/config/types.ts';
import { DatabaseError } from '../../src/errors.ts';
import { createDispatchState } from '../../src/core/dispatch-file/state.ts';
import { CLAIM_TIMEOUT } from '../../src/core/dispatch-file/postgres-dispatched-set.ts';
import { trackerKey } from '../../src/core/runs/postgres/tracker-key.ts';
import { connect, freshDatabase } from '../support/postgres.ts';
import { makeConfig, runOnce, tempDir } from './support.ts';

/**
 * dispatch-file with [coordination]: the rate limit and the dispatched set in PostgreSQL, shared
 * by hosts that each have their own tasks_dir and state_dir.
 */

let fake: FakeGitea;
let dirs: Array<{ path: string; remove: () => Promise<void> }>;
let url: string;

beforeEach(async () => {
  fake = await startFakeGitea();
  fake.addRepo('acme/app', { labels: ['critical'] });
  dirs = [await tempDir(), await tempDir(), await tempDir()];
});
afterEach(async () => {
  await fake.close();
  for (const dir of dirs) await dir.remove();
});

/** Host `index` (a, b, c): its own folder (tasks/, state/), the shared database. */
function host(index: number, rate = 1000): Config {
  const config = makeConfig(dirs[index].path, fake, { ratePerMinute: rate });
  config.coordination = { urlEnv: 'DISPATCHER_DATABASE_URL', url, hostId: 'abc'[index], leaseTtlMs: 30_000 };
  return config;
}

/** Every task file of a host, as `assignee/file`. */
async function filesOf(config: Config): Promise<string[]> {
  const tasksDir = config.dispatchFile!.tasksDir;
  if (!existsSync(tasksDir)) return [];
  const out: string[] = [];
  for (const assignee of await readdir(tasksDir)) for (const file of await readdir(join(tasksDir, assignee))) out.push(`${assignee}/${file}`);
  return out.sort();
}

function addIssues(count: number, assignees = ['hans']): void {
  for (let i = 1; i <= count; i++) fake.addIssue('acme/app', { title: `issue ${i}`, assignees, createdAt: `2026-01-${String(i).padStart(2, '0')}T00:00:00Z` });
}

describe('dispatch-file through PostgreSQL', () => {
  it('hosts polling at the same moment dispatch each issue to each assignee once in total', async () => {
    url = await freshDatabase(); // dropped when the test ends
    addIssues(12, ['hans', 'greta']);
    const hosts = [host(0), host(1), host(2)];
    const runs = await Promise.all(hosts.map((config) => runOnce(config)));
    assert.equal(runs.reduce((sum, run) => sum + run.dispatched, 0), 24, runs.map((run) => run.output).join('\n'));
    const all = (await Promise.all(hosts.map(filesOf))).flat();
    assert.equal(all.length, 24);
    assert.equal(new Set(all).size, 24, 'no (issue, assignee) written by two hosts');
    // A second round finds them all dispatched, on every host, though two of the three folders lack each file.
    const again = await Promise.all(hosts.map((config) => runOnce(config)));
    assert.deepEqual(again.map((run) => run.dispatched), [0, 0, 0]);
    assert.deepEqual(again.map((run) => run.skipped), [24, 24, 24]);
    const db = await connect(url);
    const { rows } = await db.query(`select count(*)::int as n, count(written_at)::int as written from dispatcher_file_dispatches`);
    assert.deepEqual(rows[0], { n: 24, written: 24 });
  });

  it('the rate limit is one allowance for every host: 2 a minute is 2 in total, not 2 per host', async () => {
    url = await freshDatabase(); // dropped when the test ends
    addIssues(6);
    const hosts = [host(0, 2), host(1, 2), host(2, 2)];
    const runs = await Promise.all(hosts.map((config) => runOnce(config)));
    assert.equal(runs.reduce((sum, run) => sum + run.dispatched, 0), 2);
    assert.equal(runs.reduce((sum, run) => sum + run.waiting, 0) >= 4, true, 'the others wait');
    const later = await Promise.all(hosts.map((config) => runOnce(config)));
    assert.equal(later.reduce((sum, run) => sum + run.dispatched, 0), 0, 'still inside the minute');
    // Most urgent first across hosts too: issues 1 and 2 are the oldest.
    assert.deepEqual((await Promise.all(hosts.map(filesOf))).flat().sort(), ['hans/issue-1.md', 'hans/issue-2.md']);
    assert.ok(!existsSync(join(dirs[0].path, 'state', 'dispatch-file-rate.json')), 'no rate-limit file: the database holds it');
  });

  it("a file deleted by its host's assignee is dispatched again; another host's row keeps it dispatched", async () => {
    url = await freshDatabase(); // dropped when the test ends
    addIssues(2);
    const [a, b] = [host(0), host(1)];
    assert.equal((await runOnce(a)).dispatched, 2);
    assert.equal((await runOnce(b)).dispatched, 0);
    await rm(join(a.dispatchFile!.tasksDir, 'hans', 'issue-1.md'));
    const again = await runOnce(a);
    assert.deepEqual(again.files.map((file) => file.taskId), ['acme/app#1']);
    assert.ok(existsSync(join(a.dispatchFile!.tasksDir, 'hans', 'issue-1.md')));
    assert.equal((await runOnce(b)).dispatched, 0);
  });

  it('task files from before [coordination] count: the first cycle records them for every host', async () => {
    url = await freshDatabase(); // dropped when the test ends
    addIssues(3);
    const [a, b] = [host(0), host(1)];
    await mkdir(join(a.dispatchFile!.tasksDir, 'hans'), { recursive: true });
    await writeFile(join(a.dispatchFile!.tasksDir, 'hans', 'issue-2.md'), 'dispatched before the database\n');
    const dryRun = await runOnce(a, { dryRun: true });
    assert.deepEqual(dryRun.files.map((file) => file.taskId), ['acme/app#1', 'acme/app#3']);
    const db = await connect(url);
    assert.equal((await db.query('select count(*)::int as n from dispatcher_file_dispatches')).rows[0].n, 0, 'a dry run records nothing');
    assert.deepEqual((await db.query('select count(*)::int as n from dispatcher_file_rate where events <> $1::jsonb', ['[]'])).rows[0].n, 0);
    assert.equal((await runOnce(a, { dryRun: false })).dispatched, 2);
    assert.equal((await runOnce(b)).dispatched, 0, 'host b does not dispatch issue 2 again');
  });

  it('a claim left unwritten by a host that died is taken over once it is old; a fresh one is left alone', async () => {
    url = await freshDatabase(); // dropped when the test ends
    addIssues(2);
    const db = await connect(url);
    const b = host(1);
    await runOnce(b, { dryRun: true }); // migrates the schema
    const tracker = trackerKey(b.dispatchFile!.backend, b.baseDir);
    await db.query(
      `insert into dispatcher_file_dispatches (tracker, task_id, assignee, host_id, file, claimed_at) values
         ($1, 'acme/app#1', 'hans', 'dead', '/elsewhere/hans/issue-1.md', now() - interval '${CLAIM_TIMEOUT}' - interval '1 second'),
         ($1, 'acme/app#2', 'hans', 'busy', '/elsewhere/hans/issue-2.md', now())`,
      [tracker],
    );
    const run = await runOnce(b);
    assert.deepEqual(run.files.map((file) => file.taskId), ['acme/app#1']);
    const { rows } = await db.query(`select task_id, host_id, written_at is not null as written from dispatcher_file_dispatches order by task_id`);
    assert.deepEqual(rows, [
      { task_id: 'acme/app#1', host_id: 'b', written: true },
      { task_id: 'acme/app#2', host_id: 'busy', written: false },
    ]);
  });

  it('a file that cannot be written gives back its claim and its slot: another host dispatches it under the same allowance', async () => {
    url = await freshDatabase(); // dropped when the test ends
    addIssues(3);
    const [a, b] = [host(0, 3), host(1, 3)];
    // hans/ is a file on host a: every write fails there.
    await mkdir(a.dispatchFile!.tasksDir, { recursive: true });
    await writeFile(join(a.dispatchFile!.tasksDir, 'hans'), 'in the way\n');
    const failed = await runOnce(a);
    assert.equal(failed.dispatched, 0);
    assert.equal(failed.errors, 3);
    const db = await connect(url);
    assert.equal((await db.query('select count(*)::int as n from dispatcher_file_dispatches')).rows[0].n, 0, 'the claims are given back');
    assert.equal((await runOnce(b)).dispatched, 3, 'the 3 slots host a could not use are free again');
    assert.equal((await runOnce(b)).dispatched, 0);
  });

  it('the database unreachable: the cycle fails with DatabaseError (exit 3), writes nothing, and never shows the password', async () => {
    url = await freshDatabase(); // dropped when the test ends
    addIssues(2);
    const a = host(0);
    a.coordination = { ...a.coordination!, url: 'postgres://dispatcher:sw0rdfish-secret@127.0.0.1:1/dispatcher' };
    await assert.rejects(runOnce(a), (error: Error) => {
      assert.ok(error instanceof DatabaseError);
      assert.equal(error.kind, 'unavailable');
      assert.match(error.message, /the \[coordination\] database \(DISPATCHER_DATABASE_URL\) is unreachable/);
      assert.doesNotMatch(error.message, /sw0rdfish/);
      return true;
    });
    assert.deepEqual(await filesOf(a), []);
    assert.ok(!existsSync(join(dirs[0].path, 'state', 'dispatch-file-rate.json')));
    assert.ok(!existsSync(join(dirs[0].path, 'dispatcher.log')), 'not even a log line');
  });

  it('the daemon keeps polling while the database is unreachable and dispatches once it answers', async () => {
    url = await freshDatabase(); // dropped when the test ends
    addIssues(1);
    const a = host(0);
    const real = new URL(url);
    const proxy = await startProxy(Number(real.port));
    proxy.refuse = true;
    const proxied = new URL(url);
    proxied.port = String(proxy.port);
    a.coordination = { ...a.coordination!, url: proxied.href };
    const state = createDispatchState({ mode: 'loop', repos: ['acme/app'], tasksDir: a.dispatchFile!.tasksDir, intervalMs: 100 });
    const stop = new AbortController();
    a.dispatchFile!.intervalMs = 100;
    const running = runOnce(a, { once: false, signal: stop.signal, state, backoff: { baseMs: 50, maxMs: 200 } });
    try {
      await until(() => state.get().tracker.consecutiveFailures >= 2, 'two failed polls');
      assert.match(state.get().tracker.lastError ?? '', /database .* is unreachable/);
      assert.deepEqual(await filesOf(a), []);
      proxy.refuse = false;
      await until(async () => (await filesOf(a)).length === 1, 'the dispatch once the database answers');
      await until(() => state.get().log.some((line) => /the database answers again after \d+ failed polls/.test(line)), 'the recovery line');
    } finally {
      stop.abort();
      await running.catch(() => {});
      await proxy.close();
    }
    assert.deepEqual(await filesOf(a), ['hans/issue-1.md']);
  });

  it('without [coordination] nothing changes: files in tasks_dir and the rate-limit file, no database touched', async () => {
    url = await freshDatabase(); // dropped when the test ends
    addIssues(2);
    const config = makeConfig(dirs[0].path, fake, { ratePerMinute: 1 });
    config.env = { ...config.env, DISPATCHER_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' };
    const run = await runOnce(config);
    assert.equal(run.dispatched, 1);
    assert.ok(existsSync(join(dirs[0].path, 'state', 'dispatch-file-rate.json')));
    assert.deepEqual(await filesOf(config), ['hans/issue-1.md']);
  });
});

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A TCP proxy to the database that the test can make refuse connections. */
async function startProxy(target: number): Promise<{ port: number; refuse: boolean; close: () => Promise<void> }> {
  const { createServer, connect: connectTcp } = await import('node:net');
  const sockets = new Set<import('node:net').Socket>();
  const proxy = { port: 0, refuse: false, close: async () => {} };
  const server = createServer((client) => {
    if (proxy.refuse) return client.destroy();
    const upstream = connectTcp(target, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = (server.address() as import('node:net').AddressInfo).port;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return proxy;
}
