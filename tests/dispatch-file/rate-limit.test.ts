import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRateLimiter, rateWindow } from '../../src/core/dispatch-file/rate-limit.ts';
import { startFakeGitea, type FakeGitea } from '../../fixtures/gitea/fake-gitea.ts';
import { makeConfig, manualClock, runOnce, tempDir } from './support.ts';

describe('rate limit', () => {
  let dir: { path: string; remove: () => Promise<void> };
  before(async () => {
    dir = await tempDir();
  });
  after(() => dir.remove());

  it('turns a rate into a window: 1 → one a minute, 0.5 → one in two minutes, 10 → ten a minute', () => {
    assert.deepEqual(rateWindow(1), { capacity: 1, windowMs: 60_000 });
    assert.deepEqual(rateWindow(0.5), { capacity: 1, windowMs: 120_000 });
    assert.deepEqual(rateWindow(10), { capacity: 10, windowMs: 60_000 });
    assert.deepEqual(rateWindow(2.5), { capacity: 2, windowMs: 48_000 });
  });

  it('remembers its dispatches across a restart', async () => {
    const file = join(dir.path, 'restart.json');
    const clock = manualClock();
    const first = createRateLimiter({ file, ratePerMinute: 1, now: clock.now });
    assert.equal((await first.reserve(5, async (granted) => ({ used: granted }))).granted, 1);
    clock.advance(30_000);
    // A new process (a restart, or the next cron run) reads the same file.
    const second = createRateLimiter({ file, ratePerMinute: 1, now: clock.now });
    const status = await second.status();
    assert.equal(status.available, 0);
    assert.equal(status.nextSlotAt, clock.now() + 30_000);
    assert.equal((await second.reserve(5, async (granted) => ({ used: granted }))).granted, 0);
    clock.advance(30_001);
    assert.equal((await second.reserve(5, async (granted) => ({ used: granted }))).granted, 1);
  });

  it('counts a dispatch from the start of its poll (at most 5 s back), so cron every minute sends one a minute', async () => {
    const file = join(dir.path, 'cron.json');
    const clock = manualClock();
    const limiter = createRateLimiter({ file, ratePerMinute: 1, now: clock.now });
    const sent: number[] = [];
    for (let minute = 0; minute < 5; minute++) {
      const pollStart = clock.now();
      clock.advance(minute % 2 === 0 ? 800 : 300); // reading Gitea takes a moment, never the same
      const { granted } = await limiter.reserve(1, async (count) => ({ used: count }), pollStart);
      sent.push(granted);
      clock.advance(60_000 - (clock.now() - pollStart));
    }
    assert.deepEqual(sent, [1, 1, 1, 1, 1]);
    // A poll that started long ago is not counted from its start.
    const slow = createRateLimiter({ file: join(dir.path, 'slow.json'), ratePerMinute: 1, now: clock.now });
    await slow.reserve(1, async (count) => ({ used: count }), clock.now() - 600_000);
    assert.equal((await slow.status()).nextSlotAt, clock.now() + 55_000);
  });

  it('gives back slots the work did not use', async () => {
    const file = join(dir.path, 'unused.json');
    const clock = manualClock();
    const limiter = createRateLimiter({ file, ratePerMinute: 3, now: clock.now });
    const result = await limiter.reserve(3, async (granted) => ({ used: granted - 2 }));
    assert.equal(result.granted, 3);
    assert.equal((await limiter.status()).available, 2);
  });

  it('never grants more than the rate to two limiters sharing a file at once', async () => {
    const file = join(dir.path, 'shared.json');
    const clock = manualClock();
    const a = createRateLimiter({ file, ratePerMinute: 3, now: clock.now });
    const b = createRateLimiter({ file, ratePerMinute: 3, now: clock.now });
    const results = await Promise.all([a, b, a, b].map((limiter) => limiter.reserve(2, async (granted) => ({ used: granted }))));
    assert.equal(results.reduce((sum, result) => sum + result.granted, 0), 3);
  });

  it('treats an unreadable state file as a full window, and says so', async () => {
    const file = join(dir.path, 'corrupt.json');
    await writeFile(file, '{not json');
    const clock = manualClock();
    const messages: string[] = [];
    const limiter = createRateLimiter({ file, ratePerMinute: 1, now: clock.now, onCorrupt: (message) => messages.push(message) });
    assert.equal((await limiter.status()).available, 0);
    assert.match(messages[0], /unreadable/);
  });

  it('a clock set back does not block for longer than one window', async () => {
    const file = join(dir.path, 'clock.json');
    const clock = manualClock();
    const limiter = createRateLimiter({ file, ratePerMinute: 1, now: clock.now });
    await limiter.reserve(1, async (granted) => ({ used: granted }));
    clock.advance(-3_600_000);
    assert.equal((await limiter.status()).nextSlotAt, clock.now() + 60_000);
  });
});

describe('dispatch-file under the default rate (1 per minute)', () => {
  let fake: FakeGitea;
  let dir: { path: string; remove: () => Promise<void> };
  before(async () => {
    fake = await startFakeGitea();
    dir = await tempDir();
    fake.addRepo('acme/app', { labels: ['critical'] });
    for (let n = 1; n <= 10; n++) fake.addIssue('acme/app', { title: `CRITICAL: outage ${n}`, assignees: ['hans'], createdAt: `2026-04-0${(n % 9) + 1}T00:00:00Z` });
  });
  after(async () => {
    await fake.close();
    await dir.remove();
  });

  it('sends ten CRITICAL issues out one a minute, even across restarts', async () => {
    const config = makeConfig(dir.path, fake, { ratePerMinute: 1 });
    const clock = manualClock();
    const files = async () => (await readdir(join(dir.path, 'tasks', 'hans')).catch(() => [])).length;
    // Each run is a new process as far as the limiter knows: only the state file carries over.
    assert.equal((await runOnce(config, { now: clock.now })).dispatched, 1);
    let elapsed = 0;
    for (const seconds of [1, 20, 59]) {
      clock.advance(seconds * 1000 - elapsed);
      elapsed = seconds * 1000;
      const run = await runOnce(config, { now: clock.now });
      assert.equal(run.dispatched, 0, `nothing ${seconds}s later`);
      assert.equal(run.waiting, 9);
    }
    assert.equal(await files(), 1);
    for (let minute = 2; minute <= 10; minute++) {
      // Exactly one window after the previous dispatch.
      clock.advance(minute === 2 ? 60_000 - elapsed : 60_000);
      assert.equal((await runOnce(config, { now: clock.now })).dispatched, 1, `minute ${minute}`);
      assert.equal(await files(), minute);
    }
    clock.advance(60_000);
    assert.equal((await runOnce(config, { now: clock.now })).dispatched, 0, 'all ten sent, nothing more');
  });
});
