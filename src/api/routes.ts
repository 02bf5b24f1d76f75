import type { TaskService } from '../core/task-service.ts';
import { ApiError } from './errors.ts';
import { optionalString, optionalStringList, requiredString } from './fields.ts';
import type { RouteDefinition } from './route-table.ts';
import { callerRun } from './auth.ts';

/** Remembers that a run's agent moved its own task (through its token) to `queue`. */
export type AgentMoveRecorder = (runId: string, queue: string) => Promise<void>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/**
 * The reference's endpoints (same paths, bodies and meanings), plus `GET /tasks?queue=` for the
 * `api` tracker adapter. Thin shells over the task service: no handler knows a tracker.
 */
export function taskRoutes(service: TaskService, status: () => unknown, onAgentMove?: AgentMoveRecorder): RouteDefinition[] {
  return [
    {
      method: 'GET',
      path: '/tasks/{task_id}',
      access: 'own-task',
      handler: async ({ params }) => ({ json: await service.show(params.task_id) }),
      doc: { summary: 'Full task: description, labels, assignees, comments', responses: { 200: { description: 'The task', schema: ref('Task') } } },
    },
    {
      method: 'POST',
      path: '/tasks/{task_id}/comments',
      access: 'own-task',
      handler: async ({ params, readJson, caller }) => {
        const comment = requiredString(await readJson(), 'comment');
        // An agent's comment says it is the agent's, where the tracker lets us choose the author.
        await service.comment(params.task_id, comment, caller.kind === 'run' ? { author: `agent (${caller.agent ?? 'unknown'}, run ${caller.runId})` } : undefined);
        return { status: 201, json: { ok: true, task_id: params.task_id } };
      },
      doc: { summary: 'Post a comment on a task', requestBody: ref('CommentRequest'), responses: { 201: { description: 'Comment posted', schema: ref('CommentResult') } } },
    },
    {
      method: 'POST',
      path: '/tasks/{task_id}/move',
      access: 'own-task',
      handler: async ({ params, readJson, caller }) => {
        const target = requiredString(await readJson(), 'target_queue');
        // Before the move: a tick that sees the task in its new queue must know the agent moved it.
        const runId = callerRun(caller);
        if (runId && onAgentMove) await onAgentMove(runId, target);
        return { json: await service.move(params.task_id, target) };
      },
      doc: { summary: 'Move a task to another queue', requestBody: ref('MoveRequest'), responses: { 200: { description: 'The task after the move', schema: ref('Task') } } },
    },
    {
      method: 'PATCH',
      path: '/tasks/{task_id}',
      access: 'own-task',
      handler: async ({ params, readJson }) => {
        const body = await readJson();
        const update = {
          name: optionalString(body, 'name'),
          description: optionalString(body, 'description'),
          labels: optionalStringList(body, 'labels'),
          assignees: optionalStringList(body, 'assignees'),
        };
        return { json: await service.update(params.task_id, update) };
      },
      doc: {
        summary: 'Update task fields',
        description: 'Only the fields given change; `labels` and `assignees` replace the lists (an empty list clears). At least one field is required.',
        requestBody: ref('UpdateRequest'),
        responses: { 200: { description: 'The task after the update', schema: ref('Task') } },
      },
    },
    {
      method: 'POST',
      path: '/tasks',
      access: 'run',
      handler: async ({ readJson }) => {
        const body = await readJson();
        const task = await service.create(requiredString(body, 'queue_name'), requiredString(body, 'name'), optionalString(body, 'description') ?? '');
        return { status: 201, json: task };
      },
      doc: { summary: 'Create a task', requestBody: ref('CreateRequest'), responses: { 201: { description: 'The new task', schema: ref('Task') } } },
    },
    {
      method: 'GET',
      path: '/tasks',
      access: 'operator',
      handler: async ({ query }) => {
        const queues = query.getAll('queue').filter((queue) => queue !== '');
        if (queues.length === 0) throw new ApiError(400, 'invalid_request', 'name at least one queue: GET /tasks?queue=Todo&queue=Review');
        return { json: { tasks: await service.list(queues) } };
      },
      doc: {
        summary: 'Tasks in one or more queues (operator token only)',
        description: 'Comments may be left empty in this list; read a task for its comments.',
        query: [{ name: 'queue', in: 'query', required: true, description: 'A queue name; repeat for several.', schema: { type: 'array', items: { type: 'string' } }, style: 'form', explode: true }],
        responses: { 200: { description: 'The tasks, in queue order', schema: ref('TaskList') } },
      },
    },
    {
      method: 'GET',
      path: '/status',
      access: 'run',
      handler: async () => ({ json: await status() }),
      doc: { summary: 'Router status: active agents, available slots', responses: { 200: { description: 'Status, built by the router', schema: ref('Status') } } },
    },
  ];
}
