import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildRunState } from '../../src/api/dashboard/run-snapshot.ts';
import { renderStatus } from '../../src/commands/status.ts';
import { buildStatus } from '../../src/core/runs/status.ts';
import { recordStop } from '../../src/core/supervise/stop.ts';
import { tempDir, waitFor } from '../helpers.ts';
import { AGENTS, node, setupBoard, task } from '../router/support.ts';
import { COMMITTER, git, HOOK, makeRepo } from './support.ts';

const queues = (todo: Array<Record<string, unknown>>) => ({ Todo: todo, 'In Progress': [], Done: [], Failed: [] });
const hookCalls = (out: string) => (existsSync(out) ? readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line)) : []);
const hooks = (out: string, overrides: Record<string, unknown> = {}) => ({
  after_create: [node, HOOK, out],
  before_run: [node, HOOK, out],
  after_run: [node, HOOK, out],
  before_remove: [node, HOOK, out],
  ...overrides,
});

describe('runs in workspaces', () => {
  it('starts the agent in its worktree after the hooks, in order, with the task in their environment and no secret', async () => {
    const repo = makeRepo();
    const out = join(tempDir(), 'hooks.jsonl');
    const seen = join(tempDir(), 'agent.json');
    const s = setupBoard(
      queues([task('1', 'Fix $(it)')]),
      {
        workspace: { root: 'ws', git: { repo }, ...hooks(out), remove_when_in: ['Done'] },
        routing: { Todo: { command: node, args: [join(AGENTS, 'echo-args.mjs'), seen], in_progress_queue: 'In Progress', on_success_queue: 'Done' } },
        secret_env: ['MY_SECRET'],
      },
      { PATH: process.env.PATH, MY_SECRET: 'hush', PLANKA_TOKEN: 'planka', HOME: '/tmp' },
    );
    await s.router.tick();
    const [settled] = await s.router.waitForAll();
    assert.equal(settled.status, 'succeeded');
    const workspace = join(s.dir, 'ws', '1');
    const agent = JSON.parse(readFileSync(seen, 'utf8'));
    assert.equal(agent.cwd, join(realpathSync(s.dir), 'ws', '1'));
    assert.equal(agent.env.DISPATCHER_WORKSPACE, workspace);
    assert.equal(agent.env.DISPATCHER_BRANCH, 'agent/1');
    const calls = hookCalls(out);
    assert.deepEqual(calls.map((call) => call.hook), ['after_create', 'before_run', 'after_run', 'before_remove']);
    for (const call of calls) {
      assert.equal(call.cwd, join(realpathSync(s.dir), 'ws', '1'));
      assert.equal(call.env.DISPATCHER_TASK_ID, '1');
      assert.equal(call.env.DISPATCHER_TASK_NAME, 'Fix $(it)');
      assert.equal(call.env.DISPATCHER_WORKSPACE, workspace);
      assert.equal(call.env.DISPATCHER_BRANCH, 'agent/1');
      assert.equal(call.env.DISPATCHER_ATTEMPT, '1');
      assert.equal(call.env.MY_SECRET, undefined);
      assert.equal(call.env.PLANKA_TOKEN, undefined);
      assert.equal(call.env.DISPATCHER_RUN_ID, undefined, 'a hook is never mistaken for the agent of a run');
      assert.equal(call.env.DISPATCHER_TOKEN, undefined);
    }
    assert.equal(calls[2].env.DISPATCHER_OUTCOME, 'succeeded');
    assert.equal(existsSync(workspace), false, 'removed once the task reached Done');
    assert.match(git(repo, 'branch', '--list', 'agent/1'), /agent\/1/, 'the branch stays');
    assert.equal(settled.workspace, workspace);
    assert.equal(settled.branch, 'agent/1');
    const status = buildStatus(await s.ledger.read(), s.config);
    assert.match(renderStatus(status), new RegExp(`in ${workspace} \\(agent/1\\)`));
    const page = buildRunState(await s.ledger.read(), { config: s.config, health: s.router.health(), instance: 'x', startedAt: new Date().toISOString() });
    assert.deepEqual([page.recent[0].workspace, page.recent[0].branch], [workspace, 'agent/1']);
    const comment = (await s.tracker.getTask('1')).comments.at(-1)?.text ?? '';
    assert.ok(comment.includes(`Workspace: \`${workspace}\` (branch \`agent/1\`)`), comment);
    const log = readFileSync(settled.logFile!, 'utf8');
    assert.match(log, /=== .* run [\s\S]*--- after_create hook[\s\S]*--- before_run hook[\s\S]*--- agent: [\s\S]*ok\n[\s\S]*--- after_run hook/);
  });

  it('fails the attempt when before_run fails, with its exit and output in the comment; the retry runs it again', async () => {
    const out = join(tempDir(), 'hooks.jsonl');
    const marker = join(tempDir(), 'fail-once');
    writeFileSync(marker, '');
    const beforeRun = { sh: `"${node}" "${HOOK}" "${out}"; if [ -e "${marker}" ]; then rm "${marker}"; echo "cannot fetch" >&2; exit 7; fi` };
    const s = setupBoard(queues([task('1')]), {
      retry_delay: 0.1,
      workspace: { root: 'ws', ...hooks(out, { before_run: beforeRun, before_remove: undefined }) },
      routing: { Todo: { command: node, args: [join(AGENTS, 'echo-args.mjs'), join(tempDir(), 'seen.json')], in_progress_queue: 'In Progress', on_success_queue: 'Done', max_attempts: 2 } },
    });
    await s.router.tick();
    const [first] = await s.router.waitForAll();
    assert.equal(first.status, 'start_failed');
    const comment = (await s.tracker.getTask('1')).comments.at(-1)!.text;
    assert.match(comment, /could not start: before_run hook failed \(exit 7\)/);
    assert.match(comment, /cannot fetch/);
    assert.match(comment, /Attempt 1 of 2; it will be retried/);
    assert.match(comment, new RegExp(`Workspace: \`${join(s.dir, 'ws', '1')}\``));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await s.router.tick();
    const [second] = await s.router.waitForAll();
    assert.equal(second.status, 'succeeded');
    assert.deepEqual(hookCalls(out).map((call) => [call.hook, call.env.DISPATCHER_ATTEMPT, call.env.DISPATCHER_OUTCOME]), [
      ['after_create', '1', undefined],
      ['before_run', '1', undefined],
      ['after_run', '1', 'start_failed'],
      ['before_run', '2', undefined],
      ['after_run', '2', 'succeeded'],
    ]);
    assert.equal((await s.tracker.getTask('1')).queue, 'Done');
    assert.ok(existsSync(join(s.dir, 'ws', '1')), 'kept: Done is not in remove_when_in');
  });

  it('notes a failed after_run in the run comment, and the run keeps its outcome', async () => {
    const s = setupBoard(queues([task('1')]), {
      workspace: { root: 'ws', after_run: { sh: 'echo tidy failed; exit 2' } },
      routing: { Todo: { command: node, args: [join(AGENTS, 'echo-args.mjs'), join(tempDir(), 'seen.json')], in_progress_queue: 'In Progress', on_success_queue: 'Done' } },
    });
    await s.router.tick();
    const [settled] = await s.router.waitForAll();
    assert.equal(settled.status, 'succeeded');
    const comment = (await s.tracker.getTask('1')).comments.at(-1)!.text;
    assert.match(comment, /✅ Agent finished/);
    assert.match(comment, /after_run hook failed \(exit 2\)/);
  });

  it('claims ten tasks of one repository in one tick: each agent commits on its own branch', async () => {
    const repo = makeRepo(20);
    const todo = Array.from({ length: 10 }, (_, i) => task(`t${i}`));
    const s = setupBoard(queues(todo), {
      max_concurrent_agents: 10,
      workspace: { root: 'ws', git: { repo, branch: 'agent/{task_id}' } },
      routing: { Todo: { command: node, args: [COMMITTER], in_progress_queue: 'In Progress', on_success_queue: 'Done' } },
    });
    const tick = await s.router.tick();
    assert.equal(tick.dispatched.length, 10);
    const settled = await s.router.waitForAll();
    assert.deepEqual(settled.map((run) => run.status), Array(10).fill('succeeded'));
    for (let i = 0; i < 10; i++) {
      const files = git(repo, 'ls-tree', '--name-only', `agent/t${i}`).split('\n');
      assert.ok(files.includes(`t${i}.txt`), `t${i} committed on its branch`);
      assert.equal(files.filter((file) => /^t\d\.txt$/.test(file)).length, 1, 'and nothing of the others');
    }
  });

  it('keeps the workspace across attempts: the retry finds the previous work', async () => {
    const s = setupBoard(queues([task('1')]), {
      retry_delay: 0.1,
      workspace: { root: 'ws' },
      routing: { Todo: { command: '/bin/sh', args: ['-c', 'if [ -e first ]; then exit 0; fi; touch first; exit 1'], in_progress_queue: 'In Progress', max_attempts: 2 } },
    });
    await s.router.tick();
    assert.equal((await s.router.waitForAll())[0].status, 'failed');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await s.router.tick();
    assert.equal((await s.router.waitForAll())[0].status, 'succeeded');
  });

  it('starts the agent in the folder the route cwd names inside the workspace, and refuses one outside', async () => {
    const seen = join(tempDir(), 'seen.json');
    const s = setupBoard(queues([task('1')]), {
      workspace: { root: 'ws' },
      routing: {
        Todo: { command: node, args: [join(AGENTS, 'echo-args.mjs'), seen], cwd: 'pkg/{task_id}', in_progress_queue: 'In Progress', on_failure_queue: 'Failed' },
      },
    });
    await s.router.tick();
    await s.router.waitForAll();
    assert.equal(JSON.parse(readFileSync(seen, 'utf8')).cwd, realpathSync(join(s.dir, 'ws', '1', 'pkg', '1')));
    const outside = setupBoard(queues([task('1')]), {
      workspace: { root: 'ws' },
      routing: { Todo: { command: node, args: [join(AGENTS, 'echo-args.mjs'), seen], cwd: '../..', in_progress_queue: 'In Progress', on_failure_queue: 'Failed' } },
    });
    await outside.router.tick();
    const [refused] = await outside.router.waitForAll();
    assert.equal(refused.status, 'start_failed');
    assert.match(refused.outcome!, /outside the task's workspace/);
  });

  it('stops a run while its before_run hook runs: the hook is stopped and no agent starts', async () => {
    const out = join(tempDir(), 'hooks.jsonl');
    const seen = join(tempDir(), 'seen.json');
    const s = setupBoard(queues([task('1')]), {
      workspace: { root: 'ws', before_run: [node, HOOK, out, '0', '30000'], after_run: [node, HOOK, out] },
      routing: { Todo: { command: node, args: [join(AGENTS, 'echo-args.mjs'), seen], in_progress_queue: 'In Progress' } },
    });
    await s.router.tick();
    await waitFor(() => existsSync(out), 10_000, 'before_run to start');
    const started = Date.now();
    await s.router.stopAll('operator stop');
    assert.ok(Date.now() - started < 10_000, 'the hook did not run its 30 s');
    const [run] = (await s.ledger.read()).runs;
    assert.equal(run.status, 'stopped');
    assert.equal(existsSync(seen), false, 'the agent never started');
    assert.deepEqual(hookCalls(out).map((call) => [call.hook, call.env.DISPATCHER_OUTCOME]), [['before_run', undefined], ['after_run', 'stopped']]);
  });

  it('does not start the agent when a stop was recorded from elsewhere while the workspace was made', async () => {
    const out = join(tempDir(), 'hooks.jsonl');
    const seen = join(tempDir(), 'seen.json');
    const s = setupBoard(queues([task('1')]), {
      workspace: { root: 'ws', after_create: [node, HOOK, out, '0', '1500'] },
      routing: { Todo: { command: node, args: [join(AGENTS, 'echo-args.mjs'), seen], in_progress_queue: 'In Progress' } },
    });
    await s.router.tick();
    await waitFor(() => existsSync(out), 10_000, 'after_create to start');
    const [reserved] = (await s.ledger.read()).runs;
    await recordStop(s.ledger, reserved.id, { outcome: 'cancelled', reason: 'stopped from the dashboard' });
    const [settled] = await s.router.waitForAll();
    assert.equal(settled.status, 'cancelled');
    assert.equal(existsSync(seen), false, 'the agent never started');
  });
});
