import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { migrate } from '../../src/core/runs/postgres/migrate.ts';
import { connect, freshDatabase } from '../support/postgres.ts';
import { hostFolder, type Host, sampleOccupancy, startClusterBoard, startHost, stopHost, waitUntil } from '../support/cluster-hosts.ts';

/**
 * Several `dispatcher run` processes (the built CLI: `npm run build` first), each a host of one
 * cluster (its own folder, state_dir and DISPATCHER_HOST_ID), on one fake Planka board and one
 * PostgreSQL database. The scenario, 300 tasks, with agents of 0.2 s (about 40 s on a quiet
 * two-core machine); the kill -9 scenario keeps 12 tasks of 3 s, so agents are caught mid-run.
 */
describe('several hosts on one board', { concurrency: false }, () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  async function cluster(options: { tasks: number; agentSeconds: number; slotsPerHost: number; clusterCap?: number; leaseTtl?: number; hosts: string[] }) {
    const databaseUrl = await freshDatabase();
    const db = await connect(databaseUrl);
    await migrate(db);
    const board = await startClusterBoard(options.tasks);
    cleanups.push(() => board.fake.close());
    const hosts: Host[] = options.hosts.map((id) => {
      const folder = hostFolder({ ...options, databaseUrl, pollInterval: 0.5 }, board.fake.url, board.bot.password);
      const host = startHost(id, folder.dir);
      cleanups.push(folder.cleanup);
      cleanups.push(() => stopHost(host));
      return host;
    });
    const logs = () => hosts.map((host) => `--- ${host.id}\n${host.output()}`).join('\n');
    return { db, board, hosts, logs };
  }

  it('3 hosts × 4 slots, 300 tasks, a cluster cap of 10: every task runs once, never more than 4 per host nor 10 in all', async () => {
    const { db, board, hosts, logs } = await cluster({ tasks: 300, agentSeconds: 0.2, slotsPerHost: 4, clusterCap: 10, hosts: ['a', 'b', 'c'] });
    const sampler = sampleOccupancy(db);
    await waitUntil(() => board.inList('Done') === 300, 150_000, 'every card in Done').catch((error) => assert.fail(`${(error as Error).message}:\n${logs()}`));
    const most = await sampler.stop();
    const { rows } = await db.query<{ task_id: string; runs: number; succeeded: number }>(
      `select task_id, count(*)::int as runs, (count(*) filter (where status = 'succeeded'))::int as succeeded from dispatcher_runs group by task_id`,
    );
    assert.equal(rows.length, 300, 'a run for every card');
    assert.deepEqual(rows.filter((row) => row.runs !== 1 || row.succeeded !== 1), [], 'each card ran exactly once, and succeeded');
    assert.ok(most.samples > 10, `the database was sampled (${most.samples})`);
    assert.ok(most.perHost <= 4, `at most 4 agents on a host at once (saw ${most.perHost})`);
    assert.ok(most.total <= 10, `at most 10 agents in the cluster at once (saw ${most.total})`);
    const { rows: perHost } = await db.query<{ host_id: string; n: number }>(`select host_id, count(*)::int as n from dispatcher_runs group by host_id order by host_id`);
    assert.deepEqual(perHost.map((row) => row.host_id), ['a', 'b', 'c'], `every host ran tasks: ${JSON.stringify(perHost)}`);
    assert.equal(board.inList('Todo') + board.inList('Doing') + board.inList('Failed'), 0);
    for (const host of hosts) await stopHost(host);
    for (const host of hosts) assert.doesNotMatch(host.output(), /tick failed|could not record/, host.output());
  });

  it("kill -9 of a host and its agents: its runs are settled lost by another host within lease_ttl and a poll, and retried there", async () => {
    const leaseTtl = 2;
    const { db, board, hosts, logs } = await cluster({ tasks: 12, agentSeconds: 3, slotsPerHost: 2, leaseTtl, hosts: ['a', 'b', 'c'] });
    const victim = hosts[2];
    // Wait until the victim runs two agents whose process groups are in the ledger.
    let doomed: Array<{ id: string; task_id: string; pgid: number }> = [];
    await waitUntil(
      async () => {
        const { rows } = await db.query<{ id: string; task_id: string; pgid: number }>(
          `select id, task_id, (record->>'pgid')::int as pgid from dispatcher_runs where host_id = 'c' and status = 'running' and record ? 'pgid'`,
        );
        doomed = rows;
        return rows.length === 2;
      },
      60_000,
      'two agents running on host c',
    ).catch((error) => assert.fail(`${(error as Error).message}:\n${logs()}`));
    victim.child.kill('SIGKILL');
    for (const { pgid } of doomed) process.kill(-pgid, 'SIGKILL');
    const killedAt = Date.now();
    await victim.exited;
    const ids = doomed.map((run) => run.id);
    const settledWithin = await waitUntil(
      async () => {
        const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from dispatcher_runs where id = any($1) and status = 'lost' and host_id <> 'c'`, [ids]);
        return rows[0].n === ids.length;
      },
      30_000,
      "the victim's runs settled as lost elsewhere",
      50,
    ).catch((error) => assert.fail(`${(error as Error).message}:\n${logs()}`));
    // lease_ttl, then the next heartbeat (ttl / 3) and a tick; generous for a loaded machine.
    assert.ok(Date.now() - killedAt <= leaseTtl * 1000 + 500 + 3_000, `settled ${settledWithin} ms after the kill`);
    await waitUntil(() => board.inList('Done') === 12, 90_000, 'every card in Done').catch((error) => assert.fail(`${(error as Error).message}:\n${logs()}`));
    const { rows } = await db.query<{ task_id: string; succeeded: number; host: string }>(
      `select task_id, (count(*) filter (where status = 'succeeded'))::int as succeeded, max(host_id) filter (where status = 'succeeded') as host
       from dispatcher_runs where task_id = any($1) group by task_id`,
      [doomed.map((run) => run.task_id)],
    );
    assert.equal(rows.length, 2);
    for (const row of rows) {
      assert.equal(row.succeeded, 1, `task ${row.task_id} succeeded once, on a live host`);
      assert.notEqual(row.host, 'c');
    }
    const comments = [...board.fake.store.comments.values()].filter((comment) => doomed.some((run) => run.task_id === comment.cardId));
    assert.ok(comments.some((comment) => /host "c" stopped renewing its lease/.test(comment.text)), `the lost runs were commented:\n${comments.map((comment) => comment.text).join('\n---\n')}`);
    const { rows: all } = await db.query<{ task_id: string; n: number }>(`select task_id, (count(*) filter (where status = 'succeeded'))::int as n from dispatcher_runs group by task_id`);
    assert.deepEqual(all.filter((row) => row.n !== 1), [], 'every task succeeded exactly once');
    const taker = hosts.slice(0, 2).find((host) => /took over host\(s\) "c"/.test(host.output()));
    assert.ok(taker, `a live host said it took c over:\n${logs()}`);
  });
});
