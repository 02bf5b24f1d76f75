import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate } from '../../src/core/runs/postgres/migrate.ts';
import { judgeAgent, type RunRow } from '../../src/core/runs/postgres/taken-over-agents.ts';
import { isProcessGroupAlive, readProcStat } from '../../src/core/process/process-group.ts';
import { connect, freshDatabase } from '../support/postgres.ts';
import { hostFolder, type Host, startClusterBoard, startHost, stopHost, waitUntil } from '../support/cluster-hosts.ts';
import { startTcpProxy } from '../support/tcp-proxy.ts';

/**
 * A host's daemon killed alone (kill -9: its agents run on), its runs taken over and retried by
 * another host, then the daemon restarted: the built CLI (`npm run build` first), a fake Planka
 * board, PostgreSQL, and agents that leave traces while they live (fixtures/agents/first-attempt-lingers.mjs).
 */
const LINGERER = join(import.meta.dirname, '../../fixtures/agents/first-attempt-lingers.mjs');

describe('the agents of a killed daemon whose runs were taken over', { concurrency: false }, () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  async function setup() {
    const databaseUrl = await freshDatabase();
    const db = await connect(databaseUrl);
    await migrate(db);
    const board = await startClusterBoard(1);
    cleanups.push(() => board.fake.close());
    const traces = mkdtempSync(join(tmpdir(), 'dispatcher-traces-'));
    cleanups.push(() => rmSync(traces, { recursive: true, force: true }));
    const folder = (through: (url: string) => string = (url) => url) => {
      const made = hostFolder({ tasks: 1, agentSeconds: 0, agentArgv: [process.execPath, LINGERER, traces], slotsPerHost: 2, databaseUrl: through(databaseUrl), leaseTtl: 2, pollInterval: 0.5 }, board.fake.url, board.bot.password);
      cleanups.push(made.cleanup);
      return made.dir;
    };
    const hosts: Host[] = [];
    const start = (id: string, dir: string) => {
      const host = startHost(id, dir);
      cleanups.push(() => stopHost(host));
      hosts.push(host);
      return host;
    };
    const logs = () => hosts.map((host) => `--- ${host.id} (pid ${host.child.pid})\n${host.output()}`).join('\n');
    const fail = (error: unknown) => assert.fail(`${(error as Error).message}:\n${logs()}`);
    /** Waits until `sql` finds exactly one row, and gives it. */
    const oneRow = async <T,>(sql: string, params: unknown[], withinMs: number, what: string): Promise<T> => {
      let row!: T;
      await waitUntil(
        async () => {
          const { rows } = await db.query(sql, params);
          row = rows[0];
          return rows.length === 1;
        },
        withinMs,
        what,
      ).catch(fail);
      return row;
    };
    /** Kills what a test leaves running, whatever happened. */
    const doomed = (pgid: number) => cleanups.push(() => void (isProcessGroupAlive(pgid) && process.kill(-pgid, 'SIGKILL')));

    /** Host b runs the first attempt; its daemon is killed alone; host a (already up) settles it lost and retries it. */
    async function takeOverFromKilledB(dirs: { a: string; b: string }) {
      const b = start('b', dirs.b);
      const first = await oneRow<{ id: string; task_id: string; pgid: number; pid: number }>(`select id, task_id, (record->>'pgid')::int as pgid, (record->>'pid')::int as pid from dispatcher_runs where host_id = 'b' and status = 'running' and record ? 'pgid'`, [], 60_000, 'the first attempt running on b');
      doomed(first.pgid);
      await waitUntil(() => beats(first.id, 'child-beats') > 0, 20_000, "the agent's setsid child beating").catch(fail);
      const childPgid = readProcStat(childPid(first.id))!.pgrp;
      assert.notEqual(childPgid, first.pgid, 'the child leads a group of its own');
      doomed(childPgid);
      const a = start('a', dirs.a);
      await waitUntil(() => /joined the cluster/.test(a.output()), 30_000, 'a joined').catch(fail);
      b.child.kill('SIGKILL');
      await b.exited;
      await waitUntil(async () => (await db.query(`select status, host_id from dispatcher_runs where id = $1`, [first.id])).rows[0].status === 'lost', 30_000, "a settled b's run as lost").catch(fail);
      assert.equal((await db.query(`select host_id from dispatcher_runs where id = $1`, [first.id])).rows[0].host_id, 'a');
      const retry = await oneRow<{ id: string; pgid: number }>(`select id, (record->>'pgid')::int as pgid from dispatcher_runs where task_id = $1 and host_id = 'a' and status = 'running' and record ? 'pgid'`, [first.task_id], 30_000, 'the retry running on a');
      doomed(retry.pgid);
      // The gap this closes: nobody watches b's first attempt, which still acts beside a's retry.
      assert.ok(isProcessGroupAlive(first.pgid) && isProcessGroupAlive(childPgid), "b's agent outlived its daemon");
      const seen = beats(first.id, 'beats');
      await waitUntil(() => beats(first.id, 'beats') > seen, 10_000, "b's orphaned agent still beating").catch(fail);
      return { first, childPgid, retry };
    }

    function beats(runId: string, kind: 'beats' | 'child-beats'): number {
      try {
        return statSync(join(traces, `${runId}.${kind}`)).size;
      } catch {
        return 0;
      }
    }
    /** The setsid child's pid: the only process whose environment has the run id and FIXTURE_ROLE=child. */
    function childPid(runId: string): number {
      for (const name of readdirProc()) {
        try {
          const environ = readFileSync(`/proc/${name}/environ`, 'latin1');
          if (environ.includes(`DISPATCHER_RUN_ID=${runId}\0`) && environ.includes('FIXTURE_ROLE=child\0')) return Number(name);
        } catch {
          // gone, or not ours
        }
      }
      throw new Error(`no child of run ${runId}`);
    }
    const release = () => writeFileSync(join(traces, 'release'), '');
    return { db, databaseUrl, board, folder, start, logs, fail, doomed, takeOverFromKilledB, beats, childPid, release, oneRow };
  }

  it('a restart after the takeover stops them (the setsid child too) before anything else, writes nothing about their run, and the task runs once', async () => {
    const { db, board, folder, start, logs, fail, takeOverFromKilledB, beats, release } = await setup();
    const dirs = { a: folder(), b: folder() };
    release(); // a's retry ends at once
    const { first, childPgid } = await takeOverFromKilledB(dirs);
    await waitUntil(() => board.inList('Done') === 1, 60_000, "the card in Done after a's retry").catch(fail);
    const before = (await db.query(`select status, host_id, fence, record from dispatcher_runs where id = $1`, [first.id])).rows[0];
    const commentsBefore = board.fake.store.comments.size;

    const restartedAt = Date.now();
    const b = start('b', dirs.b);
    await waitUntil(() => !isProcessGroupAlive(first.pgid) && !isProcessGroupAlive(childPgid), 30_000, "b's old agent groups stopped").catch(fail);
    const stoppedWithin = Date.now() - restartedAt;
    await waitUntil(() => /dispatcher running/.test(b.output()), 30_000, 'b running').catch(fail);
    const line = new RegExp(`stopped the agent of run ${first.id} \\(task ${first.task_id}\\) \\[pid ${first.pid}\\]: the run was taken over by host "a"; nothing recorded for it here`);
    assert.match(b.output(), line);
    // Before its first tick: the stop is said before the daemon says it runs.
    assert.ok(b.output().search(line) < b.output().indexOf('dispatcher running'), b.output());
    const size = beats(first.id, 'beats');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal(beats(first.id, 'beats'), size, 'no trace of the stopped agent any more');
    console.log(`# b's orphaned agent (two groups) stopped ${stoppedWithin} ms after the daemon was started again (kill_grace 1 s)`);

    // b recorded nothing about the run, and the tracker heard nothing more of it.
    const now = (await db.query(`select status, host_id, fence, record from dispatcher_runs where id = $1`, [first.id])).rows[0];
    assert.deepEqual(now, before);
    await stopHost(b);
    assert.doesNotMatch(b.output(), /could not record|lost its lease|tick failed/);
    assert.equal(board.fake.store.comments.size, commentsBefore);
    const { rows } = await db.query(`select host_id, status from dispatcher_runs where task_id = $1 order by created_at`, [first.task_id]);
    assert.deepEqual(rows, [{ host_id: 'a', status: 'lost' }, { host_id: 'a', status: 'succeeded' }], `one lost run, one retry that succeeded on a:\n${logs()}`);
    const lost = [...board.fake.store.comments.values()].filter((comment) => /host "b" stopped renewing its lease/.test(comment.text));
    assert.equal(lost.length, 1, 'one "lost" comment');
  });

  it('two hosts sharing one state_dir: the restart stops only the agents of runs taken over from it, never the other host\'s, nor an agent the database does not know', async () => {
    const { db, board, folder, start, fail, takeOverFromKilledB, release } = await setup();
    const shared = folder();
    const { first, childPgid, retry } = await takeOverFromKilledB({ a: shared, b: shared });
    // Something else in the same state_dir, with a run id the database does not know.
    const stranger = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      detached: true,
      stdio: 'ignore',
      env: { PATH: process.env.PATH, DISPATCHER_RUN_ID: 'not-a-run-1', DISPATCHER_HOST_ID: 'b', DISPATCHER_BIN: join(realpathSync(shared), '.dispatcher', 'bin', 'dispatcher') },
    });
    cleanups.push(() => void (isProcessGroupAlive(stranger.pid!) && process.kill(-stranger.pid!, 'SIGKILL')));

    const b = start('b', shared);
    await waitUntil(() => !isProcessGroupAlive(first.pgid) && !isProcessGroupAlive(childPgid), 30_000, "b's old agent groups stopped").catch(fail);
    await waitUntil(() => /dispatcher running/.test(b.output()), 30_000, 'b running').catch(fail);
    assert.match(b.output(), /carries run id not-a-run-1, which the cluster's database does not know: left alone/);
    assert.ok(isProcessGroupAlive(retry.pgid), "a's retry, in the same state_dir, still runs");
    assert.ok(isProcessGroupAlive(stranger.pid!), 'the unknown agent still runs');
    assert.doesNotMatch(b.output(), new RegExp(`run ${retry.id}`));

    release();
    await waitUntil(() => board.inList('Done') === 1, 60_000, "the card in Done after a's retry").catch(fail);
    const { rows } = await db.query(`select id, host_id, status from dispatcher_runs where task_id = $1 order by created_at`, [first.task_id]);
    assert.deepEqual(rows, [{ id: first.id, host_id: 'a', status: 'lost' }, { id: retry.id, host_id: 'a', status: 'succeeded' }]);
  });

  it('a live daemon that finds its lease taken (cut off from the database) stops the groups its supervision did not know too: the setsid child', async () => {
    const { db, databaseUrl, board, folder, start, fail, doomed, childPid, release, oneRow } = await setup();
    const target = new URL(databaseUrl);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
    cleanups.push(() => proxy.close());
    const b = start('b', folder(proxy.through));
    const first = await oneRow<{ id: string; pgid: number }>(`select id, (record->>'pgid')::int as pgid from dispatcher_runs where host_id = 'b' and status = 'running' and record ? 'pgid'`, [], 60_000, 'the first attempt running on b');
    doomed(first.pgid);
    let child = 0;
    await waitUntil(() => Boolean((child = (() => { try { return childPid(first.id); } catch { return 0; } })())), 20_000, "the agent's setsid child").catch(fail);
    const childPgid = readProcStat(child)!.pgrp;
    doomed(childPgid);
    release(); // a's retry ends at once
    const a = start('a', folder());
    await waitUntil(() => /joined the cluster/.test(a.output()), 30_000, 'a joined').catch(fail);
    proxy.cut();
    await waitUntil(async () => (await db.query(`select status from dispatcher_runs where id = $1`, [first.id])).rows[0].status === 'lost', 30_000, "a settled b's run as lost").catch(fail);
    await waitUntil(() => board.inList('Done') === 1, 60_000, "the card in Done after a's retry").catch(fail);
    assert.ok(isProcessGroupAlive(first.pgid) && isProcessGroupAlive(childPgid), "b's agent still runs while b is cut off");
    proxy.heal();
    await waitUntil(() => !isProcessGroupAlive(first.pgid) && !isProcessGroupAlive(childPgid), 30_000, "b's agent and its setsid child stopped").catch(fail);
    assert.match(b.output(), /lost its lease/);
    const line = new RegExp(`stopped the agent of run ${first.id} \\(task [^)]+\\) \\[pid ${child}\\]: the run was taken over by host "a"`);
    await waitUntil(() => line.test(b.output()), 10_000, 'b says it stopped the setsid child').catch(fail);
    // The abandoned run's own outcome (killed by SIGTERM) is not b's to record: no write tried, and b stops at once when asked.
    await Promise.race([stopHost(b), new Promise((_, reject) => setTimeout(() => reject(new Error(`b did not stop within 20 s:\n${b.output()}`)), 20_000))]);
    assert.doesNotMatch(b.output(), /could not record|will retry/);
    const { rows } = await db.query(`select host_id, status from dispatcher_runs order by created_at`);
    assert.deepEqual(rows, [{ host_id: 'a', status: 'lost' }, { host_id: 'a', status: 'succeeded' }]);
  });
});

describe('which agents a host stops: judgeAgent', () => {
  const row = (fields: Partial<RunRow>): RunRow => ({ hostId: 'a', status: 'lost', taskId: 't1', hasAgent: false, ...fields });
  const startedBy = (host?: string) => ({ vars: { DISPATCHER_RUN_ID: 'r1', ...(host ? { DISPATCHER_HOST_ID: host } : {}) } as Record<string, string> });

  it('leaves alone the agent of a run the database does not know, and of a run that is still (or ended as) this host\'s own', () => {
    assert.equal(judgeAgent(startedBy('b'), undefined, 'b'), 'unknown');
    assert.equal(judgeAgent(startedBy('b'), row({ hostId: 'b', status: 'running' }), 'b'), 'adopt');
    assert.equal(judgeAgent(startedBy(), row({ hostId: 'b', status: 'starting' }), 'b'), 'adopt');
    assert.equal(judgeAgent(startedBy('b'), row({ hostId: 'b', status: 'succeeded' }), 'b'), 'leave');
    // b took it over from c and started its retry itself: b's own.
    assert.equal(judgeAgent(startedBy('b'), row({ hostId: 'b', status: 'running', takenOverFrom: 'c', hasAgent: true }), 'b'), 'adopt');
  });

  it("stops this host's agent once its run is another host's", () => {
    assert.equal(judgeAgent(startedBy('b'), row({ takenOverFrom: 'b' }), 'b'), 'stop');
    assert.equal(judgeAgent(startedBy('b'), row({ status: 'running', takenOverFrom: 'b' }), 'b'), 'stop');
    // Taken over from b, then from its taker: the record names the last one.
    assert.equal(judgeAgent(startedBy('b'), row({ hostId: 'c', status: 'running', takenOverFrom: 'a' }), 'b'), 'stop');
  });

  it("never stops another host's agent, even of a run taken over from this host (a retry started under the same run id)", () => {
    assert.equal(judgeAgent(startedBy('a'), row({ status: 'running', takenOverFrom: 'b', hasAgent: true }), 'b'), 'leave');
    assert.equal(judgeAgent(startedBy('a'), row({ status: 'lost', takenOverFrom: 'b' }), 'b'), 'leave');
    assert.equal(judgeAgent(startedBy('a'), row({ hostId: 'a', status: 'running' }), 'b'), 'leave');
  });

  it('an agent without its host name (an older build): stopped only when its run was taken over from this host and no agent was picked up there', () => {
    assert.equal(judgeAgent(startedBy(), row({ takenOverFrom: 'b' }), 'b'), 'stop');
    assert.equal(judgeAgent(startedBy(), row({ status: 'running', takenOverFrom: 'b' }), 'b'), 'stop');
    assert.equal(judgeAgent(startedBy(), row({ status: 'running', takenOverFrom: 'b', hasAgent: true }), 'b'), 'leave');
    assert.equal(judgeAgent(startedBy(), row({ status: 'running' }), 'b'), 'leave');
    assert.equal(judgeAgent(startedBy(), row({ takenOverFrom: 'c' }), 'b'), 'leave');
    assert.equal(judgeAgent(startedBy(), row({ hostId: 'b', status: 'succeeded' }), 'b'), 'leave');
  });
});

function readdirProc(): string[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name));
}
