import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { TrackerAdapter } from '../../adapters/types.ts';
import { createRouter } from '../../src/core/dispatch/router.ts';
import { isProcessGroupAlive } from '../../src/core/process/spawner.ts';
import { createLogger, silentLogger } from '../../src/log.ts';
import { waitFor } from '../helpers.ts';
import { AGENTS, node, setupBoard, task } from './support.ts';

/** Alive and not a zombie (this sandbox's init may not reap orphans). */
function runningPid(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

const queues = (todo: Array<Record<string, unknown>>) => ({ Todo: todo, 'In Progress': [], Done: [], Failed: [] });

describe('router', () => {
  it('claims a ready task, starts its agent with the templated argv, and moves it on success', async () => {
    const out = join(process.env.TMPDIR ?? '/tmp', `echo-${process.pid}-${Date.now()}.json`);
    const s = setupBoard(queues([task('1', 'Fix it')]), {
      routing: { Todo: { command: node, args: [join(AGENTS, 'echo-args.mjs'), out, '{task_id}', '{task_name}', '{task_url}', '{queue}'], in_progress_queue: 'In Progress', on_success_queue: 'Done' } },
    });
    const tick = await s.router.tick();
    assert.equal(tick.dispatched.length, 1);
    const claimed = await s.tracker.getTask('1');
    assert.equal(claimed.queue, 'In Progress');
    assert.deepEqual(claimed.assignees, ['dispatcher']);
    const [settled] = await s.router.waitForAll();
    assert.equal(settled.status, 'succeeded');
    const seen = JSON.parse(readFileSync(out, 'utf8'));
    assert.deepEqual(seen.argv.slice(0, 2), ['1', 'Fix it']);
    assert.match(seen.argv[2], /^file:.*board\.json#1$/);
    assert.equal(seen.argv[3], 'Todo');
    assert.equal(seen.env.DISPATCHER_TASK_ID, '1');
    assert.equal(seen.env.DISPATCHER_TASK_NAME, 'Fix it');
    assert.equal(seen.env.DISPATCHER_QUEUE, 'Todo');
    assert.ok(seen.env.DISPATCHER_RUN_ID);
    assert.equal((await s.tracker.getTask('1')).queue, 'Done');
    assert.equal((await s.router.tick()).dispatched.length, 0, 'nothing is dispatched twice');
  });

  it('passes shell metacharacters literally and keeps tracker secrets out of the environment', async () => {
    const dir = setupBoard(queues([]), {}).dir;
    const out = join(dir, 'seen.json');
    const hostile = `$(touch ${join(dir, 'pwned')}); "quoted" 'x' \` ; rm -rf /`;
    const s = setupBoard(queues([task('1', hostile)]), { routing: { Todo: { command: node, args: [join(AGENTS, 'echo-args.mjs'), out, '{task_name}'], in_progress_queue: 'In Progress', env: { EXTRA: 'id={task_id}' } } }, secret_env: ['MY_SECRET'], backend: { type: 'json', url: 'board.json', token_env: 'TEAM_TOKEN' } },
      { PATH: process.env.PATH, PLANKA_TOKEN: 'planka-secret', PLANKA_PASSWORD: 'pw', GITEA_TOKEN: 'gitea-secret', MY_SECRET: 'mine', TEAM_TOKEN: 'team', HOME: '/tmp' });
    await s.router.tick();
    await s.router.waitForAll();
    const seen = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(seen.argv[0], hostile);
    assert.equal(existsSync(join(dir, 'pwned')), false);
    for (const name of ['PLANKA_TOKEN', 'PLANKA_PASSWORD', 'GITEA_TOKEN', 'MY_SECRET', 'TEAM_TOKEN']) assert.equal(seen.env[name], undefined, name);
    assert.equal(seen.env.EXTRA, 'id=1');
    assert.equal(seen.env.HOME, '/tmp');
  });

  it('never runs more agents than max_concurrent_agents, nor more than a route allows', async () => {
    const s0 = setupBoard(queues([]), {});
    const probe = join(s0.dir, 'probe.log');
    const todo = Array.from({ length: 6 }, (_, i) => task(String(i + 1)));
    const s = setupBoard({ Todo: todo, Slow: [task('20'), task('21'), task('22')], 'In Progress': [] }, {
      max_concurrent_agents: 3,
      routing: {
        Todo: { command: node, args: [join(AGENTS, 'probe.mjs'), probe, '400'], in_progress_queue: 'In Progress' },
        Slow: { command: node, args: [join(AGENTS, 'probe.mjs'), probe, '400'], in_progress_queue: 'In Progress', max_concurrent: 1 },
      },
    });
    for (let i = 0; i < 80; i++) {
      await s.router.tick();
      const runs = (await s.ledger.read()).runs;
      if (runs.length === 9 && runs.every((run) => run.status === 'succeeded')) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await s.router.waitForAll();
    const events = readFileSync(probe, 'utf8').trim().split('\n').map((line) => line.split(' '));
    assert.equal(events.filter(([kind]) => kind === 'start').length, 9);
    let running = 0;
    let peak = 0;
    for (const [kind] of events.sort((a, b) => Number(a[2]) - Number(b[2]) || (a[0] === 'end' ? -1 : 1))) {
      running += kind === 'start' ? 1 : -1;
      peak = Math.max(peak, running);
    }
    assert.ok(peak <= 3, `peak concurrency ${peak}`);
    const runs = (await s.ledger.read()).runs;
    assert.ok(runs.every((run) => run.status === 'succeeded'));
  });

  it('times out an agent that ignores TERM: KILL within kill_grace + 1 s, whole group gone, comment posted', async () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', format: 'plain', stream: new Writable({ write: (chunk, _encoding, done) => (lines.push(String(chunk)), done()) }) });
    // The timeout leaves node time to start and install its TERM handler even on a loaded machine;
    // the KILL is timed from the deadline, not from the start of the test.
    const s = setupBoard(queues([task('1')]), { kill_grace: 1, routing: { Todo: { command: node, args: [join(AGENTS, 'term-ignorer.mjs')], in_progress_queue: 'In Progress', timeout: 2, on_failure_queue: 'Failed' } } }, process.env, { log });
    const [run] = (await s.router.tick()).dispatched;
    const [settled] = await s.router.waitForAll();
    assert.equal(settled.status, 'timed_out');
    const afterDeadline = Date.parse(settled.endedAt!) - settled.deadline!;
    assert.ok(afterDeadline >= 900, `ended ${afterDeadline} ms after the deadline: before kill_grace was over`);
    assert.ok(afterDeadline < 1000 + 1000 + 1000, `ended ${afterDeadline} ms after the deadline`);
    assert.equal(isProcessGroupAlive(run.pgid!), false);
    const after = await s.tracker.getTask('1');
    assert.equal(after.queue, 'Failed');
    assert.match(after.comments.at(-1)!.text, /timed out/i);
    assert.match(after.comments.at(-1)!.text, /ignoring TERM/);
    const logged = lines.find((line) => line.includes('task 1 timed out'));
    assert.match(logged ?? '', /task 1 timed out after 2s \[run /, 'the time is said once');
  });

  it('kills grandchildren with the group', async () => {
    const s0 = setupBoard(queues([]), {});
    const pids = join(s0.dir, 'pids');
    const s = setupBoard(queues([task('1')]), { kill_grace: 0.5, routing: { Todo: { command: node, args: [join(AGENTS, 'grandchild-spawner.mjs'), pids], in_progress_queue: 'In Progress', timeout: 4 } } });
    const [run] = (await s.router.tick()).dispatched;
    await s.router.waitForAll();
    assert.equal(isProcessGroupAlive(run.pgid!), false);
    for (const pid of readFileSync(pids, 'utf8').split(/\s+/).filter(Boolean).map(Number)) {
      assert.ok(!runningPid(pid), `pid ${pid} survived`);
    }
  });

  it('retries a failing agent after a backoff, comments each failure, then moves it to on_failure_queue', async () => {
    const s = setupBoard(queues([task('1')]), { retry_delay: 0.1, routing: { Todo: { command: node, args: [join(AGENTS, 'failer.mjs'), '3'], in_progress_queue: 'In Progress', max_attempts: 2, on_failure_queue: 'Failed' } } });
    await s.router.tick();
    await s.router.waitForAll();
    assert.equal((await s.tracker.getTask('1')).queue, 'In Progress', 'stays claimed while attempts remain');
    await new Promise((resolve) => setTimeout(resolve, 250));
    const retry = await s.router.tick();
    assert.equal(retry.dispatched.length, 1);
    assert.equal(retry.dispatched[0].attempt, 2);
    await s.router.waitForAll();
    const after = await s.tracker.getTask('1');
    assert.equal(after.queue, 'Failed');
    assert.equal(after.comments.length, 2);
    assert.match(after.comments[0].text, /exit 3/);
    assert.match(after.comments[0].text, /failing with exit code 3/);
    const runs = (await s.ledger.read()).runs;
    assert.deepEqual(runs.map((run) => [run.attempt, run.status]), [[1, 'failed'], [2, 'failed']]);
  });

  it('reports a command that cannot start', async () => {
    const s = setupBoard(queues([task('1')]), { routing: { Todo: { command: 'no-such-agent-xyz', in_progress_queue: 'In Progress', on_failure_queue: 'Failed' } } });
    await s.router.tick();
    const [settled] = await s.router.waitForAll();
    assert.equal(settled.status, 'start_failed');
    const after = await s.tracker.getTask('1');
    assert.equal(after.queue, 'Failed');
    assert.match(after.comments.at(-1)!.text, /no-such-agent-xyz/);
  });

  it('orders by priority (the adapter\'s, a label or a title prefix), then age, then id', async () => {
    const s0 = setupBoard(queues([]), {});
    const out = join(s0.dir, 'order.log');
    const s = setupBoard(queues([
      task('3', 'c', { created_at: '2026-01-03T00:00:00Z' }),
      task('10', 'b', { created_at: '2026-01-01T00:00:00Z' }),
      task('2', 'a', { created_at: '2026-01-01T00:00:00Z' }),
      task('4', 'urgent', { created_at: '2026-01-09T00:00:00Z', priority: 0 }),
      task('5', 'HIGH: by title', { created_at: '2026-01-09T00:00:00Z' }),
      task('6', 'by label', { created_at: '2026-01-08T00:00:00Z', labels: ['P1'] }),
      task('7', 'low', { created_at: '2025-01-01T00:00:00Z', labels: ['low'] }),
    ]), { max_concurrent_agents: 1, routing: { Todo: { command: node, args: [join(AGENTS, 'probe.mjs'), out, '0'], in_progress_queue: 'In Progress' } } });
    const order: string[] = [];
    for (let i = 0; i < 7; i++) {
      const tick = await s.router.tick();
      order.push(...tick.dispatched.map((run) => run.taskId));
      await s.router.waitForAll();
    }
    assert.deepEqual(order, ['4', '6', '5', '2', '10', '3', '7']);
    const runs = (await s.ledger.read()).runs;
    assert.equal(runs.find((run) => run.taskId === '6')?.priority, 'HIGH');
  });

  it('starts each agent once its own claim is in: a slow claim holds up no other', async () => {
    const s = setupBoard(queues([task('1'), task('2'), task('3')]), { routing: { Todo: { command: 'true', in_progress_queue: 'In Progress' } } });
    let releaseSlow!: () => void;
    const slow = new Promise<void>((resolve) => (releaseSlow = resolve));
    const tracker: TrackerAdapter = {
      ...s.tracker,
      async claimTask(id, ...rest) {
        if (id === '3') await slow;
        return s.tracker.claimTask!(id, ...rest);
      },
    };
    const router = createRouter({ config: s.config, tracker, ledger: s.ledger, log: silentLogger });
    const started: string[] = [];
    router.onEvent((event) => void (event.type === 'dispatch' && started.push(event.run.taskId)));
    const ticking = router.tick();
    await waitFor(() => started.length === 2, 5_000, 'tasks 1 and 2 started while task 3 is still being claimed');
    assert.deepEqual(started, ['1', '2']);
    releaseSlow();
    assert.equal((await ticking).dispatched.length, 3);
    assert.deepEqual(started, ['1', '2', '3']);
    await router.waitForAll();
  });

  it('keeps running when the tracker fails, backs off, and dispatches again once it is back', async () => {
    const s = setupBoard(queues([task('1')]), { poll_interval: 0.05, routing: { Todo: { command: 'true', in_progress_queue: 'In Progress' } } });
    const good = readFileSync(s.boardPath, 'utf8');
    writeFileSync(s.boardPath, '{ not json');
    const failed = await s.router.tick();
    assert.match(failed.error ?? '', /not valid JSON/);
    assert.equal(s.router.health().consecutiveFailures, 1);
    const backedOff = await s.router.tick();
    assert.equal(backedOff.ready, undefined, 'the next tick within the backoff does not poll');
    writeFileSync(s.boardPath, good);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const recovered = await s.router.tick();
    assert.equal(recovered.dispatched.length, 1);
    assert.equal(s.router.health().consecutiveFailures, 0);
    await s.router.waitForAll();
  });

  it('a Claude run whose tool calls were denied needs attention: not moved to on_success_queue, and says why', async () => {
    const route = (extra: Record<string, unknown> = {}) => ({ command: node, args: [join(AGENTS, 'claude-recording.mjs'), 'claude-2.1.197-permission-denied.jsonl'], agent: 'claude', in_progress_queue: 'In Progress', on_success_queue: 'Done', ...extra });
    const s = setupBoard(queues([task('1')]), { routing: { Todo: route() } });
    await s.router.tick();
    const [settled] = await s.router.waitForAll();
    assert.equal(settled.status, 'needs_attention');
    assert.deepEqual(settled.deniedTools, ['Bash']);
    assert.equal(settled.outcome, 'needs attention: denied Bash');
    const held = await s.tracker.getTask('1');
    assert.equal(held.queue, 'In Progress', 'left for a human, not moved to Done');
    assert.match(held.comments.at(-1)!.text, /^⚠️ Agent finished \(exit 0\) in \S+, but needs attention: 1 tool call was denied\n/);
    assert.equal((await s.router.tick()).dispatched.length, 0, 'not retried either');

    const accepting = setupBoard(queues([task('2')]), { routing: { Todo: route({ on_permission_denial: 'succeed' }) } });
    await accepting.router.tick();
    assert.equal((await accepting.router.waitForAll())[0].status, 'succeeded');
    const done = await accepting.tracker.getTask('2');
    assert.equal(done.queue, 'Done', 'the route says denials are fine');
    assert.match(done.comments.at(-1)!.text, /^✅[^]*\*\*Denied tool calls\*\*\n- Bash: /, 'still listed');
  });

  it('leaves a task where the agent moved it', async () => {
    const s0 = setupBoard(queues([]), {});
    const script = join(s0.dir, 'mover.mjs');
    writeFileSync(script, `import { readFileSync, writeFileSync } from 'node:fs';
const [board, id] = process.argv.slice(2);
const data = JSON.parse(readFileSync(board, 'utf8'));
const from = data.queues['In Progress'];
const index = from.findIndex((t) => t.id === id);
data.queues.Review = [from.splice(index, 1)[0]];
writeFileSync(board, JSON.stringify(data));`);
    const s = setupBoard(queues([task('1')]), { routing: { Todo: { command: node, args: [script, '{task_id}'], in_progress_queue: 'In Progress', on_success_queue: 'Done' } } });
    s.config.routes[0].args.unshift();
    s.config.routes[0].args.splice(1, 0, s.boardPath);
    await s.router.tick();
    await s.router.waitForAll();
    assert.equal((await s.tracker.getTask('1')).queue, 'Review');
  });
});
