import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessGroupAlive } from '../../src/core/process/process-group.ts';
import { readJson, waitFor } from '../helpers.ts';
import { AGENTS, NODE, project, startDaemon, task } from '../cli/support.ts';
import { git, HOOK, makeRepo } from './support.ts';

describe('workspaces across a dispatcher crash', () => {
  it('kill -9 of the daemon during after_create, then a restart: the leftover hook is stopped, the worktree made again, after_create run again, the task done', async () => {
    const repo = makeRepo();
    const marker = join(repo, '..', 'slow-once');
    const out = join(repo, '..', 'hooks.jsonl');
    writeFileSync(marker, '');
    const afterCreate = `${JSON.stringify(process.execPath)} ${JSON.stringify(HOOK)} ${JSON.stringify(out)}; touch half-made; if [ -e ${JSON.stringify(marker)} ]; then rm ${JSON.stringify(marker)}; sleep 60; fi`;
    const p = project(
      [task('1')],
      `[routing.Todo]\ncommand = ${NODE}\nargs = [${JSON.stringify(join(AGENTS, 'echo-args.mjs'))}, "seen.json"]\nin_progress_queue = "In Progress"\non_success_queue = "Done"\nmax_attempts = 2\n`,
      `[workspace]\nroot = "ws"\ngit = { repo = ${JSON.stringify(repo)} }\nafter_create = { sh = ${JSON.stringify(afterCreate)} }\n`,
    );
    const first = startDaemon(p.dir);
    const record = join(p.dir, 'ws', '.dispatcher', '1.json');
    const hookGroup = await waitFor(() => existsSync(record) && readJson(record).hookGroup, 20_000, 'after_create to start');
    await waitFor(() => !existsSync(marker), 10_000, 'the hook to reach its sleep');
    first.child.kill('SIGKILL');
    await first.exited;
    assert.equal(isProcessGroupAlive(hookGroup.pgid), true, 'the hook outlived its dispatcher');

    const second = startDaemon(p.dir);
    try {
      await waitFor(() => readJson(p.board).queues.Done.length === 1, 30_000, 'the task to be done');
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
    assert.equal(isProcessGroupAlive(hookGroup.pgid), false, 'the leftover hook was stopped');
    const calls = readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(calls.length, 2, 'after_create ran again');
    const workspace = join(p.dir, 'ws', '1');
    assert.equal(git(workspace, 'branch', '--show-current'), 'agent/1');
    assert.equal(readJson(record).ready, true);
    assert.equal(JSON.parse(readFileSync(join(workspace, 'seen.json'), 'utf8')).env.DISPATCHER_ATTEMPT, '2');
  });
});
