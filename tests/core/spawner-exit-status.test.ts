import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isProcessGroupAlive, readExitStatus, spawnAgent } from '../../src/core/process/spawner.ts';
import { waitForGroupExit } from '../../src/core/process/process-group.ts';
import { fixture, nodeAgent, nodeEval, tempDir, track } from './spawner-support.ts';

/** The waiter: every agent's exit status lands in its exit file, whoever is left to read it. */
describe('spawnAgent({ exitFile }): the waiter', () => {
  const dir = tempDir();
  let count = 0;
  const exitFile = () => join(dir, `run-${++count}.exit`);

  it('records a clean exit and a failing exit code, and reports them as the agent’s own', async () => {
    const ok = exitFile();
    const run = track(spawnAgent(nodeAgent(dir, 'sleeper.mjs', ['0'], { exitFile: ok })));
    assert.equal(run.pgid, run.pid, 'the run leads a process group of its own');
    const outcome = await run.done;
    assert.equal(outcome.kind, 'exited');
    assert.equal(outcome.exitCode, 0);
    assert.match(outcome.tail, /sleeping 0s\ndone\n$/);
    assert.equal(outcome.strayProcesses, false);
    assert.equal(isProcessGroupAlive(run.pgid!), false);
    assert.deepEqual({ ...readExitStatus(ok), endedAt: 0 }, { exitCode: 0, signal: null, endedAt: 0 });
    assert.ok(Math.abs(readExitStatus(ok)!.endedAt - Date.now()) < 60_000);

    const failing = exitFile();
    const failed = await track(spawnAgent(nodeAgent(dir, 'failer.mjs', ['3'], { exitFile: failing }))).done;
    assert.equal(failed.exitCode, 3);
    assert.equal(readExitStatus(failing)?.exitCode, 3);
  });

  it('tells a death by signal from an exit code', async () => {
    const file = exitFile();
    const outcome = await track(spawnAgent(nodeEval(dir, 'process.kill(process.pid, "SIGKILL")', { exitFile: file }))).done;
    assert.equal(outcome.kind, 'exited');
    assert.equal(outcome.exitCode, null);
    assert.equal(outcome.signal, 'SIGKILL');
    assert.equal(readExitStatus(file)?.signal, 'SIGKILL');
  });

  it('survives a TERM to the whole group and still writes the status (stop, TERM → grace → KILL)', async () => {
    const file = exitFile();
    const logFile = join(dir, 'stopped.log');
    const run = track(spawnAgent(nodeAgent(dir, 'sleeper.mjs', ['30'], { exitFile: file, logFile })));
    await waitFor(() => readFileSync(logFile, 'utf8').includes('sleeping 30s'));
    const outcome = await run.stop('operator');
    assert.equal(outcome.kind, 'stopped');
    assert.equal(outcome.signal, 'SIGTERM');
    assert.equal(outcome.forcedKill, false);
    assert.equal(readExitStatus(file)?.signal, 'SIGTERM');

    const stubborn = exitFile();
    const ignorerLog = join(dir, 'ignorer.log');
    const ignorer = track(spawnAgent(nodeAgent(dir, 'term-ignorer.mjs', [], { exitFile: stubborn, killGraceMs: 300, logFile: ignorerLog })));
    await waitFor(() => readFileSync(ignorerLog, 'utf8').includes('TERM will be ignored'));
    const killed = await ignorer.stop('operator');
    assert.equal(killed.kind, 'stopped');
    assert.equal(killed.forcedKill, true);
    assert.equal(killed.signal, 'SIGKILL');
    assert.equal(isProcessGroupAlive(ignorer.pgid!), false);
  });

  it('passes task text through untouched: no shell parses, splits or expands the arguments', async () => {
    const out = join(dir, 'argv.json');
    const nasty = ['$(touch pwned)', '`touch pwned2`', '; touch pwned3', "it's \"quoted\"", '*', '$HOME', '-n', '', 'a\nb', '%s %n'];
    const outcome = await track(spawnAgent(nodeAgent(dir, 'echo-args.mjs', [out, ...nasty], { exitFile: exitFile() }))).done;
    assert.equal(outcome.exitCode, 0);
    assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')).argv, nasty);
    for (const name of ['pwned', 'pwned2', 'pwned3']) assert.equal(existsSync(join(dir, name)), false);
  });

  it('never hands a bare name to the shell: a builtin’s name still runs the program found in PATH', async () => {
    const bin = join(dir, 'bin');
    const out = join(dir, 'eval.json');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'eval'), `#!/bin/sh\necho "program ran: $1" > ${JSON.stringify(out)}\n`);
    chmodSync(join(bin, 'eval'), 0o755);
    const outcome = await track(spawnAgent({ ...nodeEval(dir, ''), command: 'eval', args: ['touch pwned4'], env: { PATH: bin }, exitFile: exitFile() })).done;
    assert.equal(outcome.exitCode, 0);
    assert.equal(readFileSync(out, 'utf8'), 'program ran: touch pwned4\n');
    assert.equal(existsSync(join(dir, 'pwned4')), false);
  });

  it('fails to start, with the same words and without a process, when the program cannot run', async () => {
    const missing = spawnAgent({ ...nodeEval(dir, ''), command: 'no-such-agent-command-xyz', args: [], exitFile: exitFile() });
    assert.equal(missing.pid, undefined);
    assert.equal((await missing.done).error, 'command not found: no-such-agent-command-xyz');
    const noPath = await spawnAgent({ ...nodeEval(dir, ''), command: 'no-such-agent-command-xyz', args: [], env: {}, exitFile: exitFile() }).done;
    assert.equal(noPath.error, "command not found: no-such-agent-command-xyz (PATH is not set in the agent's environment)");
    const script = join(dir, 'not-executable.sh');
    writeFileSync(script, '#!/bin/sh\n');
    chmodSync(script, 0o644);
    const denied = await spawnAgent({ ...nodeEval(dir, ''), command: script, args: [], exitFile: exitFile() }).done;
    assert.equal(denied.error, `permission denied: ${script} (is it executable?)`);
    const bad = join(dir, 'bad-interpreter.sh');
    writeFileSync(bad, '#!/no/such/interpreter\n');
    chmodSync(bad, 0o755);
    const interpreter = await spawnAgent({ ...nodeEval(dir, ''), command: bad, args: [], exitFile: exitFile() }).done;
    assert.equal(interpreter.kind, 'start_failed');
    assert.match(interpreter.error!, /interpreter/);
    const relative = await track(spawnAgent({ ...nodeEval(dir, ''), command: './not-executable.sh', args: [], exitFile: exitFile() })).done;
    assert.equal(relative.kind, 'start_failed');
    const found = await track(spawnAgent({ ...nodeEval(dir, ''), command: 'failer.mjs', args: ['4'], env: { PATH: `/nowhere:${join(fixture('x'), '..')}:/usr/bin:/bin` }, exitFile: exitFile() })).done;
    assert.equal(found.exitCode, 4, 'a name is looked up in the agent’s PATH, in order');
  });

  it('leaves the status on disk for a later dispatcher when it has let the agent go (detach)', async () => {
    const file = exitFile();
    const run = track(spawnAgent(nodeEval(dir, 'setTimeout(() => process.exit(7), 300)', { exitFile: file, detach: true })));
    run.release();
    assert.equal(await waitForGroupExit(run.pgid!, 10_000), true);
    assert.equal(readExitStatus(file)?.exitCode, 7);
  });

  it('says the outcome is lost, not a guess, when the waiter itself is killed', async () => {
    const file = exitFile();
    const logFile = join(dir, 'orphaned.log');
    const run = track(spawnAgent(nodeAgent(dir, 'sleeper.mjs', ['30'], { exitFile: file, logFile })));
    await waitFor(() => readFileSync(logFile, 'utf8').includes('sleeping 30s'));
    process.kill(run.pid!, 'SIGKILL'); // the waiter alone: the agent runs on
    const outcome = await run.done;
    assert.equal(outcome.kind, 'lost');
    assert.match(outcome.error!, /exit status was not recorded: its waiter was killed by SIGKILL/);
    assert.equal(outcome.strayProcesses, true, 'the agent left behind is stopped with its group');
    assert.equal(isProcessGroupAlive(run.pgid!), false);
    assert.equal(readExitStatus(file), undefined);
  });

  it('reads only a whole status line', () => {
    const file = exitFile();
    for (const text of ['', 'status ', 'status 3', 'status x\n', 'exit 0\n']) {
      writeFileSync(file, text);
      assert.equal(readExitStatus(file), undefined, JSON.stringify(text));
    }
    writeFileSync(file, 'status 143\n');
    assert.equal(readExitStatus(file)?.signal, 'SIGTERM');
    writeFileSync(file, 'status 255\n');
    assert.equal(readExitStatus(file)?.exitCode, 255);
  });
});

async function waitFor(check: () => boolean, withinMs = 10_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      if (check()) return;
    } catch {
      // not there yet
    }
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
