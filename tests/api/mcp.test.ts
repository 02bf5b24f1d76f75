import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CLI, runCli } from '../helpers.ts';
import { startHarness, type Harness } from './harness.ts';

/**
 * `dispatcher mcp` (the built CLI) driven by the MCP SDK's own client over stdio, against a real API
 * server: the tools do what the token they run with may do, and nothing else.
 */
type ToolAnswer = { isError?: boolean; content: Array<{ type: string; text: string }> };

async function connect(env: Record<string, string>): Promise<{ client: Client; stderr: () => string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined && !entry[0].startsWith('DISPATCHER_')));
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp'], env: { ...clean, ...env }, stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk) => (stderr += chunk));
  const client = new Client({ name: 'mcp-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, stderr: () => stderr };
}

const call = async (client: Client, name: string, args: Record<string, unknown> = {}) => (await client.callTool({ name, arguments: args })) as ToolAnswer;
const commentsOf = (h: Harness, id: string) => Object.values(JSON.parse(readFileSync(h.board, 'utf8')).queues as Record<string, Array<{ id: string; comments: Array<{ author: string; text: string }> }>>).flat().find((task) => task.id === id)!.comments;

describe('dispatcher mcp', () => {
  let h: Harness;
  before(async () => (h = await startHarness()));
  after(() => h.close());

  it('lists the task tools, and comments on the run\'s own task as the agent', async () => {
    const token = h.startRun('1', 'claude');
    const { client } = await connect({ DISPATCHER_API_URL: h.url, DISPATCHER_TOKEN: token, DISPATCHER_TASK_ID: '1' });
    try {
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((tool) => tool.name).sort(), ['task_comment', 'task_create', 'task_list', 'task_move', 'task_show', 'task_update']);
      const answer = await call(client, 'task_comment', { text: 'hello over MCP' });
      assert.equal(answer.isError, undefined, answer.content[0]?.text);
      assert.deepEqual(JSON.parse(answer.content[0].text), { ok: true, task_id: '1' });
      assert.deepEqual(commentsOf(h, '1').at(-1), { ...commentsOf(h, '1').at(-1), author: 'agent (claude, run run-1)', text: 'hello over MCP' });
      const shown = await call(client, 'task_show');
      assert.equal(JSON.parse(shown.content[0].text).name, 'Fix crash');
      const moved = await call(client, 'task_move', { queue: 'In Progress' });
      assert.equal(JSON.parse(moved.content[0].text).queue, 'In Progress');
    } finally {
      await client.close();
    }
  });

  it('is refused on another task, and on listing queues, with the API\'s reason', async () => {
    const token = h.startRun('1', 'codex');
    const { client } = await connect({ DISPATCHER_API_URL: h.url, DISPATCHER_TOKEN: token, DISPATCHER_TASK_ID: '1' });
    try {
      const before = commentsOf(h, '2').length;
      const refused = await call(client, 'task_comment', { task_id: '2', text: 'not mine' });
      assert.equal(refused.isError, true);
      assert.match(refused.content[0].text, /this run's token is for task "1" only/);
      assert.equal(commentsOf(h, '2').length, before, 'nothing reached the board');
      const listing = await call(client, 'task_list', { queues: ['Todo'] });
      assert.equal(listing.isError, true);
      assert.match(listing.content[0].text, /needs the operator token/);
      assert.ok(!listing.content[0].text.includes(token));
    } finally {
      await client.close();
    }
  });

  it('is refused without a token; the operator token has the operator\'s scope', async () => {
    const anonymous = await connect({ DISPATCHER_API_URL: h.url });
    try {
      const refused = await call(anonymous.client, 'task_show', { task_id: '1' });
      assert.equal(refused.isError, true);
      assert.match(refused.content[0].text, /needs a token/);
      const noTask = await call(anonymous.client, 'task_show');
      assert.match(noTask.content[0].text, /which task\? give task_id/);
    } finally {
      await anonymous.client.close();
    }
    const operator = await connect({ DISPATCHER_API_URL: h.url, DISPATCHER_OPERATOR_TOKEN: h.operatorToken });
    try {
      const listing = await call(operator.client, 'task_list', { queues: ['Todo'] });
      assert.equal(listing.isError, undefined, listing.content[0]?.text);
      assert.ok(JSON.parse(listing.content[0].text).some((task: { id: string }) => task.id === '2'));
      await call(operator.client, 'task_comment', { task_id: '2', text: 'from the operator' });
      assert.equal(commentsOf(h, '2').at(-1)!.author, 'dispatcher', 'not an agent: the board\'s own author');
    } finally {
      await operator.client.close();
    }
  });

  it('says what it needs when DISPATCHER_API_URL is not set (exit 2)', async () => {
    const result = await runCli(['mcp']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /dispatcher mcp serves the task tools of a running dispatcher, and DISPATCHER_API_URL is not set/);
  });
});
