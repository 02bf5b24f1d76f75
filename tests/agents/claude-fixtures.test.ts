// Fixture Claude agents run as real subprocesses; their stdout goes line by line to the parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import createClaudeAgent from '../../adapters/claude/index.ts';
import type { AgentReport } from '../../adapters/types.ts';
import { formatRunComment, outcomeOfExit } from '../../src/core/runs/run-comment.ts';
import { fixtureLaunch, fixturesDir, runFixture } from './run-fixture.ts';

const agent = createClaudeAgent();

async function runClaude(fixture: string, args: string[] = ['-p', 'Work on task 42'], structuredOutput = true) {
  const launch = agent.prepare(fixtureLaunch(fixture, args), { structuredOutput });
  const assigned = launch.args[launch.args.indexOf('--session-id') + 1];
  const parser = agent.createParser!(launch);
  const run = await runFixture(launch, parser);
  return { ...run, report: parser.report(), assigned };
}

test('claude-success: session id, cost, turns, summary, retries and the comment', async () => {
  const { exitCode, report, assigned, output } = await runClaude('claude-success.mjs');
  assert.equal(exitCode, 0);
  assert.equal(report.ok, true);
  assert.equal(report.sessionId, assigned, 'the init event carries the id we assigned');
  assert.equal(report.turns, 7);
  assert.equal(report.costUsd, 0.4137);
  assert.equal(report.durationMs, 84213);
  assert.match(report.summary ?? '', /^Fixed the off-by-one in `parseDate`/);
  assert.equal(report.error, undefined);
  assert.equal(report.apiRetries, 2);
  assert.equal(report.lastApiRetryError, 'rate_limit (HTTP 429)');
  assert.deepEqual(report.tokens, { input: 52369, cachedInput: 46280, output: 265 });
  assert.equal(report.resumeHint, `cd ${fixturesDir} && ${process.execPath} --resume=${assigned}`);

  const comment = formatRunComment({ outcome: outcomeOfExit(exitCode, report), exitCode, durationMs: 86_500, report, outputTail: output });
  assert.equal(
    comment,
    [
      '✅ Agent finished (exit 0) in 1m 27s',
      '',
      '- Turns: 7 · Cost: $0.4137 · Agent time: 1m 24s',
      '- Tokens: 52,369 in (46,280 cached) · 265 out',
      '- API retries: 2 (last: rate_limit (HTTP 429))',
      '',
      '**Summary**',
      '> Fixed the off-by-one in `parseDate` (src/parse-date.ts): the day was shifted back by one when the month rolled over.',
      '>',
      '> Files changed:',
      '> - src/parse-date.ts',
      '>',
      '> All 42 tests pass.',
      '',
      '**Resume**',
      '```sh',
      `cd ${fixturesDir} && ${process.execPath} --resume=${assigned}`,
      '```',
    ].join('\n'),
  );
});

test('claude-max-turns: an error_max_turns result with exit 1 is a failure with its reason', async () => {
  const { exitCode, report, assigned, output } = await runClaude('claude-max-turns.mjs');
  assert.equal(exitCode, 1);
  assert.equal(report.ok, false);
  assert.equal(report.sessionId, assigned);
  assert.equal(report.turns, 31);
  assert.equal(report.costUsd, 1.4020935);
  assert.equal(report.error, 'Reached maximum number of turns (30)');
  assert.equal(report.summary, 'Three of the twelve tables are migrated; `orders` and `invoices` are next.');

  const comment = formatRunComment({
    outcome: outcomeOfExit(exitCode, report),
    exitCode,
    durationMs: 290_000,
    attempt: 1,
    maxAttempts: 2,
    willRetry: true,
    report,
    outputTail: output,
  });
  const lines = comment.split('\n');
  assert.equal(lines[0], '❌ Agent failed (exit 1) after 4m 50s');
  assert.ok(lines.includes('- Attempt 1 of 2; it will be retried.'));
  assert.ok(lines.includes('- Turns: 31 · Cost: $1.4021 · Agent time: 4m 44s'));
  assert.ok(lines.includes('- Error: Reached maximum number of turns (30)'));
  assert.ok(comment.includes(`${process.execPath} --resume=${assigned}`));
  assert.ok(!comment.includes('**Last output**'), 'the JSON events were read into the report: no raw tail');
});

test('claude-is-error: an is_error result fails the run even on exit 0', async () => {
  const { exitCode, report } = await runClaude('claude-is-error.mjs');
  assert.equal(exitCode, 0);
  assert.equal(report.ok, false);
  assert.match(report.error ?? '', /^API Error: 401 .*invalid x-api-key/);
  assert.equal(report.apiRetries, 1);
  assert.equal(report.lastApiRetryError, 'authentication_failed (HTTP 401)');
  assert.equal(outcomeOfExit(exitCode, report), 'failed');
  const comment = formatRunComment({ outcome: 'failed', exitCode, durationMs: 2500, report });
  assert.equal(comment.split('\n')[0], '❌ Agent reported an error (exit 0) after 3s');
  assert.match(comment, /- Error: API Error: 401/);
});

test('claude-hang: killed after init, the comment still carries the resume hint', async () => {
  const launch = agent.prepare(fixtureLaunch('claude-hang.mjs', ['-p', 'Migrate the database']), { structuredOutput: true });
  const assigned = launch.args[launch.args.indexOf('--session-id') + 1];
  const parser = agent.createParser!(launch);
  const run = await runFixture(launch, parser, { killWhen: (p) => p.report().summary !== undefined });
  assert.equal(run.signal, 'SIGTERM');
  const report = parser.report();
  assert.equal(report.ok, undefined, 'no result: the parser does not guess');
  assert.equal(report.sessionId, assigned);
  assert.equal(report.resumeHint, `cd ${fixturesDir} && ${process.execPath} --resume=${assigned}`);

  const comment = formatRunComment({ outcome: 'timed_out', signal: run.signal, timeoutMs: 1_800_000, durationMs: 1_805_000, report, outputTail: run.output });
  assert.equal(comment.split('\n')[0], '⏱️ Agent timed out after 30m 0s (stopped with SIGTERM)');
  assert.ok(comment.includes(`cd ${fixturesDir} && ${process.execPath} --resume=${assigned}`));
  assert.ok(comment.includes("> The migration touches every table; I'll go through them one at a time."));
});

test('claude-hang before any output: the pre-assigned id gives the hint', async () => {
  const launch = agent.prepare(fixtureLaunch('claude-hang.mjs', ['-p', 'x']), { structuredOutput: true });
  const parser = agent.createParser!(launch);
  const assigned = launch.args[launch.args.indexOf('--session-id') + 1];
  assert.equal(parser.report().resumeHint, `cd ${fixturesDir} && ${process.execPath} --resume=${assigned}`);
});

test('claude-garbage: noise, partial and over-long lines are skipped and parsing goes on', async () => {
  const { exitCode, report, assigned, lines } = await runClaude('claude-garbage.mjs');
  assert.equal(exitCode, 0);
  assert.ok(lines.some((line) => line.length > 5 * 1024 * 1024), 'the over-long line was printed');
  assert.equal(report.ok, true, 'the over-long failing result after the real one was ignored');
  assert.equal(report.sessionId, assigned, 'unsafe or mistyped ids were ignored');
  assert.equal(report.turns, 7);
  assert.equal(report.costUsd, 0.4137);
  assert.equal(report.apiRetries, 3, 'two real retries and one with mistyped fields');
  assert.ok(report.summary!.startsWith('All tests pass.'));
  assert.ok(report.summary!.length <= 4000, `summary clipped, got ${report.summary!.length}`);
  assert.ok(report.summary!.endsWith('…'));
  const comment = formatRunComment({ outcome: 'succeeded', exitCode, report });
  assert.ok(comment.length < 3000, `the comment stays short, got ${comment.length}`);
});

test('structured_output = false: text output, no parsed result, still resumable', async () => {
  const { exitCode, report, assigned, output } = await runClaude('claude-success.mjs', ['-p', 'x'], false);
  assert.equal(exitCode, 0);
  assert.match(output, /^Fixed the off-by-one/);
  assert.deepEqual(report, { sessionId: assigned, resumeHint: `cd ${fixturesDir} && ${process.execPath} --resume=${assigned}` });
  const comment = formatRunComment({ outcome: outcomeOfExit(exitCode, report as AgentReport), exitCode, durationMs: 1000, report, outputTail: output });
  assert.ok(comment.includes('**Last output**'), 'without a summary the output tail is the summary');
});

test('a resumed session keeps its id through the run', async () => {
  const id = 'f18f49de-5b8f-4261-99c4-dbbaa6ae0e24';
  const { report } = await runClaude('claude-success.mjs', ['--resume', id, '-p', 'go on']);
  assert.equal(report.sessionId, id);
  assert.equal(report.resumeHint, `cd ${fixturesDir} && ${process.execPath} --resume=${id}`);
});
