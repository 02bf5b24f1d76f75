import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createRouter } from '../../src/core/dispatch/router.ts';
import { buildStatus } from '../../src/core/runs/status.ts';
import { renderStatus } from '../../src/commands/status.ts';
import { createLogger } from '../../src/log.ts';
import { runCli, tempDir, waitFor, writeFile } from '../helpers.ts';
import { AGENTS, node, setupBoard, task } from './support.ts';

const queues = (todo: Array<Record<string, unknown>>) => ({ Todo: todo, 'In Progress': [], Done: [], Failed: [] });

/** A board whose route's agent runs until the test creates `go` (then exits with `code`). */
function waitingBoard(todo: Array<Record<string, unknown>>, code = 0) {
  const s = setupBoard(queues(todo), {});
  const go = join(s.dir, 'go');
  const lines: string[] = [];
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
  const log = createLogger({ format: 'plain', level: 'info', stream });
  const board = setupBoard(queues(todo), {
    routing: { Todo: { command: node, args: [join(AGENTS, 'wait-for-file.mjs'), go, String(code)], in_progress_queue: 'In Progress', on_success_queue: 'Done', on_failure_queue: 'Failed' } },
  });
  const router = createRouter({ config: board.config, tracker: board.tracker, ledger: board.ledger, log, baseEnv: process.env });
  return { ...board, router, go: () => writeFileSync(go, ''), lines };
}

const boardOf = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as { queues: Record<string, Array<{ id: string; comments?: Array<{ text: string }> }>> };
const where = (path: string, id: string) => Object.entries(boardOf(path).queues).find(([, tasks]) => tasks.some((t) => t.id === id))?.[0];
const commentsOf = (path: string, id: string) => Object.values(boardOf(path).queues).flat().find((t) => t.id === id)?.comments ?? [];
const ledgerFile = (stateDir: string) => JSON.parse(readFileSync(join(stateDir, 'ledger.json'), 'utf8'));
const history = (stateDir: string) =>
  existsSync(join(stateDir, 'runs.jsonl'))
    ? readFileSync(join(stateDir, 'runs.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line))
    : [];

describe('the outbox: tracker writes at a run\'s end survive a tracker that is away', () => {
  it('a JSON board renamed away while a run ends: comment and move wait in the ledger, status shows them, and they land once when the board is back', async () => {
    const s = waitingBoard([task('1', 'Fix it')]);
    try {
      assert.equal((await s.router.tick()).dispatched.length, 1);
      renameSync(s.boardPath, `${s.boardPath}.away`);
      s.go();
      const [settled] = await s.router.waitForAll();
      assert.equal(settled.status, 'succeeded');
      assert.equal(settled.trackerWrites, 'pending');

      const stored = ledgerFile(s.config.stateDir);
      assert.deepEqual(stored.outbox.map((entry: { change: { kind: string } }) => entry.change.kind), ['comment', 'move'], 'written to the ledger, in order');
      assert.equal(stored.runs.find((run: { id: string }) => run.id === settled.id)?.trackerWrites, 'pending', 'the run stays in the ledger while it owes the tracker');
      const status = buildStatus(await s.ledger.read(), s.config);
      assert.equal(status.trackerWrites.pending, 2);
      assert.match(renderStatus(status), /tracker writes: 2 pending for 1 task\(s\)(, next try in \d+ s|, being tried)/);
      assert.ok(s.lines.some((line) => /could not do the comment on task 1 \(1 try; retrying in 1s\): board file .* does not exist/.test(line)), s.lines.join('\n'));

      const tick = await s.router.tick();
      assert.match(tick.error ?? '', /board file .* does not exist/, 'a missing board is a failed poll, not an empty board');

      renameSync(`${s.boardPath}.away`, s.boardPath);
      await waitFor(() => where(s.boardPath, '1') === 'Done', 15_000, 'the move to Done');
      assert.equal(commentsOf(s.boardPath, '1').length, 1, 'one comment');
      assert.match(commentsOf(s.boardPath, '1')[0].text, /Agent finished \(exit 0\)/);
      await waitFor(() => history(s.config.stateDir).find((run) => run.id === settled.id), 5_000, 'the run in runs.jsonl');
      assert.equal(history(s.config.stateDir).find((run) => run.id === settled.id).trackerWrites, 'done');
      assert.equal(ledgerFile(s.config.stateDir).outbox, undefined);
      assert.equal(buildStatus(await s.ledger.read(), s.config).trackerWrites.pending, 0);
    } finally {
      await s.router.outbox.close();
    }
  });

  it('a board half-written by another tool while a run fails: the failure comment and move land once it is whole again', async () => {
    const s = waitingBoard([task('1', 'Fix it')], 3);
    try {
      await s.router.tick();
      const whole = readFileSync(s.boardPath, 'utf8');
      writeFileSync(s.boardPath, whole.slice(0, Math.floor(whole.length / 2)));
      s.go();
      const [settled] = await s.router.waitForAll();
      assert.equal(settled.status, 'failed');
      assert.equal(settled.trackerWrites, 'pending');
      writeFileSync(s.boardPath, whole);
      await waitFor(() => where(s.boardPath, '1') === 'Failed', 15_000, 'the move to Failed');
      assert.equal(commentsOf(s.boardPath, '1').length, 1);
      assert.match(commentsOf(s.boardPath, '1')[0].text, /Agent failed \(exit 3\)/);
    } finally {
      await s.router.outbox.close();
    }
  });

  it('a task moved by someone else meanwhile keeps its place but still gets its comment; a deleted task drops what it was owed, with a log line', async () => {
    const s = waitingBoard([task('1', 'moved'), task('2', 'deleted')]);
    try {
      assert.equal((await s.router.tick()).dispatched.length, 2);
      const whole = boardOf(s.boardPath);
      renameSync(s.boardPath, `${s.boardPath}.away`);
      s.go();
      const settled = await s.router.waitForAll();
      assert.deepEqual(settled.map((run) => run.trackerWrites), ['pending', 'pending']);
      // Meanwhile someone moves task 1 to Todo and deletes task 2.
      const one = whole.queues['In Progress'].find((t) => t.id === '1')!;
      whole.queues['In Progress'] = [];
      whole.queues.Todo = [one];
      writeFileSync(`${s.boardPath}.away`, JSON.stringify(whole));
      renameSync(`${s.boardPath}.away`, s.boardPath);
      await waitFor(async () => (await s.ledger.read()).outbox === undefined, 15_000, 'an empty outbox');
      assert.equal(where(s.boardPath, '1'), 'Todo', 'not moved back to Done');
      assert.equal(commentsOf(s.boardPath, '1').length, 1, 'the comment still posted');
      assert.ok(s.lines.some((line) => /task 1 is in "Todo" \(moved while its agent ran, or since\); leaving it there/.test(line)), s.lines.join('\n'));
      assert.ok(s.lines.some((line) => /task 2 no longer exists; dropping the comment on task 2 and anything else still owed to it/.test(line)), s.lines.join('\n'));
      const runs = history(s.config.stateDir);
      assert.equal(runs.find((run) => run.taskId === '1').trackerWrites, 'done');
      assert.equal(runs.find((run) => run.taskId === '2').trackerWrites, 'dropped');
    } finally {
      await s.router.outbox.close();
    }
  });
});

describe('a missing JSON board file', () => {
  it('is an unavailable tracker: a failed poll for poll-once, exit 3 for task commands, and no file is created', async () => {
    const dir = tempDir();
    writeFile(dir, 'dispatcher.toml', `api_port = 0\n[backend]\ntype = "json"\nurl = "board.json"\n[routing."Todo"]\ncommand = "true"\n`);
    const show = await runCli(['task', 'show', '1'], { cwd: dir });
    assert.equal(show.code, 3, show.stderr);
    assert.match(show.stderr, /board file .*board\.json does not exist \(renamed or deleted\? `dispatcher init` writes a new one\)/);
    const poll = await runCli(['poll-once', '--log-format', 'plain'], { cwd: dir });
    assert.notEqual(poll.code, 0);
    assert.match(poll.stderr, /poll failed \(1 in a row\).*board\.json does not exist/);
    assert.equal(existsSync(join(dir, 'board.json')), false);
  });
});
