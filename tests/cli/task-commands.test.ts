import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyFixture, readJson, runCli, tempDir, writeFile } from '../helpers.ts';

/** The reference's pyproject example, pointed at a temp copy of the reference's board. */
function referenceSetup() {
  const dir = tempDir();
  const board = copyFixture('boards/reference-board.json', dir, 'board.json');
  const pyproject = readFileSync(join(import.meta.dirname, '../../fixtures/boards/reference-pyproject.toml'), 'utf8').replace('/tmp/board.json', board);
  writeFile(dir, 'pyproject.toml', pyproject);
  return { dir, board };
}

describe('task commands on the reference config and board', () => {
  it('show, comment, move, update, create and list all work', async () => {
    const { dir, board } = referenceSetup();
    const show = await runCli(['task', 'show', '1', '--json'], { cwd: dir });
    assert.equal(show.code, 0, show.stderr);
    const task = JSON.parse(show.stdout);
    assert.equal(task.name, 'Fix crash');
    assert.equal(task.queue, 'Todo');

    const human = await runCli(['task', 'show', '1'], { cwd: dir });
    assert.match(human.stdout, /#1 {2}Fix crash/);

    assert.equal((await runCli(['task', 'comment', '1', 'Looking into it'], { cwd: dir })).code, 0);
    assert.equal((await runCli(['task', 'comment', '1', '-'], { cwd: dir, input: 'from stdin\nsecond line\n' })).code, 0);
    const moved = await runCli(['task', 'move', '1', 'In Progress', '--json'], { cwd: dir });
    assert.equal(JSON.parse(moved.stdout).queue, 'In Progress');
    const updated = await runCli(['task', 'update', '1', '--name', 'Fix crash on start', '--label', 'bug', '--label', 'p1', '--assignee', 'alice', '--json'], { cwd: dir });
    assert.equal(updated.code, 0, updated.stderr);
    assert.deepEqual(JSON.parse(updated.stdout).labels, ['bug', 'p1']);
    const created = await runCli(['task', 'create', 'Todo', 'New one', '--description', 'details', '--json'], { cwd: dir });
    assert.equal(JSON.parse(created.stdout).id, '2');
    const listed = await runCli(['task', 'list', 'Todo', 'In Progress', '--json'], { cwd: dir });
    assert.deepEqual(JSON.parse(listed.stdout).map((t: { id: string }) => t.id), ['2', '1']);

    const data = readJson(board);
    const stored = data.queues['In Progress'][0];
    assert.equal(stored.name, 'Fix crash on start');
    assert.deepEqual(stored.assignees, ['alice']);
    assert.deepEqual(stored.comments.map((c: { text: string }) => c.text), ['Looking into it', 'from stdin\nsecond line']);
    assert.deepEqual(stored.tasks, []);
  });

  it('20 concurrent `task comment` processes lose no comment', async () => {
    const { dir, board } = referenceSetup();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => runCli(['task', 'comment', '1', `comment ${i}`], { cwd: dir })));
    for (const result of results) assert.equal(result.code, 0, result.stderr);
    const texts = readJson(board).queues.Todo[0].comments.map((c: { text: string }) => c.text);
    assert.equal(texts.length, 20);
    assert.deepEqual(new Set(texts), new Set(Array.from({ length: 20 }, (_, i) => `comment ${i}`)));
  });
});

describe('bad input: one clear line, the right exit code, no file changed', () => {
  async function expectFailure(setup: (dir: string) => void, args: string[], code: number, message: RegExp) {
    const { dir, board } = referenceSetup();
    setup(dir);
    const before = readFileSync(board, 'utf8');
    const result = await runCli(args, { cwd: dir });
    assert.equal(result.code, code, `exit code for ${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr.split('\n')[0], message);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace for a known error');
    assert.equal(readFileSync(board, 'utf8'), before, 'board unchanged');
  }
  const config = (text: string) => (dir: string) => writeFile(dir, 'dispatcher.toml', text);

  it('malformed TOML', () => expectFailure(config('poll_interval = = 1\n'), ['task', 'show', '1'], 2, /dispatcher\.toml:1:\d+: invalid TOML/));
  it('unknown key', () => expectFailure(config('pol_interval = 1\n'), ['task', 'show', '1'], 2, /pol_interval: unknown key \(did you mean "poll_interval"\?\)/));
  it('wrong type', () => expectFailure(config('max_concurrent_agents = "three"\n'), ['task', 'show', '1'], 2, /max_concurrent_agents: .*number/));
  it('missing backend type', () => expectFailure(config('[backend]\nurl = "b.json"\n'), ['task', 'show', '1'], 2, /backend\.type: is required/));
  it('unknown backend type', () => expectFailure(config('[backend]\ntype = "trello"\n'), ['task', 'show', '1'], 2, /unknown backend type "trello"; known types: json, planka, gitea, api, module/));
  it('no backend at all', () => expectFailure(config('poll_interval = 5\n'), ['task', 'show', '1'], 2, /backend: is required/));
  it('malformed board JSON', () =>
    expectFailure((dir) => writeFileSync(join(dir, 'board.json'), '{"queues": {'), ['task', 'comment', '1', 'x'], 1, /board file .* is not valid JSON at line 1/));
  it('unknown task id', () => expectFailure(() => {}, ['task', 'show', '404'], 4, /no task with id "404"/));
  it('unknown queue', () => expectFailure(() => {}, ['task', 'move', '1', 'Nowhere'], 4, /no queue "Nowhere".*queues: "Todo", "In Progress", "Done"/));
  it('unknown queue to list', () => expectFailure(() => {}, ['task', 'list', 'Nowhere'], 4, /no queue "Nowhere"/));
  for (const queue of ['constructor', '__proto__', 'toString', 'valueOf']) {
    it(`queue "${queue}" is an unknown queue for move, create and list`, async () => {
      await expectFailure(() => {}, ['task', 'move', '1', queue], 4, /no queue/);
      await expectFailure(() => {}, ['task', 'create', queue, 'x'], 4, /no queue/);
      await expectFailure(() => {}, ['task', 'list', queue], 4, /no queue/);
    });
  }
  it('empty comment', () => expectFailure(() => {}, ['task', 'comment', '1', '  '], 2, /the comment must not be empty/));
  it('missing argument', () => expectFailure(() => {}, ['task', 'move', '1'], 2, /missing required argument 'queue'/));
  it('unknown command', () => expectFailure(() => {}, ['frobnicate'], 2, /unknown command 'frobnicate'/));
});

describe('text after the id is text, whatever it starts with', () => {
  it('comments "- a list item", "--help" and "-x"; options before and after the text still work', async () => {
    const { dir, board } = referenceSetup();
    for (const args of [
      ['task', 'comment', '1', '- a markdown list item'],
      ['task', 'comment', '1', '--help'],
      ['task', 'comment', '--json', '1', '-x'],
      ['task', 'comment', '1', '--json', '--config', 'pyproject.toml', '--- a rule'],
      ['task', 'comment', '1', '-- two dashes', '--json'],
    ]) {
      const result = await runCli(args, { cwd: dir });
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
      if (args.includes('--json')) assert.deepEqual(JSON.parse(result.stdout), { ok: true, task_id: '1' });
    }
    const created = await runCli(['task', 'create', 'Todo', '- starts with a dash', '--description', '-also', '--json'], { cwd: dir });
    assert.equal(created.code, 0, created.stderr);
    const texts = readJson(board).queues.Todo[0].comments.map((c: { text: string }) => c.text);
    assert.deepEqual(texts, ['- a markdown list item', '--help', '-x', '--- a rule', '-- two dashes']);
    assert.equal(JSON.parse(created.stdout).name, '- starts with a dash');
    assert.equal(JSON.parse(created.stdout).description, '-also');
    const help = await runCli(['task', 'comment', '--help'], { cwd: dir });
    assert.match(help.stdout, /Usage: dispatcher task comment/, 'help before the id is still help');
  });
});

describe('tracker text on the terminal', () => {
  it('names with newlines and escape sequences stay on one line, escaped; long ids in errors are cut', async () => {
    const dir = tempDir();
    writeFile(dir, 'board.json', JSON.stringify({ queues: { Todo: [{ id: '1', name: 'two\nlines \u001b[31mred\u001b[0m', description: 'body\r\nwith \u001b]0;title\u0007 bell' }] } }));
    writeFile(dir, 'dispatcher.toml', '[backend]\ntype = "json"\nurl = "board.json"\n');
    const listed = await runCli(['task', 'list', 'Todo'], { cwd: dir });
    assert.equal(listed.stdout, 'Todo\t#1\ttwo\\nlines \\x1b[31mred\\x1b[0m\n');
    const shown = await runCli(['task', 'show', '1'], { cwd: dir });
    assert.ok(!shown.stdout.includes('\u001b') && !shown.stdout.includes('\u0007') && !shown.stdout.includes('\r'), shown.stdout);
    assert.match(shown.stdout, /^#1 {2}two\\nlines \\x1b\[31mred/m);
    assert.match(shown.stdout, /^body\nwith \\x1b\]0;title\\x07 bell$/m);
    const long = 'x'.repeat(10_000);
    const missing = await runCli(['task', 'show', `${long}\u001b[2J`], { cwd: dir });
    assert.equal(missing.code, 4);
    assert.ok(missing.stderr.length < 1_000, `${missing.stderr.length} characters`);
    assert.match(missing.stderr, /"x{299}… \(\+9,70\d chars\)/);
    assert.ok(!missing.stderr.includes('\u001b'));
  });
});

describe('--json errors', () => {
  it('put exactly one JSON document on stdout', async () => {
    const { dir } = referenceSetup();
    const result = await runCli(['task', 'show', '404', '--json'], { cwd: dir });
    assert.equal(result.code, 4);
    assert.deepEqual(Object.keys(JSON.parse(result.stdout)), ['error']);
  });
});
