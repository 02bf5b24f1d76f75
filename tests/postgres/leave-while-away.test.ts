import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { migrate } from '../../src/core/runs/postgres/migrate.ts';
import { ownCluster } from '../support/postgres.ts';
import { hostFolder, startClusterBoard, startHost, stopHost, waitUntil } from '../support/cluster-hosts.ts';

/**
 * A daemon told to stop while the database is away, with an outcome it could not record: it leaves
 * after its drain (no endless retry, no crash), and the next start settles the run from its exit
 * file once the database answers. The server is this file's own (it is stopped): the built CLI.
 */
const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

it('SIGTERM while the database is down and an outcome waits: exit 0 after the drain; the next start records the real outcome once', async () => {
  const cluster = await ownCluster();
  const db = new pg.Pool({ connectionString: cluster.url, max: 1 });
  db.on('error', () => {});
  cleanups.push(() => db.end());
  const client = await db.connect();
  await migrate(client);
  client.release();
  const board = await startClusterBoard(1);
  cleanups.push(() => board.fake.close());
  const folder = hostFolder({ tasks: 1, agentSeconds: 2, agent: 'node', slotsPerHost: 1, leaseTtl: 30, databaseUrl: cluster.url }, board.fake.url, board.bot.password);
  cleanups.push(folder.cleanup);
  const first = startHost('a', folder.dir, {}, ['--drain', '1']);
  cleanups.push(() => stopHost(first));
  const running = async () => (await db.query(`select count(*)::int as n from dispatcher_runs where status = 'running' and record ? 'pgid'`).catch(() => undefined))?.rows[0].n === 1;
  await waitUntil(running, 30_000, 'the agent running');

  const away = cluster.restart({ downMs: 12_000 });
  await waitUntil(() => first.output().includes('could not record the outcome'), 20_000, `the outcome refused:\n${first.output()}`);
  const asked = Date.now();
  first.child.kill('SIGTERM');
  const code = await Promise.race([first.exited, new Promise<'still running'>((resolve) => setTimeout(resolve, 20_000, 'still running'))]);
  assert.equal(code, 0, `exit 0 after the drain:\n${first.output()}`);
  assert.ok(Date.now() - asked < 8_000, `left within the drain and its shutdown (${Date.now() - asked} ms):\n${first.output()}`);
  assert.match(first.output(), /is not recorded: the dispatcher is leaving; the next start settles it from its exit file/);
  assert.doesNotMatch(first.output(), /unexpected error/);
  assert.equal(board.inList('Done'), 0, 'nothing was moved while the database was away');

  await away;
  const second = startHost('a', folder.dir);
  cleanups.push(() => stopHost(second));
  await waitUntil(() => board.inList('Done') === 1, 30_000, `the card in Done:\n${second.output()}`);
  await waitUntil(async () => (await db.query(`select count(*)::int as n from dispatcher_runs where status = 'succeeded'`)).rows[0].n === 1, 10_000, 'the run recorded as succeeded');
  const { rows } = await db.query<{ status: string }>('select status from dispatcher_runs');
  assert.deepEqual(rows.map((row) => row.status), ['succeeded'], 'one run, succeeded: not lost, not run again');
  assert.equal([...board.fake.store.comments.values()].length <= 1, true, 'at most one comment');
});
