import { test } from 'node:test';
import assert from 'node:assert/strict';
import createCodexAgent from '../../adapters/codex/index.ts';
import { createCodexParser } from '../../adapters/codex/parser.ts';
import type { AgentLaunch } from '../../adapters/types.ts';
import { formatRunComment, outcomeOfExit } from '../../src/core/runs/run-comment.ts';
import { fixtureLaunch, fixturesDir, runFixture } from './run-fixture.ts';

const agent = createCodexAgent();
const on = { structuredOutput: true };

function launch(args: string[]): AgentLaunch {
  return { command: 'codex', args, env: { HOME: '/home/agent' }, cwd: '/work/repo' };
}

test('prepare adds --json right after exec, also for exec resume', () => {
  assert.deepEqual(agent.prepare(launch(['exec', '--full-auto', 'Fix task 42']), on).args, ['exec', '--json', '--full-auto', 'Fix task 42']);
  assert.deepEqual(agent.prepare(launch(['exec', 'resume', 'abc', 'go on']), on).args, ['exec', '--json', 'resume', 'abc', 'go on']);
});

test('prepare appends --json when there is no exec (a wrapper script)', () => {
  assert.deepEqual(agent.prepare(launch(['--task', '42', '--', 'exec']), on).args, ['--task', '42', '--json', '--', 'exec']);
});

test('prepare keeps the arguments when --json is there or the route opts out', () => {
  for (const args of [['exec', 'x', '--json'], ['exec', '--experimental-json', 'x']]) {
    assert.deepEqual(agent.prepare(launch(args), on).args, args);
  }
  assert.deepEqual(agent.prepare(launch(['exec', 'x']), { structuredOutput: false }).args, ['exec', 'x']);
});

test('prepare does not mutate its input', () => {
  const input = launch(['exec', 'x']);
  const before = structuredClone(input);
  const prepared = agent.prepare(input, on);
  prepared.args.push('y');
  prepared.env.Z = '1';
  assert.deepEqual(input, before);
});

function feed(lines: unknown[]) {
  const parser = createCodexParser(launch(['exec', '--json', 'x']));
  for (const line of lines) parser.onLine(typeof line === 'string' ? line : JSON.stringify(line));
  return parser.report();
}

test('a top-level error without a completed turn is a failure', () => {
  const report = feed([{ type: 'thread.started', thread_id: 't-1' }, { type: 'error', message: 'unexpected status 401 Unauthorized' }]);
  assert.equal(report.ok, false);
  assert.equal(report.error, 'unexpected status 401 Unauthorized');
});

test('turn.failed without a message falls back to the last error', () => {
  const report = feed([{ type: 'error', message: 'quota exceeded' }, { type: 'turn.failed' }]);
  assert.equal(report.ok, false);
  assert.equal(report.error, 'quota exceeded');
});

test('nothing parsed: ok unknown, no hint', () => {
  assert.deepEqual(feed(['plain text', '{"type":"thread.started","thread_id":"bad id; rm -rf /"}', '{"type":"turn.completed","usage":{"input_tokens":"many"}}'.slice(0, 20)]), {});
});

test('onLine never throws', () => {
  const parser = createCodexParser(launch(['exec']));
  for (const line of ['{', 'null', '{"type":"item.completed","item":null}', '{"type":"turn.completed","usage":[1]}', '{"type":"turn.failed","error":"str"}', 'z'.repeat(5 * 1024 * 1024), undefined]) {
    assert.doesNotThrow(() => parser.onLine(line as string));
  }
  assert.equal(parser.report().ok, false, 'the last turn (failed) decides');
  assert.equal(parser.report().error, 'the turn failed');
});

test('codex-success: thread id, tokens, summary, retry, resume hint and the comment', async () => {
  const prepared = agent.prepare(fixtureLaunch('codex-success.mjs', ['exec', 'Fix task 42']), on);
  const parser = agent.createParser!(prepared);
  const { exitCode, output } = await runFixture(prepared, parser);
  const report = parser.report();
  assert.equal(exitCode, 0);
  assert.deepEqual(report, {
    ok: true,
    sessionId: '0199a213-81c0-7800-8aa1-bbab2a035a53',
    summary: 'Collapsed repeated dashes in `slugify` (src/slugify.ts). The test suite passes: 42 passing.',
    resumeHint: `cd ${fixturesDir} && ${process.execPath} exec resume 0199a213-81c0-7800-8aa1-bbab2a035a53`,
    tokens: { input: 24763, cachedInput: 24448, output: 122 },
    apiRetries: 1,
    lastApiRetryError: 'Reconnecting... 1/5 (stream disconnected before completion: idle timeout waiting for SSE)',
  });
  const comment = formatRunComment({ outcome: outcomeOfExit(exitCode, report), exitCode, durationMs: 45_000, report, outputTail: output });
  assert.equal(
    comment,
    [
      '✅ Agent finished (exit 0) in 45s',
      '',
      '- Tokens: 24,763 in (24,448 cached) · 122 out',
      '- API retries: 1 (last: Reconnecting... 1/5 (stream disconnected before completion: idle timeout waiting for SSE))',
      '',
      '**Summary**',
      '> Collapsed repeated dashes in `slugify` (src/slugify.ts). The test suite passes: 42 passing.',
      '',
      '**Resume**',
      '```sh',
      `cd ${fixturesDir} && ${process.execPath} exec resume 0199a213-81c0-7800-8aa1-bbab2a035a53`,
      '```',
    ].join('\n'),
  );
});

test('codex-failed: turn.failed is the failure, with its message', async () => {
  const prepared = agent.prepare(fixtureLaunch('codex-failed.mjs', ['exec', 'Deploy']), on);
  const parser = agent.createParser!(prepared);
  const { exitCode, output } = await runFixture(prepared, parser);
  const report = parser.report();
  assert.equal(exitCode, 1);
  assert.equal(report.ok, false);
  assert.equal(report.sessionId, '0199a2f4-5b1e-7c33-9d2e-4c8f1a6b7e90');
  assert.equal(report.error, 'stream disconnected before completion: error sending request for url (https://api.openai.com/v1/responses)');
  assert.equal(report.summary, "I'll look at the deployment script first.");
  assert.equal(report.apiRetries, undefined, 'errors before a failed turn are not retries that worked');
  const comment = formatRunComment({ outcome: outcomeOfExit(exitCode, report), exitCode, durationMs: 12_000, attempt: 2, maxAttempts: 2, report, outputTail: output });
  const lines = comment.split('\n');
  assert.equal(lines[0], '❌ Agent failed (exit 1) after 12s');
  assert.equal(lines[2], '- Attempt 2 of 2; no attempts left.');
  assert.equal(lines[3], '- Error: stream disconnected before completion: error sending request for url (https://api.openai.com/v1/responses)');
  assert.ok(comment.includes('exec resume 0199a2f4-5b1e-7c33-9d2e-4c8f1a6b7e90'));
  assert.ok(!comment.includes('thread.started'), 'no raw JSON events in the comment');
});

test('mcp: the server as -c mcp_servers settings right after exec, its variables passed by name; the resume hint leaves them out', () => {
  const mcp = { name: 'dispatcher', command: '/srv/state/bin/dispatcher', args: ['mcp'], envNames: ['DISPATCHER_API_URL', 'DISPATCHER_TOKEN'] };
  const prepared = agent.prepare(launch(['exec', '--skip-git-repo-check', 'Fix task 42']), { structuredOutput: true, mcp });
  assert.deepEqual(prepared.args, [
    'exec',
    '--json',
    '-c', 'mcp_servers.dispatcher.command="/srv/state/bin/dispatcher"',
    '-c', 'mcp_servers.dispatcher.args=["mcp"]',
    '-c', 'mcp_servers.dispatcher.env_vars=["DISPATCHER_API_URL","DISPATCHER_TOKEN"]',
    '--skip-git-repo-check',
    'Fix task 42',
  ]);
  const parser = createCodexParser(prepared);
  parser.onLine(JSON.stringify({ type: 'thread.started', thread_id: '0199a213-81c0-7800-8aa1-bbab2a035a53' }));
  assert.equal(parser.report().resumeHint, 'cd /work/repo && codex exec --skip-git-repo-check resume 0199a213-81c0-7800-8aa1-bbab2a035a53');
});
