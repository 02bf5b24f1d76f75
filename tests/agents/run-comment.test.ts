import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCost, formatCount, formatDuration, formatRunComment, outcomeOfExit, tailOf } from '../../src/core/runs/run-comment.ts';
import { registerSecret } from '../../src/util/redact.ts';

test('durations read like a human would write them', () => {
  assert.equal(formatDuration(850), '850ms');
  assert.equal(formatDuration(42_000), '42s');
  assert.equal(formatDuration(59_600), '1m 0s');
  assert.equal(formatDuration(123_000), '2m 3s');
  assert.equal(formatDuration(1_800_000), '30m 0s');
  assert.equal(formatDuration(3_723_000), '1h 2m 3s');
  assert.equal(formatDuration(Number.NaN), '?');
});

test('cost has four decimals, counts have separators whatever the locale', () => {
  assert.equal(formatCost(0.1234), '$0.1234');
  assert.equal(formatCost(1.4020935), '$1.4021');
  assert.equal(formatCost(0), '$0.0000');
  assert.equal(formatCount(1617801), '1,617,801');
  assert.equal(formatCount(999), '999');
});

test('outcomeOfExit: exit 0 succeeds unless the agent reported an error', () => {
  assert.equal(outcomeOfExit(0), 'succeeded');
  assert.equal(outcomeOfExit(0, { ok: true }), 'succeeded');
  assert.equal(outcomeOfExit(0, {}), 'succeeded');
  assert.equal(outcomeOfExit(0, { ok: false }), 'failed');
  assert.equal(outcomeOfExit(1, { ok: true }), 'failed');
  assert.equal(outcomeOfExit(null), 'failed');
});

test('a plain command that succeeded quietly gets a one-line comment', () => {
  assert.equal(formatRunComment({ outcome: 'succeeded', exitCode: 0, durationMs: 123_000 }), '✅ Agent finished (exit 0) in 2m 3s');
  assert.equal(formatRunComment({ outcome: 'succeeded', exitCode: 0, durationMs: 5000, outputTail: '\n  \n' }), '✅ Agent finished (exit 0) in 5s');
});

test('a plain command that succeeded with output shows the tail', () => {
  const comment = formatRunComment({ outcome: 'succeeded', exitCode: 0, durationMs: 5000, attempt: 2, maxAttempts: 3, outputTail: 'built 3 files\ndone\n' });
  assert.equal(comment, ['✅ Agent finished (exit 0) in 5s', '', '- Attempt 2 of 3.', '', '**Last output**', '```text', 'built 3 files', 'done', '```'].join('\n'));
});

test('headlines for every outcome', () => {
  const first = (input: Parameters<typeof formatRunComment>[0]) => formatRunComment(input).split('\n')[0];
  assert.equal(first({ outcome: 'failed', exitCode: 2, durationMs: 61_000 }), '❌ Agent failed (exit 2) after 1m 1s');
  assert.equal(first({ outcome: 'failed', exitCode: null, signal: 'SIGKILL', durationMs: 1000 }), '❌ Agent failed (killed by SIGKILL) after 1s');
  assert.equal(first({ outcome: 'timed_out', timeoutMs: 300_000, durationMs: 305_000, signal: 'SIGKILL' }), '⏱️ Agent timed out after 5m 0s (stopped with SIGKILL)');
  assert.equal(first({ outcome: 'timed_out', durationMs: 300_000 }), '⏱️ Agent timed out after 5m 0s');
  assert.equal(first({ outcome: 'start_failed', reason: 'spawn claude ENOENT\n(is it installed?)' }), '🚫 Agent could not start: spawn claude ENOENT (is it installed?)');
  assert.equal(first({ outcome: 'lost', durationMs: 7_200_000 }), '❓ Agent run lost: the dispatcher has no exit status for it after 2h 0m 0s');
  assert.equal(first({ outcome: 'stopped', durationMs: 90_000, signal: 'SIGTERM' }), '⏹️ Agent stopped after 1m 30s (SIGTERM)');
});

test('a lost run names the reason and the retry', () => {
  const comment = formatRunComment({ outcome: 'lost', reason: 'the dispatcher restarted and process 4242 was gone', attempt: 1, maxAttempts: 3, willRetry: true });
  assert.deepEqual(comment.split('\n').slice(2), ['- Attempt 1 of 3; it will be retried.', '- Reason: the dispatcher restarted and process 4242 was gone']);
});

test('the tail keeps the last 20 lines', () => {
  const output = Array.from({ length: 50 }, (_, i) => `line ${i + 1}`).join('\n');
  const tail = tailOf(`${output}\n\n`);
  assert.deepEqual(tail.split('\n'), Array.from({ length: 20 }, (_, i) => `line ${i + 31}`));
});

test('the tail keeps at most 2 KB, cutting at a line when it can', () => {
  const output = Array.from({ length: 20 }, (_, i) => `${i}:${'x'.repeat(300)}`).join('\n');
  const tail = tailOf(output);
  assert.ok(tail.length <= 2048, `got ${tail.length}`);
  assert.ok(tail.startsWith('…14:'), tail.slice(0, 10));
  assert.ok(tail.endsWith(`19:${'x'.repeat(300)}`));
  const huge = tailOf('y'.repeat(100_000));
  assert.equal(huge.length, 2048);
  assert.ok(huge.startsWith('…y'));
});

test('the tail drops colour codes and carriage returns', () => {
  assert.equal(tailOf('\x1b[32mok\x1b[0m\r\nprogress 10%\rprogress 100%\r\n'), 'ok\nprogress 10%\nprogress 100%');
});

test('with a report, JSON event lines leave the tail and other output stays', () => {
  const output = ['{"type":"system","subtype":"init"}', 'warning: config file not found', '  {"type":"result"}  ', 'Error: socket hang up'].join('\n');
  const withReport = formatRunComment({ outcome: 'failed', exitCode: 1, report: { error: 'boom' }, outputTail: output });
  assert.ok(withReport.endsWith('```text\nwarning: config file not found\nError: socket hang up\n```'), withReport);
  const onlyJson = formatRunComment({ outcome: 'failed', exitCode: 1, report: {}, outputTail: '{"type":"turn.started"}\n' });
  assert.equal(onlyJson, '❌ Agent failed (exit 1)');
  const plain = formatRunComment({ outcome: 'failed', exitCode: 1, outputTail: '{"a":1}' });
  assert.ok(plain.includes('{"a":1}'), 'a plain command keeps its JSON output');
});

test('backtick fences inside the output cannot close the block', () => {
  const output = 'before\n```\n# not a heading\n````\nafter';
  const comment = formatRunComment({ outcome: 'failed', exitCode: 1, outputTail: output });
  const block = comment.slice(comment.indexOf('**Last output**\n') + '**Last output**\n'.length);
  assert.equal(block, `\`\`\`\`\`text\n${output}\n\`\`\`\`\``);
});

test('a full failure comment, field by field', () => {
  const comment = formatRunComment({
    outcome: 'failed',
    exitCode: 1,
    durationMs: 250_000,
    attempt: 3,
    maxAttempts: 3,
    report: {
      ok: false,
      sessionId: 'abc',
      turns: 12,
      costUsd: 0.05,
      durationMs: 240_000,
      summary: 'Partly done.\n\nStill to do: tests.',
      error: 'Reached maximum number of turns (12)\nsecond line',
      resumeHint: 'cd /work/repo && claude --resume=abc',
      tokens: { input: 1200, cachedInput: 0, output: 345 },
      apiRetries: 3,
      lastApiRetryError: 'overloaded (HTTP 529)',
    },
    outputTail: 'last words',
  });
  assert.equal(
    comment,
    [
      '❌ Agent failed (exit 1) after 4m 10s',
      '',
      '- Attempt 3 of 3; no attempts left.',
      '- Turns: 12 · Cost: $0.0500 · Agent time: 4m 0s',
      '- Tokens: 1,200 in · 345 out',
      '- API retries: 3 (last: overloaded (HTTP 529))',
      '- Error: Reached maximum number of turns (12) second line',
      '',
      '**Summary**',
      '> Partly done.',
      '>',
      '> Still to do: tests.',
      '',
      '**Resume**',
      '```sh',
      'cd /work/repo && claude --resume=abc',
      '```',
      '',
      '**Last output**',
      '```text',
      'last words',
      '```',
    ].join('\n'),
  );
});

test('long summaries and errors are clipped', () => {
  const comment = formatRunComment({ outcome: 'failed', exitCode: 1, report: { summary: 's'.repeat(10_000), error: 'e'.repeat(10_000) } });
  assert.ok(comment.length < 2200, `got ${comment.length}`);
  assert.match(comment, /- Error: e{499}…/);
});

test('secrets in the output never reach the comment', () => {
  registerSecret('sk-fixture-secret-123456');
  const comment = formatRunComment({ outcome: 'failed', exitCode: 1, outputTail: 'using key sk-fixture-secret-123456\nAuthorization: Bearer abc.def' });
  assert.ok(!comment.includes('sk-fixture-secret-123456'));
  assert.ok(!comment.includes('abc.def'));
  assert.ok(comment.includes('[redacted]'));
});

test('the same input gives the same comment', () => {
  const input = { outcome: 'timed_out' as const, timeoutMs: 60_000, report: { sessionId: 'x', resumeHint: 'cd /a && claude --resume=x' }, outputTail: 'a\nb' };
  assert.equal(formatRunComment(input), formatRunComment(structuredClone(input)));
});
