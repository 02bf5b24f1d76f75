import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isProcessGroupAlive, spawnAgent } from '../../src/core/process/spawner.ts';
import { fixture, nodeAgent, nodeEval, tempDir, track } from './spawner-support.ts';

describe('spawnAgent: exits and start failures', () => {
  const dir = tempDir();

  it('reports a clean exit with its output and leaves no group behind', async () => {
    const run = track(spawnAgent(nodeAgent(dir, 'sleeper.mjs', ['0'])));
    assert.equal(typeof run.pid, 'number');
    assert.equal(run.pgid, run.pid, 'the agent leads its own process group');
    const outcome = await run.done;
    assert.equal(outcome.kind, 'exited');
    assert.equal(outcome.exitCode, 0);
    assert.equal(outcome.signal, null);
    assert.match(outcome.tail, /sleeping 0s\ndone\n$/);
    assert.equal(outcome.forcedKill, false);
    assert.equal(outcome.strayProcesses, false);
    assert.equal(isProcessGroupAlive(run.pgid!), false);
  });

  it('reports a non-zero exit code with stdout and stderr in the tail and the log', async () => {
    const logFile = join(dir, 'failer', 'run.log');
    const outcome = await track(spawnAgent(nodeAgent(dir, 'failer.mjs', ['3'], { logFile }))).done;
    assert.equal(outcome.kind, 'exited');
    assert.equal(outcome.exitCode, 3);
    assert.match(outcome.tail, /about to fail/);
    assert.match(outcome.tail, /failing with exit code 3/);
    const log = readFileSync(logFile, 'utf8');
    assert.match(log, /about to fail/);
    assert.match(log, /failing with exit code 3/);
  });

  it('runs an executable script through its #! line, found through the given PATH', async () => {
    const outcome = await track(spawnAgent({ ...nodeAgent(dir, 'failer.mjs', []), command: fixture('failer.mjs'), args: ['0'] })).done;
    assert.equal(outcome.kind, 'exited');
    assert.equal(outcome.exitCode, 0);
  });

  it('resolves start_failed with a clear error when the command does not exist', async () => {
    const logFile = join(dir, 'missing.log');
    const run = spawnAgent({ ...nodeAgent(dir, 'x', [], { logFile }), command: 'no-such-agent-command-xyz', args: [] });
    assert.equal(run.pid, undefined);
    const outcome = await run.done;
    assert.equal(outcome.kind, 'start_failed');
    assert.equal(outcome.error, 'command not found: no-such-agent-command-xyz');
    assert.equal(outcome.exitCode, null);
    assert.match(readFileSync(logFile, 'utf8'), /could not start: command not found: no-such-agent-command-xyz/);
    assert.equal((await run.stop()).kind, 'start_failed', 'stop() after a failed start is harmless');
  });

  it('says so when PATH is missing from the environment', async () => {
    const outcome = await spawnAgent({ ...nodeAgent(dir, 'x', []), command: 'no-such-agent-command-xyz', args: [], env: {} }).done;
    assert.equal(outcome.kind, 'start_failed');
    assert.equal(outcome.error, "command not found: no-such-agent-command-xyz (PATH is not set in the agent's environment)");
  });

  it('resolves start_failed for a missing path and for a file that is not executable', async () => {
    const missing = await spawnAgent({ ...nodeAgent(dir, 'x', []), command: './nope/agent.sh', args: [] }).done;
    assert.equal(missing.kind, 'start_failed');
    assert.equal(missing.error, 'command not found: ./nope/agent.sh');

    const script = join(dir, 'not-executable.sh');
    writeFileSync(script, '#!/bin/sh\necho hi\n');
    chmodSync(script, 0o644);
    const denied = await spawnAgent({ ...nodeAgent(dir, 'x', []), command: script, args: [] }).done;
    assert.equal(denied.kind, 'start_failed');
    assert.equal(denied.error, `permission denied: ${script} (is it executable?)`);
  });

  it('resolves start_failed when the interpreter of the #! line is missing', async () => {
    const script = join(dir, 'bad-interpreter.sh');
    writeFileSync(script, '#!/no/such/interpreter\n');
    chmodSync(script, 0o755);
    const outcome = await spawnAgent({ ...nodeAgent(dir, 'x', []), command: script, args: [] }).done;
    assert.equal(outcome.kind, 'start_failed');
    assert.match(outcome.error!, /interpreter/);
  });

  it('resolves start_failed when the working folder cannot be used', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const notFolder = await spawnAgent(nodeAgent(file, 'sleeper.mjs', ['0'], { logFile: join(dir, 'cwd.log') })).done;
    assert.equal(notFolder.kind, 'start_failed');
    assert.equal(notFolder.error, `working folder is not a folder: ${file}`);

    const underFile = join(file, 'sub');
    const cannotCreate = await spawnAgent(nodeAgent(underFile, 'sleeper.mjs', ['0'], { logFile: join(dir, 'cwd.log') })).done;
    assert.equal(cannotCreate.kind, 'start_failed');
    assert.match(cannotCreate.error!, /^cannot create working folder .*a-file\/sub: ENOTDIR$/);
  });

  it('resolves start_failed when the log file cannot be opened', async () => {
    const file = join(dir, 'blocker');
    writeFileSync(file, '');
    const outcome = await spawnAgent(nodeAgent(dir, 'sleeper.mjs', ['0'], { logFile: join(file, 'agent.log') })).done;
    assert.equal(outcome.kind, 'start_failed');
    assert.match(outcome.error!, /^cannot open log file .*blocker\/agent\.log: /);
  });

  it('never starts an agent whose signal is already aborted', async () => {
    const marker = join(dir, 'should-not-exist');
    const controller = new AbortController();
    controller.abort('shutting down');
    const run = spawnAgent(nodeEval(dir, `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`, { signal: controller.signal }));
    const outcome = await run.done;
    assert.equal(run.pid, undefined);
    assert.equal(outcome.kind, 'stopped');
    assert.equal(outcome.stopReason, 'shutting down');
    assert.equal(existsSync(marker), false);
  });
});

describe('spawnAgent: argv, env and cwd are exactly what was asked', () => {
  const dir = tempDir();

  it('passes shell metacharacters literally (no shell ever runs)', async () => {
    const out = join(dir, 'argv.json');
    const args = ['$(touch pwned)', '; rm -rf /', '"quoted" \'x\' `', '&& touch pwned2 |', '*', '$HOME', '', 'a\nb', 'ünïcødé'];
    const outcome = await track(spawnAgent(nodeAgent(dir, 'echo-args.mjs', [out, ...args]))).done;
    assert.equal(outcome.kind, 'exited');
    assert.equal(outcome.exitCode, 0);
    assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')).argv, args);
    assert.equal(existsSync(join(dir, 'pwned')), false);
    assert.equal(existsSync(join(dir, 'pwned2')), false);
  });

  it('gives the agent exactly the environment asked for, nothing from ours', async () => {
    const out = join(dir, 'env.json');
    process.env.SPAWNER_TEST_PARENT_ONLY = 'leak';
    try {
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', TASK_ID: '42', WITH_SPACES: 'a b $(c)' };
      const outcome = await track(spawnAgent({ ...nodeAgent(dir, 'echo-args.mjs', [out]), env })).done;
      assert.equal(outcome.exitCode, 0);
      assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')).env, env);
    } finally {
      delete process.env.SPAWNER_TEST_PARENT_ONLY;
    }
  });

  it('creates a missing working folder and runs the agent in it', async () => {
    const cwd = join(dir, 'work', 'deep', 'tree');
    const out = join(dir, 'cwd.json');
    const outcome = await track(spawnAgent(nodeAgent(cwd, 'echo-args.mjs', [out], { logFile: join(dir, 'cwd.log') }))).done;
    assert.equal(outcome.exitCode, 0);
    assert.equal(JSON.parse(readFileSync(out, 'utf8')).cwd, cwd);
  });

  it('survives output callbacks that throw', async () => {
    const lines: string[] = [];
    const outcome = await track(
      spawnAgent(
        nodeAgent(dir, 'failer.mjs', ['0'], {
          onLine: (line) => {
            lines.push(line);
            throw new Error('parser bug');
          },
        }),
      ),
    ).done;
    assert.equal(outcome.kind, 'exited');
    assert.deepEqual(lines.sort(), ['about to fail', 'failing with exit code 0']);
  });
});
