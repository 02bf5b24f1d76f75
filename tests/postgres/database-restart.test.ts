import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { migrate } from '../../src/core/runs/postgres/migrate.ts';
import pg from 'pg';
import { ownCluster } from '../support/postgres.ts';
import { hostFolder, type Host, startClusterBoard, startHost, stopHost, waitUntil } from '../support/cluster-hosts.ts';

/**
 * A real PostgreSQL restart (`pg_ctl stop -m fast`, then start on the same port and data) under
 * three `dispatcher run` hosts (the built CLI: `npm run build` first) with agents running: once
 * shorter than lease_ttl, once longer. The server is this file's own: the run's shared one serves
 * other files meanwhile.
 */
describe('the database restarted mid-run', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('down shorter, then longer than lease_ttl: no daemon exits, every task runs once and ends in Done with one comment, nothing stays active', async () => {
    const leaseTtl = 5;
    const tasks = 12;
    const cluster = await ownCluster();
    // A pool: its connections die with each restart, and the next query opens a fresh one.
    const db = new pg.Pool({ connectionString: cluster.url, max: 2 });
    db.on('error', () => {});
    cleanups.push(() => db.end());
    const first = await db.connect();
    await migrate(first);
    first.release();
    const board = await startClusterBoard(tasks);
    cleanups.push(() => board.fake.close());
    const hosts: Host[] = ['a', 'b', 'c'].map((id) => {
      const folder = hostFolder({ tasks, agentSeconds: 4, agent: 'node', slotsPerHost: 2, leaseTtl, pollInterval: 0.5, databaseUrl: cluster.url }, board.fake.url, board.bot.password);
      cleanups.push(folder.cleanup);
      const host = startHost(id, folder.dir);
      cleanups.push(() => stopHost(host));
      return host;
    });
    const logs = () => hosts.map((host) => `--- ${host.id}\n${host.output()}`).join('\n');
    const orFail = (error: unknown) => assert.fail(`${(error as Error).message}:\n${logs()}`);

    /** Waits (the database may still be restarting: a failed query is a no) for `count` agents running, none of tasks already seen. */
    const seen = new Set<string>();
    const agentsRunning = async (count: number, what: string) => {
      let batch: string[] = [];
      await waitUntil(
        async () => {
          const result = await db.query<{ task_id: string }>(`select task_id from dispatcher_runs where status = 'running' and record ? 'pgid'`).catch(() => undefined);
          batch = (result?.rows ?? []).map((row) => row.task_id).filter((task) => !seen.has(task));
          return batch.length === count;
        },
        60_000,
        what,
      ).catch(orFail);
      for (const task of batch) seen.add(task);
    };

    await agentsRunning(6, 'six agents running (two per host)');
    await cluster.restart({ downMs: 2_000 });
    await agentsRunning(6, 'six agents of the next tasks running');
    await cluster.restart({ downMs: (leaseTtl + 2) * 1000 });
    await waitUntil(() => board.inList('Done') === tasks, 60_000, 'every card in Done').catch(orFail);
    await waitUntil(async () => (await db.query(`select count(*)::int as n from dispatcher_runs where status in ('starting', 'running', 'retry_wait')`)).rows[0].n === 0, 10_000, 'no run active').catch(orFail);

    for (const host of hosts) assert.equal(host.child.exitCode, null, `host ${host.id} still runs:\n${logs()}`);
    const { rows } = await db.query<{ task_id: string; runs: number; succeeded: number }>(
      `select task_id, count(*)::int as runs, (count(*) filter (where status = 'succeeded'))::int as succeeded from dispatcher_runs group by task_id`,
    );
    assert.equal(rows.length, tasks, 'a run for every card');
    assert.deepEqual(rows.filter((row) => row.runs !== 1 || row.succeeded !== 1), [], `each card ran exactly once, and succeeded:\n${logs()}`);
    const { rows: taken } = await db.query(`select host_id from dispatcher_hosts where taken_over_at is not null`);
    assert.deepEqual(taken, [], 'no host was taken over');
    const comments = new Map<string, number>();
    for (const comment of board.fake.store.comments.values()) comments.set(comment.cardId, (comments.get(comment.cardId) ?? 0) + 1);
    assert.deepEqual(
      board.cards.filter((card) => comments.get(card.id) !== 1).map((card) => [card.id, comments.get(card.id) ?? 0]),
      [],
      'one outcome comment on every card',
    );
    // Said once per outage and once per recovery, not at every try.
    assert.ok(/could not record the outcome/.test(logs()), `some agents ended while the database was away:\n${logs()}`);
    for (const host of hosts) {
      const said = (pattern: RegExp) => host.output().split('\n').filter((line) => pattern.test(line)).length;
      assert.equal(said(/heartbeat failed/), 2, `host ${host.id} said each outage once:\n${host.output()}`);
      assert.equal(said(/the database answers again/), 2, `host ${host.id} said each recovery once:\n${host.output()}`);
      assert.doesNotMatch(host.output(), /lost its lease|took over/, `host ${host.id}`);
      const waited = [...host.output().matchAll(/could not record the outcome of run (\S+)/g)].map((match) => match[1]);
      assert.equal(new Set(waited).size, waited.length, `an outcome that waited is said once, not at every try:\n${host.output()}`);
      assert.equal(said(/recorded the outcome of run .* after \d+ failed tr/), waited.length, `and once when it is recorded:\n${host.output()}`);
    }
  });
});
