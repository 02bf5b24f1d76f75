import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import createJsonTracker from '../../adapters/json/index.ts';
import type { Task } from '../../adapters/types.ts';
import { createRouter } from '../../src/core/dispatch/router.ts';
import { reserveIn, STALE_POLL_MARGIN_MS, type Candidate } from '../../src/core/dispatch/reservations.ts';
import type { LedgerData } from '../../src/core/runs/ledger.ts';
import { Database } from '../../src/core/runs/postgres/database.ts';
import { migrate } from '../../src/core/runs/postgres/migrate.ts';
import { PostgresLedger } from '../../src/core/runs/postgres/postgres-ledger.ts';
import { trackerKey } from '../../src/core/runs/postgres/tracker-key.ts';
import { silentLogger } from '../../src/log.ts';
import { waitFor } from '../helpers.ts';
import { setupBoard, task } from '../router/support.ts';
import { connect, freshDatabase } from '../support/postgres.ts';

/**
 * Two hosts (two routers, each with its own PostgresLedger) on one JSON board and one database.
 * Host a's poll is held after it read the board, while host b reserves, claims, runs and settles
 * the same task: a's view of the task is stale, and its reservation must see that.
 */
async function twoHosts() {
  const url = await freshDatabase();
  const db = await connect(url);
  await migrate(db);
  const s = setupBoard({ Todo: [task('7')], 'In Progress': [], Done: [] }, { max_concurrent_agents: 2, poll_interval: 60, routing: { Todo: { command: 'true', in_progress_queue: 'In Progress', on_success_queue: 'Done' } } });
  const tracker = trackerKey(s.config.backend, s.dir);
  const ledgerOf = async (hostId: string) => {
    const ledger = new PostgresLedger({ db: new Database({ url }), hostId, tracker, leaseTtlMs: 30_000 });
    await ledger.acquireLease();
    after(() => ledger.close());
    return ledger;
  };
  const trackerA = createJsonTracker({ options: s.config.backend!, baseDir: s.dir, env: {}, log: silentLogger });
  const trackerB = createJsonTracker({ options: s.config.backend!, baseDir: s.dir, env: {}, log: silentLogger });
  const a = createRouter({ config: s.config, tracker: trackerA, ledger: await ledgerOf('a'), log: silentLogger });
  const b = createRouter({ config: s.config, tracker: trackerB, ledger: await ledgerOf('b'), log: silentLogger });
  const queueOf = (id: string) => Object.entries(JSON.parse(readFileSync(s.boardPath, 'utf8')).queues as Record<string, Array<{ id: string }>>).find(([, tasks]) => tasks.some((t) => t.id === id))?.[0];
  const runsOf = async (taskId: string) => (await db.query<{ host_id: string; status: string }>(`select host_id, status from dispatcher_runs where task_id = $1 order by created_at`, [taskId])).rows;

  /** Host b takes task 7 from start to end: reserved, claimed, run, settled, moved to Done. */
  async function bRunsItThrough(): Promise<void> {
    const { dispatched } = await b.tick();
    assert.deepEqual(dispatched.map((run) => run.taskId), ['7'], 'host b dispatched the task');
    await b.waitForAll();
    await waitFor(() => queueOf('7') === 'Done', 10_000, "task 7 in Done after b's run");
  }

  /** Host a's next poll reads the board, then waits until `meanwhile` is done before the tick goes on. */
  function holdNextPollOfA(meanwhile: () => Promise<void>): void {
    const read = trackerA.getReadyTasks.bind(trackerA);
    trackerA.getReadyTasks = async (queues: string[]): Promise<Task[]> => {
      trackerA.getReadyTasks = read;
      const tasks = await read(queues);
      await meanwhile();
      return tasks;
    };
  }

  return { s, a, b, db, queueOf, runsOf, bRunsItThrough, holdNextPollOfA };
}

describe('a poll made stale by another host', () => {
  it("host a does not reserve a task that host b claimed, ran and settled after a's poll read it", async () => {
    const { a, runsOf, queueOf, bRunsItThrough, holdNextPollOfA } = await twoHosts();
    holdNextPollOfA(bRunsItThrough);
    const result = await a.tick();
    assert.equal(result.ready, 1, "a's poll offered the task");
    assert.deepEqual(result.dispatched, [], 'a reserved nothing');
    assert.deepEqual(await runsOf('7'), [{ host_id: 'b', status: 'succeeded' }], 'one run of the task, by b');
    assert.equal(queueOf('7'), 'Done');
  });

  it('a task whose run on another host ended before the poll (a person moved it back) is reserved at once', async () => {
    const { s, a, runsOf, queueOf, bRunsItThrough } = await twoHosts();
    await bRunsItThrough();
    // A person sends the task back to Todo; a's poll comes well after b's run ended.
    const board = JSON.parse(readFileSync(s.boardPath, 'utf8'));
    board.queues.Todo.push(...board.queues.Done.splice(0));
    writeFileSync(s.boardPath, JSON.stringify(board));
    await sleep(STALE_POLL_MARGIN_MS + 300);
    const { dispatched } = await a.tick();
    assert.deepEqual(dispatched.map((run) => run.taskId), ['7'], 'a reserved and started the task');
    await a.waitForAll();
    await waitFor(() => queueOf('7') === 'Done', 10_000, "task 7 in Done after a's run");
    assert.deepEqual(await runsOf('7'), [
      { host_id: 'b', status: 'succeeded' },
      { host_id: 'a', status: 'succeeded' },
    ]);
  });
});

describe('reserveIn and runs that ended lately', () => {
  const route = { queue: 'Todo', command: 'true', args: [], env: {}, maxAttempts: 1, agent: 'command', structuredOutput: false, inProgressQueue: 'Doing' } as unknown as Candidate['route'];
  const candidates = (ids: string[]): Candidate[] => ids.map((id) => ({ task: { id, name: id, queue: 'Todo', labels: [], assignees: [] } as unknown as Task, route }));
  const limits = { maxConcurrentAgents: 10, routes: new Map([['Todo', route]]), owner: { pid: 1, instance: 'i' } };
  const data = (ended: Array<{ taskId: string; ageMs: number }>): LedgerData => ({
    version: 1,
    daemons: [],
    runs: [],
    cluster: { hostId: 'a', tracker: 't', runs: [], ended: ended.map((run) => ({ ...run, host: 'b' })), endedWithinMs: 600_000 },
  });

  it('a run that ended less than the time since the poll began (plus the margin) ago makes its task busy; an older one does not', () => {
    const since = 3_000;
    const reserved = reserveIn(data([{ taskId: 'fresh', ageMs: since + STALE_POLL_MARGIN_MS - 1 }, { taskId: 'old', ageMs: since + STALE_POLL_MARGIN_MS + 1 }]), candidates(['fresh', 'old', 'never']), limits, since);
    assert.deepEqual(reserved.map((r) => r.task.id), ['old', 'never']);
  });

  it('a poll older than the load looked back reserves nothing: a change after it could be missing', () => {
    assert.deepEqual(reserveIn(data([]), candidates(['1']), limits, 600_000), []);
    assert.equal(reserveIn(data([]), candidates(['1']), limits, 1_000).length, 1);
  });

  it('without coordination nothing changes', () => {
    assert.equal(reserveIn({ version: 1, daemons: [], runs: [] }, candidates(['1']), limits, 600_000).length, 1);
  });
});
