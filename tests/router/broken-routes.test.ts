import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { createRouter } from '../../src/core/dispatch/router.ts';
import { createLogger } from '../../src/log.ts';
import { setupBoard, task } from './support.ts';

/** A router on a JSON board whose log lines are kept. */
function setup(queues: Record<string, Array<Record<string, unknown>>>, routing: Record<string, Record<string, unknown>>) {
  const lines: string[] = [];
  const stream = new Writable({ write: (chunk, _encoding, done) => (lines.push(...String(chunk).trim().split('\n')), done()) });
  const s = setupBoard(queues, { max_concurrent_agents: 4, poll_interval: 60, routing });
  const router = createRouter({ config: s.config, tracker: s.tracker, ledger: s.ledger, log: createLogger({ format: 'plain', level: 'info', stream }) });
  const edit = (change: (board: { queues: Record<string, unknown[]> }) => void) => {
    const board = JSON.parse(readFileSync(s.boardPath, 'utf8'));
    change(board);
    writeFileSync(s.boardPath, JSON.stringify(board));
  };
  return { ...s, router, lines, edit };
}

const route = (inProgress: string) => ({ command: 'true', in_progress_queue: inProgress });

describe('a route whose queue cannot be resolved', () => {
  it('is paused alone: the other route dispatches, one warning, and it resumes once the queue is back', async () => {
    const s = setup({ 'Other In': [task('2')], Doing: [], Done: [] }, { Todo: route('Doing'), 'Other In': route('Doing') });
    const first = await s.router.tick();
    assert.equal(first.error, undefined, 'not a failed poll');
    assert.deepEqual(first.dispatched.map((run) => run.taskId), ['2']);
    await s.router.waitForAll();
    await s.router.tick();
    assert.deepEqual(s.router.health().brokenRoutes!.map(({ route, queue }) => [route, queue]), [['Todo', 'Todo']]);
    assert.match(s.router.health().brokenRoutes![0].reason, /no queue "Todo"/);
    const warnings = s.lines.filter((line) => line.includes('paused'));
    assert.equal(warnings.length, 1, s.lines.join('\n'));
    assert.match(warnings[0], /WARN.*route "Todo" paused: its queue cannot be found: no queue "Todo"/);
    assert.deepEqual((await s.ledger.read()).brokenRoutes?.map((broken) => broken.route), ['Todo'], 'recorded for `status`');

    s.edit((board) => (board.queues.Todo = [task('1')]));
    const resumed = await s.router.tick();
    assert.equal(s.router.health().brokenRoutes!.length, 0);
    assert.ok(s.lines.some((line) => /INFO.*route "Todo" resumed: "Todo" is back/.test(line)), s.lines.join('\n'));
    const next = resumed.dispatched.length > 0 ? resumed : await s.router.tick();
    assert.deepEqual(next.dispatched.map((run) => run.taskId), ['1']);
    await s.router.waitForAll();
    assert.equal((await s.ledger.read()).brokenRoutes, undefined);
  });

  it('a missing in-progress queue pauses the route at the first refused claim (no claim storm), and it resumes once the queue is back', async () => {
    const s = setup({ Todo: [task('1'), task('3')], 'Other In': [task('2')], Doing: [], Done: [] }, { Todo: route('Gone'), 'Other In': route('Doing') });
    const attempts: string[] = [];
    const claimTask = s.tracker.claimTask!.bind(s.tracker);
    s.tracker.claimTask = (taskId, ...rest) => (attempts.push(taskId), claimTask(taskId, ...rest));
    const first = await s.router.tick();
    assert.deepEqual(first.dispatched.map((run) => run.taskId), ['2']);
    assert.deepEqual(attempts.sort(), ['1', '2', '3']);
    for (let i = 0; i < 3; i++) await s.router.tick();
    assert.equal(attempts.length, 3, 'the paused route claims nothing more');
    assert.deepEqual(s.router.health().brokenRoutes!.map(({ route, queue }) => [route, queue]), [['Todo', 'Gone']]);
    assert.equal(s.lines.filter((line) => line.includes('route "Todo" paused: its in-progress queue "Gone" cannot be found')).length, 1, s.lines.join('\n'));
    assert.equal(s.lines.filter((line) => line.includes('could not claim')).length, 0, 'the route says it, not each task');

    s.edit((board) => (board.queues.Gone = []));
    await s.router.tick();
    const next = await s.router.tick();
    assert.deepEqual(next.dispatched.map((run) => run.taskId).sort(), ['1', '3']);
    await s.router.waitForAll();
    assert.ok(s.lines.some((line) => line.includes('route "Todo" resumed: "Gone" is back')));
  });

  it('a whole-board failure is still a failed poll, not a broken route', async () => {
    const s = setup({ Todo: [task('1')], Doing: [] }, { Todo: route('Doing') });
    writeFileSync(s.boardPath, '{ not json');
    const tick = await s.router.tick();
    assert.match(tick.error ?? '', /not valid JSON|malformed|JSON/i);
    assert.equal(s.router.health().brokenRoutes!.length, 0);
  });
});
