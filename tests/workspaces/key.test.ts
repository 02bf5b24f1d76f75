import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, lstatSync, mkdirSync, realpathSync } from 'node:fs';
import { join, relative } from 'node:path';
import { workspaceKey } from '../../src/core/workspaces/key.ts';
import { recordFile } from '../../src/core/workspaces/records.ts';
import { ensureWorkspace, isWorkspaceReady, locateWorkspace, removeWorkspace } from '../../src/core/workspaces/workspace.ts';
import { tempDir } from '../helpers.ts';
import { git, makeRepo, settings, setup, task } from './support.ts';

const HOSTILE = ['../../etc', 'a/b', 'a_b', '.git', '.', '..', 'x'.repeat(300), 'x'.repeat(301), 'CON', 'con.txt', 'line\nbreak', 'line_break', '', ' ', 'refs.lock', 'a..b', '-rf', 'é', '/etc/passwd', 'C:\\Windows', 'a\u0000b'];

describe('workspace keys', () => {
  it('keeps a harmless id as it is', () => {
    for (const id of ['42', 'PROJ-123', 'abc_def', 'v1.2.3', '5f3a9c']) assert.equal(workspaceKey(id), id);
  });

  it('gives hostile ids distinct keys of safe characters only, none special to a file system or git', () => {
    const keys = HOSTILE.map(workspaceKey);
    assert.equal(new Set(keys).size, keys.length, `distinct: ${keys.join(' ')}`);
    for (const key of keys) {
      assert.match(key, /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/);
      assert.doesNotMatch(key, /\.\.|\.$|\.lock$/i);
      assert.doesNotMatch(key, /^(con|prn|aux|nul|com\d|lpt\d)(\.|$)/i);
    }
  });

  it('makes every hostile task a folder directly inside the root, and a valid branch', async () => {
    const repo = makeRepo();
    const ws = settings({ git: { repo, base: 'main', branch: 'agent/{task_id}' } });
    const log = join(tempDir(), 'run.log');
    const paths = new Set<string>();
    for (const id of HOSTILE) {
      const location = locateWorkspace(ws, task(id));
      await ensureWorkspace(ws, location, task(id), setup(log));
      const real = realpathSync(location.path);
      assert.equal(relative(realpathSync(ws.root), real), location.key, id);
      assert.ok(lstatSync(real).isDirectory());
      assert.equal(git(real, 'branch', '--show-current'), location.branch);
      paths.add(real);
    }
    assert.equal(paths.size, HOSTILE.length);
  });

  it('refuses a workspace folder that is a link to elsewhere', async () => {
    const ws = settings();
    const location = locateWorkspace(ws, task('7'));
    const { mkdirSync, symlinkSync } = await import('node:fs');
    mkdirSync(ws.root, { recursive: true });
    symlinkSync(tempDir(), location.path);
    await assert.rejects(ensureWorkspace(ws, location, task('7'), setup(join(tempDir(), 'run.log'))), /not a folder/);
  });

  it('refuses to share a folder between ids that differ only in case (as a file system that ignores case would make them)', async () => {
    const ws = settings();
    const log = join(tempDir(), 'run.log');
    const upper = locateWorkspace(ws, task('ABC-1'));
    await ensureWorkspace(ws, upper, task('ABC-1'), setup(log));
    // What macOS or Windows shows for `abc-1`: the same folder, and the record of ABC-1.
    const lower = locateWorkspace(ws, task('abc-1'));
    mkdirSync(lower.path);
    copyFileSync(recordFile(ws.root, upper.key), recordFile(ws.root, lower.key));
    await assert.rejects(ensureWorkspace(ws, lower, task('abc-1'), setup(log)), /is the workspace of task ABC-1, not of abc-1/);
    await assert.rejects(removeWorkspace(ws, lower, setup(log), 'abc-1'), /is the workspace of task ABC-1/);
    assert.ok(existsSync(lower.path) && existsSync(recordFile(ws.root, lower.key)), 'nothing removed');
    assert.equal(await isWorkspaceReady(lower, 'abc-1'), false, 'no after_run of abc-1 in the workspace of ABC-1');
    assert.equal(await isWorkspaceReady(upper, 'ABC-1'), true);
  });
});
