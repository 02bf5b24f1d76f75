import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { giteaAndFolderPerTest, makeConfig, runOnce } from './support.ts';
import { createDispatchState } from '../../src/core/dispatch-file/state.ts';
import { buildDispatchFileState } from '../../src/api/dashboard/dispatch-file-snapshot.ts';
import { findStaleFiles } from '../../src/core/dispatch-file/stale.ts';
import type { Task } from '../../adapters/types.ts';

const staleLines = (output: string) => output.split('\n').filter((line) => /WARNING: .* but its task file/.test(line));

describe('dispatch-file: task files whose issue was closed or reassigned afterwards', () => {
  const setup = giteaAndFolderPerTest();

  it('are logged once per change (across --once runs), kept on disk, listed in the summary and on the dashboard', async () => {
    const { fake, dir } = setup;
    fake.addCollaborator('acme/app', 'greta');
    fake.addIssue('acme/app', { title: 'to be closed', assignees: ['hans'] });
    fake.addIssue('acme/app', { title: 'to be reassigned', assignees: ['hans'] });
    fake.addIssue('acme/app', { title: 'stays', assignees: ['hans'] });
    const config = makeConfig(dir.path, fake);
    const tasks = join(dir.path, 'tasks');
    const first = await runOnce(config);
    assert.equal(first.dispatched, 3);
    assert.deepEqual(staleLines(first.output), []);
    assert.deepEqual(first.staleFiles, []);

    fake.issue('acme/app', 1)!.state = 'closed';
    fake.issue('acme/app', 2)!.assignees = ['greta'];
    const state = createDispatchState({ mode: 'once', repos: ['acme/app'], tasksDir: tasks, intervalMs: 60_000 });
    const second = await runOnce(config, { state });
    assert.deepEqual(staleLines(second.output).map((line) => line.replace(/^.*WARNING: /, '')), [
      'Issue #1 is no longer open (closed, deleted or moved), but its task file hans/issue-1.md is still there: tell whoever works from it, then delete it (it is never deleted for you)',
      'Issue #2 is no longer assigned to hans (now: greta), but its task file hans/issue-2.md is still there: tell whoever works from it, then delete it (it is never deleted for you)',
    ]);
    assert.match(second.output, /POLL: .*, 2 stale task files \(/);
    assert.ok(existsSync(join(tasks, 'hans', 'issue-1.md')) && existsSync(join(tasks, 'hans', 'issue-2.md')), 'the files are the user\'s: never deleted');
    assert.ok(existsSync(join(tasks, 'greta', 'issue-2.md')), 'the new assignee gets a file as usual');
    assert.deepEqual(second.staleFiles.map(({ file, taskId, kind, assignees }) => ({ file, taskId, kind, assignees })), [
      { file: 'hans/issue-1.md', taskId: 'acme/app#1', kind: 'closed', assignees: undefined },
      { file: 'hans/issue-2.md', taskId: 'acme/app#2', kind: 'reassigned', assignees: ['greta'] },
    ]);
    const log = readFileSync(join(dir.path, 'dispatcher.log'), 'utf8');
    assert.equal(log.split('\n').filter((line) => line.includes('but its task file')).length, 2, 'the log file has them too');

    const page = buildDispatchFileState(state.get(), { trackerType: 'gitea', instance: 'test' });
    const hans = page.groups.rows.find((row) => row.name === 'hans')!;
    assert.equal(hans.counts.stale, 2);
    assert.equal(hans.note, 'stale: issue-1.md (closed), issue-2.md (now greta)');
    assert.deepEqual(page.staleFiles?.map((entry) => entry.file), ['hans/issue-1.md', 'hans/issue-2.md']);
    assert.ok(page.groups.columns.includes('stale'));

    // A cron run a minute later: nothing new to say, still listed.
    const third = await runOnce(config);
    assert.deepEqual(staleLines(third.output), [], 'each change is said once');
    assert.equal(third.staleFiles.length, 2);

    // A change of the change is said again; a file the user deleted is forgotten.
    fake.issue('acme/app', 2)!.assignees = [];
    await rm(join(tasks, 'hans', 'issue-1.md'));
    const fourth = await runOnce(config);
    assert.deepEqual(staleLines(fourth.output).map((line) => line.replace(/^.*WARNING: /, '').split(',')[0]), ['Issue #2 is no longer assigned to greta (now: nobody)', 'Issue #2 is no longer assigned to hans (now: nobody)']);
    assert.deepEqual(fourth.staleFiles.map((entry) => entry.file), ['greta/issue-2.md', 'hans/issue-2.md']);

    // Assigned back: hans's file is current again; greta's is stale in another way, which is said; closed later, said again.
    fake.issue('acme/app', 2)!.assignees = ['hans'];
    const fifth = await runOnce(config);
    assert.deepEqual(fifth.staleFiles.map((entry) => entry.file), ['greta/issue-2.md']);
    assert.deepEqual(staleLines(fifth.output).map((line) => line.replace(/^.*WARNING: /, '').split(',')[0]), ['Issue #2 is no longer assigned to greta (now: hans)']);
    fake.issue('acme/app', 2)!.state = 'closed';
    const sixth = await runOnce(config);
    assert.deepEqual(staleLines(sixth.output).map((line) => line.replace(/^.*WARNING: /, '').split(',')[0]), ['Issue #2 is no longer open (closed', 'Issue #2 is no longer open (closed']);
  });

  it('a damaged record of them only means they are said once more', async () => {
    const { fake, dir } = setup;
    fake.addIssue('acme/app', { title: 'closed later', assignees: ['hans'] });
    const config = makeConfig(dir.path, fake);
    await runOnce(config);
    fake.issue('acme/app', 1)!.state = 'closed';
    assert.equal(staleLines((await runOnce(config)).output).length, 1);
    await writeFile(join(config.stateDir, 'dispatch-file-stale.json'), '{ not json');
    const again = await runOnce(config);
    assert.equal(staleLines(again.output).length, 1);
    assert.equal(again.errors, 0);
    assert.equal(staleLines((await runOnce(config)).output).length, 0);
  });

  it('--dry-run reports them and records nothing', async () => {
    const { fake, dir } = setup;
    fake.addIssue('acme/app', { title: 'closed later', assignees: ['hans'] });
    const config = makeConfig(dir.path, fake);
    await runOnce(config);
    fake.issue('acme/app', 1)!.state = 'closed';
    const dry = await runOnce(config, { dryRun: true });
    assert.equal(staleLines(dry.output).length, 1);
    assert.equal(staleLines((await runOnce(config)).output).length, 1, 'the dry run recorded nothing');
  });
});

describe('findStaleFiles', () => {
  const open = (id: string, assignees: string[]): Task => ({ id, name: id, description: '', queue: id.split('#')[0], labels: [], assignees, comments: [], url: '', createdAt: '' });

  it('judges only files of repositories read this cycle, in the names of the configured form', () => {
    const folders = new Map([
      ['hans', new Set(['acme+app-issue-1.md', 'acme+web-issue-1.md', 'issue-7.md', 'notes.md', 'acme+app-issue-2.md'])],
      ['Gre%20ta', new Set(['acme+app-issue-2.md'])],
    ]);
    const scan = findStaleFiles({ folders, openTasks: [open('acme/app#2', ['Gre ta'])], readRepos: ['acme/app'], multiRepo: true, now: 'now' });
    assert.deepEqual(scan.stale.map((entry) => [entry.file, entry.kind]), [
      ['hans/acme+app-issue-1.md', 'closed'],
      ['hans/acme+app-issue-2.md', 'reassigned'],
    ]);
    assert.ok(!scan.judged.has('hans/acme+web-issue-1.md'), 'acme/web was not read: not judged');
    assert.ok(!scan.judged.has('hans/issue-7.md') && !scan.judged.has('hans/notes.md'), 'other names are not task files of this form');
    assert.ok(scan.judged.has('Gre%20ta/acme+app-issue-2.md'), 'a made-safe login is its folder');
  });
});
