import assert from 'node:assert/strict';
import { fstatSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createLineSplitter } from '../../src/core/process/line-splitter.ts';
import { decodeTail, TAIL_BYTES } from '../../src/core/process/output-log.ts';
import { prepareAgentFiles, spawnAgent } from '../../src/core/process/spawner.ts';
import { nodeAgent, nodeEval, tempDir, track } from './spawner-support.ts';

describe('spawnAgent: log file and output lines', () => {
  const dir = tempDir();

  it('appends to the log after a header, so a retry keeps the first attempt', async () => {
    const logFile = join(dir, 'nested', 'logs', 'task-7.log');
    await track(spawnAgent(nodeAgent(dir, 'failer.mjs', ['1'], { logFile, header: '=== attempt 1' }))).done;
    await track(spawnAgent(nodeAgent(dir, 'failer.mjs', ['0'], { logFile, header: '=== attempt 2\n' }))).done;
    const log = readFileSync(logFile, 'utf8');
    assert.match(log, /^=== attempt 1\n(about to fail\n|failing with exit code 1\n){2}=== attempt 2\n/);
    assert.match(log, /failing with exit code 0\n$/);
  });

  it('caps the log, keeping the newest output after a marker, and keeps the tail current', async () => {
    const logFile = join(dir, 'capped.log');
    // The last line comes a moment after the flood, once the log has been cut: output the agent
    // writes in the microseconds between the follower's last read and a cut is dropped with the rest.
    const code = `for (let i = 0; i < 5000; i++) process.stdout.write('line ' + String(i).padStart(5, '0') + ' ' + 'x'.repeat(40) + '\\n'); setTimeout(() => process.stdout.write('the very end\\n'), 300)`;
    const outcome = await track(spawnAgent(nodeEval(dir, code, { logFile, header: 'header', maxLogBytes: 10_000 }))).done;
    assert.equal(outcome.kind, 'exited');
    assert.equal(outcome.logTruncated, true);
    const log = readFileSync(logFile, 'utf8');
    assert.match(log, /^header\n\[dispatcher: output passed the log limit of 10000 bytes; earlier output was dropped\]\n/);
    assert.ok(log.length < 10_000 + 200, `log is ${log.length} bytes`);
    assert.match(outcome.tail, /line 04999 x+\nthe very end\n$/);
    assert.ok(Buffer.byteLength(outcome.tail) <= TAIL_BYTES);
  });

  it('writes to a log prepared ahead (prepareAgentFiles), header first, and closes it when the agent cannot start', async () => {
    const logFile = join(dir, 'opened', 'run.log');
    const prepare = () => prepareAgentFiles({ cwd: dir, logFile, header: '=== opened ahead' });
    const prepared = await prepare();
    assert.equal(prepared.cwdIsFolder, true);
    const outcome = await track(spawnAgent(nodeAgent(dir, 'failer.mjs', ['0'], { logFile, prepared }))).done;
    assert.equal(outcome.kind, 'exited');
    assert.match(readFileSync(logFile, 'utf8'), /^=== opened ahead\nabout to fail\nfailing with exit code 0\n$/);

    for (const stop of [{ cwd: join(logFile, 'not-a-folder') }, { signal: AbortSignal.abort('never mind') }]) {
      const early = await prepare();
      const agent = spawnAgent(nodeAgent(dir, 'failer.mjs', ['0'], { logFile, prepared: { ...early, cwdIsFolder: false }, ...stop }));
      assert.throws(() => fstatSync(early.log.fd), { code: 'EBADF' }, 'the prepared log is closed');
      assert.notEqual((await agent.done).kind, 'exited');
    }
  });

  it('creates a working folder that was missing when the files were prepared, and says so when one goes away after', async () => {
    const cwd = join(dir, 'made-later');
    const logFile = join(dir, 'made-later.log');
    const prepared = await prepareAgentFiles({ cwd, logFile });
    assert.equal(prepared.cwdIsFolder, false);
    assert.equal((await track(spawnAgent(nodeAgent(dir, 'failer.mjs', ['0'], { cwd, logFile, prepared }))).done).kind, 'exited');
    assert.ok(statSync(cwd).isDirectory());

    const gone = join(dir, 'gone-since');
    const stale = await prepareAgentFiles({ cwd: dir, logFile });
    const outcome = await track(spawnAgent(nodeAgent(dir, 'failer.mjs', ['0'], { cwd: gone, logFile, prepared: stale }))).done;
    assert.equal(outcome.kind, 'start_failed');
    assert.equal(outcome.error, `working folder does not exist: ${gone}`);
  });

  it('does not mark an uncapped log', async () => {
    const logFile = join(dir, 'small.log');
    const outcome = await track(spawnAgent(nodeAgent(dir, 'failer.mjs', ['0'], { logFile }))).done;
    assert.equal(outcome.logTruncated, false);
    assert.doesNotMatch(readFileSync(logFile, 'utf8'), /truncated/);
    assert.equal(statSync(logFile).size, Buffer.byteLength('about to fail\nfailing with exit code 0\n'));
  });

  it('delivers output lines as they come (stdout and stderr, in order), including a last line without a newline', async () => {
    const lines: string[] = [];
    const code = `process.stdout.write('{"type":"start"}\\r\\nsecond '); setTimeout(() => { process.stdout.write('half\\n\\n'); process.stderr.write('to stderr\\n'); process.stdout.write('no newline at the end') }, 50)`;
    const outcome = await track(
      spawnAgent(nodeEval(dir, code, { onLine: (line) => lines.push(line) })),
    ).done;
    assert.equal(outcome.exitCode, 0);
    assert.deepEqual(lines, ['{"type":"start"}', 'second half', '', 'to stderr', 'no newline at the end']);
  });

  it('cuts an overlong line instead of buffering it, and goes on with the next', async () => {
    const lines: string[] = [];
    const code = `process.stdout.write('a'.repeat(300000)); process.stdout.write('b'.repeat(300000) + '\\nafter\\n')`;
    const outcome = await track(spawnAgent(nodeEval(dir, code, { onLine: (line) => lines.push(line), maxLineLength: 1000 }))).done;
    assert.equal(outcome.exitCode, 0);
    assert.deepEqual(lines, ['a'.repeat(1000), 'after']);
  });

  it('does not split multi-byte characters across chunks', async () => {
    const lines: string[] = [];
    const code = `const b = Buffer.from('é€😀\\n'); let i = 0; const t = setInterval(() => { process.stdout.write(b.subarray(i, i + 1)); if (++i === b.length) clearInterval(t) }, 5)`;
    await track(spawnAgent(nodeEval(dir, code, { onLine: (line) => lines.push(line) }))).done;
    assert.deepEqual(lines, ['é€😀']);
  });
});

describe('createLineSplitter', () => {
  it('bounds lines at exactly maxLength and resumes after the newline', () => {
    const lines: string[] = [];
    const splitter = createLineSplitter((line) => lines.push(line), 5);
    splitter.push(Buffer.from('12345\n123456789'));
    splitter.push(Buffer.from('0123\nok\npartial'));
    splitter.end();
    splitter.end();
    assert.deepEqual(lines, ['12345', '12345', 'ok', 'parti']);
  });

  it('delivers nothing for a stream that ends with a newline or is empty', () => {
    const lines: string[] = [];
    const splitter = createLineSplitter((line) => lines.push(line));
    splitter.push(Buffer.from('one\n'));
    splitter.end();
    assert.deepEqual(lines, ['one']);
    const empty = createLineSplitter((line) => lines.push(line));
    empty.end();
    assert.deepEqual(lines, ['one']);
  });
});

describe('decodeTail', () => {
  it('drops a UTF-8 character cut at the start of the tail', () => {
    const bytes = Buffer.from('€abc');
    assert.equal(decodeTail(bytes.subarray(1)), 'abc');
    assert.equal(decodeTail(bytes), '€abc');
  });
});
