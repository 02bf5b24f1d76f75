import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../src/log.ts';
import { Database } from '../../src/core/runs/postgres/database.ts';
import { joinCluster } from '../../src/core/runs/postgres/host-membership.ts';
import { migrate } from '../../src/core/runs/postgres/migrate.ts';
import { PostgresLedger } from '../../src/core/runs/postgres/postgres-ledger.ts';
import { connect, freshDatabase } from '../support/postgres.ts';
import { tempDir } from '../helpers.ts';

test('the heartbeat runs from the join on: a start slower than lease_ttl (before the router is handed over) keeps the lease', async () => {
  const url = await freshDatabase();
  const db = await connect(url);
  await migrate(db);
  const ttlMs = 600;
  const ledger = (hostId: string) => {
    const opened = new PostgresLedger({ db: new Database({ url }), hostId, tracker: 'json /board.json', leaseTtlMs: ttlMs });
    after(() => opened.close());
    return opened;
  };
  const slow = ledger('slow');
  const membership = await joinCluster(slow, silentLogger, ttlMs, { stateDir: tempDir(), killGraceMs: 1_000 });
  after(() => membership.leave({ release: true }));
  const other = ledger('other');
  await other.acquireLease();
  // Three lease_ttl later, still starting (no start() yet): another host finds nothing to take over.
  await sleep(ttlMs * 3);
  assert.deepEqual(await other.takeOver(), { hosts: [], runs: [], outbox: 0 });
  const { rows } = await db.query(`select lease_until > now() as alive, taken_over_at from dispatcher_hosts where host_id = 'slow'`);
  assert.deepEqual(rows, [{ alive: true, taken_over_at: null }]);
  assert.ok(slow.holdsLease);
});
