import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import createJsonTracker from '../../adapters/json/index.ts';
import { AdapterError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';
import { ROOT, tempDir, writeFile } from '../helpers.ts';
import { runConformance } from './conformance.ts';

const open = (path: string) => createJsonTracker({ options: { type: 'json', url: path }, baseDir: '/', env: {}, log: silentLogger });
const emptyBoard = JSON.stringify({ queues: { Todo: [], 'In Progress': [], Done: [] } });

runConformance('json', async () => {
  const path = writeFile(tempDir(), 'board.json', emptyBoard);
  return { adapter: open(path), queues: ['Todo', 'In Progress', 'Done'], missingId: '999999', labels: ['bug'], missingQueue: 'Nope', close: async () => {} };
});

describe('json board file', () => {
  it('keeps fields it does not know when it rewrites the file', async () => {
    const path = writeFile(tempDir(), 'board.json', JSON.stringify({ version: 3, queues: { Todo: [{ id: 7, name: 'x', custom: { a: 1 }, tasks: [{ id: 's1' }] }], Done: [] } }));
    await open(path).moveTask('7', 'Done');
    const board = JSON.parse(readFileSync(path, 'utf8'));
    assert.equal(board.version, 3);
    assert.deepEqual(board.queues.Done[0].custom, { a: 1 });
    assert.deepEqual(board.queues.Done[0].tasks, [{ id: 's1' }]);
    assert.equal(board.queues.Done[0].id, 7, 'a numeric id stays numeric in the file');
  });

  it('claims a task only while it is still in the queue it was seen in, when asked to', async () => {
    const path = writeFile(tempDir(), 'board.json', JSON.stringify({ queues: { Todo: [{ id: '1', name: 'a' }, { id: '2', name: 'b' }], 'In Progress': [], Done: [{ id: '3', name: 'c' }] } }));
    const tracker = open(path);
    await tracker.claimTask!('1', 'In Progress', 'dispatcher', 'Todo');
    const before = readFileSync(path, 'utf8');
    await assert.rejects(tracker.claimTask!('3', 'In Progress', 'dispatcher', 'Todo'), (error: unknown) => error instanceof AdapterError && error.kind === 'conflict' && /no longer in "Todo" \(it is in "Done"\)/.test(error.message));
    assert.equal(readFileSync(path, 'utf8'), before, 'a refused claim changes nothing');
    await tracker.claimTask!('3', 'In Progress', 'dispatcher');
    const board = JSON.parse(readFileSync(path, 'utf8'));
    assert.deepEqual(board.queues['In Progress'].map((task: { id: string }) => task.id), ['1', '3'], 'without the guard it moves from anywhere');
    assert.deepEqual(board.queues['In Progress'][0].assignees, ['dispatcher']);
  });

  it('takes a missing board file for an unavailable tracker, not an empty board, and never creates it', async () => {
    const path = join(tempDir(), 'sub-missing.json');
    const tracker = open(path);
    const unavailable = (error: unknown) => error instanceof AdapterError && error.kind === 'unavailable' && /board file .*sub-missing\.json does not exist/.test(error.message);
    await assert.rejects(tracker.getReadyTasks(['Todo']), unavailable);
    await assert.rejects(tracker.getTask('1'), unavailable);
    await assert.rejects(tracker.addComment('1', 'hi'), unavailable);
    await assert.rejects(tracker.createTask('Todo', 'x', ''), unavailable);
    assert.equal(existsSync(path), false);
  });

  it('reads plain-string comments from other tools', async () => {
    const path = writeFile(tempDir(), 'board.json', JSON.stringify({ queues: { Todo: [{ id: '1', name: 'x', comments: ['hello'] }] } }));
    const task = await open(path).getTask('1');
    assert.deepEqual(task.comments, [{ author: '', text: 'hello', createdAt: '' }]);
  });

  it('refuses a malformed board with its position, and never overwrites it', async () => {
    const text = '{"queues": {"Todo": [\n  {"id": "1",, "name": "x"}\n]}}';
    const path = writeFile(tempDir(), 'board.json', text);
    const tracker = open(path);
    await assert.rejects(tracker.getTask('1'), (error: unknown) => {
      assert.ok(error instanceof AdapterError);
      assert.match(error.message, /board file .* is not valid JSON at line 2, column \d+/);
      return true;
    });
    await assert.rejects(tracker.addComment('1', 'hi'), AdapterError);
    assert.equal(readFileSync(path, 'utf8'), text);
  });

  it('reads a board saved with a byte-order mark, points at line 1 errors past it, and writes the board back without it', async () => {
    const path = writeFile(tempDir(), 'board.json', '\ufeff{"queues": {"Todo": [{"id": "1", "name": "x"}]}}');
    const tracker = open(path);
    assert.equal((await tracker.getTask('1')).name, 'x');
    await tracker.addComment('1', 'hi');
    assert.notEqual(readFileSync(path, 'utf8').charCodeAt(0), 0xfeff);
    const broken = writeFile(tempDir(), 'board.json', '\ufeff{"queues": {}} x');
    await assert.rejects(open(broken).getTask('1'), /not valid JSON at line 1, column 16:/);
  });

  it('refuses a board without a queues object', async () => {
    const path = writeFile(tempDir(), 'board.json', '{"tasks": []}');
    await assert.rejects(open(path).getReadyTasks(['Todo']), /must be an object with a "queues" object/);
  });

  it('loses no update when many writers in one process race', async () => {
    const path = writeFile(tempDir(), 'board.json', JSON.stringify({ queues: { Todo: [{ id: '1', name: 'x' }] } }));
    const trackers = Array.from({ length: 5 }, () => open(path));
    await Promise.all(Array.from({ length: 50 }, (_, i) => trackers[i % 5].addComment('1', `c${i}`)));
    const texts = (await open(path).getTask('1')).comments.map((comment) => comment.text);
    assert.equal(texts.length, 50);
    assert.equal(new Set(texts).size, 50);
  });

  it('a writer killed mid-update leaves a board that parses', async () => {
    const dir = tempDir();
    const path = writeFile(dir, 'board.json', JSON.stringify({ queues: { Todo: [{ id: '1', name: 'x' }] } }));
    for (let round = 0; round < 3; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'fixtures/scripts/board-writer.ts'), path, '1'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise((resolve) => child.stdout.once('data', resolve));
      await new Promise((resolve) => setTimeout(resolve, 100 + round * 37));
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('close', resolve));
      const board = JSON.parse(readFileSync(path, 'utf8'));
      assert.ok(Array.isArray(board.queues.Todo[0].comments ?? []));
    }
    // The lock the killed writer held is broken, so the next writer still gets through.
    await open(path).addComment('1', 'after the crashes');
    assert.equal((await open(path).getTask('1')).comments.at(-1)?.text, 'after the crashes');
  });

  it('writes atomically and leaves nothing behind: no temp file, no lock, and the lock owner file goes with its process', async () => {
    const dir = tempDir();
    const path = writeFile(dir, 'board.json', JSON.stringify({ queues: { Todo: [{ id: '1', name: 'x' }] } }));
    await open(path).createTask('Todo', 'a', '');
    const { readdirSync } = await import('node:fs');
    assert.deepEqual(readdirSync(dir).sort(), ['.board.json.lock.' + process.pid + '.owner', 'board.json'], 'while this process lives, only its owner file beside the board');
    const other = tempDir();
    const otherBoard = writeFile(other, 'board.json', JSON.stringify({ queues: { Todo: [{ id: '1', name: 'x' }] } }));
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'fixtures/scripts/board-writer.ts'), otherBoard, '1', '3'], { cwd: ROOT, stdio: 'ignore' });
    assert.equal(await new Promise((resolve) => child.once('close', resolve)), 0);
    assert.equal((await open(otherBoard).getTask('1')).comments.length, 3);
    assert.deepEqual(readdirSync(other).sort(), ['board.json'], 'a process that wrote and exited leaves only the board');
  });

  it('writes through a symbolic link: the link stays, and writers by either path share one lock', async () => {
    const dir = tempDir();
    const real = writeFile(dir, 'shared.json', JSON.stringify({ queues: { Todo: [{ id: '1', name: 'x' }] } }));
    const link = join(dir, 'board.json');
    symlinkSync('shared.json', link);
    const writers = [link, real, link].map((path) => {
      const writer = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'fixtures/scripts/board-writer.ts'), path, '1', '5'], { cwd: ROOT, stdio: 'ignore' });
      return new Promise((resolve) => writer.once('close', resolve));
    });
    assert.deepEqual(await Promise.all(writers), [0, 0, 0]);
    assert.ok(lstatSync(link).isSymbolicLink(), 'board.json is still a link');
    assert.equal((await open(real).getTask('1')).comments.length, 15, 'no comment lost, whichever path wrote it');
  });

  it('makes its lock owner file again when someone removes it while the process runs', async () => {
    const dir = tempDir();
    const path = writeFile(dir, 'board.json', JSON.stringify({ queues: { Todo: [{ id: '1', name: 'x' }] } }));
    const tracker = open(path);
    await tracker.addComment('1', 'first');
    const { rmSync } = await import('node:fs');
    rmSync(join(dir, `.board.json.lock.${process.pid}.owner`));
    await tracker.addComment('1', 'second');
    assert.deepEqual((await open(path).getTask('1')).comments.map((comment) => comment.text), ['first', 'second']);
  });

  it('removes the lock owner file a killed process left, and breaks the lock it held', async () => {
    const dir = tempDir();
    const path = writeFile(dir, 'board.json', JSON.stringify({ queues: { Todo: [{ id: '1', name: 'x' }] } }));
    const dead = 2 ** 22 + 7; // above the kernel's pid_max: never alive
    const { hostname } = await import('node:os');
    const { linkSync, readdirSync } = await import('node:fs');
    writeFileSync(join(dir, `.board.json.lock.${dead}.owner`), `${dead}\n${hostname()}\nx\n`);
    linkSync(join(dir, `.board.json.lock.${dead}.owner`), join(dir, 'board.json.lock'));
    const fresh = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'fixtures/scripts/board-writer.ts'), path, '1', '1'], { cwd: ROOT, stdio: 'ignore' });
    assert.equal(await new Promise((resolve) => fresh.once('close', resolve)), 0);
    assert.equal((await open(path).getTask('1')).comments.length, 1);
    assert.deepEqual(readdirSync(dir).filter((name) => name !== `.board.json.lock.${process.pid}.owner`).sort(), ['board.json']);
  });
});

describe('json board file: queue names are data, and a malformed board says where', () => {
  const board = () => writeFile(tempDir(), 'board.json', JSON.stringify({ queues: { Todo: [{ id: '1', name: 'x' }], Done: [] } }, null, 2));
  const notFound = (error: unknown) => error instanceof AdapterError && error.kind === 'not_found' && /no queue/.test(error.message);

  it('constructor, __proto__, toString and valueOf are unknown queues for list, move, claim and create', async () => {
    const path = board();
    const before = readFileSync(path, 'utf8');
    const tracker = open(path);
    for (const queue of ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty']) {
      await assert.rejects(tracker.getReadyTasks([queue]), notFound, `list ${queue}`);
      await assert.rejects(tracker.moveTask('1', queue), notFound, `move to ${queue}`);
      await assert.rejects(tracker.claimTask!('1', queue, 'me'), notFound, `claim into ${queue}`);
      await assert.rejects(tracker.createTask(queue, 'x', ''), notFound, `create in ${queue}`);
    }
    assert.equal(readFileSync(path, 'utf8'), before);
  });

  it('a queue really named __proto__ or constructor in the file works like any other', async () => {
    const path = writeFile(tempDir(), 'board.json', '{"queues": {"__proto__": [{"id": "1", "name": "x"}], "constructor": []}}');
    const tracker = open(path);
    assert.deepEqual((await tracker.getReadyTasks(['__proto__'])).map((task) => task.id), ['1']);
    await tracker.moveTask('1', 'constructor');
    assert.equal((await tracker.getTask('1')).queue, 'constructor');
  });

  it('refuses the same id in two queues, naming both places, and changes nothing', async () => {
    const text = '{"queues": {\n  "Todo": [{"id": 1, "name": "a"}],\n  "Done": [{"id": "2", "name": "b"}, {"id": "1", "name": "c"}]\n}}\n';
    const path = writeFile(tempDir(), 'board.json', text);
    const tracker = open(path);
    await assert.rejects(tracker.moveTask('1', 'Done'), (error: unknown) => {
      assert.ok(error instanceof AdapterError && error.kind === 'bad_response');
      assert.match(error.message, /task id "1" appears twice: queue "Todo", task 1 \(line 2, column 12\) and queue "Done", task 2 \(line 3, column 38\)/);
      return true;
    });
    assert.equal(readFileSync(path, 'utf8'), text);
  });

  it('refuses a board that is not UTF-8, at the first bad byte, and never rewrites it', async () => {
    const bytes = Buffer.concat([Buffer.from('{"queues": {"Todo": [\n  {"id": "1", "name": "Caf'), Buffer.from([0xe9]), Buffer.from('"},\n  {"id": "2", "name": "b"}\n]}}')]);
    const path = join(tempDir(), 'board.json');
    writeFileSync(path, bytes);
    const tracker = open(path);
    await assert.rejects(tracker.addComment('2', 'hello'), /board file .* at line 2, column 27: not valid UTF-8/);
    assert.deepEqual(readFileSync(path), bytes, 'task 1\'s Latin-1 name is not replaced by U+FFFD');
  });

  it('a U+FFFD the file really holds is text, not an error', async () => {
    const path = writeFile(tempDir(), 'board.json', JSON.stringify({ queues: { Todo: [{ id: '1', name: 'a\ufffdb' }] } }));
    assert.equal((await open(path).getTask('1')).name, 'a\ufffdb');
  });

  it('names line and column for an empty, a truncated and a misshapen board', async () => {
    const cases: Array<[string, RegExp]> = [
      ['', /is not valid JSON at line 1, column 1/],
      ['{"queues": {\n  "Todo": [{"id": "1"', /is not valid JSON at line 2, column 22/],
      ['{"queues": {\n  "Todo": {"id": "1"}\n}}', /at line 2, column 11: queue "Todo" must be a list of tasks/],
      ['{"queues": {"Todo": [\n  {"name": "no id"}\n]}}', /at line 2, column 3: queue "Todo", task 1 needs an "id"/],
      ['{"queues": []}', /at line 1, column 12: must be an object with a "queues" object/],
      ['[1]', /at line 1, column 1: must be an object with a "queues" object/],
    ];
    for (const [text, message] of cases) {
      const path = writeFile(tempDir(), 'board.json', text);
      await assert.rejects(open(path).getTask('1'), message, JSON.stringify(text));
    }
  });
});
