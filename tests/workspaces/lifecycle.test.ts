import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessGroupAlive } from '../../src/core/process/process-group.ts';
import { readRecord } from '../../src/core/workspaces/records.ts';
import { ensureWorkspace, locateWorkspace, removeWorkspace } from '../../src/core/workspaces/workspace.ts';
import { ROOT, tempDir, waitFor } from '../helpers.ts';
import { git, HOOK, makeRepo, settings, setup, task } from './support.ts';

const commitIn = (path: string, file: string) => {
  writeFileSync(join(path, file), `${file}\n`);
  git(path, 'add', '--', file);
  git(path, 'commit', '-q', '-m', file);
};

describe('workspaces', () => {
  it('gives two tasks of one repository two worktrees on two branches, whose commits stay apart', async () => {
    const repo = makeRepo();
    const ws = settings({ git: { repo, base: 'main', branch: 'agent/{task_id}' } });
    const log = join(tempDir(), 'run.log');
    const [a, b] = [locateWorkspace(ws, task('1')), locateWorkspace(ws, task('2'))];
    assert.deepEqual(await ensureWorkspace(ws, a, task('1'), setup(log)), { created: true });
    await ensureWorkspace(ws, b, task('2'), setup(log));
    assert.equal(git(a.path, 'branch', '--show-current'), 'agent/1');
    assert.equal(git(b.path, 'branch', '--show-current'), 'agent/2');
    commitIn(a.path, 'one.txt');
    commitIn(b.path, 'two.txt');
    assert.equal(git(repo, 'ls-tree', '--name-only', 'agent/1', 'two.txt'), '');
    assert.equal(git(repo, 'ls-tree', '--name-only', 'agent/2', 'one.txt'), '');
    assert.equal(git(repo, 'ls-tree', '--name-only', 'main', 'one.txt'), '', 'main is untouched');
    assert.deepEqual(await ensureWorkspace(ws, a, task('1'), setup(log)), { created: false }, 'kept across attempts');
  });

  it('runs before_remove once when a run\'s end and the sweep remove one workspace at the same time', async () => {
    const repo = makeRepo();
    const out = join(tempDir(), 'hooks.jsonl');
    const ws = settings({ git: { repo, base: 'main', branch: 'agent/{task_id}' }, hooks: { before_remove: [process.execPath, HOOK, out] } });
    const log = join(tempDir(), 'run.log');
    const location = locateWorkspace(ws, task('4'));
    await ensureWorkspace(ws, location, task('4'), setup(log));
    const results = await Promise.all([removeWorkspace(ws, location, setup(log), '4'), removeWorkspace(ws, location, setup(log), '4')]);
    assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 1, 'one before_remove');
    assert.deepEqual(results.map((hook) => hook?.ok).sort(), [true, undefined], 'the second found nothing left to do');
    assert.equal(existsSync(location.path), false);
  });

  it('removes the worktree but never the branch, and a new workspace of the task continues on it', async () => {
    const repo = makeRepo();
    const ws = settings({ git: { repo, base: 'main', branch: 'agent/{task_id}' } });
    const log = join(tempDir(), 'run.log');
    const location = locateWorkspace(ws, task('9'));
    await ensureWorkspace(ws, location, task('9'), setup(log));
    commitIn(location.path, 'kept.txt');
    writeFileSync(join(location.path, 'uncommitted.txt'), 'x');
    await removeWorkspace(ws, location, setup(log));
    assert.equal(existsSync(location.path), false);
    assert.doesNotMatch(git(repo, 'worktree', 'list'), /agent\/9/);
    assert.match(git(repo, 'log', '--oneline', 'agent/9'), /kept\.txt/);
    assert.equal(await readRecord(ws.root, location.key), undefined);
    assert.deepEqual(await ensureWorkspace(ws, location, task('9'), setup(log)), { created: true });
    assert.ok(existsSync(join(location.path, 'kept.txt')), 'the branch is checked out again with its commits');
  });

  it('makes again a worktree whose folder was deleted while git still had it registered', async () => {
    const repo = makeRepo();
    const ws = settings({ git: { repo, base: 'main', branch: 'agent/{task_id}' } });
    const log = join(tempDir(), 'run.log');
    const location = locateWorkspace(ws, task('3'));
    await ensureWorkspace(ws, location, task('3'), setup(log));
    rmSync(location.path, { recursive: true, force: true });
    assert.deepEqual(await ensureWorkspace(ws, location, task('3'), setup(log)), { created: true });
    assert.equal(git(location.path, 'branch', '--show-current'), 'agent/3');
  });

  it('serializes worktree changes of one repository: ten at once all get theirs', async () => {
    const repo = makeRepo(50);
    const ws = settings({ git: { repo, base: 'main', branch: 'agent/{task_id}' } });
    const log = join(tempDir(), 'run.log');
    const ids = Array.from({ length: 10 }, (_, i) => `t${i}`);
    await Promise.all(ids.map((id) => ensureWorkspace(ws, locateWorkspace(ws, task(id)), task(id), setup(log))));
    for (const id of ids) assert.equal(git(locateWorkspace(ws, task(id)).path, 'branch', '--show-current'), `agent/${id}`);
  });

  it('refuses a branch template that makes no valid branch, before making anything', async () => {
    const repo = makeRepo();
    const ws = settings({ git: { repo, base: 'main', branch: 'agent//{task_id}..x' } });
    const location = locateWorkspace(ws, task('4'));
    await assert.rejects(ensureWorkspace(ws, location, task('4'), setup(join(tempDir(), 'run.log'))), /not a valid branch name/);
    assert.equal(existsSync(location.path), false);
  });

  it('runs after_create once, in the new workspace; a failed one is run again on a fresh folder', async () => {
    const out = join(tempDir(), 'hooks.jsonl');
    const marker = join(tempDir(), 'fail-once');
    writeFileSync(marker, '');
    const ws = settings({ hooks: { after_create: ['/bin/sh', '-c', `touch made-here; if [ -e "${marker}" ]; then rm "${marker}"; exit 4; fi; "${process.execPath}" "${HOOK}" "${out}"`] } });
    const log = join(tempDir(), 'run.log');
    const location = locateWorkspace(ws, task('5'));
    await assert.rejects(ensureWorkspace(ws, location, task('5'), setup(log)), (error: Error & { tail?: string }) => /after_create hook failed \(exit 4\)/.test(error.message));
    writeFileSync(join(location.path, 'left-over'), '');
    assert.deepEqual(await ensureWorkspace(ws, location, task('5'), setup(log, { DISPATCHER_TASK_ID: '5' })), { created: true });
    assert.equal(existsSync(join(location.path, 'left-over')), false, 'a fresh folder');
    assert.ok(existsSync(join(location.path, 'made-here')));
    await ensureWorkspace(ws, location, task('5'), setup(log));
    const calls = readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    assert.equal(calls.length, 1, 'once the workspace is ready, never again');
    assert.equal(calls[0].hook, 'after_create');
    assert.equal(calls[0].env.DISPATCHER_WORKSPACE, location.path);
    assert.equal(calls[0].env.DISPATCHER_TASK_ID, '5');
    assert.match(readFileSync(log, 'utf8'), /--- after_create hook: [\s\S]*hook after_create says hello/);
  });

  it('after a kill -9 in the middle of after_create, the next start stops the leftover hook and creates again', async () => {
    const repo = makeRepo();
    const dir = tempDir();
    const out = join(dir, 'hooks.jsonl');
    const ws = settings({ git: { repo, base: 'main', branch: 'agent/{task_id}' }, hooks: { after_create: [process.execPath, HOOK, out, '0', '60000'] } });
    const log = join(dir, 'run.log');
    const code = `
      import { ensureWorkspace, locateWorkspace } from './src/core/workspaces/workspace.ts';
      const ws = ${JSON.stringify(ws)};
      const task = { id: '6', name: 'six', url: 'u', route: 'Todo' };
      await ensureWorkspace(ws, locateWorkspace(ws, task), task, { baseEnv: process.env, secretEnv: [], logFile: ${JSON.stringify(log)}, killGraceMs: 500, vars: {} });`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT, stdio: 'ignore' });
    const location = locateWorkspace(ws, task('6'));
    const record = await waitFor(async () => (await readRecord(ws.root, location.key))?.hookGroup, 20_000, 'the hook to start');
    await waitFor(() => existsSync(out), 10_000, 'the hook to write');
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(isProcessGroupAlive(record.pgid), true, 'the hook outlived its dispatcher');
    writeFileSync(join(location.path, 'half-made'), '');

    const fast = { ...ws, hooks: { after_create: [process.execPath, HOOK, out] } };
    assert.deepEqual(await ensureWorkspace(fast, location, task('6'), setup(log)), { created: true });
    assert.equal(isProcessGroupAlive(record.pgid), false, 'the leftover hook was stopped');
    assert.equal(existsSync(join(location.path, 'half-made')), false);
    assert.equal(git(location.path, 'branch', '--show-current'), 'agent/6');
    assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 2, 'after_create ran again');
    assert.equal((await readRecord(ws.root, location.key))?.ready, true);
  });
});
