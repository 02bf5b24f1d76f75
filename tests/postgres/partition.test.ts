import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { migrate } from '../../src/core/runs/postgres/migrate.ts';
import { connect, freshDatabase } from '../support/postgres.ts';
import { hostFolder, type Host, startClusterBoard, startHost, stopHost, waitUntil } from '../support/cluster-hosts.ts';
import { startTcpProxy } from '../support/tcp-proxy.ts';
import { isProcessGroupAlive } from '../../src/core/process/process-group.ts';

/**
 * Hosts (the built CLI: `npm run build` first) whose way to the database goes through a TCP proxy
 * the test controls: one host cut off until its lease is taken over, then reconnected; and every
 * host cut off at once for longer than lease_ttl, as in a database restart.
 */
describe('hosts cut off from the database', { concurrency: false }, () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  async function setup(tasks: number, agentSeconds: number) {
    const databaseUrl = await freshDatabase();
    const db = await connect(databaseUrl);
    await migrate(db);
    const board = await startClusterBoard(tasks);
    cleanups.push(() => board.fake.close());
    const target = new URL(databaseUrl);
    const hosts: Host[] = [];
    const start = async (id: string, slots: number) => {
      const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
      cleanups.push(() => proxy.close());
      const folder = hostFolder({ tasks, agentSeconds, slotsPerHost: slots, databaseUrl: proxy.through(databaseUrl), leaseTtl: 2, pollInterval: 0.5 }, board.fake.url, board.bot.password);
      cleanups.push(folder.cleanup);
      const host = startHost(id, folder.dir);
      cleanups.push(() => stopHost(host));
      hosts.push(host);
      return { host, proxy };
    };
    const logs = () => hosts.map((host) => `--- ${host.id}\n${host.output()}`).join('\n');
    return { db, board, start, logs };
  }

  it('a host cut off until its lease is taken: its runs are settled elsewhere, its agents stopped on reconnection, nothing of it lands, no task twice', async () => {
    const { db, board, start, logs } = await setup(4, 8);
    const b = await start('b', 2);
    let mine: Array<{ id: string; pgid: number; task_id: string }> = [];
    await waitUntil(
      async () => {
        const { rows } = await db.query(`select id, task_id, (record->>'pgid')::int as pgid from dispatcher_runs where host_id = 'b' and status = 'running' and record ? 'pgid'`);
        mine = rows;
        return rows.length === 2;
      },
      60_000,
      'two agents running on b',
    ).catch((error) => assert.fail(`${(error as Error).message}:\n${logs()}`));
    await start('a', 4);
    b.proxy.cut();
    const ids = mine.map((run) => run.id);
    await waitUntil(
      async () => (await db.query(`select count(*)::int as n from dispatcher_runs where id = any($1) and status = 'lost' and host_id = 'a'`, [ids])).rows[0].n === 2,
      30_000,
      "a settled b's runs as lost",
    ).catch((error) => assert.fail(`${(error as Error).message}:\n${logs()}`));
    assert.ok(mine.every(({ pgid }) => isProcessGroupAlive(pgid)), "b's agents still run while it is cut off");
    const healedAt = Date.now();
    b.proxy.heal();
    await waitUntil(() => mine.every(({ pgid }) => !isProcessGroupAlive(pgid)), 20_000, "b's agents stopped").catch((error) => assert.fail(`${(error as Error).message}:\n${logs()}`));
    assert.ok(Date.now() - healedAt < 8_000, 'stopped before they would have ended by themselves');
    await waitUntil(() => /lost its lease/.test(b.host.output()), 10_000, 'b says it lost its lease').catch((error) => assert.fail(`${(error as Error).message}:\n${logs()}`));
    await waitUntil(() => board.inList('Done') === 4, 90_000, 'every card in Done').catch((error) => assert.fail(`${(error as Error).message}:\n${logs()}`));
    const { rows: stale } = await db.query(`select id, status, host_id from dispatcher_runs where id = any($1)`, [ids]);
    assert.deepEqual(stale.map((row: { status: string; host_id: string }) => [row.status, row.host_id]), [['lost', 'a'], ['lost', 'a']], "b's late outcomes never landed");
    const { rows } = await db.query(`select task_id, (count(*) filter (where status = 'succeeded'))::int as n from dispatcher_runs group by task_id`);
    assert.deepEqual(rows.filter((row: { n: number }) => row.n !== 1), [], `every task succeeded exactly once:\n${logs()}`);
    // b goes on as a fresh member: its lease is alive again.
    await waitUntil(async () => (await db.query(`select lease_until > now() and taken_over_at is null as alive from dispatcher_hosts where host_id = 'b'`)).rows[0].alive, 10_000, 'b holds a lease again');
  });

  it('the database away for longer than lease_ttl (a restart): agents go on, outcomes wait, nothing is lost or taken over', async () => {
    const { db, board, start, logs } = await setup(8, 2.5);
    const hosts = [await start('a', 2), await start('b', 2)];
    await waitUntil(async () => (await db.query(`select count(*)::int as n from dispatcher_runs where status = 'running'`)).rows[0].n === 4, 60_000, 'four agents running').catch((error) =>
      assert.fail(`${(error as Error).message}:\n${logs()}`),
    );
    for (const { proxy } of hosts) proxy.cut();
    await db.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`);
    await sleep(4_000); // the agents (2.5 s) end meanwhile; their outcomes wait
    for (const { proxy } of hosts) proxy.heal();
    await waitUntil(() => board.inList('Done') === 8, 90_000, 'every card in Done').catch((error) => assert.fail(`${(error as Error).message}:\n${logs()}`));
    const { rows } = await db.query(`select task_id, count(*)::int as runs, (count(*) filter (where status = 'succeeded'))::int as ok from dispatcher_runs group by task_id`);
    assert.equal(rows.length, 8);
    assert.deepEqual(rows.filter((row: { runs: number; ok: number }) => row.runs !== 1 || row.ok !== 1), [], `each task one run, which succeeded:\n${logs()}`);
    const { rows: taken } = await db.query(`select host_id from dispatcher_hosts where taken_over_at is not null`);
    assert.deepEqual(taken, [], 'no host was taken over');
    for (const { host } of hosts) {
      assert.match(host.output(), /unreachable|heartbeat failed/, 'the outage was said');
      assert.doesNotMatch(host.output(), /lost its lease/);
    }
  });
});
