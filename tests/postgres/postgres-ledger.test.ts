import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { RunRecord } from '../../src/core/runs/ledger.ts';
import { Database, describe as describeError, LeaseLostError, StaleFenceError } from '../../src/core/runs/postgres/database.ts';
import { writeSql } from '../../src/core/runs/postgres/ledger-sql.ts';
import { migrate } from '../../src/core/runs/postgres/migrate.ts';
import { PostgresLedger } from '../../src/core/runs/postgres/postgres-ledger.ts';
import { reserveIn, type Candidate, type SlotLimits } from '../../src/core/dispatch/reservations.ts';
import type { RouteConfig } from '../../src/config/types.ts';
import { connect, freshDatabase } from '../support/postgres.ts';

const run = (id: string, extra: Partial<RunRecord> = {}): RunRecord => ({ id, taskId: id, taskName: id, taskUrl: '', route: 'Todo', agent: 'command', attempt: 1, maxAttempts: 1, status: 'starting', createdAt: new Date().toISOString(), ...extra });

async function migrated(): Promise<string> {
  const url = await freshDatabase();
  await migrate(await connect(url));
  return url;
}

/** A host's ledger holding its lease (as `run` does), closed when the file ends. */
async function hostLedger(url: string, hostId: string, options: { ttlMs?: number; lease?: boolean } = {}): Promise<PostgresLedger> {
  const ledger = new PostgresLedger({ db: new Database({ url }), hostId, tracker: 'json /board.json', leaseTtlMs: options.lease === false ? undefined : (options.ttlMs ?? 30_000) });
  if (options.lease !== false) await ledger.acquireLease();
  after(() => ledger.close());
  return ledger;
}

const route = (queue: string, extra: Partial<RouteConfig> = {}): RouteConfig => ({ queue, command: 'true', args: [], env: {}, maxAttempts: 1, agent: 'command', structuredOutput: false, inProgressQueue: 'Doing', ...extra });
const candidates = (ids: string[], on = route('Todo')): Candidate[] => ids.map((id) => ({ task: { id, name: id, description: '', url: '', queue: on.queue, labels: [], assignees: [] } as unknown as Candidate['task'], route: on }));

describe('PostgresLedger', () => {
  it('applies a burst of changes in one transaction; each caller gets its own result, a change that throws fails alone', async () => {
    const url = await migrated();
    const ledger = await hostLedger(url, 'a');
    await ledger.update((data) => void data.runs.push(run('r1')));
    const before = ledger.db.roundTrips;
    const results = await Promise.allSettled([
      ledger.update((data) => data.runs.push(run('r2'))),
      ledger.update(() => {
        throw new Error('no such run');
      }),
      ledger.update((data) => data.runs.map((candidate) => candidate.id).join(',')),
    ]);
    assert.deepEqual(results.map((result) => (result.status === 'fulfilled' ? result.value : (result.reason as Error).message)), [2, 'no such run', 'r1,r2']);
    assert.equal(ledger.db.roundTrips - before, 2, 'begin+lock+load, then writes+commit');
    const db = await connect(url);
    const { rows } = await db.query(`select id, host_id, status, fence from dispatcher_runs order by id`);
    assert.deepEqual(rows, [
      { id: 'r1', host_id: 'a', status: 'starting', fence: '1' },
      { id: 'r2', host_id: 'a', status: 'starting', fence: '1' },
    ]);
  });

  it('keeps finished runs as history, the host state beside them, and writes nothing when nothing changed', async () => {
    const url = await migrated();
    const ledger = await hostLedger(url, 'a');
    await ledger.update((data) => {
      data.runs.push(run('r1'));
      data.lastPollAt = '2026-01-01T00:00:00.000Z';
      data.daemons.push({ pid: 1, instance: 'x', startedAt: 'now', mode: 'run' });
    });
    await ledger.update((data) => void Object.assign(data.runs.find((candidate) => candidate.id === 'r1')!, { status: 'succeeded', endedAt: new Date().toISOString() }));
    const other = await hostLedger(url, 'a', { lease: false });
    const seen = await other.read();
    assert.deepEqual(seen.runs.map((candidate) => [candidate.id, candidate.status, candidate.host]), [['r1', 'succeeded', 'a']]);
    assert.equal(seen.lastPollAt, '2026-01-01T00:00:00.000Z');
    assert.equal(seen.daemons.length, 1);
    const db = await connect(url);
    const { rows } = await db.query(`select ended_at is not null as ended from dispatcher_runs where id = 'r1'`);
    assert.equal(rows[0].ended, true);
    const writes = ledger.db.roundTrips;
    await ledger.update(() => 'nothing');
    assert.equal(ledger.db.roundTrips - writes, 2, 'an unchanged view costs the load and a commit');
  });

  it('outbox entries live by run; a finished run they are owed for stays live until they are gone', async () => {
    const url = await migrated();
    const ledger = await hostLedger(url, 'a');
    await ledger.update((data) => void data.runs.push(run('r1')));
    await ledger.update((data) => {
      Object.assign(data.runs[0], { status: 'failed', endedAt: new Date().toISOString() });
      data.outbox = [{ id: 'r1/0', runId: 'r1', taskId: 'r1', change: { kind: 'comment', text: 'bye \u0000' }, queuedAt: 1, tries: 0 }];
    });
    const fresh = await hostLedger(url, 'a', { lease: false });
    const seen = await fresh.read();
    assert.equal(seen.outbox?.length, 1);
    assert.equal((seen.outbox![0].change as { text: string }).text, 'bye \ufffd', 'a NUL, which PostgreSQL text cannot hold, is replaced');
    await ledger.update((data) => void (data.outbox = []));
    const db = await connect(url);
    assert.equal((await db.query('select count(*)::int as n from dispatcher_outbox')).rows[0].n, 0);
  });

  it('refuses every write once the lease is taken over, and says so to its listeners', async () => {
    const url = await migrated();
    const late = await hostLedger(url, 'late', { ttlMs: 1000 });
    const taker = await hostLedger(url, 'taker');
    await late.update((data) => void data.runs.push(run('r1', { status: 'running', pid: 42, owner: { pid: 42, instance: 'i' } })));
    let told = 0;
    late.onLeaseLost(() => told++);
    await sleep(1100);
    const taken = await taker.takeOver();
    assert.deepEqual(taken.hosts, ['late']);
    assert.deepEqual(taken.runs.map((moved) => [moved.id, moved.fromHost, moved.fence]), [['r1', 'late', 2]]);
    await assert.rejects(late.update((data) => void Object.assign(data.runs[0] ?? {}, { status: 'succeeded' })), LeaseLostError);
    assert.equal(told, 1);
    assert.equal(late.holdsLease, false);
    const mine = (await taker.read()).runs.find((candidate) => candidate.id === 'r1')!;
    assert.equal(mine.takenOverFrom, 'late');
    assert.equal(mine.pid, undefined, 'host-local fields are dropped');
    assert.equal(mine.owner, undefined);
    // The late host comes back as a fresh instance: the run is no longer among its runs.
    await late.acquireLease();
    assert.equal((await late.update((data) => data.runs.find((candidate) => candidate.id === 'r1'))), undefined);
  });

  it('a write carrying a stale fencing token is refused by the database, whole', async () => {
    const url = await migrated();
    const guest = await hostLedger(url, 'a', { lease: false });
    await guest.update((data) => void data.runs.push(run('r1'), run('r2')));
    const db = await connect(url);
    await db.query(`update dispatcher_runs set fence = 2 where id = 'r1'`); // taken over (and given back) since it was read
    const rows = (fence: number, id: string) => ({ id, task_id: id, route: 'Todo', status: 'running', record: run(id, { status: 'running' }), ended_at: null, fence });
    const plan = { updates: [rows(1, 'r1'), rows(1, 'r2')], inserts: [], outboxUpserts: [], outboxDeletes: [] };
    await db.query('begin');
    const refused = await db.query(writeSql('a', 'json /board.json', plan)).then(() => undefined, (error: unknown) => describeError(error));
    await db.query('rollback');
    assert.ok(refused instanceof StaleFenceError, String(refused));
    assert.match(refused.message, /stale fencing token \(1 of 2 runs written\)/);
    const { rows: stored } = await db.query(`select status from dispatcher_runs order by id`);
    assert.deepEqual(stored.map((row: { status: string }) => row.status), ['starting', 'starting'], 'nothing of the write landed');
  });

  it('a connection serving many writes keeps one error listener, not one per write', async () => {
    const url = await migrated();
    const db = new Database({ url, max: 1 });
    after(() => db.close());
    const listeners: number[] = [];
    db.pool.on('acquire', (client) => listeners.push(client.listenerCount('error')));
    for (let index = 0; index < 15; index++) await db.withClient((query) => query('select 1'));
    assert.equal(listeners.length, 15);
    assert.ok(Math.max(...listeners) <= listeners[1], `listeners per use: ${listeners.join(',')}`);
  });
});

describe('reservations across hosts', () => {
  const limits = (ledger: PostgresLedger, max: number, extra: Partial<SlotLimits> = {}): SlotLimits => ({ maxConcurrentAgents: max, routes: new Map([['Todo', route('Todo')]]), owner: ledger.owner, ...extra });

  it('two hosts reserving the same tasks at the same moment get each task once', async () => {
    const url = await migrated();
    const hosts = await Promise.all(['a', 'b', 'c'].map((id) => hostLedger(url, id)));
    const ids = Array.from({ length: 30 }, (_, index) => `t${index}`);
    const rounds = await Promise.all(hosts.flatMap((ledger) => [0, 1, 2].map(() => ledger.update((data) => reserveIn(data, candidates(ids), limits(ledger, 20), 0), { cluster: true }))));
    const reserved = rounds.flat().map((reservation) => reservation.task.id);
    assert.equal(reserved.length, 30, 'every task reserved');
    assert.equal(new Set(reserved).size, 30, 'none twice');
    const db = await connect(url);
    const { rows } = await db.query(`select host_id, count(*)::int as n from dispatcher_runs group by host_id`);
    assert.ok(rows.every((row: { n: number }) => row.n <= 20), 'per-host cap kept');
  });

  it('the cluster caps count every host, per host limits stay per host', async () => {
    const url = await migrated();
    const [a, b] = await Promise.all([hostLedger(url, 'a'), hostLedger(url, 'b')]);
    const ids = Array.from({ length: 10 }, (_, index) => `t${index}`);
    const first = await a.update((data) => reserveIn(data, candidates(ids), limits(a, 4, { clusterMaxConcurrentAgents: 6 }), 0), { cluster: true });
    const second = await b.update((data) => reserveIn(data, candidates(ids), limits(b, 4, { clusterMaxConcurrentAgents: 6 }), 0), { cluster: true });
    assert.equal(first.length, 4);
    assert.equal(second.length, 2, 'the cluster cap leaves two');
    assert.deepEqual(second.map((reservation) => reservation.run.host), ['b', 'b']);
    const capped = route('Todo', { clusterMaxConcurrent: 7 });
    const c = await hostLedger(url, 'c');
    const third = await c.update((data) => reserveIn(data, candidates(ids, capped), { ...limits(c, 4), routes: new Map([['Todo', capped]]) }, 0), { cluster: true });
    assert.equal(third.length, 1, "the route's cluster cap counts the other hosts' runs of the route");
  });

  it("a task another host runs is busy only for the same tracker", async () => {
    const url = await migrated();
    const a = await hostLedger(url, 'a');
    const other = new PostgresLedger({ db: new Database({ url }), hostId: 'b', tracker: 'json /other.json', leaseTtlMs: 30_000 });
    after(() => other.close());
    await other.acquireLease();
    await a.update((data) => reserveIn(data, candidates(['t1']), limits(a, 4), 0), { cluster: true });
    const reserved = await other.update((data) => reserveIn(data, candidates(['t1']), limits(other, 4), 0), { cluster: true });
    assert.equal(reserved.length, 1);
  });
});

// The client is typed loosely in the tests above; make sure the module's pg types still line up.
export type _Client = pg.Client;
