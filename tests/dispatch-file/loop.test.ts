import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeGitea, type FakeGitea } from '../../fixtures/gitea/fake-gitea.ts';
import { createDispatchState, type DispatchSnapshot } from '../../src/core/dispatch-file/state.ts';
import { makeConfig, manualClock, runOnce, tempDir } from './support.ts';

let fake: FakeGitea;
let dir: { path: string; remove: () => Promise<void> };

beforeEach(async () => {
  fake = await startFakeGitea();
  dir = await tempDir();
  fake.addRepo('acme/app');
});
afterEach(async () => {
  await fake.close();
  await dir.remove();
});

describe('dispatch-file loop', () => {
  it('backs off exponentially (capped) while Gitea is down, and recovers', async () => {
    fake.addIssue('acme/app', { title: 'x', assignees: ['hans'] });
    fake.setOutage(502);
    const controller = new AbortController();
    const delays: number[] = [];
    const state = createDispatchState({ mode: 'loop', repos: ['acme/app'], tasksDir: dir.path, intervalMs: 60_000 });
    const seen: Array<DispatchSnapshot['tracker']['status']> = [];
    state.subscribe((snapshot) => {
      if (seen.at(-1) !== snapshot.tracker.status) seen.push(snapshot.tracker.status);
    });
    const sleep = async (ms: number) => {
      delays.push(ms);
      if (delays.length === 3) fake.setOutage(false);
      if (delays.length === 4) controller.abort();
    };
    const run = await runOnce(makeConfig(dir.path, fake), { once: false, signal: controller.signal, sleep, state, backoff: { baseMs: 100, maxMs: 250 } });
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
    fake.addIssue('acme/app', { title: 'a', assignees: ['hans'] });
    fake.addIssue('acme/app', { title: 'b', assignees: ['hans'] });
    const controller = new AbortController();
    const clock = manualClock();
    const delays: number[] = [];
    const sleep = async (ms: number) => {
      delays.push(ms);
      clock.advance(ms);
      if (delays.length === 2) controller.abort();
    };
    const config = makeConfig(dir.path, fake, { ratePerMinute: 1, intervalMs: 3_600_000 });
    const run = await runOnce(config, { once: false, signal: controller.signal, sleep, now: clock.now });
    assert.deepEqual(delays, [60_000, 3_600_000]);
    assert.equal(run.dispatched, 2);
  });

  it('publishes what the dashboard shows: recent dispatches, per-assignee counts, rate limit, polls', async () => {
    fake.addIssue('acme/app', { title: 'CRITICAL: first', assignees: ['hans', 'greta'] });
    fake.addIssue('acme/app', { title: 'second', assignees: ['hans'] });
    const clock = manualClock();
    const state = createDispatchState({ mode: 'once', repos: ['acme/app'], tasksDir: dir.path, intervalMs: 60_000 });
    await runOnce(makeConfig(dir.path, fake, { ratePerMinute: 2 }), { state, now: clock.now });
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
