import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TrackerAdapter } from '../../adapters/types.ts';
import { createRouter } from '../../src/core/dispatch/router.ts';
import { AdapterError } from '../../src/errors.ts';
import { createLogger } from '../../src/log.ts';
import { ensureWorkspace, locateWorkspace } from '../../src/core/workspaces/workspace.ts';
import { tempDir, waitFor } from '../helpers.ts';
import { AGENTS, node, setupBoard, task } from '../router/support.ts';
import { git, HOOK, makeRepo, moveOnBoard } from './support.ts';

type Queues = Record<string, Array<Record<string, unknown>>>;
const hookCalls = (out: string) => (existsSync(out) ? readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line)) : []);

/**
 * A JSON board and a router whose tracker calls are counted (name and arguments), and whose log
 * lines are kept. `failNextLook` makes the next getTask or getReadyTasks outside a poll fail.
 */
function sweepBoard(queues: Queues, raw: Record<string, unknown>) {
  const s = setupBoard({ Todo: [], 'In Progress': [], Review: [], Done: [], ...queues }, { poll_interval: 0.2, ...raw });
  const lines: string[] = [];
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
  const calls: string[] = [];
  let failNext = false;
  const tracker = new Proxy(s.tracker, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(`${String(name)}(${args.map((arg) => JSON.stringify(arg)).join(', ')})`);
        if (failNext && name === 'getTask') {
          failNext = false;
          return Promise.reject(new AdapterError('unavailable', 'the tracker is down for maintenance'));
        }
        return value.apply(target, args);
      };
    },
  }) as TrackerAdapter;
  const log = createLogger({ format: 'plain', level: 'info', stream });
  const newRouter = () => createRouter({ config: s.config, tracker, ledger: s.ledger, log, baseEnv: process.env });
  const settings = () => s.config.routes[0].workspace!;
  return {
    ...s,
    router: newRouter(),
    /** Another dispatcher process on the same board (a sweep of its own). */
    newRouter,
    lines,
    calls,
    failNextLook: () => (failNext = true),
    move: (id: string, to: string) => moveOnBoard(s.boardPath, id, to),
    /** Makes a task's workspace as a run would have. */
    async makeWorkspace(id: string): Promise<string> {
      const t = { id, name: `task ${id}`, url: '', route: 'Todo' };
      const location = locateWorkspace(settings(), t);
      await ensureWorkspace(settings(), location, t, { baseEnv: process.env, secretEnv: [], logFile: join(s.dir, 'make.log'), killGraceMs: 500, vars: {} });
      return location.path;
    },
    /** Lets the poll interval pass, so that the next tick may sweep. */
    nextInterval: () => sleep(s.config.pollIntervalMs + 100),
  };
}

describe('workspace cleanup by the router (run, poll-once)', () => {
  it('removes the worktree of a task moved to Done by hand while no run is going on, at the next poll; the branch stays', async () => {
    const repo = makeRepo();
    const out = join(tempDir(), 'hooks.jsonl');
    const s = sweepBoard(
      { Todo: [task('1')] },
      {
        workspace: { root: 'ws', git: { repo }, before_remove: [node, HOOK, out], remove_when_in: ['Done'] },
        routing: { Todo: { command: node, args: [join(AGENTS, 'echo-args.mjs'), join(tempDir(), 'seen.json')], in_progress_queue: 'In Progress', on_success_queue: 'Review' } },
      },
    );
    await s.router.tick();
    assert.equal((await s.router.waitForAll())[0].status, 'succeeded');
    const workspace = join(s.dir, 'ws', '1');
    assert.ok(existsSync(workspace), 'kept while the task is in Review');

    await s.nextInterval();
    await s.router.tick();
    assert.ok(existsSync(workspace), 'still kept: the task is in Review');

    s.move('1', 'Done');
    await s.nextInterval();
    s.calls.length = 0;
    await s.router.tick();
    assert.equal(existsSync(workspace), false, 'removed once the task was seen in Done');
    assert.doesNotMatch(git(repo, 'worktree', 'list'), /ws\/1/);
    assert.match(git(repo, 'branch', '--list', 'agent/1'), /agent\/1/, 'the branch stays');
    assert.deepEqual(
      hookCalls(out).map((call) => [call.hook, call.env.DISPATCHER_TASK_ID]),
      [['before_remove', '1']],
    );
    assert.equal(s.lines.filter((line) => /removed/.test(line)).length, 1, s.lines.join('\n'));
    assert.ok(s.lines.some((line) => line.includes(`workspace ${workspace} of task 1 removed (branch agent/1 kept): its task is in "Done"`)), s.lines.join('\n'));
    // The poll, and one look at the one task the poll did not see.
    assert.deepEqual(s.calls, ['getReadyTasks(["Todo"])', 'getTask("1")']);
  });

  it('keeps the workspace of a task whose run is going on or waiting to retry, and removes an idle one in the same sweep', async () => {
    const s = sweepBoard(
      { Todo: [task('1')], Review: [task('2'), task('3')] },
      {
        workspace: { root: 'ws', remove_when_in: ['Done'] },
        routing: { Todo: { command: node, args: [join(AGENTS, 'sleeper.mjs'), '30'], in_progress_queue: 'In Progress', stop_when_moved: false } },
      },
    );
    await s.router.tick();
    const running = await waitFor(async () => (await s.ledger.read()).runs.find((run) => run.taskId === '1' && run.status === 'running' && run.pid), 10_000, 'the agent of task 1');
    try {
      const waiting = await s.makeWorkspace('2');
      const idle = await s.makeWorkspace('3');
      await s.ledger.update((data) => {
        data.runs.push({ id: 'r2', taskId: '2', taskName: 'task 2', taskUrl: '', route: 'Todo', agent: 'command', attempt: 1, maxAttempts: 2, status: 'retry_wait', createdAt: new Date().toISOString(), nextAttemptAt: Date.now() + 60_000 });
      });
      for (const id of ['1', '2', '3']) s.move(id, 'Done');
      await s.nextInterval();
      s.calls.length = 0;
      await s.router.tick();
      assert.equal(existsSync(idle), false, 'the idle one went');
      assert.ok(existsSync(running.workspace!), 'kept: its agent is running');
      assert.ok(existsSync(waiting), 'kept: a retry is pending');
      assert.deepEqual(s.calls.filter((call) => !call.startsWith('getReadyTasks(["Todo"')), ['getTask("3")'], 'no look at the tasks of busy workspaces');
    } finally {
      await s.router.stopAll('test over');
    }
  });

  it('asks the tracker nothing more when there are no workspaces, once per sweep for many, and sweeps at most once per poll interval', async () => {
    const s = sweepBoard({ Review: [task('1'), task('2')], Done: [task('3')] }, {
      poll_interval: 5,
      workspace: { root: 'ws', remove_when_in: ['Done'] },
      routing: { Todo: { command: node, args: ['-e', ''], in_progress_queue: 'In Progress' } },
    });
    await s.router.tick();
    assert.deepEqual(s.calls, ['getReadyTasks(["Todo"])'], 'no workspace: the poll only');

    const kept = await s.makeWorkspace('1');
    const done = await s.makeWorkspace('3');
    const again = s.newRouter(); // this one has swept just now: a new process sweeps at its first poll
    s.calls.length = 0;
    await again.tick();
    assert.deepEqual(s.calls, ['getReadyTasks(["Todo"])', 'getReadyTasks(["Done"])'], 'two tasks unseen by the poll: one look at the Done queue');
    assert.equal(existsSync(done), false);
    assert.ok(existsSync(kept), 'its task is in Review');
    s.calls.length = 0;
    await again.tick();
    assert.deepEqual(s.calls, ['getReadyTasks(["Todo"])'], 'within the poll interval: no sweep');
  });

  it('logs a tracker failure and a failed before_remove; the next sweep tries again; before_remove failing does not stop the removal', async () => {
    const s = sweepBoard({ Done: [task('1')] }, {
      workspace: { root: 'ws', remove_when_in: ['Done'], before_remove: { sh: 'echo cannot archive; exit 3' } },
      routing: { Todo: { command: node, args: ['-e', ''], in_progress_queue: 'In Progress' } },
    });
    const workspace = await s.makeWorkspace('1');
    s.failNextLook();
    const tick = await s.router.tick();
    assert.equal(tick.error, undefined, 'the tick itself went well');
    assert.ok(existsSync(workspace), 'kept: where the task is could not be seen');
    assert.ok(s.lines.some((line) => /WARN.*workspace cleanup: could not see where task 1 is: the tracker is down for maintenance; tried again at the next sweep/.test(line)), s.lines.join('\n'));
    await s.nextInterval();
    await s.router.tick();
    assert.equal(existsSync(workspace), false, 'removed at the next sweep');
    assert.ok(s.lines.some((line) => /WARN.*workspace .* of task 1 removed: its task is in "Done"; before_remove hook failed \(exit 3\) \(removed all the same\)/.test(line)), s.lines.join('\n'));
    assert.match(readFileSync(join(s.config.stateDir, 'workspaces.log'), 'utf8'), /cannot archive/);
  });

  it('finishes a removal a crash cut short: the folder gone, its record and worktree registration left', async () => {
    const repo = makeRepo();
    const s = sweepBoard({ Review: [task('1')] }, {
      workspace: { root: 'ws', git: { repo }, remove_when_in: ['Done'] },
      routing: { Todo: { command: node, args: ['-e', ''], in_progress_queue: 'In Progress' } },
    });
    const workspace = await s.makeWorkspace('1');
    rmSync(workspace, { recursive: true, force: true }); // as a kill -9 after the folder went, before the record did
    assert.match(git(repo, 'worktree', 'list'), /ws\/1/);
    s.move('1', 'Done');
    await s.router.tick();
    assert.deepEqual(readdirSync(join(s.dir, 'ws', '.dispatcher')).filter((name) => name.endsWith('.json')), [], 'the record went too');
    assert.doesNotMatch(git(repo, 'worktree', 'list'), /ws\/1/);
    assert.ok(s.lines.some((line) => line.includes(`workspace ${workspace} of task 1 removed (branch agent/1 kept)`)), s.lines.join('\n'));
  });
});
