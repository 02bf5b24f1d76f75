import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir, writeFile } from '../helpers.ts';
import { connect, freshDatabase } from '../support/postgres.ts';
import { startHost, stopHost, waitUntil } from '../support/cluster-hosts.ts';

/** The commands with [coordination] on a JSON board (the built CLI: `npm run build` first). */
describe('the CLI with [coordination]', { concurrency: false }, () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  async function folder(tasks: number) {
    const url = await freshDatabase();
    const dir = tempDir();
    const todo = Array.from({ length: tasks }, (_, index) => ({ id: `t${index}`, name: `task ${index}`, description: '', labels: [], assignees: [], comments: [], tasks: [] }));
    writeFile(dir, 'board.json', JSON.stringify({ queues: { Todo: todo, Doing: [], Done: [] } }));
    writeFile(dir, '.env', `DISPATCHER_DATABASE_URL=${url}\n`);
    writeFile(dir, 'dispatcher.toml', `poll_interval = 0.3\napi_port = 0\n[backend]\ntype = "json"\nurl = "board.json"\n[coordination]\nlease_ttl = 2\n[routing.Todo]\ncommand = "true"\nin_progress_queue = "Doing"\non_success_queue = "Done"\n`);
    return { dir, db: await connect(url) };
  }
  const board = (dir: string) => JSON.parse(readFileSync(join(dir, 'board.json'), 'utf8')) as { queues: Record<string, unknown[]> };

  it('poll-once dispatches through the database and gives the lease up; --detach is refused; status shows the cluster', async () => {
    const { dir, db } = await folder(2);
    const once = await runCli(['poll-once', '--log-format', 'plain'], { cwd: dir, env: { DISPATCHER_HOST_ID: 'h1' }, timeoutMs: 60_000 });
    assert.equal(once.code, 0, once.stdout + once.stderr);
    assert.equal(board(dir).queues.Done.length, 2);
    const { rows } = await db.query(`select host_id, status from dispatcher_runs order by task_id`);
    assert.deepEqual(rows, [
      { host_id: 'h1', status: 'succeeded' },
      { host_id: 'h1', status: 'succeeded' },
    ]);
    const lease = await db.query(`select lease_until <= now() as released from dispatcher_hosts where host_id = 'h1'`);
    assert.equal(lease.rows[0].released, true, 'nothing left running: the lease was given up');

    const detached = await runCli(['poll-once', '--detach', '--log-format', 'plain'], { cwd: dir, env: { DISPATCHER_HOST_ID: 'h1' } });
    assert.equal(detached.code, 2);
    assert.match(detached.stderr, /poll-once --detach cannot be used with \[coordination\]/);

    const status = await runCli(['status', '--json'], { cwd: dir, env: { DISPATCHER_HOST_ID: 'h1' } });
    assert.equal(status.code, 0, status.stderr);
    const json = JSON.parse(status.stdout);
    assert.equal(json.recent.length, 2, "this host's history, from the database");
    assert.deepEqual(json.cluster.hosts.map((host: { hostId: string; alive: boolean; stopped?: boolean }) => [host.hostId, host.alive, host.stopped]), [['h1', false, true]]);
    const text = await runCli(['status'], { cwd: dir, env: { DISPATCHER_HOST_ID: 'h1' } });
    assert.match(text.stdout, /^cluster: 1 host\(s\), 0 running, 0 free$/m);
    assert.match(text.stdout, /^ {2}h1 \(this host\)\tstopped \(lease given up; last heartbeat \d+s ago\)/m, 'a clean stop is no crash');

    // A host that died (its lease ran out, never given up) is shown so; one not seen for a day is left out.
    await db.query(`insert into dispatcher_hosts (host_id, instance, lease_until, heartbeat_at) values ('dead', 'x', now() - interval '1 minute', now() - interval '2 minutes'), ('retired', 'y', now() - interval '2 days', now() - interval '2 days')`);
    const later = await runCli(['status'], { cwd: dir, env: { DISPATCHER_HOST_ID: 'h1' } });
    assert.match(later.stdout, /^ {2}dead\tlease ran out, no heartbeat for 1\d\ds/m);
    assert.doesNotMatch(later.stdout, /retired/);
    await db.query(`delete from dispatcher_hosts where host_id in ('dead', 'retired')`);
  });

  it('a second live process with the same host_id is refused (exit 2); another host_id joins', async () => {
    const { dir } = await folder(0);
    const daemon = startHost('h1', dir);
    cleanups.push(() => stopHost(daemon));
    await waitUntil(() => /joined the cluster as host "h1"/.test(daemon.output()), 30_000, 'the daemon joined');
    const twin = await runCli(['poll-once', '--log-format', 'plain'], { cwd: dir, env: { DISPATCHER_HOST_ID: 'h1' } });
    assert.equal(twin.code, 2, twin.stdout + twin.stderr);
    assert.match(twin.stderr, /another dispatcher holds the host name "h1" and its lease is alive/);
    const other = await runCli(['poll-once', '--log-format', 'plain'], { cwd: dir, env: { DISPATCHER_HOST_ID: 'h2' } });
    assert.equal(other.code, 0, other.stdout + other.stderr);
    const status = await runCli(['status', '--json'], { cwd: dir, env: { DISPATCHER_HOST_ID: 'h2' } });
    const hosts = JSON.parse(status.stdout).cluster.hosts as Array<{ hostId: string; alive: boolean; slots?: number }>;
    assert.deepEqual(hosts.map((host) => [host.hostId, host.alive]), [['h1', true], ['h2', false]]);
    assert.equal(hosts[0].slots, 3, "the daemon's max_concurrent_agents");
    await stopHost(daemon);
    assert.match(daemon.output(), /left the cluster \(lease given up\); \d+ database round trips/);
    const after = JSON.parse((await runCli(['status', '--json'], { cwd: dir, env: { DISPATCHER_HOST_ID: 'h2' } })).stdout).cluster.hosts as typeof hosts;
    assert.deepEqual(after.map((host) => [host.hostId, host.alive, (host as { stopped?: boolean }).stopped]), [['h1', false, true], ['h2', false, true]], 'both stopped cleanly');

    const again = startHost('h1', dir);
    cleanups.push(() => stopHost(again));
    await waitUntil(() => /joined the cluster as host "h1"/.test(again.output()), 30_000, 'h1 joined again');
    const back = JSON.parse((await runCli(['status', '--json'], { cwd: dir, env: { DISPATCHER_HOST_ID: 'h2' } })).stdout).cluster.hosts as typeof hosts;
    assert.deepEqual(back.map((host) => [host.hostId, host.alive, (host as { stopped?: boolean }).stopped]), [['h1', true, undefined], ['h2', false, true]], 'a restart is alive again');
    await stopHost(again);
  });
});
