import { UsageError } from '../errors.ts';
import type { CommentOptions, Task, TaskUpdate, TrackerAdapter } from '../../adapters/types.ts';

/**
 * The single place where show / comment / move / update / create / list happen. The HTTP
 * handlers and the `task` commands are thin shells over it; neither knows a tracker.
 */
export interface TaskService {
  show(taskId: string): Promise<Task>;
  /** `author`: who it is from, where the tracker lets us say (see CommentOptions). */
  comment(taskId: string, text: string, options?: CommentOptions): Promise<void>;
  move(taskId: string, targetQueue: string): Promise<Task>;
  update(taskId: string, update: TaskUpdate): Promise<Task>;
  create(queueName: string, name: string, description?: string): Promise<Task>;
  list(queueNames: string[]): Promise<Task[]>;
}

export type TaskChange =
  | { type: 'comment'; taskId: string }
  | { type: 'move'; taskId: string; queue: string }
  | { type: 'update'; taskId: string }
  | { type: 'create'; taskId: string; queue: string };

export function createTaskService(tracker: TrackerAdapter, onChange?: (change: TaskChange) => void): TaskService {
  const id = (taskId: string) => {
    if (typeof taskId !== 'string' || taskId.trim() === '') throw new UsageError('a task id is required');
    return taskId;
  };
  const text = (value: unknown, what: string) => {
    if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`${what} must not be empty`);
    return value;
  };
  return {
    show: (taskId) => tracker.getTask(id(taskId)),
    async comment(taskId, comment, options) {
      await tracker.addComment(id(taskId), text(comment, 'the comment'), options);
      onChange?.({ type: 'comment', taskId });
    },
    async move(taskId, targetQueue) {
      await tracker.moveTask(id(taskId), text(targetQueue, 'the target queue'));
      onChange?.({ type: 'move', taskId, queue: targetQueue });
      return tracker.getTask(taskId);
    },
    async update(taskId, update) {
      const clean: TaskUpdate = {};
      if (update.name !== undefined) clean.name = text(update.name, 'the name');
      if (update.description !== undefined) clean.description = String(update.description);
      if (update.labels !== undefined) clean.labels = update.labels.map((label) => text(label, 'a label'));
      if (update.assignees !== undefined) clean.assignees = update.assignees.map((assignee) => text(assignee, 'an assignee'));
      if (Object.keys(clean).length === 0) throw new UsageError('nothing to update: give a name, description, labels or assignees');
      await tracker.updateTask(id(taskId), clean);
      onChange?.({ type: 'update', taskId });
      return tracker.getTask(taskId);
    },
    async create(queueName, name, description = '') {
      const task = await tracker.createTask(text(queueName, 'the queue'), text(name, 'the name'), description);
      onChange?.({ type: 'create', taskId: task.id, queue: queueName });
      return task;
    },
    list(queueNames) {
      if (queueNames.length === 0) throw new UsageError('name at least one queue');
      return tracker.getReadyTasks(queueNames);
    },
  };
}
