/**
 * Issue 20: `dispatcher mcp` from its start to the answer of its first tool call (the MCP SDK's
 * client over stdio: spawn, initialize, `task_comment`), beside `dispatcher task comment` run as a
 * process, and `node -e ''`, interleaved in the same run; then what each further tool call costs in
 * an open session. Both talk to a real API server (in this process) with a run token, on a
 * 1,000-task JSON board. Needs the built CLI (`npm run build`).
 *   node scripts/bench.mjs bench/mcp.ts [runs]
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import createJsonTracker from '../adapters/json/index.ts';
import { startApiServer } from '../src/api/server.ts';
import { createRunToken } from '../src/core/runs/run-token.ts';
import { createTaskService } from '../src/core/task-service.ts';
import { silentLogger } from '../src/log.ts';
import { fmt, median, ratio, scratch } from './support.ts';

const runs = Number(process.argv[2] ?? 15);
const cli = join(import.meta.dirname, '..', 'bin', 'dispatcher.js');
const { dir, cleanup } = scratch('mcp-bench-');
const tasks = Array.from({ length: 1000 }, (_, i) => ({ id: String(i + 1), name: `Task ${i + 1}`, description: 'Work. '.repeat(20), labels: [], assignees: [], comments: [], tasks: [] }));
const board = join(dir, 'board.json');
writeFileSync(board, JSON.stringify({ queues: { Todo: tasks, Done: [] } }));

const tracker = createJsonTracker({ options: { type: 'json', url: board }, baseDir: dir, env: {}, log: silentLogger });
const { token, hash } = createRunToken();
const api = await startApiServer({
  host: '127.0.0.1',
  port: 0,
  auth: 'token',
  service: createTaskService(tracker),
  resolveRunToken: (candidate) => (candidate === hash ? { runId: 'bench', taskId: '742', agent: 'claude' } : undefined),
  status: () => ({}),
  log: silentLogger,
});
const clean = Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined && !entry[0].startsWith('DISPATCHER_')));
const env = { ...clean, DISPATCHER_API_URL: api.url, DISPATCHER_TOKEN: token, DISPATCHER_TASK_ID: '742' };

function processTime(args: string[]): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`${args.join(' ')} exited ${code}`))));
  });
}

async function mcpSession(calls: number): Promise<{ first: number; each: number[] }> {
  const started = performance.now();
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [cli, 'mcp'], env }));
  const comment = async () => {
    const answer = (await client.callTool({ name: 'task_comment', arguments: { text: 'bench' } })) as { isError?: boolean };
    if (answer.isError) throw new Error('task_comment failed');
  };
  await comment();
  const first = performance.now() - started;
  const each: number[] = [];
  for (let i = 0; i < calls; i++) {
    const at = performance.now();
    await comment();
    each.push(performance.now() - at);
  }
  await client.close();
  return { first, each };
}

const bare: number[] = [];
const command: number[] = [];
const mcpFirst: number[] = [];
const mcpEach: number[] = [];
await processTime([cli, 'task', 'comment', '742', 'warm-up']);
await mcpSession(0);
for (let i = 0; i < runs; i++) {
  bare.push(await processTime(['-e', '']));
  command.push(await processTime([cli, 'task', 'comment', '742', 'bench']));
  const session = await mcpSession(10);
  mcpFirst.push(session.first);
  mcpEach.push(...session.each);
}
await api.close();
cleanup();

console.log(`dispatcher mcp vs dispatcher task comment, through the API on a 1,000-task board, median of ${runs} (interleaved)`);
console.log(`  node -e '':                                     ${fmt(median(bare))}`);
console.log(`  dispatcher task comment (a process):            ${fmt(median(command))}  (${ratio(median(command), median(bare))} node -e '')`);
console.log(`  dispatcher mcp, start to first tool answer:     ${fmt(median(mcpFirst))}  (${ratio(median(mcpFirst), median(bare))} node -e '', ${ratio(median(mcpFirst), median(command))} task comment)`);
console.log(`  dispatcher mcp, each further task_comment:      ${fmt(median(mcpEach))}  (${ratio(median(command), median(mcpEach))} faster than a task comment process)`);
