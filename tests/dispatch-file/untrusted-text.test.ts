import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { giteaAndFolderPerTest, makeConfig, runOnce } from './support.ts';
import { createDispatchState } from '../../src/core/dispatch-file/state.ts';

const HOSTILE = '\u001b[2J\u001b]0;pwned\u0007x';
const LONG_TITLE = 't'.repeat(100 * 1024);
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

describe('dispatch-file: tracker text that would play on a terminal, or fill it', () => {
  const setup = giteaAndFolderPerTest();

  it('task files, console and log file show escapes as text; log lines cut a 100 KB title, saying so', async () => {
    const { fake, dir } = setup;
    fake.addIssue('acme/app', { title: HOSTILE, body: `step one\n\u001b[31mred\u001b[0m\r\nstep two\n\n- item`, assignees: ['hans'], comments: [{ body: `see \u001b]8;;http://evil\u0007here` }] });
    fake.addIssue('acme/app', { title: LONG_TITLE, assignees: ['hans'] });
    const state = createDispatchState({ mode: 'once', repos: ['acme/app'], tasksDir: join(dir.path, 'tasks'), intervalMs: 60_000 });
    const run = await runOnce(makeConfig(dir.path, fake), { state });
    assert.equal(run.dispatched, 2, run.output);

    const file = await readFile(join(dir.path, 'tasks', 'hans', 'issue-1.md'), 'utf8');
    assert.doesNotMatch(file, RAW_CONTROL, 'no raw control character in the task file');
    assert.match(file, /^# Issue #1: \\x1b\[2J\\x1b\]0;pwned\\x07x$/m, 'the title, escaped, is still the heading');
    assert.match(file, /^step one\n\\x1b\[31mred\\x1b\[0m\nstep two\n\n- item$/m, 'the body keeps its lines and markdown');
    assert.match(file, /see \\x1b\]8;;http:\/\/evil\\x07here/);
    assert.match(file, /^## Reporting back$/m);

    const log = await readFile(join(dir.path, 'dispatcher.log'), 'utf8');
    for (const [where, text] of [['console', run.output], ['log file', log], ['dashboard log', state.get().log.join('\n')]] as const) {
      assert.doesNotMatch(text, RAW_CONTROL, `no raw control character on the ${where}`);
      assert.ok(!text.includes(LONG_TITLE), `the ${where} repeats the 100 KB title whole`);
      const longest = Math.max(...text.split('\n').map((line) => line.length));
      assert.ok(longest < 1_000, `the ${where} has a line of ${longest} characters`);
    }
    assert.ok(log.includes('hans → Issue #1 (\\x1b[2J\\x1b]0;pwned\\x07x) [Priority: NORMAL]'));
    assert.match(log, /hans → Issue #2 \(t{200}… \(\+102,200 chars\)\) \[Priority: NORMAL\]/, 'cut, saying by how much, the priority still there');
    const recent = state.get().recent.find((record) => record.taskId === 'acme/app#2')!;
    assert.ok(recent.title.length < 2_000, 'the dashboard does not carry the whole title');
  });
});
