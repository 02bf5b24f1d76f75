import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, waitFor } from '../helpers.ts';
import { project, startDaemon, task } from './support.ts';

/** Clears the screen and retitles the terminal, if a terminal ever played it. */
const HOSTILE = '\u001b[2J\u001b]0;pwned\u0007x';
const LONG_ID = `id${'7'.repeat(10_000)}`;
const LONG_NAME = 'n'.repeat(100 * 1024);
const SECRET = 'hunter2-not-for-logs-31337';
const ROUTE = `[routing."Todo"]\ncommand = "true"\nin_progress_queue = "In Progress"\non_success_queue = "Done"\n`;

/** Nothing a terminal would act on: no ESC, no BEL, no other C0/C1 control but newline and tab. */
function assertPrintable(text: string, where: string): void {
  const control = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.exec(text);
  assert.equal(control, null, `${where} holds a raw control character (U+${control?.[0].charCodeAt(0).toString(16).padStart(4, '0')})`);
}

function assertShort(text: string, where: string): void {
  const longest = Math.max(...text.split('\n').map((line) => line.length));
  assert.ok(longest < 5_000, `${where} has a line of ${longest} characters`);
  assert.ok(!text.includes(LONG_ID), `${where} repeats the 10,000-character id whole`);
  assert.ok(!text.includes(LONG_NAME), `${where} repeats the 100 KB name whole`);
}

const hostileBoard = () => [task('1', HOSTILE), { ...task(LONG_ID, LONG_NAME) }, task('3', `deploy with ${SECRET}`)];

describe('tracker text that would play on a terminal, or fill it', () => {
  it('poll-once: console, report and log_file show the escapes as text and cut very long ids and names, saying so', async () => {
    const p = project(hostileBoard(), ROUTE, 'log_file = "logs/dispatcher.log"\nsecret_env = ["SHOWN_NOWHERE"]\n');
    const result = await runCli(['poll-once', '--log-format', 'plain'], { cwd: p.dir, env: { SHOWN_NOWHERE: SECRET }, timeoutMs: 60_000 });
    assert.equal(result.code, 0, result.stderr);
    const logFile = readFileSync(join(p.dir, 'logs/dispatcher.log'), 'utf8');
    for (const [where, text] of [['stderr', result.stderr], ['stdout', result.stdout], ['log_file', logFile]] as const) {
      assertPrintable(text, where);
      assertShort(text, where);
      assert.ok(!text.includes(SECRET), `${where} shows the secret`);
    }
    assert.ok(logFile.includes('\\x1b[2J\\x1b]0;pwned\\x07x'), 'the title is in the log file, escaped');
    assert.match(logFile, /dispatched task id7{298}… \(\+9,702 chars\)/, 'the long id is cut, saying by how much');
    assert.match(result.stdout, /\\x1b\[2J/, 'the report shows the title escaped');
    assert.match(logFile, /\[redacted\]/);
  });

  it('poll-once: the log file holds the console\'s lines, as plain lines (or JSON with --log-format json)', async () => {
    const p = project([task('1', 'plain title')], ROUTE, 'log_file = "dispatcher.log"\n');
    const first = await runCli(['poll-once', '--log-format', 'plain'], { cwd: p.dir, timeoutMs: 60_000 });
    assert.equal(first.code, 0, first.stderr);
    const file = readFileSync(join(p.dir, 'dispatcher.log'), 'utf8');
    const consoleLines = first.stderr.trim().split('\n');
    assert.ok(consoleLines.length > 0);
    assert.deepEqual(file.trim().split('\n'), consoleLines, 'the same lines, in the same format');
    assert.match(file, /^\S+Z INFO  .*dispatched task 1 \(plain title\)/m);

    const p2 = project([task('1')], ROUTE, 'log_file = "dispatcher.log"\n');
    assert.equal((await runCli(['poll-once', '--log-format', 'json'], { cwd: p2.dir, timeoutMs: 60_000 })).code, 0);
    const records = readFileSync(join(p2.dir, 'dispatcher.log'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { level: string; message: string });
    assert.ok(records.some((record) => record.level === 'info' && /dispatched task 1/.test(record.message)));

    // A second run appends; -q keeps only errors in the file as on the console.
    const second = await runCli(['poll-once', '-q', '--log-format', 'plain'], { cwd: p.dir, timeoutMs: 60_000 });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(readFileSync(join(p.dir, 'dispatcher.log'), 'utf8'), file, 'nothing below error level added with -q');
  });

  it('run: the daemon\'s lines reach log_file, escaped and cut, up to its last line', async () => {
    const p = project(hostileBoard(), ROUTE, 'log_file = "dispatcher.log"\n');
    const daemon = startDaemon(p.dir);
    const logFile = join(p.dir, 'dispatcher.log');
    try {
      await waitFor(() => existsSync(logFile) && readFileSync(logFile, 'utf8').includes('dispatched task 3'), 30_000, 'the third dispatch in the log file');
    } finally {
      daemon.child.kill('SIGTERM');
    }
    assert.equal(await daemon.exited, 0, daemon.output());
    const text = readFileSync(logFile, 'utf8');
    assertPrintable(text, 'log_file');
    assertShort(text, 'log_file');
    assertPrintable(daemon.output(), 'the console');
    assertShort(daemon.output(), 'the console');
    assert.ok(text.includes('dispatched task 1 (\\x1b[2J\\x1b]0;pwned\\x07x)'));
    assert.match(text, /dispatcher stopped\n$/, 'the last line is written before the daemon exits');
  });

  it('error lines cut a 10,000-character id and show escapes, with the exit code unchanged', async () => {
    const p = project([task('1')], ROUTE);
    const missing = await runCli(['task', 'show', LONG_ID], { cwd: p.dir });
    assert.equal(missing.code, 4, missing.stderr);
    assertShort(missing.stderr, 'stderr');
    assert.match(missing.stderr, /… \(\+\d[\d,]* chars\)/);
    const hostile = await runCli(['task', 'show', HOSTILE], { cwd: p.dir });
    assert.equal(hostile.code, 4, hostile.stderr);
    assertPrintable(hostile.stderr, 'stderr');
    assert.match(hostile.stderr, /\\x1b\[2J/);
  });
});
