import { test } from 'node:test';
import assert from 'node:assert/strict';
import createClaudeAgent from '../../adapters/claude/index.ts';
import { sessionIdFromArgs } from '../../adapters/claude/launch.ts';
import type { AgentLaunch, AgentOptions } from '../../adapters/types.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const agent = createClaudeAgent();
const on = { structuredOutput: true };
const off = { structuredOutput: false };

function launch(args: string[]): AgentLaunch {
  return { command: 'claude', args, env: { HOME: '/home/agent' }, cwd: '/work/repo' };
}

function added(args: string[], options: AgentOptions = on): string[] {
  return agent.prepare(launch(args), options).args.slice(args.length);
}

test('adds a fresh session id and stream-json output after the given arguments', () => {
  const args = ['-p', 'Work on task 42'];
  const prepared = agent.prepare(launch(args), on);
  assert.deepEqual(prepared.args.slice(0, 2), args);
  const [flag, id, ...rest] = prepared.args.slice(2);
  assert.equal(flag, '--session-id');
  assert.match(id, UUID);
  assert.deepEqual(rest, ['--output-format', 'stream-json', '--verbose']);
  assert.notEqual(agent.prepare(launch(args), on).args[3], id, 'each run gets its own session id');
});

test('keeps a session id the route gives, in either spelling', () => {
  assert.deepEqual(added(['-p', 'x', '--session-id', 'f18f49de-5b8f-4261-99c4-dbbaa6ae0e24']), ['--output-format', 'stream-json', '--verbose']);
  assert.deepEqual(added(['-p', 'x', '--session-id=f18f49de-5b8f-4261-99c4-dbbaa6ae0e24']), ['--output-format', 'stream-json', '--verbose']);
});

test('adds no session id when the route resumes or continues a session (Claude would refuse it)', () => {
  for (const args of [
    ['--resume', 'f18f49de-5b8f-4261-99c4-dbbaa6ae0e24', '-p', 'go on'],
    ['-r', 'f18f49de-5b8f-4261-99c4-dbbaa6ae0e24', '-p', 'go on'],
    ['--resume=f18f49de-5b8f-4261-99c4-dbbaa6ae0e24', '-p', 'go on'],
    ['--continue', '-p', 'go on'],
    ['-c', '-p', 'go on'],
    ['-r', 'f18f49de-5b8f-4261-99c4-dbbaa6ae0e24', '--fork-session', '-p', 'go on'],
  ]) {
    assert.deepEqual(added(args), ['--output-format', 'stream-json', '--verbose'], args.join(' '));
  }
});

test('leaves the output format alone when the route opts out or sets one', () => {
  assert.deepEqual(added(['-p', 'x'], off).slice(0, 1), ['--session-id']);
  assert.equal(added(['-p', 'x'], off).length, 2);
  assert.equal(added(['-p', 'x', '--output-format', 'json']).length, 2);
  assert.equal(added(['-p', 'x', '--output-format=text']).length, 2);
  assert.equal(added(['-p', 'x', '--output-format', 'stream-json', '--verbose']).length, 2);
});

test('adds --verbose that stream-json needs in print mode when the route forgot it', () => {
  assert.deepEqual(added(['-p', 'x', '--session-id', 'abc', '--output-format', 'stream-json']), ['--verbose']);
  assert.deepEqual(added(['-p', 'x', '--session-id', 'abc', '--output-format=stream-json'], off), ['--verbose']);
});

test('puts its flags before a -- terminator and ignores look-alikes after it', () => {
  const prepared = agent.prepare(launch(['-p', '--', '--session-id is a flag']), on).args;
  assert.deepEqual(prepared.slice(0, 1), ['-p']);
  assert.equal(prepared[1], '--session-id');
  assert.deepEqual(prepared.slice(-2), ['--', '--session-id is a flag']);
});

test('does not mutate its input and copies env', () => {
  const input = launch(['-p', 'x']);
  const before = structuredClone(input);
  const prepared = agent.prepare(input, on);
  prepared.env.EXTRA = '1';
  prepared.args.push('more');
  assert.deepEqual(input, before);
  assert.equal(prepared.command, 'claude');
  assert.equal(prepared.cwd, '/work/repo');
});

test('knows the session id from the arguments before Claude prints it', () => {
  const id = 'f18f49de-5b8f-4261-99c4-dbbaa6ae0e24';
  assert.equal(sessionIdFromArgs(['--session-id', id]), id);
  assert.equal(sessionIdFromArgs(['--resume', id]), id);
  assert.equal(sessionIdFromArgs(['-r', id, '--fork-session']), undefined, 'a fork gets a new id');
  assert.equal(sessionIdFromArgs(['--resume', 'my-named-session']), undefined, 'a search term is not an id');
  assert.equal(sessionIdFromArgs(['--continue']), undefined);
});

test('max_cost_usd goes to Claude as --max-budget-usd when its --help offers it (2.1.197 does), never otherwise', () => {
  const withHelp = new URL('../../fixtures/agents/claude-with-help.mjs', import.meta.url).pathname;
  const env = { PATH: process.env.PATH ?? '' };
  const prepared = agent.prepare({ command: withHelp, args: ['-p', 'hi'], env, cwd: '/tmp' }, { ...on, maxCostUsd: 0.5 });
  const at = prepared.args.indexOf('--max-budget-usd');
  assert.ok(at > 0, prepared.args.join(' '));
  assert.equal(prepared.args[at + 1], '0.5');
  // Given already: left as the route wrote it.
  const given = agent.prepare({ command: withHelp, args: ['-p', 'hi', '--max-budget-usd', '2'], env, cwd: '/tmp' }, { ...on, maxCostUsd: 0.5 });
  assert.equal(given.args.filter((arg) => arg === '--max-budget-usd').length, 1);
  // A claude whose help does not offer it (here: node itself) never gets it.
  assert.ok(!agent.prepare({ command: process.execPath, args: ['-p', 'hi'], env, cwd: '/tmp' }, { ...on, maxCostUsd: 0.5 }).args.includes('--max-budget-usd'));
  assert.ok(!agent.prepare({ command: withHelp, args: ['-p', 'hi'], env, cwd: '/tmp' }, on).args.includes('--max-budget-usd'), 'no limit, no flag');
});

test('mcp: the server goes in --mcp-config (no environment in it: Claude hands its own), and its tools are allowed', () => {
  const mcp = { name: 'dispatcher', command: '/srv/state/bin/dispatcher', args: ['mcp'], envNames: ['DISPATCHER_TOKEN'] };
  const extra = added(['-p', 'go'], { structuredOutput: false, mcp });
  const config = extra[extra.indexOf('--mcp-config') + 1];
  assert.deepEqual(JSON.parse(config), { mcpServers: { dispatcher: { type: 'stdio', command: '/srv/state/bin/dispatcher', args: ['mcp'] } } });
  assert.deepEqual(extra.slice(extra.indexOf('--allowedTools')), ['--allowedTools', 'mcp__dispatcher']);
  assert.ok(!added(['-p', 'go'], on).includes('--mcp-config'), 'only when the route asks');
});
