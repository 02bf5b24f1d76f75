import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { runCli } from '../helpers.ts';
import { Database } from '../../src/core/runs/postgres/database.ts';
import { migrate } from '../../src/core/runs/postgres/migrate.ts';
import { PostgresLedger } from '../../src/core/runs/postgres/postgres-ledger.ts';
import { connect, freshDatabase } from '../support/postgres.ts';
import { hostFolder, type Host, startClusterBoard, startHost, stopHost, waitUntil } from '../support/cluster-hosts.ts';

interface RunRow {
  id: string;
  task_id: string;
  host_id: string;
  status: string;
  pgid: number | null;
  stop: { reason: string; release?: boolean; fromHost?: string } | null;
}

const runsOf = async (db: pg.Client, where = 'true', params: unknown[] = []): Promise<RunRow[]> =>
  (await db.query<RunRow>(`select id, task_id, host_id, status, (record->>'pgid')::int as pgid, record->'stopRequest' as stop from dispatcher_runs where ${where} order by created_at`, params)).rows;

const groupAlive = (pgid: number): boolean => {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * `dispatcher stop` of another host's run: two `dispatcher run` hosts (the built CLI: `npm run
 * build` first) on one fake Planka board and one database, agents that sleep 60 s. The stop is run
 * with the other host's config; the owner acts on it at its next heartbeat (lease_ttl 3 s: every 1 s).
 */
describe('stopping a run of another host', { concurrency: false }, () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  async function cluster(tasks: number) {
    const databaseUrl = await freshDatabase();
    const db = await connect(databaseUrl);
    await migrate(db);
    const board = await startClusterBoard(tasks);
    cleanups.push(() => board.fake.close());
    const setup = { tasks, agentSeconds: 60, agent: 'node' as const, slotsPerHost: 1, leaseTtl: 3, pollInterval: 0.5, maxAttempts: 2, databaseUrl };
    const dirs = new Map<string, string>();
    const hosts: Host[] = [];
    /** The host's folder (its config), made once. */
    const hostDir = (id: string) => {
      if (!dirs.has(id)) {
        const folder = hostFolder(setup, board.fake.url, board.bot.password);
        cleanups.push(folder.cleanup);
        dirs.set(id, folder.dir);
      }
      return dirs.get(id)!;
    };
    const start = (id: string) => {
      const host = startHost(id, hostDir(id));
      cleanups.push(() => stopHost(host));
      hosts.push(host);
      return host;
    };
    const logs = () => hosts.map((host) => `--- ${host.id}\n${host.output()}`).join('\n');
    /** The host's running run, once its agent's group is in the database. */
    const runningOn = async (hostId: string): Promise<RunRow> => {
      let found: RunRow | undefined;
      await waitUntil(async () => (found = (await runsOf(db, `host_id = $1 and status = 'running' and record ? 'pgid'`, [hostId]))[0]) !== undefined, 60_000, `an agent running on host ${hostId}`).catch((error) =>
        assert.fail(`${(error as Error).message}:\n${logs()}`),
      );
      return found!;
    };
    const stopWith = (hostId: string, args: string[]) => runCli(['stop', ...args], { cwd: hostDir(hostId), env: { DISPATCHER_HOST_ID: hostId }, timeoutMs: 60_000 });
    const commentsOn = (taskId: string) => [...board.fake.store.comments.values()].filter((comment) => comment.cardId === taskId).map((comment) => comment.text);
    /** Ends the sleepers still running (a released task dispatched again), then the daemons; while the database is still there. */
    const shutdown = async () => {
      for (const run of await runsOf(db, `status = 'running' and record ? 'pgid'`)) if (groupAlive(run.pgid!)) process.kill(-run.pgid!, 'SIGKILL');
      for (const host of hosts) await stopHost(host);
    };
    const dirOf = (hostId: string) => dirs.get(hostId)!;
    const titleOf = (taskId: string) => board.fake.store.cards.get(taskId)?.name;
    return { db, databaseUrl, board: titleOf, fake: board, start, hostDir, logs, runningOn, stopWith, commentsOn, shutdown, dirOf };
  }

  it("`dispatcher stop <task>` with host a's config stops host b's agent: outcome stopped, one comment; --release the other way; an unknown id is exit 4", async () => {
    const { db, fake: board, start, logs, runningOn, stopWith, commentsOn, shutdown } = await cluster(2);
    try {
      const b = start('b');
      const onB = await runningOn('b');
      start('a');
      const onA = await runningOn('a');

      const asked = Date.now();
      const stop = await stopWith('a', [onB.task_id, '--reason', 'wrong approach']);
      const took = Date.now() - asked;
      assert.equal(stop.code, 0, `${stop.stdout}${stop.stderr}\n${logs()}`);
      assert.match(stop.stdout, new RegExp(`stopped run ${onB.id} of task ${onB.task_id} on host "b" \\(outcome stopped\\)`));
      assert.match(stop.stderr, /runs on host "b": the stop is recorded there; its dispatcher stops the agent at its next heartbeat \(within 1 s: lease_ttl \/ 3\)/);
      // The heartbeat (1 s), the grace (1 s; the sleeper leaves at TERM), the settlement, and two CLI starts on a loaded machine.
      assert.ok(took < 12_000, `settled ${took} ms after the stop was asked`);
      assert.equal(groupAlive(onB.pgid!), false, "b's agent group is gone");
      const [stopped] = await runsOf(db, 'id = $1', [onB.id]);
      assert.equal(stopped.status, 'stopped');
      assert.equal(stopped.host_id, 'b', 'settled by its owner');
      assert.deepEqual({ reason: stopped.stop?.reason, fromHost: stopped.stop?.fromHost }, { reason: 'wrong approach', fromHost: 'a' });
      assert.match(b.output(), /stop asked on host "a": wrong approach; stopping the agent/);
      await waitUntil(() => commentsOn(onB.task_id).length === 1, 10_000, 'the comment');
      assert.match(commentsOn(onB.task_id)[0], /Agent stopped[\s\S]*wrong approach/);
      assert.equal(board.fake.store.cards.get(onB.task_id)?.listId, board.board.lists.Doing.id, 'left in progress');
      assert.equal((await runsOf(db, 'task_id = $1', [onB.task_id])).length, 1, 'no retry');

      const release = await stopWith('b', [onA.id, '--release', '--json']);
      assert.equal(release.code, 0, `${release.stdout}${release.stderr}\n${logs()}`);
      const json = JSON.parse(release.stdout);
      assert.deepEqual([json.settled, json.host, json.run.status, json.run.stopReason], [true, 'a', 'stopped', 'stopped by the operator']);
      assert.equal(groupAlive(onA.pgid!), false, "a's agent group is gone");
      const backToTodo = () =>
      [...board.fake.store.actions.values()].some((action) => action.cardId === onA.task_id && action.type === 'moveCard' && (action.data.toList as { name?: string }).name === 'Todo');
      await waitUntil(backToTodo, 10_000, 'the released card moved back to Todo').catch((error) => assert.fail(`${(error as Error).message}:\n${logs()}`));
      await waitUntil(() => commentsOn(onA.task_id).length === 1, 10_000, 'its comment');

      const unknown = await stopWith('a', ['no-such-task']);
      assert.equal(unknown.code, 4, unknown.stderr);
      assert.match(unknown.stderr, /no running agent for "no-such-task"/);
      const twice = await stopWith('a', [onB.id]);
      assert.equal(twice.code, 4, 'a settled run of another host is not found either');
    } finally {
      await shutdown();
    }
  });

  it("POST /runs/{id}/stop and the dashboard's Stop endpoint of one host stop another host's agent; the dashboard lists the other hosts' agents", async () => {
    const { db, board, start, logs, runningOn, commentsOn, shutdown, dirOf } = await cluster(2);
    try {
      start('b');
      const onB = await runningOn('b');
      start('a');
      const onA = await runningOn('a');
      const apiOf = async (hostId: string) => {
        const status = await runCli(['status', '--json'], { cwd: dirOf(hostId), env: { DISPATCHER_HOST_ID: hostId } });
        const daemon = (JSON.parse(status.stdout).daemons as Array<{ apiUrl?: string }>).find((candidate) => candidate.apiUrl);
        return { url: daemon!.apiUrl!, token: readFileSync(join(dirOf(hostId), '.dispatcher/operator-token'), 'utf8').trim() };
      };
      const a = await apiOf('a');
      const state = await (await fetch(`${a.url}/api/v1/state`, { headers: { authorization: `Bearer ${a.token}` } })).json();
      assert.deepEqual(
        state.runningElsewhere.map((item: { runId: string; host: string; taskId: string; title: string }) => [item.runId, item.host, item.taskId, item.title]),
        [[onB.id, 'b', onB.task_id, board(onB.task_id)]],
      );
      assert.deepEqual(state.running.map((item: { runId: string }) => item.runId), [onA.id], "this host's own agents stay apart");

      const stopped = await fetch(`${a.url}/runs/${onB.id}/stop`, { method: 'POST', headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'from a script on a' }) });
      const body = await stopped.json();
      assert.equal(stopped.status, 202, `${JSON.stringify(body)}\n${logs()}`);
      assert.deepEqual([body.host, body.settled, body.run.status, body.stop.fromHost], ['b', true, 'stopped', 'a']);
      assert.equal(groupAlive(onB.pgid!), false);
      await waitUntil(() => commentsOn(onB.task_id).some((text) => /from a script on a/.test(text)), 10_000, 'the comment');

      const b = await apiOf('b');
      const button = await fetch(`${b.url}/dashboard/runs/${onA.id}/stop`, { method: 'POST', headers: { authorization: `Bearer ${b.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'stopped from the dashboard' }) });
      assert.equal(button.status, 202, await button.clone().text());
      assert.deepEqual(((await button.json()) as { host: string; settled: boolean }).settled, true);
      assert.equal((await runsOf(db, 'id = $1', [onA.id]))[0].status, 'stopped');
    } finally {
      await shutdown();
    }
  });

  it('a host that holds its lease but does not act: exit 1 after the wait, the decision stays recorded', async () => {
    const { db, stopWith, databaseUrl } = await cluster(0);
    // Host b is a ledger of this test process: it renews its lease, and has no daemon to stop anything.
    const b = new PostgresLedger({ db: new Database({ url: databaseUrl }), hostId: 'b', tracker: 'x', leaseTtlMs: 3_000 });
    await b.acquireLease();
    const renewing = setInterval(() => void b.renewLease(), 1_000);
    try {
      const now = new Date().toISOString();
      await b.update((data) => void data.runs.push({ id: 'r-b', taskId: '77', taskName: 'x', taskUrl: '', route: 'P.B.Todo', agent: 'command', attempt: 1, maxAttempts: 1, status: 'running', createdAt: now, startedAt: now }));
      const stop = await stopWith('a', ['r-b', '--reason', 'nobody home']);
      assert.equal(stop.code, 1, stop.stdout + stop.stderr);
      // lease_ttl 3 + heartbeat 1 + poll 0.5 + grace 1 + 10: 15.5 s.
      assert.match(stop.stderr, /the stop of run r-b \(task 77\) is recorded on host "b", but the run has not settled within 16 s: is its dispatcher running\?.*The decision stays recorded/);
      const [row] = await runsOf(db, `id = 'r-b'`);
      assert.deepEqual([row.status, row.stop?.reason, row.stop?.fromHost], ['running', 'nobody home', 'a']);
    } finally {
      clearInterval(renewing);
      await b.close();
    }
  });

  it('a run of a host that died is settled `stopped` with the reason by the host that takes it over, not `lost`', async () => {
    const { db, start, logs, runningOn, stopWith, commentsOn, shutdown } = await cluster(1);
    try {
      const b = start('b');
      const onB = await runningOn('b');
      b.child.kill('SIGKILL');
      process.kill(-onB.pgid!, 'SIGKILL');
      await b.exited;
      // The stop is recorded while no host can act on it; then host a starts, takes b over and settles the run.
      const stopping = stopWith('a', [onB.task_id, '--reason', 'host b is being retired']);
      await waitUntil(async () => (await runsOf(db, 'id = $1', [onB.id]))[0].stop !== null, 30_000, 'the stop recorded on b');
      start('a');
      const stop = await stopping;
      assert.equal(stop.code, 0, `${stop.stdout}${stop.stderr}\n${logs()}`);
      assert.match(stop.stdout, /\(outcome stopped\)/);
      const [settled] = await runsOf(db, 'id = $1', [onB.id]);
      assert.deepEqual([settled.status, settled.host_id, settled.stop?.reason], ['stopped', 'a', 'host b is being retired']);
      await waitUntil(() => commentsOn(onB.task_id).length === 1, 10_000, 'the comment');
      assert.match(commentsOn(onB.task_id)[0], /Agent stopped[\s\S]*host b is being retired/);
      assert.equal((await runsOf(db, 'task_id = $1', [onB.task_id])).length, 1, 'a stopped run is not retried');
    } finally {
      await shutdown();
    }
  });
});
