/**
 * The run comment for what the real Claude Code 2.1.197 and codex-cli 0.171.0 printed
 * (../shared/fixtures/agents, see its README): each recording read by its parser, line by line,
 * and turned into the comment the router would post.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import createClaudeAgent from '../../adapters/claude/index.ts';
import createCodexAgent from '../../adapters/codex/index.ts';
import type { AgentFactory, AgentLaunch, AgentReport } from '../../adapters/types.ts';
import { formatRunComment, outcomeOfExit, type RunCommentInput } from '../../src/core/runs/run-comment.ts';

const recordings = join(import.meta.dirname, '../../../shared/fixtures/agents');

const CLAUDE_ROUTE: AgentLaunch = {
  command: '/opt/agents/claude',
  args: ['-p', 'Work on task 7: say hello', '--allowedTools', 'Bash'],
  env: { CLAUDE_CONFIG_DIR: '/srv/agents/claude home', ANTHROPIC_API_KEY: 'sk-ant-test', PATH: '/usr/bin' },
  cwd: '/srv/work/7',
};

const CODEX_ROUTE: AgentLaunch = {
  command: '/opt/agents/codex',
  args: ['exec', '--skip-git-repo-check', '-s', 'danger-full-access', '-c', 'model_provider=fake', '-c', 'model_providers.fake.base_url=http://127.0.0.1:4000/v1', '-c', 'model_providers.fake.env_key=FAKE_OPENAI_KEY', 'Work on task 8: say hello'],
  env: { CODEX_HOME: '/srv/agents/codex-home', FAKE_OPENAI_KEY: 'sk-test' },
  cwd: '/srv/work/8',
};

function read(agent: AgentFactory, route: AgentLaunch, recording: string, args: string[] = route.args): AgentReport {
  const adapter = agent();
  const launch = adapter.prepare({ ...route, args }, { structuredOutput: true });
  const parser = adapter.createParser!(launch);
  for (const line of readFileSync(join(recordings, recording), 'utf8').split('\n')) parser.onLine(line);
  return parser.report();
}

function comment(report: AgentReport, exitCode: number, durationMs: number, extra: Partial<RunCommentInput> = {}): string {
  return formatRunComment({ outcome: outcomeOfExit(exitCode, report), exitCode, durationMs, report, ...extra });
}

const CLAUDE_RESUME = (id: string) => `cd /srv/work/7 && CLAUDE_CONFIG_DIR='/srv/agents/claude home' /opt/agents/claude --resume=${id}`;
const CODEX_RESUME = (id: string) =>
  `cd /srv/work/8 && CODEX_HOME=/srv/agents/codex-home /opt/agents/codex exec --skip-git-repo-check -s danger-full-access -c model_provider=fake -c model_providers.fake.base_url=http://127.0.0.1:4000/v1 -c model_providers.fake.env_key=FAKE_OPENAI_KEY resume ${id}`;

test('Claude, success: tokens and cost both from modelUsage, the title request included; the hint names the route', () => {
  const report = read(createClaudeAgent, CLAUDE_ROUTE, 'claude-2.1.197-success.jsonl');
  assert.equal(
    comment(report, 0, 11_000),
    [
      '✅ Agent finished (exit 0) in 11s',
      '',
      '- Turns: 2 · Cost: $0.0195 · Agent time: 7s',
      '- Tokens: 3,607 in · 57 out',
      '',
      '**Summary**',
      '> Done.',
      '',
      '**Resume**',
      '```sh',
      CLAUDE_RESUME('31e2549f-6c4b-4f91-87aa-3ceee0ebd05d'),
      '```',
    ].join('\n'),
  );
});

test('Claude, permission denied: the run ends "success", but needs attention, and the denied call is listed', () => {
  const report = read(createClaudeAgent, CLAUDE_ROUTE, 'claude-2.1.197-permission-denied.jsonl', ['-p', 'Work on task 7: say hello']);
  assert.deepEqual(report.permissionDenials, [{ tool: 'Bash', input: 'node <project>/bin/dispatcher.js task comment "$DISPATCHER_TASK_ID" "hello from claude"' }]);
  assert.equal(outcomeOfExit(0, report), 'needs_attention');
  assert.equal(outcomeOfExit(0, report, 'fail'), 'failed');
  assert.equal(outcomeOfExit(0, report, 'succeed'), 'succeeded');
  assert.equal(
    comment(report, 0, 1_000),
    [
      '⚠️ Agent finished (exit 0) in 1s, but needs attention: 1 tool call was denied',
      '',
      '- Turns: 2 · Cost: $0.0195 · Agent time: 438ms',
      '- Tokens: 3,607 in · 57 out',
      '',
      '**Denied tool calls**',
      '- Bash: `node <project>/bin/dispatcher.js task comment "$DISPATCHER_TASK_ID" "hello from claude"`',
      '',
      'The task was left where it is, not moved to the success queue. Allow the tools the agent needs (Claude: `--allowedTools`), or set `on_permission_denial` on the route (see docs/agents.md).',
      '',
      '**Summary**',
      '> Done.',
      '',
      '**Resume**',
      '```sh',
      CLAUDE_RESUME('8d7f7f3e-2b1c-4a59-8f0e-6c3d2b1a0f99'),
      '```',
    ].join('\n'),
  );
  const failed = formatRunComment({ outcome: outcomeOfExit(0, report, 'fail'), exitCode: 0, durationMs: 1_000, report });
  assert.equal(failed.split('\n')[0], '❌ Agent failed: 1 tool call was denied (exit 0) after 1s');
  assert.ok(!failed.includes('left where it is'), 'a failed run follows the failure path; no advice about the success queue');
});

test('Claude, API retries: counted, with the last error', () => {
  const report = read(createClaudeAgent, CLAUDE_ROUTE, 'claude-2.1.197-api-retry.jsonl');
  assert.deepEqual(comment(report, 0, 5_000).split('\n').slice(0, 5), [
    '✅ Agent finished (exit 0) in 5s',
    '',
    '- Turns: 2 · Cost: $0.0195 · Agent time: 4s',
    '- Tokens: 3,607 in · 57 out',
    '- API retries: 2 (last: overloaded (HTTP 529))',
  ]);
});

test('Claude, not logged in: no model was asked, so no cost, tokens or turns; the error is said once', () => {
  const report = read(createClaudeAgent, { ...CLAUDE_ROUTE, env: { CLAUDE_CONFIG_DIR: '/srv/agents/claude home' } }, 'claude-2.1.197-not-logged-in.jsonl');
  assert.equal(
    comment(report, 1, 1_000),
    [
      '❌ Agent failed (exit 1) after 1s',
      '',
      '- Agent time: 283ms',
      '- Error: Not logged in · Please run /login',
      '',
      '**Resume**',
      '```sh',
      CLAUDE_RESUME('d785b473-723a-4f24-a1a8-5c0915b62c40'),
      '```',
    ].join('\n'),
  );
});

test('Claude, unknown --resume id: it ended before its init event, so there is no session and no hint', () => {
  const id = '0b7e1c7a-4f3e-4c1e-9a6b-2f5d8e9c1a3b';
  const report = read(createClaudeAgent, CLAUDE_ROUTE, 'claude-2.1.197-resume-unknown.jsonl', ['-p', 'continue', `--resume=${id}`]);
  assert.equal(report.resumeHint, undefined);
  // Claude says the same sentence on stderr: it is the error, not "last output" besides.
  assert.equal(
    comment(report, 1, 1_000, { outputTail: `No conversation found with session ID: ${id}\n` }),
    ['❌ Agent failed (exit 1) after 1s', '', `- Error: No conversation found with session ID: ${id}`].join('\n'),
  );
});

test('Codex, success: tokens as reported, no cost (Codex gives none); the hint carries CODEX_HOME and the provider settings', () => {
  const report = read(createCodexAgent, CODEX_ROUTE, 'codex-0.171.0-success.jsonl');
  assert.equal(
    comment(report, 0, 8_000),
    [
      '✅ Agent finished (exit 0) in 8s',
      '',
      '- Tokens: 5,422 in (2,048 cached) · 60 out',
      '',
      '**Summary**',
      '> Done.',
      '',
      '**Resume**',
      '```sh',
      CODEX_RESUME('01a2422b-8504-75d2-9f80-749a93c0cabe'),
      '```',
    ].join('\n'),
  );
});

test('Codex, cut streams: counted as API retries, the run succeeds', () => {
  const report = read(createCodexAgent, CODEX_ROUTE, 'codex-0.171.0-stream-retry.jsonl');
  assert.deepEqual(comment(report, 0, 9_000).split('\n').slice(0, 4), [
    '✅ Agent finished (exit 0) in 9s',
    '',
    '- Tokens: 5,563 in (2,048 cached) · 60 out',
    '- API retries: 2 (last: Reconnecting... 2/5 (stream disconnected before completion: Transport error: network error: error decoding response body))',
  ]);
});

test('Codex, no network: it waits forever, so only the time limit ends it; the comment says what it was waiting for', () => {
  const report = read(createCodexAgent, CODEX_ROUTE, 'codex-0.171.0-no-network.jsonl');
  assert.equal(
    formatRunComment({ outcome: 'timed_out', timeoutMs: 3_600_000, durationMs: 3_600_400, signal: 'SIGTERM', report }),
    [
      '⏱️ Agent timed out after 1h 0m 0s (stopped with SIGTERM)',
      '',
      '- Error: Reconnecting... waiting for network (Connection failed: error sending request)',
      '',
      '**Resume**',
      '```sh',
      CODEX_RESUME('01a2422c-0464-7783-acb9-6fd5272e742a'),
      '```',
    ].join('\n'),
  );
});
