import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile, mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { startFakeGitea, type FakeGitea } from '../../fixtures/gitea/fake-gitea.ts';
import { createDispatchState } from '../../src/core/dispatch-file/state.ts';
import { makeConfig, runOnce, tempDir } from './support.ts';

let fake: FakeGitea;
let dir: { path: string; remove: () => Promise<void> };
const tasks = (...parts: string[]) => join(dir.path, 'tasks', ...parts);
const list = async (...parts: string[]) => (await readdir(tasks(...parts)).catch(() => [] as string[])).sort();

beforeEach(async () => {
  fake = await startFakeGitea();
  dir = await tempDir();
  fake.addRepo('acme/app', { labels: ['critical', 'high', 'low', 'bug'] });
});
afterEach(async () => {
  await fake.close();
  await dir.remove();
});

describe('dispatch-file cycle', () => {
  it('writes one file per assignee, in priority order, and skips unassigned issues and pull requests', async () => {
    fake.addIssue('acme/app', { title: 'old normal', assignees: ['hans'], createdAt: '2026-01-01T00:00:00Z' });
    fake.addIssue('acme/app', { title: 'urgent', labels: ['critical'], assignees: ['hans', 'greta'], createdAt: '2026-03-01T00:00:00Z' });
    fake.addIssue('acme/app', { title: '[HIGH] soon', assignees: ['greta'], createdAt: '2026-02-01T00:00:00Z' });
    fake.addIssue('acme/app', { title: 'nobody', createdAt: '2026-01-01T00:00:00Z' });
    fake.addPullRequest('acme/app', { title: 'CRITICAL: a pull request', assignees: ['hans'] });
    fake.addIssue('acme/app', { title: 'closed', assignees: ['hans'], state: 'closed' });
    const run = await runOnce(makeConfig(dir.path, fake));
    assert.deepEqual(
      run.files.map((file) => `${file.assignee}:${file.taskId}:${file.priority}`),
      ['hans:acme/app#2:CRITICAL', 'greta:acme/app#2:CRITICAL', 'greta:acme/app#3:HIGH', 'hans:acme/app#1:NORMAL'],
    );
    assert.deepEqual(await list('hans'), ['issue-1.md', 'issue-2.md']);
    assert.deepEqual(await list('greta'), ['issue-2.md', 'issue-3.md']);
    assert.equal(run.skipped, 1, 'the unassigned issue');
    const text = await readFile(tasks('hans', 'issue-2.md'), 'utf8');
    assert.match(text, /^# Issue #2: urgent$/m);
    assert.match(text, /\*\*Priority:\*\* CRITICAL/);
  });

  it('never dispatches an issue twice: an existing file is skipped, also after a restart', async () => {
    fake.addIssue('acme/app', { title: 'one', assignees: ['hans'] });
    fake.addIssue('acme/app', { title: 'two', assignees: ['hans'] });
    await mkdir(tasks('hans'), { recursive: true });
    await writeFile(tasks('hans', 'issue-1.md'), 'written by hand\n');
    const config = makeConfig(dir.path, fake);
    const first = await runOnce(config);
    assert.deepEqual(first.files.map((file) => file.taskId), ['acme/app#2']);
    assert.equal(await readFile(tasks('hans', 'issue-1.md'), 'utf8'), 'written by hand\n');
    const second = await runOnce(config);
    assert.equal(second.dispatched, 0);
    assert.equal(second.skipped, 2);
  });

  it('names files by repository when several repositories are watched, so two #2 never collide', async () => {
    fake.addRepo('acme/web');
    fake.addIssue('acme/app', { title: 'app one', assignees: ['hans'] });
    fake.addIssue('acme/app', { title: 'app two', assignees: ['hans'] });
    fake.addIssue('acme/web', { title: 'web one', assignees: ['hans'] });
    fake.addIssue('acme/web', { title: 'web two', assignees: ['hans'] });
    const run = await runOnce(makeConfig(dir.path, fake, { repos: ['acme/app', 'acme/web'] }));
    assert.equal(run.dispatched, 4);
    assert.deepEqual(await list('hans'), ['acme+app-issue-1.md', 'acme+app-issue-2.md', 'acme+web-issue-1.md', 'acme+web-issue-2.md']);
    assert.match(await readFile(tasks('hans', 'acme+web-issue-2.md'), 'utf8'), /web two/);
    assert.match(run.output, /DISPATCHED: hans → Issue acme\/web#2 \(web two\)/);
  });

  it('finds every repository of an owner', async () => {
    fake.addOrg('clavitor');
    fake.addRepo('clavitor/vault');
    fake.addRepo('clavitor/old', { archived: true });
    fake.addIssue('clavitor/vault', { title: 'v', assignees: ['hans'] });
    fake.addIssue('clavitor/old', { title: 'archived', assignees: ['hans'] });
    const run = await runOnce(makeConfig(dir.path, fake, { repos: [], owner: 'clavitor' }));
    assert.deepEqual(await list('hans'), ['clavitor+vault-issue-1.md']);
    assert.equal(run.errors, 0);
  });

  it('keeps hostile assignee names inside tasksDir', async () => {
    for (const login of ['../../escape', '..', '.', 'a/b', '.hidden']) fake.addUser(login);
    fake.addIssue('acme/app', { title: 'traversal', assignees: ['../../escape', '..', '.', 'a/b', '.hidden', 'hans'] });
    const run = await runOnce(makeConfig(dir.path, fake));
    assert.equal(run.dispatched, 6);
    assert.ok(!existsSync(join(dir.path, 'escape')) && !existsSync(join(dir.path, '..', 'escape')));
    assert.ok(!existsSync(join(dir.path, 'tasks', 'issue-1.md')) && !existsSync(join(dir.path, 'issue-1.md')));
    const folders = await list();
    assert.equal(folders.length, 6);
    for (const folder of folders) {
      assert.ok(!folder.startsWith('.'), folder);
      assert.deepEqual(await list(folder), ['issue-1.md']);
    }
  });

  it('refuses to write through a symlinked assignee folder', async () => {
    fake.addIssue('acme/app', { title: 'x', assignees: ['hans'] });
    const outside = join(dir.path, 'outside');
    await mkdir(outside, { recursive: true });
    await mkdir(tasks(), { recursive: true });
    await symlink(outside, tasks('hans'));
    const run = await runOnce(makeConfig(dir.path, fake));
    assert.equal(run.dispatched, 0);
    assert.deepEqual(await readdir(outside), []);
    assert.match(run.output, /SKIPPED: "hans" → Issue #1: .*symbolic link/);
  });

  it('reads more than one page of issues (pages of 50, Link followed)', async () => {
    for (let n = 1; n <= 120; n++) fake.addIssue('acme/app', { title: `issue ${n}`, assignees: ['hans'] });
    fake.addPullRequest('acme/app', { title: 'pr', assignees: ['hans'] });
    fake.resetRequests();
    const run = await runOnce(makeConfig(dir.path, fake, { commentsLimit: 0 }));
    assert.equal(run.dispatched, 120);
    assert.equal((await list('hans')).length, 120);
    const pages = fake.requests.filter((request) => request.path === '/api/v1/repos/acme/app/issues');
    assert.equal(pages.length, 3);
    assert.ok(pages.every((request) => request.query.get('limit') === '50' && request.query.get('type') === 'issues'));
  });

  it('with --dry-run prints what it would write and writes nothing', async () => {
    fake.addIssue('acme/app', { title: 'x', assignees: ['hans'] });
    const config = makeConfig(dir.path, fake);
    const run = await runOnce(config, { dryRun: true });
    assert.equal(run.files.length, 1);
    assert.match(run.output, /DRY RUN: would write .*hans\/issue-1\.md/);
    assert.ok(!existsSync(tasks()));
    assert.ok(!existsSync(config.stateDir), 'no rate-limit state');
    assert.ok(!existsSync(config.dispatchFile!.logFile!), 'no log file');
  });

  it('logs in the reference format, to the console and the log file', async () => {
    fake.addIssue('acme/app', { title: 'CRITICAL: silent DB errors', assignees: ['hans'] });
    const config = makeConfig(dir.path, fake);
    const run = await runOnce(config);
    const line = /^\[DISPATCHER\] \d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}\.\d{6} ✅ DISPATCHED: hans → Issue #1 \(CRITICAL: silent DB errors\) \[Priority: CRITICAL\]$/m;
    assert.match(run.output, line);
    const file = await readFile(config.dispatchFile!.logFile!, 'utf8');
    assert.match(file, line);
    assert.match(file, /^\[DISPATCHER\] .* 🔍 POLL: 1 repository, 1 open: 1 dispatched/m);
    await runOnce(config);
    assert.equal((await readFile(config.dispatchFile!.logFile!, 'utf8')).split('\n').filter((text) => text.includes('POLL:')).length, 2, 'appended');
  });

  it('keeps the token out of files, logs, errors and the state store', async () => {
    fake.addIssue('acme/app', { title: 'leak', body: `my token is ${fake.token}`, assignees: ['hans'] });
    const config = makeConfig(dir.path, fake);
    const state = createDispatchState({ mode: 'once', repos: ['acme/app'], tasksDir: tasks(), intervalMs: 60_000 });
    const ok = await runOnce(config, { state });
    assert.equal(ok.dispatched, 1);
    const broken = makeConfig(dir.path, fake, { repos: ['acme/app', 'acme/missing'] });
    const failed = await runOnce(broken, { state });
    assert.ok(failed.errors >= 1);
    fake.setOutage(502);
    // --once stops at the token check when Gitea is down: the error is what reaches the console.
    const down = await runOnce(config, { state }).then(
      () => assert.fail('expected the outage to stop --once'),
      (error: Error) => ({ output: error.message }),
    );
    const everything = [
      await readFile(tasks('hans', 'issue-1.md'), 'utf8'),
      await readFile(config.dispatchFile!.logFile!, 'utf8'),
      ok.output + failed.output + down.output,
      JSON.stringify(state.get()),
    ].join('\n');
    assert.ok(!everything.includes(fake.token), 'the token leaked');
    assert.match(everything, /\[redacted\]/);
    assert.match(everything, /cannot read acme\/missing/);
  });
});

