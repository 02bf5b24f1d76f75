import { test } from 'node:test';
import assert from 'node:assert/strict';
import createCommandAgent from '../../adapters/command/index.ts';
import { loadAgentFactory } from '../../adapters/registry.ts';
import type { AgentLaunch } from '../../adapters/types.ts';

const launch: AgentLaunch = { command: 'my-agent', args: ['--task', '42', '--', 'rest'], env: { A: '1' }, cwd: '/work/repo' };

test('the command agent runs the command as it is, as a copy', () => {
  const before = structuredClone(launch);
  const prepared = createCommandAgent().prepare(launch, { structuredOutput: true });
  assert.deepEqual(prepared, launch);
  assert.notEqual(prepared.args, launch.args);
  assert.notEqual(prepared.env, launch.env);
  prepared.args.push('changed');
  prepared.env.B = '2';
  assert.deepEqual(launch, before);
});

test('the command agent reads no output', () => {
  assert.equal(createCommandAgent().createParser, undefined);
});

test('the registry loads all three agent kinds', async () => {
  for (const kind of ['command', 'claude', 'codex']) {
    const agent = (await loadAgentFactory(kind))();
    assert.equal(typeof agent.prepare, 'function', kind);
  }
});
