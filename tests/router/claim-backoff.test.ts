import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { AdapterError } from '../../src/errors.ts';
import { CLAIM_BACKOFF_MAX_MS, ClaimBackoff } from '../../src/core/dispatch/claim-backoff.ts';
import { createRouter } from '../../src/core/dispatch/router.ts';
import { createLogger } from '../../src/log.ts';
import { setupBoard, task } from './support.ts';

describe('claim backoff', () => {
  it('holds a refused task until the next poll, then twice as long each time, up to the cap', () => {
    const backoff = new ClaimBackoff(1_000);
    const first = backoff.failed('7', 50_000);
    assert.deepEqual(first, { failures: 1, until: 51_000, delayMs: 1_000, grew: true });
    assert.equal(backoff.isHeld('7', 50_999), true);
    assert.equal(backoff.isHeld('7', 51_000), false, 'free again for the poll one interval after the one that offered it');
    assert.equal(backoff.isHeld('8', 50_500), false, 'per task');
    assert.equal(backoff.failed('7', 51_000).delayMs, 2_000);
    assert.equal(backoff.failed('7', 53_000).delayMs, 4_000);
    let last = backoff.failed('7', 57_000);
    for (let i = 0; i < 20; i++) last = backoff.failed('7', last.until);
    assert.equal(last.delayMs, CLAIM_BACKOFF_MAX_MS);
    assert.equal(last.grew, false, 'no new step at the cap: no new warning');
    assert.equal(backoff.claimed('7'), 24);
    assert.equal(backoff.isHeld('7', last.until - 1), false, 'a claim that went through starts afresh');
  });

  it('waits at least one poll interval, even past the cap', () => {
    const backoff = new ClaimBackoff(CLAIM_BACKOFF_MAX_MS * 2);
    assert.equal(backoff.failed('1', 0).delayMs, CLAIM_BACKOFF_MAX_MS * 2);
    assert.equal(backoff.failed('1', 0).delayMs, CLAIM_BACKOFF_MAX_MS * 2);
  });

  it('forgets tasks the poll no longer offers', () => {
    const backoff = new ClaimBackoff(1_000);
    backoff.failed('1', 0);
    backoff.failed('2', 0);
    backoff.keepOnly(new Set(['2']));
    assert.deepEqual(backoff.held(500).map((held) => held.taskId), ['2']);
  });
});

describe('a refused claim in the router', () => {
  it('is not tried again before the next poll: the freed slot goes to the next task, with one warning', async () => {
    const lines: string[] = [];
    const stream = new Writable({ write: (chunk, _encoding, done) => (lines.push(...String(chunk).trim().split('\n')), done()) });
    const log = createLogger({ format: 'plain', level: 'info', stream });
    const s = setupBoard({ Todo: [task('1'), task('2')], 'In Progress': [], Done: [] }, { max_concurrent_agents: 1, poll_interval: 60, routing: { Todo: { command: 'true', in_progress_queue: 'In Progress' } } });
    const router = createRouter({ config: s.config, tracker: s.tracker, ledger: s.ledger, log });
    const claimTask = s.tracker.claimTask!.bind(s.tracker);
    const attempts: string[] = [];
    s.tracker.claimTask = async (taskId, ...rest) => {
      attempts.push(taskId);
      if (taskId === '1') throw new AdapterError('auth', 'Not enough rights', { status: 403 });
      return claimTask(taskId, ...rest);
    };
    const first = await router.tick();
    assert.deepEqual(first.dispatched, []);
    const second = await router.tick();
    const third = await router.tick();
    await router.waitForAll();
    assert.deepEqual(attempts, ['1', '2'], 'task 1 once, then the next task');
    assert.deepEqual(second.dispatched.map((run) => run.taskId), ['2']);
    assert.deepEqual(third.dispatched, []);
    const warnings = lines.filter((line) => line.includes('could not claim task 1'));
    assert.equal(warnings.length, 1, lines.join('\n'));
    assert.match(warnings[0], /Not enough rights; not tried again for 1m 0s \(1 refused in a row\)/);
    assert.equal((await s.tracker.getTask('1')).queue, 'Todo');
  });
});
