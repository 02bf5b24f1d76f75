import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, waitFor } from '../helpers.ts';
import { project, startDaemon } from './support.ts';

describe('two daemons on one state_dir', () => {
  it('refuses the second `run` with a clear message, allows it with --share-state-dir, and ignores a dead one', async () => {
    const p = project([], `[routing."Todo"]\ncommand = "true"\n`);
    const first = startDaemon(p.dir);
    await waitFor(() => /API listening/.test(first.output()), 15_000, 'the first daemon');
    const refused = await runCli(['run'], { cwd: p.dir, timeoutMs: 15_000 });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, new RegExp(`^dispatcher: another dispatcher run \\(pid ${first.child.pid}, API http://127\\.0\\.0\\.1:\\d+\\) already uses the state_dir .*\\.dispatcher: stop it first, or pass --share-state-dir`, 'm'));
    assert.doesNotMatch(refused.stderr, /unexpected error/);
    const poll = await runCli(['poll-once'], { cwd: p.dir, timeoutMs: 15_000 });
    assert.equal(poll.code, 0, `poll-once beside a daemon is fine: ${poll.stderr}`);

    const second = startDaemon(p.dir, ['--share-state-dir']);
    await waitFor(() => /shares the state_dir/.test(second.output()), 15_000, 'the warning');
    assert.match(second.output(), new RegExp(`another dispatcher run \\(pid ${first.child.pid}\\) shares the state_dir`));
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0, second.output());

    first.child.kill('SIGKILL');
    await first.exited;
    const third = startDaemon(p.dir);
    await waitFor(() => /API listening/.test(third.output()), 15_000, 'a daemon after a kill -9');
    assert.doesNotMatch(third.output(), /shares the state_dir/);
    third.child.kill('SIGTERM');
    assert.equal(await third.exited, 0, third.output());
  });
});
