import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostLoad } from '../../src/core/supervise/host-pressure.ts';
import { localDay } from '../../src/core/supervise/budget.ts';
import { waitFor } from '../helpers.ts';
import { AGENTS, node, setupBoard, task } from '../router/support.ts';

const queues = (todo: Array<Record<string, unknown>>) => ({ Todo: todo, 'In Progress': [], Done: [], Failed: [] });
const route = (script: string, args: string[], extra: Record<string, unknown> = {}) => ({ command: node, args: [join(AGENTS, script), ...args], in_progress_queue: 'In Progress', on_success_queue: 'Done', on_failure_queue: 'Failed', ...extra });

describe('stall_timeout', () => {
  it('stops an agent whose log has not grown for that long (outcome stalled) and retries it; one that prints is left alone', async () => {
    const s = setupBoard({ ...queues([task('1')]), Chatty: [task('2')] }, {
      retry_delay: 0.1,
      stall_timeout: 2,
      routing: { Todo: route('silent.mjs', ['60'], { max_attempts: 2 }), Chatty: route('sleeper.mjs', ['3']) },
    });
    const started = Date.now();
    await s.router.tick();
    await waitFor(async () => (await s.ledger.read()).runs.find((run) => run.taskId === '1' && run.status === 'stalled'), 10_000, 'the first attempt stalled');
    const stalledAfter = Date.now() - started;
    assert.ok(stalledAfter >= 2_000 && stalledAfter < 2_000 + 1_000 + 1_000 + 2_000, `stalled after ${stalledAfter} ms`);
    await waitFor(async () => {
      await s.router.tick();
      return (await s.ledger.read()).runs.filter((run) => run.taskId === '1' && run.status === 'stalled').length === 2;
    }, 15_000, 'the retry stalled too');
    await s.router.waitForAll();
    const runs = (await s.ledger.read()).runs;
    assert.deepEqual(runs.filter((run) => run.taskId === '1').map((run) => [run.attempt, run.status]), [[1, 'stalled'], [2, 'stalled']]);
    assert.equal(runs.find((run) => run.taskId === '2')?.status, 'succeeded', 'output once a second is not a stall');
    const board = await s.tracker.getTask('1');
    assert.equal(board.queue, 'Failed', 'the failure policy applies once no attempt is left');
    assert.match(board.comments[0].text, /^💤 Agent stalled: no output for 2s \(stall_timeout\); stopped after \d+s[\s\S]*Attempt 1 of 2; it will be retried\./);
    assert.match(board.comments[1].text, /Attempt 2 of 2; no attempts left\./);
  });
});

describe('spend limits', () => {
  it('max_cost_usd: a Claude session reporting rising cost is stopped at the limit (over_budget), not retried, and the comment says what it spent', async () => {
    const s = setupBoard(queues([task('1')]), { routing: { Todo: route('claude-spender.mjs', ['0.1', '10', '200'], { agent: 'claude', max_cost_usd: 0.25, max_attempts: 2 }) } });
    await s.router.tick();
    const [settled] = await s.router.waitForAll();
    assert.equal(settled.status, 'over_budget');
    assert.equal(settled.costUsd, 0.3, 'stopped at the first report over the limit');
    const log = readFileSync(settled.logFile!, 'utf8');
    assert.doesNotMatch(log, /turn 5 done/, 'it did not go on spending');
    const runs = (await s.ledger.read()).runs;
    assert.equal(runs.length, 1, 'no retry');
    const board = await s.tracker.getTask('1');
    assert.equal(board.queue, 'Failed');
    assert.equal(board.comments.length, 1);
    assert.match(board.comments[0].text, /^💸 Agent over budget: spent \$0\.3000 of its \$0\.25 limit \(max_cost_usd\); stopped after/);
    assert.equal((await s.ledger.read()).spend?.costUsd, 0.3, 'its cost counts toward the day');
  });

  it('max_tokens: stopped once the messages it reports add up to the limit', async () => {
    const s = setupBoard(queues([task('1')]), { routing: { Todo: route('claude-spender.mjs', ['0.01', '10', '100'], { agent: 'claude', max_tokens: 2_500 }) } });
    await s.router.tick();
    const [settled] = await s.router.waitForAll();
    assert.equal(settled.status, 'over_budget');
    assert.match(settled.outcome!, /used 3,150 tokens of its 2,500 limit \(max_tokens\)/);
  });

  it('max_tokens: a Codex run is stopped once the usage its turns report reaches the limit', async () => {
    const s = setupBoard(queues([task('1')]), { routing: { Todo: route('codex-spender.mjs', ['10', '150'], { agent: 'codex', max_tokens: 2_500 }) } });
    await s.router.tick();
    const [settled] = await s.router.waitForAll();
    assert.equal(settled.status, 'over_budget');
    assert.match(settled.outcome!, /used 3,150 tokens of its 2,500 limit \(max_tokens\)/);
    assert.doesNotMatch(readFileSync(settled.logFile!, 'utf8'), /turn 5/);
  });

  it('daily_budget_usd: once runs that ended today cost that much, no new run starts; the tick says why', async () => {
    const s = setupBoard(queues([task('1'), task('2')]), { daily_budget_usd: 1, routing: { Todo: route('claude-spender.mjs', ['0.6', '2', '50'], { agent: 'claude' }) } });
    const first = await s.router.tick();
    assert.equal(first.dispatched.length, 2, 'under budget: both start');
    await s.router.waitForAll();
    assert.equal((await s.ledger.read()).spend?.costUsd, 2.4);
    await s.tracker.createTask('Todo', 'one more', '');
    const paused = await s.router.tick();
    assert.equal(paused.dispatched.length, 0);
    assert.match(paused.paused ?? '', /^paused: daily budget spent \(\$2\.40 of \$1\.00\); resumes at /);
    assert.equal(s.router.health().paused?.kind, 'daily_budget');
    // Spend recorded on another day does not count.
    await s.ledger.update((data) => void (data.spend = { day: '2000-01-01', costUsd: 99 }));
    assert.equal((await s.router.tick()).dispatched.length, 1);
    assert.notEqual(localDay(), '2000-01-01');
    await s.router.waitForAll();
  });
});

describe('host pressure', () => {
  it('no agent starts while memory is short or the load per CPU is high; it starts once the host recovers', async () => {
    let host: HostLoad = { memAvailable: 1 * 2 ** 30, load1: 0.2, cpus: 2 };
    const s = setupBoard(queues([task('1')]), { min_free_memory: '2GiB', max_load_per_cpu: 1.5, routing: { Todo: route('sleeper.mjs', ['0']) } }, process.env, { readHostLoad: async () => host });
    const short = await s.router.tick();
    assert.equal(short.dispatched.length, 0);
    assert.match(short.paused ?? '', /1 GiB of memory available, below min_free_memory \(2 GiB\)/);
    host = { memAvailable: 3 * 2 ** 30, load1: 4, cpus: 2 };
    assert.match((await s.router.tick()).paused ?? '', /load 4\.00 on 2 CPU\(s\) \(2\.00 per CPU\), above max_load_per_cpu \(1\.5\)/);
    assert.equal((await s.tracker.getTask('1')).queue, 'Todo');
    host = { memAvailable: 3 * 2 ** 30, load1: 1, cpus: 2 };
    assert.equal((await s.router.tick()).dispatched.length, 1);
    assert.equal(s.router.health().paused, undefined);
    await s.router.waitForAll();
  });
});
