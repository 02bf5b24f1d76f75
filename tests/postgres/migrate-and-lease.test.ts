import { test } from 'node:test';
import assert from 'node:assert/strict';
import { migrate } from '../../src/core/runs/postgres/migrate.ts';
import { MIGRATIONS } from '../../src/core/runs/postgres/migrations.ts';
import { acquireLease, clusterHosts, LeaseHeldError, releaseLease, renewLease, takeOverExpiredHosts } from '../../src/core/runs/postgres/leases.ts';
import { connect, freshDatabase } from '../support/postgres.ts';

test('hosts starting together migrate the schema once, under the lock', async () => {
  const url = await freshDatabase();
  const clients = await Promise.all(Array.from({ length: 5 }, () => connect(url)));
  const results = await Promise.all(clients.map((client) => migrate(client)));
  assert.equal(results.filter((result) => result.from === 0).length, 1, 'exactly one host ran the migrations');
  assert.ok(results.every((result) => result.to === MIGRATIONS.length));
  const { rows } = await clients[0].query('select version from dispatcher_migrations order by version');
  assert.deepEqual(rows.map((row) => row.version), MIGRATIONS.map((_, index) => index + 1));
});

test('a later version is applied on top; a failing one rolls back and says which', async () => {
  const url = await freshDatabase();
  const db = await connect(url);
  await migrate(db, ['create table a (x int)']);
  assert.deepEqual(await migrate(db, ['create table a (x int)', 'create table b (y int)']), { from: 1, to: 2 });
  await assert.rejects(migrate(db, ['create table a (x int)', 'create table b (y int)', 'create table c (z int); select 1/0']), /version 3 failed: division by zero/);
  const { rows } = await db.query(`select to_regclass('c') as c, (select max(version) from dispatcher_migrations) as v`);
  assert.deepEqual(rows[0], { c: null, v: 2 });
});

test('a database newer than this build is refused', async () => {
  const db = await connect(await freshDatabase());
  await migrate(db, ['select 1', 'select 2']);
  await assert.rejects(migrate(db, ['select 1']), /schema is at version 2, newer than this dispatcher knows \(1\)/);
});

test('one live process per host name; a restart under the same instance or after expiry takes it', async () => {
  const db = await connect(await freshDatabase());
  await migrate(db);
  await acquireLease(db, { hostId: 'a', instance: 'one', ttlMs: 30_000 });
  await acquireLease(db, { hostId: 'a', instance: 'one', ttlMs: 30_000 });
  await assert.rejects(acquireLease(db, { hostId: 'a', instance: 'two', ttlMs: 30_000 }), LeaseHeldError);
  await releaseLease(db, { hostId: 'a', instance: 'one', ttlMs: 30_000 });
  await acquireLease(db, { hostId: 'a', instance: 'two', ttlMs: 30_000 });
  assert.equal(await renewLease(db, { hostId: 'a', instance: 'one', ttlMs: 30_000 }), false, 'the old process lost the name');
  assert.equal(await renewLease(db, { hostId: 'a', instance: 'two', ttlMs: 30_000 }), true);
});

test("an expired host's active runs are taken over once, with their fencing token bumped", async () => {
  const url = await freshDatabase();
  const db = await connect(url);
  await migrate(db);
  await acquireLease(db, { hostId: 'dead', instance: 'd', ttlMs: 1 });
  await acquireLease(db, { hostId: 'b', instance: 'b', ttlMs: 30_000 });
  await acquireLease(db, { hostId: 'c', instance: 'c', ttlMs: 30_000 });
  for (const [id, status] of [['r1', 'running'], ['r2', 'retry_wait'], ['r3', 'succeeded']]) {
    await db.query(`insert into dispatcher_runs (id, tracker, task_id, route, host_id, status, record) values ($1, 'json', $1, 'Todo', 'dead', $2, '{}')`, [id, status]);
  }
  await new Promise((resolve) => setTimeout(resolve, 20));
  // Two live hosts notice at the same moment: each run goes to exactly one of them.
  const [byB, byC] = await Promise.all([takeOverExpiredHosts(await connect(url), 'b'), takeOverExpiredHosts(await connect(url), 'c')]);
  const taken = [...byB, ...byC].sort((x, y) => x.id.localeCompare(y.id));
  assert.deepEqual(taken.map((run) => [run.id, run.fromHost, run.fence]), [['r1', 'dead', 2], ['r2', 'dead', 2]]);
  assert.ok(byB.length === 0 || byC.length === 0, 'one host took the dead host over whole');
  assert.equal(await renewLease(db, { hostId: 'dead', instance: 'd', ttlMs: 30_000 }), false, 'the late host learns it lost its lease');
  const { rows } = await db.query(`select id, host_id, fence from dispatcher_runs where id = 'r3'`);
  assert.deepEqual(rows[0], { id: 'r3', host_id: 'dead', fence: '1' }, 'finished runs stay where they were');
  const hosts = await clusterHosts(db);
  const dead = hosts.find((host) => host.hostId === 'dead')!;
  assert.equal(dead.alive, false);
  assert.equal(dead.activeRuns, 0);
  assert.ok(dead.takenOverBy === 'b' || dead.takenOverBy === 'c');
});

test('two hosts cannot hold an active run of the same task', async () => {
  const db = await connect(await freshDatabase());
  await migrate(db);
  const insert = (id: string, host: string) =>
    db.query(`insert into dispatcher_runs (id, tracker, task_id, route, host_id, status, record) values ($1, 'planka', 'card-1', 'Todo', $2, 'starting', '{}')`, [id, host]);
  await insert('x1', 'a');
  await assert.rejects(insert('x2', 'b'), /dispatcher_runs_one_active_per_task/);
  await db.query(`update dispatcher_runs set status = 'succeeded', ended_at = now() where id = 'x1'`);
  await insert('x3', 'b');
});
