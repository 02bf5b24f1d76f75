import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClaudeParser } from '../../adapters/claude/parser.ts';
import type { AgentLaunch } from '../../adapters/types.ts';

const SESSION = '3f2a9c40-7b18-4c6d-9e51-8a2b1d4f0c73';

function parserFor(args: string[] = ['-p', 'x'], cwd = '/work/repo') {
  const launch: AgentLaunch = { command: 'claude', args, env: {}, cwd };
  return createClaudeParser(launch);
}

function feed(lines: unknown[], args?: string[]) {
  const parser = parserFor(args);
  for (const line of lines) parser.onLine(typeof line === 'string' ? line : JSON.stringify(line));
  return parser.report();
}

test('reads the single result line of --output-format json too', () => {
  const report = feed([
    { type: 'result', subtype: 'success', is_error: false, duration_ms: 16049, num_turns: 8, result: 'Done.', session_id: SESSION, total_cost_usd: 0.3464 },
  ]);
  assert.deepEqual(report, {
    ok: true,
    sessionId: SESSION,
    turns: 8,
    costUsd: 0.3464,
    durationMs: 16049,
    summary: 'Done.',
    resumeHint: `cd /work/repo && claude --resume=${SESSION}`,
  });
});

test('an error subtype fails even when is_error is false, and names the failure', () => {
  const report = feed([{ type: 'result', subtype: 'error_during_execution', is_error: false, num_turns: 0, session_id: SESSION, errors: [] }]);
  assert.equal(report.ok, false);
  assert.equal(report.error, 'failed during execution');
});

test('joins the errors list of an error result', () => {
  const report = feed([{ type: 'result', subtype: 'error_max_budget_usd', is_error: true, errors: ['Reached maximum budget ($2)', 'second'] }]);
  assert.equal(report.error, 'Reached maximum budget ($2); second');
});

test('the last result wins (streaming input runs one result per turn)', () => {
  const report = feed([
    { type: 'result', subtype: 'error_during_execution', is_error: true },
    { type: 'result', subtype: 'success', is_error: false, result: 'second turn ok' },
  ]);
  assert.equal(report.ok, true);
  assert.equal(report.summary, 'second turn ok');
});

test('without a result: ok is unknown, the pre-assigned id still gives the resume hint', () => {
  const report = feed(['not json at all'], ['-p', 'x', '--session-id', SESSION]);
  assert.deepEqual(report, { sessionId: SESSION, resumeHint: `cd /work/repo && claude --resume=${SESSION}` });
});

test('the init id wins over the pre-assigned one', () => {
  const other = '9e1f2a3b-4c5d-4e6f-8a7b-8c9d0e1f2a3b';
  const report = feed([{ type: 'system', subtype: 'init', session_id: other }], ['--session-id', SESSION]);
  assert.equal(report.sessionId, other);
});

test('quotes a working directory with spaces in the resume hint', () => {
  const parser = parserFor(['--session-id', SESSION], "/work/my repo/it's");
  assert.equal(parser.report().resumeHint, `cd '/work/my repo/it'\\''s' && claude --resume=${SESSION}`);
});

test('ignores subagent messages for the fallback summary', () => {
  const report = feed([
    { type: 'assistant', message: { content: [{ type: 'text', text: 'main says' }] }, parent_tool_use_id: null },
    { type: 'assistant', message: { content: [{ type: 'text', text: 'subagent says' }] }, parent_tool_use_id: 'toolu_1' },
  ]);
  assert.equal(report.summary, 'main says');
});

test('counts tokens with cache reads and writes included', () => {
  const report = feed([
    {
      type: 'result',
      subtype: 'success',
      is_error: false,
      usage: { input_tokens: 10, cache_creation_input_tokens: 50, cache_read_input_tokens: 100, output_tokens: 5 },
    },
  ]);
  assert.deepEqual(report.tokens, { input: 160, cachedInput: 100, output: 5 });
});

test('onLine never throws, whatever it is given', () => {
  const parser = parserFor();
  const nasty: unknown[] = [
    '',
    '{',
    '}',
    '{}',
    '{"type":null}',
    '{"type":"result","subtype":{"a":1},"is_error":"yes"}',
    '{"type":"assistant","message":{"content":[null,1,{"type":"text","text":7}]}}',
    '{"type":"system","subtype":"api_retry","error":{"nested":true},"error_status":-1}',
    '{"__proto__":{"polluted":true},"type":"system","subtype":"init"}',
    '\uFEFF{"type":"system"}',
    'x'.repeat(5 * 1024 * 1024),
    undefined,
    null,
    42,
  ];
  for (const line of nasty) assert.doesNotThrow(() => parser.onLine(line as string));
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const valid = JSON.stringify({ type: 'result', subtype: 'success', is_error: false, result: 'ok', num_turns: 2 });
  for (let i = 0; i < 2000; i += 1) {
    const cut = valid.slice(0, Math.floor(random() * valid.length));
    const noise = String.fromCharCode(...Array.from({ length: 8 }, () => Math.floor(random() * 0x3000)));
    assert.doesNotThrow(() => parser.onLine(random() < 0.5 ? cut : cut + noise));
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  const report = parser.report();
  assert.equal(report.ok, undefined, 'no complete result was seen');
  assert.equal(report.apiRetries, 1);
  assert.equal(report.lastApiRetryError, 'error');
});
