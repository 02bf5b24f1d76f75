import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import { isProcessGroupAlive, killProcessGroup, spawnAgent, watchForeignGroup } from '../../src/core/process/spawner.ts';
import { nodeAgent, repoRoot, tempDir, track, waitFor } from './spawner-support.ts';

const spawnerUrl = pathToFileURL(join(repoRoot, 'src/core/process/spawner.ts')).href;

/** Runs spawnAgent({ ...request, detach: true }) in a separate node process that exits right away. */
async function spawnDetachedElsewhere(request: object): Promise<{ pid: number; helperMs: number }> {
  const code = `
    import { spawnAgent } from ${JSON.stringify(spawnerUrl)};
    const run = spawnAgent({ ...${JSON.stringify(request)}, detach: true });
    console.log(JSON.stringify({ pid: run.pid }));
  `;
  const started = Date.now();
  const helper = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  helper.stdout.on('data', (chunk) => (stdout += chunk));
  const exited = once(helper, 'close');
  const guard = setTimeout(() => helper.kill('SIGKILL'), 20_000);
  const [exitCode] = await exited;
  clearTimeout(guard);
  assert.equal(exitCode, 0, 'the helper exited by itself');
  const { pid } = JSON.parse(stdout) as { pid: number };
  return { pid, helperMs: Date.now() - started };
}

describe('spawnAgent({ detach: true }) and watchForeignGroup', () => {
  const dir = tempDir();

  it('lets the spawning process exit while the agent runs on; a later watcher enforces the deadline', async () => {
    const logFile = join(dir, 'detached.log');
    const { pid, helperMs } = await spawnDetachedElsewhere({ ...nodeAgent(dir, 'sleeper.mjs', ['60']), logFile, header: '=== detached', timeoutMs: 1000 });
    track({ pgid: pid });
    assert.ok(helperMs < 15_000, `helper exited after ${helperMs} ms, not held by the 60 s agent`);
    assert.equal(isProcessGroupAlive(pid), true, 'the agent outlived its spawner');

    await waitFor('output in the log', () => (readFileSync(logFile, 'utf8').includes('tick 1') ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 1200));
    assert.equal(isProcessGroupAlive(pid), true, 'nobody enforced the 1 s timeout: its spawner is gone');

    const watch = watchForeignGroup(pid, { deadline: Date.now() + 300, killGraceMs: 500, pollMs: 100 });
    const outcome = await watch.done;
    assert.deepEqual(outcome, { kind: 'timed_out', killed: false });
    assert.equal(isProcessGroupAlive(pid), false);
    assert.match(readFileSync(logFile, 'utf8'), /^=== detached\nsleeping 60s\ntick 1\n/);
  });

  it('kills a detached agent that ignores SIGTERM after the grace period', async () => {
    const { pid } = await spawnDetachedElsewhere({ ...nodeAgent(dir, 'term-ignorer.mjs', []), logFile: join(dir, 'ignorer.log') });
    track({ pgid: pid });
    await waitFor('the TERM handler', () => (readFileSync(join(dir, 'ignorer.log'), 'utf8').includes('running') ? true : undefined));
    const started = Date.now();
    const outcome = await watchForeignGroup(pid, { deadline: Date.now(), killGraceMs: 400, pollMs: 100 }).done;
    assert.deepEqual(outcome, { kind: 'timed_out', killed: true });
    assert.ok(Date.now() - started < 400 + 1000 + 500, 'KILL came within grace + 1 s (+ poll)');
    assert.equal(isProcessGroupAlive(pid), false);
    assert.match(readFileSync(join(dir, 'ignorer.log'), 'utf8'), /ignoring TERM/);
  });

  it('reports a group that ends by itself as gone, and done of an in-process detached run still resolves', async () => {
    // A detached run holds nothing of our event loop: something else must, for `done` to resolve.
    const keepAlive = setInterval(() => {}, 1000);
    after(() => clearInterval(keepAlive));
    const run = track(spawnAgent({ ...nodeAgent(dir, 'sleeper.mjs', ['1']), logFile: join(dir, 'short.log'), header: 'hdr', detach: true }));
    const watch = watchForeignGroup(run.pgid!, { killGraceMs: 1000, pollMs: 50 });
    assert.deepEqual(await watch.done, { kind: 'gone', killed: false });
    const outcome = await run.done;
    clearInterval(keepAlive);
    assert.equal(outcome.kind, 'exited');
    assert.equal(outcome.exitCode, 0);
    assert.equal(outcome.tail, 'sleeping 1s\ntick 1\ndone\n', 'the tail is read back from the log, without the header');
  });

  it('stop() ends a watched group; unwatch() leaves it running', async () => {
    const run = track(spawnAgent({ ...nodeAgent(dir, 'sleeper.mjs', ['60']), logFile: join(dir, 'stop.log'), detach: true }));
    const first = watchForeignGroup(run.pgid!, { killGraceMs: 1000, pollMs: 50 });
    first.unwatch();
    assert.deepEqual(await first.done, { kind: 'unwatched', killed: false });
    assert.equal(isProcessGroupAlive(run.pgid!), true);

    const second = watchForeignGroup(run.pgid!, { killGraceMs: 1000, pollMs: 50 });
    assert.deepEqual(await second.stop(), { kind: 'stopped', killed: false });
    assert.equal(isProcessGroupAlive(run.pgid!), false);
    second.unwatch(); // too late: no effect
    assert.equal((await second.done).kind, 'stopped');
  });

  it('treats an unknown group as gone', async () => {
    const run = track(spawnAgent(nodeAgent(dir, 'failer.mjs', ['0'])));
    await run.done;
    killProcessGroup(run.pgid!, 'SIGKILL');
    assert.deepEqual(await watchForeignGroup(run.pgid!, { killGraceMs: 100 }).done, { kind: 'gone', killed: false });
  });
});
