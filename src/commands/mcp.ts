import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';
import { createTracker } from '../../adapters/registry.ts';
import { UsageError } from '../errors.ts';
import { createTaskService, type TaskService } from '../core/task-service.ts';
import { MCP_SERVER_NAME } from '../core/process/mcp-server-launch.ts';
import { redact } from '../util/redact.ts';
import type { CommandContext } from './context.ts';

/**
 * `dispatcher mcp`: the task service as MCP tools over stdio, for agents that call tools natively
 * (Claude Code, Codex). Like `dispatcher task` inside an agent, it talks to the running dispatcher's
 * API with the run's token, so it can do exactly what that token may: read, comment on, move and
 * update its own task, create tasks; listing queues and other tasks need the operator token. This
 * module (and the MCP SDK with it) is loaded only by this command.
 */
export async function serveMcp(context: CommandContext, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const url = env.DISPATCHER_API_URL;
  if (!url) {
    throw new UsageError('dispatcher mcp serves the task tools of a running dispatcher, and DISPATCHER_API_URL is not set', {
      detail: 'The dispatcher sets it (with DISPATCHER_TOKEN) for its agents. By hand: DISPATCHER_API_URL=http://127.0.0.1:8000 DISPATCHER_OPERATOR_TOKEN="$(cat .dispatcher/operator-token)" dispatcher mcp',
    });
  }
  const tracker = await createTracker({ options: { type: 'api', url }, baseDir: process.cwd(), env, log: context.log });
  const server = buildMcpServer(createTaskService(tracker), env.DISPATCHER_TASK_ID);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => (transport.onclose = resolve));
  process.stdin.once('end', () => void transport.close());
  await server.connect(transport);
  await closed;
  await tracker.close?.();
}

type ToolResult = { content: Array<{ type: 'text'; text: string }>; isError?: boolean };

export function buildMcpServer(service: TaskService, ownTask: string | undefined): McpServer {
  const server = new McpServer({ name: MCP_SERVER_NAME, version: process.env.DISPATCHER_VERSION ?? '0.1.0' });
  const taskId = z.string().min(1).optional().describe(ownTask ? `the task's id (default: this run's task, ${ownTask})` : "the task's id");
  const which = (id: string | undefined): string => {
    const chosen = id ?? ownTask;
    if (!chosen) throw new UsageError('which task? give task_id (inside a run, the run\'s task is the default)');
    return chosen;
  };

  server.registerTool(
    'task_show',
    { description: 'Show a task: name, queue, description, labels, assignees and comments.', inputSchema: { task_id: taskId } },
    ({ task_id }) => answer(() => service.show(which(task_id))),
  );
  server.registerTool(
    'task_comment',
    { description: 'Add a comment to a task (markdown).', inputSchema: { task_id: taskId, text: z.string().min(1).describe('the comment') } },
    ({ task_id, text }) => answer(async () => (await service.comment(which(task_id), text), { ok: true, task_id: which(task_id) })),
  );
  server.registerTool(
    'task_move',
    { description: 'Move a task to another queue (e.g. Done, Review).', inputSchema: { task_id: taskId, queue: z.string().min(1).describe('the target queue') } },
    ({ task_id, queue }) => answer(() => service.move(which(task_id), queue)),
  );
  server.registerTool(
    'task_update',
    {
      description: "Change a task's name, description, labels or assignees; labels and assignees replace the lists (an empty list clears).",
      inputSchema: {
        task_id: taskId,
        name: z.string().optional(),
        description: z.string().optional(),
        labels: z.array(z.string()).optional(),
        assignees: z.array(z.string()).optional(),
      },
    },
    ({ task_id, ...update }) => answer(() => service.update(which(task_id), update)),
  );
  server.registerTool(
    'task_create',
    { description: 'Create a task in a queue.', inputSchema: { queue: z.string().min(1), name: z.string().min(1), description: z.string().optional() } },
    ({ queue, name, description }) => answer(() => service.create(queue, name, description ?? '')),
  );
  server.registerTool(
    'task_list',
    { description: 'List the tasks in one or more queues (needs the operator token).', inputSchema: { queues: z.array(z.string().min(1)).min(1) } },
    ({ queues }) => answer(() => service.list(queues)),
  );
  return server;
}

/** A tool's answer: the result as JSON, or the error's message (the API's own words: 403, 401...). */
async function answer(work: () => Promise<unknown>): Promise<ToolResult> {
  try {
    return { content: [{ type: 'text', text: JSON.stringify(await work(), null, 2) }] };
  } catch (error) {
    return { content: [{ type: 'text', text: redact((error as Error)?.message ?? String(error)) }], isError: true };
  }
}
