import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AdapterError, ConfigError } from '../../src/errors.ts';
import type { Comment, Task, TaskUpdate, TrackerAdapter, TrackerContext } from '../types.ts';
import { type Board, openBoardFile, type RawTask, readBoard } from './board-file.ts';

/**
 * The JSON board file of the reference: `{"queues": {"Todo": [{"id", "name", "description",
 * "labels", "assignees", "comments", "tasks"}]}}`. Comments are written as
 * `{"author", "text", "created_at"}`; plain-string comments from other tools are read as text.
 */
export default function createJsonTracker(context: TrackerContext): TrackerAdapter {
  const url = context.options.url;
  if (!url) throw new ConfigError('backend.url: the json backend needs `url`, the path of the board file');
  const path = resolve(context.baseDir, url.startsWith('file://') ? new URL(url).pathname : url);
  const identity = 'dispatcher';
  const fileUrl = pathToFileURL(path).href;
  const store = openBoardFile(path);
  // Every change validates before it mutates: a change that throws leaves the board as it was.
  const updateBoard = <T>(change: (board: Board) => T) => store.update(change);

  const toTask = (raw: RawTask, queue: string): Task => ({
    id: String(raw.id),
    name: String(raw.name ?? ''),
    description: String(raw.description ?? ''),
    queue,
    labels: stringList(raw.labels),
    assignees: stringList(raw.assignees),
    comments: Array.isArray(raw.comments) ? raw.comments.map(toComment) : [],
    url: `${fileUrl}#${encodeURIComponent(String(raw.id))}`,
    createdAt: typeof raw.created_at === 'string' ? raw.created_at : '',
    ...(typeof raw.updated_at === 'string' ? { updatedAt: raw.updated_at } : {}),
    ...(typeof raw.priority === 'number' ? { priority: raw.priority } : {}),
  });

  const mapped = new WeakMap<Board, Map<string, Task[]>>();
  /** A queue's tasks, mapped once per version of the (shared, read-only) board. */
  const tasksOf = (board: Board, queue: string): Task[] => {
    let queues = mapped.get(board);
    if (!queues) mapped.set(board, (queues = new Map()));
    let tasks = queues.get(queue);
    if (!tasks) queues.set(queue, (tasks = queueOf(board, queue).map((raw) => toTask(raw, queue))));
    return tasks;
  };

  return {
    async getReadyTasks(queueNames) {
      const board = await readBoard(store);
      return queueNames.flatMap((queue) => tasksOf(board, queue));
    },
    async getTask(taskId) {
      const board = await readBoard(store);
      const found = indexOf(board).get(taskId);
      if (!found) throw new AdapterError('not_found', `no task with id "${taskId}" in ${path}`);
      return toTask(found.task, found.queue);
    },
    async moveTask(taskId, targetQueue) {
      await updateBoard((board) => move(board, taskId, targetQueue));
    },
    async claimTask(taskId, inProgressQueue, assignee, from) {
      await updateBoard((board) => {
        const where = locate(board, taskId).queue;
        if (from !== undefined && where !== from) throw new AdapterError('conflict', `task "${taskId}" is no longer in "${from}" (it is in "${where}")`);
        const task = move(board, taskId, inProgressQueue);
        const assignees = stringList(task.assignees);
        if (assignee && !assignees.includes(assignee)) task.assignees = [...assignees, assignee];
      });
    },
    async addComment(taskId, text, options) {
      await updateBoard((board) => {
        const { task } = locate(board, taskId);
        const comments = Array.isArray(task.comments) ? task.comments : (task.comments = []);
        comments.push({ author: options?.author || identity, text, created_at: new Date().toISOString() });
      });
    },
    async updateTask(taskId, update: TaskUpdate) {
      await updateBoard((board) => {
        const { task } = locate(board, taskId);
        if (update.name !== undefined) task.name = update.name;
        if (update.description !== undefined) task.description = update.description;
        if (update.labels !== undefined) task.labels = [...update.labels];
        if (update.assignees !== undefined) task.assignees = [...update.assignees];
        task.updated_at = new Date().toISOString();
      });
    },
    async createTask(queueName, name, description) {
      return updateBoard((board) => {
        const queue = queueOf(board, queueName);
        const raw: RawTask = { id: nextId(board), name, description, labels: [], assignees: [], comments: [], tasks: [], created_at: new Date().toISOString() };
        queue.push(raw);
        return toTask(raw, queueName);
      });
    },
    async whoami() {
      return identity;
    },
  };

  function move(board: Board, taskId: string, targetQueue: string): RawTask {
    const found = locate(board, taskId);
    const target = queueOf(board, targetQueue);
    if (found.queue !== targetQueue) {
      queueOf(board, found.queue).splice(found.index, 1);
      target.push(found.task);
    }
    found.task.updated_at = new Date().toISOString();
    return found.task;
  }

  function locate(board: Board, taskId: string): { task: RawTask; queue: string; index: number } {
    for (const [queue, tasks] of Object.entries(board.queues)) {
      const index = tasks.findIndex((task) => String(task.id) === taskId);
      if (index >= 0) return { task: tasks[index], queue, index };
    }
    throw new AdapterError('not_found', `no task with id "${taskId}" in ${path}`);
  }

  /** A queue by name; names are data (`constructor`, `__proto__`), never keys of the object's prototype. */
  function queueOf(board: Board, name: string): RawTask[] {
    const queue = Object.hasOwn(board.queues, name) ? board.queues[name] : undefined;
    if (!queue) {
      const known = Object.keys(board.queues);
      throw new AdapterError('not_found', `no queue "${name}" in ${path}${known.length ? `; queues: ${known.map((q) => JSON.stringify(q)).join(', ')}` : ' (the board has no queues yet)'}`, { queue: name });
    }
    return queue;
  }
}

const indexes = new WeakMap<Board, Map<string, { task: RawTask; queue: string }>>();

/** Task by id, built once per version of the (shared, read-only) board. */
function indexOf(board: Board): Map<string, { task: RawTask; queue: string }> {
  let index = indexes.get(board);
  if (!index) {
    index = new Map();
    for (const [queue, tasks] of Object.entries(board.queues)) {
      for (const task of tasks) if (!index.has(String(task.id))) index.set(String(task.id), { task, queue });
    }
    indexes.set(board, index);
  }
  return index;
}

function nextId(board: Board): string {
  let max = 0;
  for (const tasks of Object.values(board.queues)) {
    for (const task of tasks) {
      const value = Number(task.id);
      if (Number.isSafeInteger(value) && value > max) max = value;
    }
  }
  return String(max + 1);
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.map((item) => (typeof item === 'string' ? item : String((item as { name?: unknown })?.name ?? item))) : [];
}

function toComment(value: unknown): Comment {
  if (typeof value === 'string') return { author: '', text: value, createdAt: '' };
  const record = (value ?? {}) as Record<string, unknown>;
  return {
    author: String(record.author ?? ''),
    text: String(record.text ?? record.comment ?? ''),
    createdAt: String(record.created_at ?? record.createdAt ?? ''),
  };
}
