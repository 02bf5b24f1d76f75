import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isProcessGroupAlive, spawnAgent } from '../../src/core/process/spawner.ts';
import { isRunning, nodeAgent, tempDir, track, waitFor, waitForPids } from './spawner-support.ts';

describe('spawnAgent: timeouts, stops and process groups', () => {
  const dir = tempDir();

  it('times out an agent that honours SIGTERM', async () => {
    const run = track(spawnAgent(nodeAgent(dir, 'sleeper.mjs', ['60'], { timeoutMs: 500, killGraceMs: 5000 })));
    const outcome = await run.done;
    assert.equal(outcome.kind, 'timed_out');
    assert.equal(outcome.signal, 'SIGTERM');
    assert.equal(outcome.forcedKill, false);
    assert.ok(outcome.durationMs >= 450, `ran ${outcome.durationMs} ms, at least the timeout`);
    assert.ok(outcome.durationMs < 4500, `stopped in ${outcome.durationMs} ms, well before the grace ended`);
    assert.equal(isProcessGroupAlive(run.pgid!), false);
  });

  it('kills an agent that ignores SIGTERM within the grace period plus one second', async () => {
    const timeoutMs = 800;
    const killGraceMs = 700;
    const run = track(spawnAgent(nodeAgent(dir, 'term-ignorer.mjs', [], { timeoutMs, killGraceMs })));
    const outcome = await run.done;
    assert.equal(outcome.kind, 'timed_out');
    assert.equal(outcome.signal, 'SIGKILL');
    assert.equal(outcome.forcedKill, true);
    assert.match(outcome.tail, /ignoring TERM/, 'it did receive SIGTERM first');
    assert.ok(outcome.durationMs >= timeoutMs + killGraceMs - 50, `ran ${outcome.durationMs} ms: the grace was granted`);
    assert.ok(outcome.durationMs <= timeoutMs + killGraceMs + 1000, `ran ${outcome.durationMs} ms: KILL came within grace + 1 s`);
    assert.equal(isProcessGroupAlive(run.pgid!), false);
  });

  it('kills children and grandchildren that ignore SIGTERM, and returns once the pipes they held are closed', async () => {
    const pidfile = join(dir, 'pids-timeout');
    const run = track(spawnAgent(nodeAgent(dir, 'grandchild-spawner.mjs', [pidfile], { killGraceMs: 500 })));
    const pids = await waitForPids(pidfile);
    assert.ok(pids.every(isRunning));
    const outcome = await run.stop('test over');
    assert.equal(outcome.kind, 'stopped');
    assert.equal(outcome.stopReason, 'test over');
    assert.equal(outcome.signal, 'SIGTERM', 'the leader honours TERM');
    assert.equal(outcome.forcedKill, true, 'its descendants needed KILL');
    assert.match(outcome.tail, /grandchild ignoring TERM/, 'output of descendants is captured too');
    assert.equal(isProcessGroupAlive(run.pgid!), false);
    for (const pid of pids) assert.equal(isRunning(pid), false, `pid ${pid} is dead`);
  });

  it('stops processes left behind by a leader that exited by itself', async () => {
    const pidfile = join(dir, 'pids-leftovers');
    const run = track(spawnAgent(nodeAgent(dir, 'grandchild-spawner.mjs', [pidfile, '--leader-exits'], { killGraceMs: 500 })));
    const outcome = await run.done;
    assert.equal(outcome.kind, 'exited');
    assert.equal(outcome.exitCode, 0);
    assert.equal(outcome.strayProcesses, true);
    assert.equal(outcome.forcedKill, true);
    const pids = await waitForPids(pidfile);
    assert.equal(isProcessGroupAlive(run.pgid!), false);
    for (const pid of pids) assert.equal(isRunning(pid), false, `pid ${pid} is dead`);
  });

  it('stops the agent when its AbortSignal fires', async () => {
    const controller = new AbortController();
    const run = track(spawnAgent(nodeAgent(dir, 'sleeper.mjs', ['60'], { signal: controller.signal, killGraceMs: 5000 })));
    await waitFor('the agent to be running', () => (isProcessGroupAlive(run.pgid!) ? true : undefined));
    controller.abort();
    const outcome = await run.done;
    assert.equal(outcome.kind, 'stopped');
    assert.equal(outcome.stopReason, 'aborted');
    assert.equal(outcome.signal, 'SIGTERM');
    assert.equal(isProcessGroupAlive(run.pgid!), false);
  });

  it('keeps the reason given to abort()', async () => {
    const controller = new AbortController();
    const run = track(spawnAgent(nodeAgent(dir, 'sleeper.mjs', ['60'], { signal: controller.signal })));
    controller.abort(new Error('dispatcher shutting down'));
    const outcome = await run.done;
    assert.equal(outcome.kind, 'stopped');
    assert.equal(outcome.stopReason, 'dispatcher shutting down');
  });

  it('keeps "exited" when stop() comes after the agent finished, and when a timeout was set but not reached', async () => {
    const controller = new AbortController();
    const run = track(spawnAgent(nodeAgent(dir, 'failer.mjs', ['0'], { timeoutMs: 60_000, signal: controller.signal })));
    const outcome = await run.done;
    assert.equal(outcome.kind, 'exited');
    assert.equal(outcome.durationMs < 30_000, true, 'the unreached timeout did not hold the run');
    controller.abort();
    assert.equal(await run.stop('late'), outcome);
  });

  it('resolves the same outcome to every stop() caller', async () => {
    let ready!: () => void;
    const readyLine = new Promise<void>((resolve) => (ready = resolve));
    const run = track(spawnAgent(nodeAgent(dir, 'term-ignorer.mjs', [], { killGraceMs: 300, onLine: ready })));
    await readyLine; // its TERM handler is installed
    const [first, second] = await Promise.all([run.stop('one'), run.stop('two')]);
    assert.equal(first, second);
    assert.equal(first.stopReason, 'one');
    assert.equal(first.forcedKill, true);
  });
});
