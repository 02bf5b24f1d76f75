import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createDispatchState, type DispatchSnapshot } from '../../src/core/dispatch-file/state.ts';
import { giteaAndFolderPerTest, makeConfig, manualClock, runOnce } from './support.ts';

const each = giteaAndFolderPerTest();

describe('dispatch-file loop', () => {
  it('backs off exponentially (capped) while Gitea is down, and recovers', async () => {
    each.fake.addIssue('acme/app', { title: 'x', assignees: ['hans'] });
    each.fake.setOutage(502);
    const controller = new AbortController();
    const delays: number[] = [];
    const state = createDispatchState({ mode: 'loop', repos: ['acme/app'], tasksDir: each.dir.path, intervalMs: 60_000 });
    const seen: Array<DispatchSnapshot['tracker']['status']> = [];
    state.subscribe((snapshot) => {
      if (seen.at(-1) !== snapshot.tracker.status) seen.push(snapshot.tracker.status);
    });
    const sleep = async (ms: number) => {
      delays.push(ms);
      if (delays.length === 3) each.fake.setOutage(false);
      if (delays.length === 4) controller.abort();
    };
    const run = await runOnce(makeConfig(each.dir.path, each.fake), { once: false, signal: controller.signal, sleep, state, backoff: { baseMs: 100, maxMs: 250 } });
    assert.deepEqual(delays, [100, 200, 250, 60_000]);
    assert.equal(run.dispatched, 1);
    assert.equal(run.cycles, 4);
    assert.deepEqual(seen, ['unknown', 'down', 'ok']);
    assert.equal(state.get().tracker.consecutiveFailures, 0);
    assert.match(run.output, /3 failed polls in a row; next try in 250ms/);
    assert.match(run.output, /RECOVERED: the tracker answers again after 3 failed polls/);
    assert.match(run.output, /unavailable|502/);
  });

  it('wakes for the next rate-limit slot rather than the next poll', async () => {
    each.fake.addIssue('acme/app', { title: 'a', assignees: ['hans'] });
    each.fake.addIssue('acme/app', { title: 'b', assignees: ['hans'] });
    const controller = new AbortController();
    const clock = manualClock();
    const delays: number[] = [];
    const sleep = async (ms: number) => {
      delays.push(ms);
      clock.advance(ms);
      if (delays.length === 2) controller.abort();
    };
    const config = makeConfig(each.dir.path, each.fake, { ratePerMinute: 1, intervalMs: 3_600_000 });
    const run = await runOnce(config, { once: false, signal: controller.signal, sleep, now: clock.now });
    assert.deepEqual(delays, [60_000, 3_600_000]);
    assert.equal(run.dispatched, 2);
  });

  it('publishes what the dashboard shows: recent dispatches, per-assignee counts, rate limit, polls', async () => {
    each.fake.addIssue('acme/app', { title: 'CRITICAL: first', assignees: ['hans', 'greta'] });
    each.fake.addIssue('acme/app', { title: 'second', assignees: ['hans'] });
    const clock = manualClock();
    const state = createDispatchState({ mode: 'once', repos: ['acme/app'], tasksDir: each.dir.path, intervalMs: 60_000 });
    await runOnce(makeConfig(each.dir.path, each.fake, { ratePerMinute: 2 }), { state, now: clock.now });
    const snapshot = state.get();
    assert.deepEqual(snapshot.recent.map((record) => `${record.assignee} ${record.taskId} ${record.priority}`), ['greta acme/app#1 CRITICAL', 'hans acme/app#1 CRITICAL']);
    assert.deepEqual(snapshot.assignees, { hans: { files: 1, waiting: 1 }, greta: { files: 1, waiting: 0 } });
    assert.equal(snapshot.rateLimit?.available, 0);
    assert.equal(snapshot.rateLimit?.nextSlotAt, new Date(clock.now() + 60_000).toISOString());
    assert.equal(snapshot.lastPollAt, new Date(clock.now()).toISOString());
    assert.equal(snapshot.tracker.status, 'ok');
    assert.equal(snapshot.lastCycle?.waiting, 1);
    assert.ok(snapshot.log.some((line) => line.includes('DISPATCHED: greta')));
  });
});
