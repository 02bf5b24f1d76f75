import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { RunRecord } from '../../src/core/runs/ledger.ts';
import type { Router } from '../../src/core/dispatch/router.ts';
import { runTickLoop } from '../../src/core/dispatch/tick-loop.ts';
import { silentLogger } from '../../src/log.ts';
import { AGENTS, node, setupBoard, task } from './support.ts';

const queues = (todo: Array<Record<string, unknown>>) => ({ Todo: todo, 'In Progress': [], Done: [] });

/** Resolves with the settled runs once `count` runs have ended, or fails after `ms`. */
function settledRuns(router: Router, count: number, ms = 20_000): Promise<RunRecord[]> {
  const runs: RunRecord[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${runs.length} of ${count} runs ended`)), ms);
    router.onEvent((event) => {
      if (event.type !== 'exit') return;
      runs.push(event.run);
      if (runs.length === count) {
        clearTimeout(timer);
        resolve(runs);
      }
    });
  });
}

/** Runs the daemon's tick loop until `count` runs have ended; returns them. */
async function loopUntil(router: Router, count: number, pollIntervalMs = 60_000): Promise<RunRecord[]> {
  const stop = new AbortController();
  const ended = settledRuns(router, count);
  const loop = runTickLoop(router, { pollIntervalMs, signal: stop.signal, log: silentLogger });
  try {
    return await ended;
  } finally {
    stop.abort();
    await loop;
    await router.waitForAll();
  }
}

describe('filling a freed slot', () => {
  it('starts the next ready task when a run ends, without waiting for the poll interval', async () => {
    const s = setupBoard(queues([task('1'), task('2'), task('3')]), { max_concurrent_agents: 1, routing: { Todo: { command: 'true', in_progress_queue: 'In Progress', on_success_queue: 'Done' } } });
    const runs = await loopUntil(s.router, 3);
    assert.deepEqual(runs.map((run) => [run.taskId, run.status]), [['1', 'succeeded'], ['2', 'succeeded'], ['3', 'succeeded']]);
    assert.deepEqual((await s.tracker.getReadyTasks(['Done'])).map((t) => t.id), ['1', '2', '3']);
  });

  it('takes the next task when one left its queue while a run went on', async () => {
    const s = setupBoard(queues([task('1'), task('2'), task('3')]), { max_concurrent_agents: 1, routing: { Todo: { command: node, args: [join(AGENTS, 'sleeper.mjs'), '0.3'], in_progress_queue: 'In Progress' } } });
    s.router.onEvent((event) => {
      if (event.type === 'dispatch' && event.run.taskId === '1') void s.tracker.moveTask('2', 'Done'); // a human takes task 2 while task 1 runs
    });
    const runs = await loopUntil(s.router, 2);
    assert.deepEqual(runs.map((run) => run.taskId), ['1', '3']);
    assert.equal((await s.tracker.getTask('2')).queue, 'Done', 'left where the human put it');
    assert.ok(!(await s.ledger.read()).runs.some((run) => run.taskId === '2'), 'never reserved');
  });

  it('dispatches nothing more once the daemon stops', async () => {
    const s = setupBoard(queues([task('1'), task('2')]), { max_concurrent_agents: 1, routing: { Todo: { command: node, args: [join(AGENTS, 'sleeper.mjs'), '0.3'], in_progress_queue: 'In Progress' } } });
    const stop = new AbortController();
    s.router.onEvent((event) => {
      if (event.type === 'dispatch') stop.abort(); // stop as soon as the first agent runs
    });
    await runTickLoop(s.router, { pollIntervalMs: 60_000, signal: stop.signal, log: silentLogger });
    const runs = await s.router.waitForAll();
    assert.deepEqual(runs.map((run) => run.taskId), ['1']);
    assert.equal((await s.tracker.getTask('2')).queue, 'Todo');
  });
});

describe('a tick with every slot taken', () => {
  it('does not poll the tracker again within the poll interval', async () => {
    const s = setupBoard(queues([task('1'), task('2')]), { max_concurrent_agents: 1, poll_interval: 60, routing: { Todo: { command: node, args: [join(AGENTS, 'sleeper.mjs'), '0.5'], in_progress_queue: 'In Progress' } } });
    let polls = 0;
    const getReadyTasks = s.tracker.getReadyTasks.bind(s.tracker);
    s.tracker.getReadyTasks = async (names) => (polls++, getReadyTasks(names));
    await s.router.tick();
    const busy = await s.router.tick();
    assert.equal(polls, 1, 'the only slot is taken: nothing to poll for');
    assert.equal(busy.ready, undefined);
    await s.router.waitForAll();
    const next = await s.router.tick();
    assert.equal(polls, 2, 'a slot is free again: poll');
    assert.deepEqual(next.dispatched.map((run) => run.taskId), ['2']);
    await s.router.waitForAll();
  });
});

describe('the tick loop', () => {
  it('wakes for every burst of exits, not just the first (no wait is ended by an earlier wait\'s timer)', async () => {
    const listeners = new Set<(event: { type: string }) => void>();
    const emit = (type: string) => listeners.forEach((listener) => listener({ type }));
    let ticks = 0;
    const router = {
      tick: async () => {
        ticks++;
        return { dispatched: [] };
      },
      onEvent: (listener: (event: { type: string }) => void) => (listeners.add(listener), () => listeners.delete(listener)),
    } as unknown as Router;
    const stop = new AbortController();
    const loop = runTickLoop(router, { pollIntervalMs: 60_000, signal: stop.signal, log: silentLogger, minGapMs: 30 });
    const waitForTicks = async (count: number) => {
      const deadline = Date.now() + 5_000;
      while (ticks < count) {
        if (Date.now() > deadline) throw new Error(`${ticks} ticks, expected ${count}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    await waitForTicks(1);
    for (let burst = 2; burst <= 6; burst++) {
      for (let i = 0; i < 5; i++) emit('exit');
      await waitForTicks(burst);
    }
    stop.abort();
    await loop;
    assert.equal(ticks, 6);
  });
});
