import { UsageError } from '../errors.ts';
import { escapeControls, oneLine } from '../util/printable.ts';
import { createTaskService, type TaskService } from '../core/task-service.ts';
import type { Task } from '../../adapters/types.ts';
import type { CommandContext } from './context.ts';

async function withService<T>(context: CommandContext, work: (service: TaskService) => Promise<T>): Promise<T> {
  const tracker = await context.openTracker();
  try {
    return await work(createTaskService(tracker));
  } finally {
    await tracker.close?.();
  }
}

export function showTask(context: CommandContext, taskId: string | undefined): Promise<Task> {
  const id = taskId ?? process.env.DISPATCHER_TASK_ID;
  if (!id) throw new UsageError('which task? give an id (inside an agent, DISPATCHER_TASK_ID is used)');
  return withService(context, (service) => service.show(id));
}

export async function commentTask(context: CommandContext, taskId: string, text: string): Promise<{ ok: true; task_id: string }> {
  const comment = text === '-' ? await readStdin() : text;
  await withService(context, (service) => service.comment(taskId, comment));
  return { ok: true, task_id: taskId };
}

export function moveTask(context: CommandContext, taskId: string, queue: string): Promise<Task> {
  return withService(context, (service) => service.move(taskId, queue));
}

export interface UpdateFlags {
  name?: string;
  description?: string;
  label?: string[];
  assignee?: string[];
  clearLabels?: boolean;
  clearAssignees?: boolean;
}

export function updateTask(context: CommandContext, taskId: string, flags: UpdateFlags): Promise<Task> {
  return withService(context, (service) =>
    service.update(taskId, {
      name: flags.name,
      description: flags.description === '-' ? undefined : flags.description,
      labels: flags.clearLabels ? [] : flags.label,
      assignees: flags.clearAssignees ? [] : flags.assignee,
    }),
  );
}

export function createTask(context: CommandContext, queue: string, name: string, description = ''): Promise<Task> {
  return withService(context, (service) => service.create(queue, name, description));
}

export function listTasks(context: CommandContext, queues: string[]): Promise<Task[]> {
  return withService(context, (service) => service.list(queues));
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\n$/, '');
}

/** A task's id as people write it: `#42` on a board, `owner/repo#7` as it is on Gitea. */
const shownId = (id: string) => (id.includes('#') ? id : `#${id}`);

/** Tracker text on a terminal: control sequences shown escaped, one-line fields kept on one line. */
export function renderTask(task: Task): string {
  const lines = [`${shownId(oneLine(task.id))}  ${oneLine(task.name)}`, `queue:     ${oneLine(task.queue)}`];
  if (task.url) lines.push(`url:       ${oneLine(task.url)}`);
  if (task.labels.length) lines.push(`labels:    ${task.labels.map(oneLine).join(', ')}`);
  if (task.assignees.length) lines.push(`assignees: ${task.assignees.map(oneLine).join(', ')}`);
  if (task.description) lines.push('', escapeControls(task.description));
  if (task.comments.length) {
    lines.push('', `comments (${task.comments.length}):`);
    for (const comment of task.comments) lines.push(`- ${oneLine(comment.author) || 'someone'}${comment.createdAt ? ` (${oneLine(comment.createdAt)})` : ''}: ${escapeControls(comment.text)}`);
  }
  return lines.join('\n');
}

/** One line per task, whatever its name holds. */
export function renderTaskList(tasks: Task[]): string {
  if (tasks.length === 0) return 'no tasks';
  return tasks.map((task) => `${oneLine(task.queue)}\t${shownId(oneLine(task.id))}\t${oneLine(task.name)}`).join('\n');
}
