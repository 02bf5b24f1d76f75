import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunRecord, StopRequest } from '../../src/core/runs/ledger.ts';
import { Database } from '../../src/core/runs/postgres/database.ts';
import { migrate } from '../../src/core/runs/postgres/migrate.ts';
import { PostgresLedger } from '../../src/core/runs/postgres/postgres-ledger.ts';
import type { PendingStop } from '../../src/core/runs/postgres/stops-elsewhere.ts';
import { connect, freshDatabase } from '../support/postgres.ts';

const run = (id: string, extra: Partial<RunRecord> = {}): RunRecord => ({ id, taskId: id, taskName: id, taskUrl: '', route: 'Todo', agent: 'command', attempt: 1, maxAttempts: 1, status: 'running', createdAt: new Date().toISOString(), ...extra });
const stop = (reason: string, fromHost = 'a'): StopRequest => ({ outcome: 'stopped', reason, fromHost, at: new Date().toISOString() });

/** A Database whose writes pause after their first round trip (begin, row lock, load) until `hold` resolves. */
class PausingDatabase extends Database {
  hold?: () => Promise<void>;
  override withClient<T>(work: Parameters<Database['withClient']>[0] & ((...args: never[]) => Promise<T>)): Promise<T> {
    return super.withClient((query) =>
      work(async (text, params) => {
        const result = await query(text, params);
        if (this.hold && text.startsWith('begin;')) await this.hold();
        return result;
      }),
    ) as Promise<T>;
  }
}

async function hostLedger(url: string, hostId: string, db = new Database({ url })): Promise<PostgresLedger> {
  const ledger = new PostgresLedger({ db, hostId, tracker: 'json /board.json', leaseTtlMs: 30_000 });
  await ledger.acquireLease();
  after(() => ledger.close());
  return ledger;
}

describe('a stop recorded for another host’s run', () => {
  it("racing the owner's write, the decision is not lost: the stopper waits for the owner's row lock, and the owner's next write keeps it", async () => {
    const url = await freshDatabase();
    await migrate(await connect(url));
    const pausing = new PausingDatabase({ url });
    const owner = await hostLedger(url, 'b', pausing);
    const stopper = await hostLedger(url, 'a');
    await owner.update((data) => void data.runs.push(run('r1', { pid: 4242, pgid: 4242 })));

    // The owner's write has loaded r1 (without a stop) and holds its row; the stop is asked now.
    let asked: ReturnType<PostgresLedger['recordStopElsewhere']> | undefined;
    let answered = false;
    pausing.hold = async () => {
      pausing.hold = undefined;
      asked = stopper.recordStopElsewhere('r1', stop('wrong approach'));
      void asked.then(() => (answered = true));
      await sleep(500);
      assert.equal(answered, false, "the stop waits for the owner's write");
    };
    await owner.update((data) => {
      const r1 = data.runs.find((candidate) => candidate.id === 'r1')!;
      r1.costUsd = 1.5; // the owner writes the whole record back, as it loaded it
    });
    const recorded = await asked!;
    assert.deepEqual([recorded?.recorded, recorded?.host, recorded?.hostAlive], [true, 'b', true]);

    const db = await connect(url);
    const row = async () => (await db.query<{ record: RunRecord; fence: string }>(`select record, fence from dispatcher_runs where id = 'r1'`)).rows[0];
    assert.equal((await row()).record.costUsd, 1.5, "the owner's change");
    assert.equal((await row()).record.stopRequest?.reason, 'wrong approach', 'and the stop');
    assert.equal((await row()).fence, '1', 'the fencing token is left alone: the owner still writes');
    await owner.patch('r1', { turns: 3 });
    assert.deepEqual([(await row()).record.turns, (await row()).record.stopRequest?.fromHost], [3, 'a'], "the owner's next write loads the stop and keeps it");

    const second = await stopper.recordStopElsewhere('r1', stop('another reason'));
    assert.deepEqual([second?.recorded, second?.run.stopRequest?.reason], [false, 'wrong approach'], 'the first decision stands');
    assert.equal(await stopper.recordStopElsewhere('nope', stop('x')), undefined);
  });

  it("the owner's heartbeat hands over its runs with a stop pending, in the renewal's own round trip; settled runs are no longer stoppable", async () => {
    const url = await freshDatabase();
    await migrate(await connect(url));
    const owner = await hostLedger(url, 'b');
    const stopper = await hostLedger(url, 'a');
    await owner.update((data) => void data.runs.push(run('r1'), run('r2'), run('r3', { status: 'retry_wait' })));
    const told: PendingStop[][] = [];
    owner.onStopsPending((stops) => told.push(stops));

    let before = owner.db.roundTrips;
    assert.equal(await owner.renewLease(), true);
    assert.equal(owner.db.roundTrips - before, 1, 'one round trip, as before');
    assert.deepEqual(told, [], 'nothing pending: nobody is told');

    await stopper.recordStopElsewhere('r2', stop('from a'));
    assert.equal(await stopper.recordStopElsewhere('r3', stop('x')), undefined, 'a run waiting to retry has no agent to stop');
    before = owner.db.roundTrips;
    assert.equal(await owner.renewLease(), true);
    assert.equal(owner.db.roundTrips - before, 1, 'still one round trip with a stop pending');
    assert.deepEqual(told, [[{ runId: 'r2', reason: 'from a', fromHost: 'a' }]]);

    await owner.patch('r2', { status: 'stopped', endedAt: new Date().toISOString() });
    await owner.renewLease();
    assert.equal(told.length, 1, 'a settled run is pending no more');
    assert.equal(await stopper.recordStopElsewhere('r2', stop('again')), undefined);
    assert.equal((await stopper.readRunAnywhere('r2'))?.status, 'stopped');
  });

  it('a run taken over while the stop waited for its host is followed to the new owner', async () => {
    const url = await freshDatabase();
    const db = await connect(url);
    await migrate(db);
    const dead = await hostLedger(url, 'dead');
    await dead.update((data) => void data.runs.push(run('r1')));
    const taker = await hostLedger(url, 'c');
    const stopper = await hostLedger(url, 'a');
    await db.query(`update dispatcher_hosts set lease_until = now() - interval '1 second' where host_id = 'dead'`);
    // A takeover under way holds the dead host's row; the stop waits for it, then finds the run moved.
    const holder = await connect(url);
    await holder.query('begin');
    await holder.query(`select 1 from dispatcher_hosts where host_id = 'dead' for update`);
    const asked = stopper.recordStopElsewhere('r1', stop('retire it'));
    await sleep(300);
    await holder.query(`update dispatcher_runs set host_id = 'c', fence = fence + 1 where id = 'r1'`);
    await holder.query(`update dispatcher_hosts set taken_over_at = now(), taken_over_by = 'c' where host_id = 'dead'`);
    await holder.query('commit');
    const recorded = await asked;
    assert.deepEqual([recorded?.recorded, recorded?.host, recorded?.run.stopRequest?.reason], [true, 'c', 'retire it']);
    assert.equal((await taker.read()).runs.find((candidate) => candidate.id === 'r1')?.stopRequest?.reason, 'retire it');
  });
});
