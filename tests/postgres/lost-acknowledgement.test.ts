import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Database, DatabaseUnavailableError } from '../../src/core/runs/postgres/database.ts';
import { migrate } from '../../src/core/runs/postgres/migrate.ts';
import { PostgresLedger } from '../../src/core/runs/postgres/postgres-ledger.ts';
import { reserveIn, type Candidate } from '../../src/core/dispatch/reservations.ts';
import type { RouteConfig } from '../../src/config/types.ts';
import { connect, freshDatabase } from '../support/postgres.ts';
import { startTcpProxy } from '../support/tcp-proxy.ts';
import { hostFolder, type Host, startClusterBoard, startHost, stopHost, waitUntil } from '../support/cluster-hosts.ts';

/**
 * A write whose `commit` reaches the server but whose answer never reaches the host (a proxy drops
 * the connection there), and one dropped just before: the host reads its write id back to tell
 * them apart, and a reservation whose fate cannot be known is dropped by recovery, never kept.
 */
const isReservation = (text: string) => text.includes('insert into dispatcher_runs');
const route: RouteConfig = { queue: 'Todo', command: 'true', args: [], env: {}, maxAttempts: 1, agent: 'command', structuredOutput: false, inProgressQueue: 'Doing' };
const candidates = (ids: string[]): Candidate[] => ids.map((id) => ({ task: { id, name: id, description: '', url: '', queue: 'Todo', labels: [], assignees: [] } as unknown as Candidate['task'], route }));

async function throughProxy() {
  const url = await freshDatabase();
  const db = await connect(url);
  await migrate(db);
  const target = new URL(url);
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
  after(() => proxy.close());
  return { url, db, proxy };
}

describe('a ledger write whose acknowledgement is lost', () => {
  async function ledgerThrough(landedWithinMs?: number) {
    const { url, db, proxy } = await throughProxy();
    const warnings: string[] = [];
    const ledger = new PostgresLedger({ db: new Database({ url: proxy.through(url) }), hostId: 'a', tracker: 'json /board.json', leaseTtlMs: 30_000, warn: (message) => warnings.push(message), landedWithinMs });
    after(() => ledger.close());
    await ledger.acquireLease();
    const reserve = (ids: string[]) => ledger.update((data) => reserveIn(data, candidates(ids), { maxConcurrentAgents: 4, routes: new Map([['Todo', route]]), owner: ledger.owner }, 0), { cluster: true });
    const active = async () => (await db.query<{ task_id: string }>(`select task_id from dispatcher_runs where status = 'starting' order by task_id`)).rows.map((row) => row.task_id);
    return { ledger, db, proxy, warnings, reserve, active };
  }

  it('committed: the batch resolves with what it computed, in the same two round trips', async () => {
    const { ledger, proxy, warnings, reserve, active } = await ledgerThrough();
    await reserve(['t0']);
    const before = ledger.db.roundTrips;
    const lost = proxy.loseReply(isReservation, { deliver: true });
    const reserved = await reserve(['t1', 't2']);
    await lost;
    assert.deepEqual(reserved.map(({ task }) => task.id), ['t1', 't2']);
    assert.deepEqual(await active(), ['t0', 't1', 't2']);
    assert.equal(ledger.db.roundTrips - before, 3, 'the two of the write, then one asking whether it landed');
    assert.deepEqual(warnings, []);
    // The view readers get is the one written: the next reservation sees the tasks taken.
    assert.deepEqual(await reserve(['t1', 't2', 't3']).then((more) => more.map(({ task }) => task.id)), ['t3']);
  });

  it('not committed: the batch is refused as before, and nothing of it is in the database', async () => {
    const { proxy, warnings, reserve, active } = await ledgerThrough();
    const lost = proxy.loseReply(isReservation, { deliver: false });
    await assert.rejects(reserve(['t1']), DatabaseUnavailableError);
    await lost;
    assert.deepEqual(await active(), []);
    assert.deepEqual(warnings, []);
    assert.deepEqual((await reserve(['t1'])).map(({ task }) => task.id), ['t1'], 'the retry reserves it');
  });

  it('the database not answering whether it committed: refused, with a warning', async () => {
    const { proxy, warnings, reserve, active } = await ledgerThrough(1_000);
    const lost = proxy.loseReply(isReservation, { deliver: true });
    const refused = assert.rejects(reserve(['t1']), DatabaseUnavailableError);
    await lost;
    proxy.cut();
    await refused;
    proxy.heal();
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /acknowledgement was lost and the database could not say within 1s whether it committed/);
    assert.deepEqual(await active(), ['t1'], 'it had committed: the run recovery must drop');
  });
});

describe('a daemon whose reservation loses its acknowledgement', { concurrency: false }, () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  async function daemon(mode: 'landed' | 'not landed' | 'unknown') {
    const tasks = 3;
    const { url, db, proxy } = await throughProxy();
    const board = await startClusterBoard(tasks);
    cleanups.push(() => board.fake.close());
    const folder = hostFolder({ tasks, agentSeconds: 1, agent: 'node', slotsPerHost: 2, leaseTtl: 30, pollInterval: 0.5, maxAttempts: 1, databaseUrl: proxy.through(url) }, board.fake.url, board.bot.password);
    cleanups.push(folder.cleanup);
    const lost = proxy.loseReply(isReservation, { deliver: mode !== 'not landed' });
    const host: Host = startHost('a', folder.dir);
    cleanups.push(() => stopHost(host));
    const orFail = (error: unknown) => assert.fail(`${(error as Error).message}:\n${host.output()}`);
    await lost;
    if (mode === 'unknown') {
      // Nothing answers for longer than the host looks (10 s): it cannot know.
      proxy.cut();
      await waitUntil(() => /could not say within 10s whether it committed/.test(host.output()), 30_000, 'the warning').catch(orFail);
      proxy.heal();
    }
    await waitUntil(() => board.inList('Done') === tasks, 60_000, 'every card in Done').catch(orFail);
    await waitUntil(async () => (await db.query(`select count(*)::int as n from dispatcher_runs where status in ('starting', 'running', 'retry_wait')`)).rows[0].n === 0, 10_000, 'no run active').catch(orFail);
    const { rows } = await db.query<{ task_id: string; succeeded: number; dropped: number }>(
      `select task_id, (count(*) filter (where status = 'succeeded'))::int as succeeded, (count(*) filter (where status = 'claim_failed'))::int as dropped from dispatcher_runs group by task_id order by task_id`,
    );
    assert.equal(rows.length, tasks);
    assert.deepEqual(rows.filter((row) => row.succeeded !== 1), [], `every task started once and succeeded:\n${host.output()}`);
    assert.equal(host.child.exitCode, null, 'the daemon runs on');
    await stopHost(host);
    return { rows, output: host.output() };
  }

  it('the reservation committed: its agents start, nothing is dropped, no slot leaks', async () => {
    const { rows, output } = await daemon('landed');
    assert.deepEqual(rows.filter((row) => row.dropped > 0), [], output);
    assert.doesNotMatch(output, /tick failed|dropped/, output);
  });

  it('the reservation did not commit: the next tick reserves again', async () => {
    const { rows, output } = await daemon('not landed');
    assert.deepEqual(rows.filter((row) => row.dropped > 0), [], output);
    assert.match(output, /tick failed: the database is unreachable/, output);
  });

  it('nobody can say: the committed reservation is dropped by recovery and the task dispatched again', async () => {
    const { rows, output } = await daemon('unknown');
    assert.equal(rows.filter((row) => row.dropped === 1).length, 2, `the two reserved in the lost write were dropped:\n${output}`);
    assert.match(output, /dropped: its reservation was never followed by a claim/, output);
  });
});
